/**
 * `OutboundPools`: the whole system of SPEC 7 as one reusable construct — receipt rule set
 * and rule (S3, then Lambda), the raw-mail bucket, the limits and trace tables, the three
 * delivery pools (configuration sets on dedicated IP pools) with their event destinations,
 * the router and feedback functions with dead-letter queues, the trace API (a function URL
 * with IAM authentication), the dashboard and alarms.
 */
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as ses from 'aws-cdk-lib/aws-ses';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { Config } from '../functions/core/config.js';
import { prefixFromStackName, withNamePrefix } from '../functions/core/resource-names.js';
import type { Pool } from '../functions/core/vocabulary.js';
import { AlarmTopic } from './alarm-topic.js';
import { ReputationAlarms } from './alarms.js';
import { OutboundPoolsDashboard } from './dashboard.js';
import { checkMailOutlivesDeadLetters, checkTraceOutlivesDeadLetters } from './dead-letter-queue.js';
import { DeliveryPools } from './delivery-pools.js';
import { FeedbackFunction } from './feedback-function.js';
import { FunctionAlarms } from './function-alarms.js';
import { MailBucket } from './mail-bucket.js';
import { grantNoticePublish, PoolPauseFunction } from './pool-pause.js';
import { InboundReceipt, receiptRecipients } from './receipt-rules.js';
import { RouterFunction } from './router-function.js';
import { SendingIdentities } from './sending-identities.js';
import { OutboundPoolsTables } from './tables.js';
import { PoolTenants } from './tenants.js';
import { TraceApi } from './trace-api.js';
import { InfrastructureValidationError } from './validation.js';

/** Raw mail's expiry: the dead-letter queue's 14 days + the router's 6 h maximum event age, in days. */
export const DEFAULT_MAIL_RETENTION = Duration.days(15);

/** Properties of {@link OutboundPools}. */
export interface OutboundPoolsProps {
  /**
   * The validated configuration (`parseConfig`/`parseConfigText` of
   * `functions/core/config.ts`): domains, SRS, limits, pools. The router gets this exact
   * document, bundled next to its handler.
   */
  readonly config: Config;
  /**
   * Scaling mode of each dedicated IP pool the stack creates.
   *
   * @default ScalingMode.STANDARD for every created pool
   */
  readonly ipPoolScaling?: Partial<Record<Pool, ses.ScalingMode>>;
  /**
   * IP pool names (`pools.<pool>.ipPool`) that already exist in the account: referenced by
   * name, not created. `ses-shared-pool` needs no entry.
   *
   * @default - the stack creates every pool that is not managed by SES
   */
  readonly existingIpPools?: readonly string[];
  /**
   * How long raw received messages are kept in the bucket.
   *
   * At least the dead-letter queue's retention plus the router's maximum event age, rounded up
   * to whole days (14 days + 6 h → 15): a redrive needs the raw mail (issue 15).
   *
   * @default Duration.days(15)
   */
  readonly mailRetention?: Duration;
  /**
   * How long the functions' logs are kept.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Concurrent executions reserved for (and capping) the router.
   *
   * @default - derived from `sesSendRate` (`routerConcurrencyCap`, docs/deploying.md)
   */
  readonly reservedConcurrency?: number;
  /**
   * The SES account's maximum send rate (messages per second) the router's cap derives from.
   *
   * @default 14
   */
  readonly sesSendRate?: number;
  /**
   * Router timeout (its message claim lasts this plus 60 seconds).
   *
   * @default Duration.seconds(90)
   */
  readonly routerTimeout?: Duration;
  /**
   * Router memory, MB (`RouterFunctionProps.memorySize`: why 256 holds 40 MB mail).
   *
   * @default 256
   */
  readonly routerMemorySize?: number;
  /**
   * An address to notify of alarms, through a new encrypted SNS topic. Not together with
   * `alarmTopic`.
   *
   * @default - no notification unless `alarmTopic` is given
   */
  readonly alarmEmail?: string;
  /**
   * An existing topic to notify of alarms.
   *
   * @default - a new topic when `alarmEmail` is set, otherwise none
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Make the receipt rule set the account's active one during deployment (replacing the
   * active one). See {@link InboundReceipt}.
   *
   * @default false
   */
  readonly activateRuleSet?: boolean;
  /**
   * Name of the receipt rule set.
   *
   * @default `${namePrefix}-inbound`
   */
  readonly ruleSetName?: string;
  /**
   * Prefix of every SES name the stack deploys (configuration sets, IP pools, tenants, rule
   * set and rule): `<namePrefix>-<name of the configuration>`. See
   * `functions/core/resource-names.ts`.
   *
   * @default - the configuration's `namePrefix`, else the stack name, lowercased
   */
  readonly namePrefix?: string;
  /**
   * The receipt rule's TLS policy: `REQUIRE` bounces mail from servers that do not offer
   * STARTTLS. See {@link InboundReceipt}.
   *
   * @default ses.TlsPolicy.OPTIONAL
   */
  readonly tlsPolicy?: ses.TlsPolicy;
  /**
   * Receive only the routes' addresses (and catch-all domains, and the SRS domain) instead of
   * whole accepted domains. See {@link receiptRecipients}.
   *
   * @default false
   */
  readonly exactRecipients?: boolean;
  /**
   * Create SES domain identities (Easy DKIM) for the accepted domains, the SRS domain and
   * the bounce sink's domain.
   *
   * @default false - the domains are verified in SES already
   */
  readonly createIdentities?: boolean;
  /**
   * What happens to the bucket, tables and log groups when they leave the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * A bucket for the mail bucket's S3 server access logs.
   *
   * @default - no server access logs
   */
  readonly mailAccessLogsBucket?: s3.IBucket;
  /**
   * Customer managed key of the ARC key's SecureString parameter, if not `aws/ssm`.
   *
   * @default - `aws/ssm`
   */
  readonly arcKeyEncryptionKey?: kms.IKey;
}

/** The outbound delivery pools system. */
export class OutboundPools extends Construct {
  readonly mailBucket: MailBucket;
  readonly tables: OutboundPoolsTables;
  readonly deliveryPools: DeliveryPools;
  readonly identities: SendingIdentities;
  /** One SES tenant per pool (issue 14). */
  readonly tenants: PoolTenants;
  readonly router: RouterFunction;
  readonly feedback: FeedbackFunction;
  /** Message trace lookups over HTTPS (SPEC 6), IAM-authenticated. */
  readonly traceApi: TraceApi;
  readonly receipt: InboundReceipt;
  readonly dashboard: OutboundPoolsDashboard;
  /** Account and per-pool reputation alarms, SendsFailed, NDR and relay surges (issue 14). */
  readonly reputationAlarms: ReputationAlarms;
  /** Lambda's own alarms of the functions: destination failures, dropped events, throttles, errors, URL 5xx. */
  readonly functionAlarms: FunctionAlarms;
  /** Pauses a pool whose reputation alarm fired (absent when `reputation.pauseOnAlarm` is off). */
  readonly pause: PoolPauseFunction | undefined;
  /** The topic alarms notify, when there is one. */
  readonly alarmTopic: sns.ITopic | undefined;
  /** The prefix of every deployed SES name. */
  readonly namePrefix: string;
  /** The configuration as deployed: SES names prefixed (what the functions receive). */
  readonly config: Config;

  constructor(scope: Construct, id: string, props: OutboundPoolsProps) {
    super(scope, id);
    this.namePrefix =
      props.namePrefix ?? props.config.namePrefix ?? prefixFromStackName(Stack.of(this).stackName);
    // Every SES name below, and the configuration the functions get, carry the prefix.
    const config = withNamePrefix(props.config, this.namePrefix, props.existingIpPools);
    this.config = config;
    if (props.alarmEmail !== undefined && props.alarmTopic !== undefined) {
      throw new InfrastructureValidationError(
        'alarmEmail',
        'give alarmEmail (a new topic) or alarmTopic (an existing one), not both',
        this,
      );
    }
    this.alarmTopic =
      props.alarmTopic ??
      (props.alarmEmail !== undefined
        ? new AlarmTopic(this, 'AlarmTopic', { email: props.alarmEmail }).topic
        : undefined);

    this.deliveryPools = new DeliveryPools(this, 'DeliveryPools', {
      pools: config.pools,
      existingIpPools: props.existingIpPools,
      scalingMode: props.ipPoolScaling,
    });
    this.mailBucket = new MailBucket(this, 'MailBucket', {
      retention: props.mailRetention ?? DEFAULT_MAIL_RETENTION,
      removalPolicy: props.removalPolicy,
      serverAccessLogsBucket: props.mailAccessLogsBucket,
    });
    this.tables = new OutboundPoolsTables(this, 'Tables', {
      removalPolicy: props.removalPolicy,
    });
    this.identities = new SendingIdentities(this, 'Identities', {
      config,
      createIdentities: props.createIdentities ?? false,
    });
    this.tenants = new PoolTenants(this, 'Tenants', {
      pools: config.pools,
      deliveryPools: this.deliveryPools,
      identityArns: this.identities.identityArns,
      dependsOn: this.identities.identities,
    });
    this.router = new RouterFunction(this, 'Router', {
      config,
      mailBucket: this.mailBucket,
      tables: this.tables,
      deliveryPools: this.deliveryPools,
      identityArns: this.identities.identityArns,
      // Sends name their pool's tenant (ses:TenantName); the router reads the tenants' status.
      tenants: {
        names: Object.values(this.tenants.tenantNames),
        arns: Object.values(this.tenants.tenants).map((t) => t.attrArn),
      },
      timeout: props.routerTimeout,
      memorySize: props.routerMemorySize,
      reservedConcurrency: props.reservedConcurrency,
      sesSendRate: props.sesSendRate,
      logRetention: props.logRetention,
      arcKeyEncryptionKey: props.arcKeyEncryptionKey,
      removalPolicy: props.removalPolicy,
    });
    // Issue 15: a redrive finds the raw mail of every dead letter still in the queue.
    checkMailOutlivesDeadLetters(
      this,
      props.mailRetention ?? DEFAULT_MAIL_RETENTION,
      this.router.deadLetterQueue.retentionPeriod,
      this.router.maxEventAge,
    );
    // And its trace record, which tells a redrive what was already sent.
    checkTraceOutlivesDeadLetters(
      this,
      config.trace.retentionDays,
      this.router.deadLetterQueue.retentionPeriod,
      this.router.maxEventAge,
    );
    this.feedback = new FeedbackFunction(this, 'Feedback', {
      tables: this.tables,
      eventPattern: this.deliveryPools.eventPattern,
      traceRetentionDays: config.trace.retentionDays,
      deliveryEvents: config.trace.deliveryEvents,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.traceApi = new TraceApi(this, 'TraceApi', {
      tables: this.tables,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.receipt = new InboundReceipt(this, 'Receipt', {
      // The SRS domain receives the bounces of re-sent mail (reversed through high-risk).
      recipients: receiptRecipients(config, props.exactRecipients ?? false),
      mailBucket: this.mailBucket,
      router: this.router.function,
      activateRuleSet: props.activateRuleSet ?? false,
      namePrefix: this.namePrefix,
      ruleSetName: props.ruleSetName,
      tlsPolicy: props.tlsPolicy,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    // Issue 14: notices (sender restricted, alert-only limit crossed) go to the alarm topic.
    if (this.alarmTopic) {
      this.router.function.addEnvironment('NOTICE_TOPIC_ARN', this.alarmTopic.topicArn);
      grantNoticePublish(this.alarmTopic, this.router.role);
      this.tables.grantNoticeLedger(this.router.role);
    }
    this.pause = config.reputation.pauseOnAlarm
      ? new PoolPauseFunction(this, 'PoolPause', {
          pools: config.pools,
          deliveryPools: this.deliveryPools,
          tables: this.tables,
          noticeTopic: this.alarmTopic,
          logRetention: props.logRetention,
          removalPolicy: props.removalPolicy,
        })
      : undefined;
    this.reputationAlarms = new ReputationAlarms(this, 'ReputationAlarms', {
      deliveryPools: this.deliveryPools,
      bounceRate: config.reputation.bounceRate,
      complaintRate: config.reputation.complaintRate,
      pauseFunction: this.pause?.function,
      alarmTopic: this.alarmTopic,
    });
    this.functionAlarms = new FunctionAlarms(this, 'FunctionAlarms', {
      router: this.router.function,
      feedback: this.feedback.function,
      traceApi: this.traceApi.function,
      deadLetterRecorder: this.router.deadLetterRecorder.function,
      ...(this.pause ? { pause: this.pause.function } : {}),
      alarmTopic: this.alarmTopic,
    });
    this.dashboard = new OutboundPoolsDashboard(this, 'Dashboard', {
      // Every alarm of the stack on the alarm widget: without a topic, the dashboard is where
      // they show (docs/isolation.md). The account and pool rate alarms, sends refused, the
      // surges and pool-paused mail were missing from it (review of December 2026).
      extraAlarms: [...this.functionAlarms.all(), ...this.reputationAlarms.all()],
      // The normal pool's rate alarms are the reputation alarms' own (which also pause the
      // pool, with `reputation.*` as thresholds): shown, not created twice.
      normalRateAlarms: this.reputationAlarms.pools.normal,
      // Each pool's rate graph marks its own alarms' thresholds.
      poolRateAlarms: this.reputationAlarms.pools,
      deliveryPools: this.deliveryPools,
      router: {
        label: 'Router',
        function: this.router.function,
        deadLetterQueue: this.router.deadLetterQueue,
      },
      feedback: {
        label: 'Feedback',
        function: this.feedback.function,
        deadLetterQueue: this.feedback.deadLetterQueue,
      },
      traceApi: { label: 'Trace API', function: this.traceApi.function },
      alarmTopic: this.alarmTopic,
    });
  }
}
