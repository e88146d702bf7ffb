/**
 * The router Lambda (`functions/router/handler.ts`): invoked by the receipt rule's Lambda
 * action (`Event`), it reads the raw message, decides the pool and sends through SES. Failed
 * invocations are retried twice, then land in a dead-letter queue with an alarm (SPEC 8). The
 * function learns its attempt budget (`MAX_ATTEMPTS` = 1 + `retryAttempts`) from its
 * environment, so its last attempt decides a DNS temporary failure instead of dead-lettering
 * it (SPEC 2a, docs/retries.md).
 */
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { LambdaDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Config } from '../functions/core/config.js';
import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_ROUTER_TIMEOUT_SECONDS,
  LEASE_MARGIN_SECONDS,
  ROUTER_RETRY_ATTEMPTS,
} from '../functions/router/retries.js';
import { DeadLetterQueue } from './dead-letter-queue.js';
import { DeadLetterRecorder } from './dead-letter-recorder.js';
import type { IDeliveryPools } from './delivery-pools.js';
import { BUNDLED_CONFIG_FILE, projectFunction, stageConfigFile } from './lambda-bundling.js';
import type { IMailBucket } from './mail-bucket.js';
import { acknowledge, cfnResourceOf, wildcardArnFinding } from './nag.js';
import type { IOutboundPoolsTables } from './tables.js';
import { checkInteger, InfrastructureValidationError } from './validation.js';

/** SES's maximum send rate of a new production account, messages per second. */
export const DEFAULT_SES_SEND_RATE = 14;
/**
 * Seconds one router invocation is assumed to take for one message, end to end (S3 read, DNS
 * of SPF/DKIM/DMARC, signatures, DynamoDB, the SES call). `bench/` measures ≈ 0.12 s for a
 * small message with every answer cached; uncached DNS and large messages take longer. The
 * generous end keeps the cap from starving a steady flow: at 1 s per message the capped
 * router sends exactly the SES rate.
 */
export const ROUTER_SECONDS_PER_MESSAGE = 1;
/** Never fewer concurrent executions than this: one slow message must not stall the rest. */
export const MIN_ROUTER_CONCURRENCY = 2;

/**
 * The router's default reserved concurrency: `max(2, ceil(sesSendRate × 1 s))`.
 *
 * N executions that each take T seconds per message send N / T messages per second; so
 * N = rate × T lets the router keep up with SES's send rate without many more executions
 * than SES will accept at once. A burst beyond the cap is not failed: Lambda throttles the
 * extra asynchronous invocations, keeps their events in its queue and retries them for up to
 * the maximum event age (6 h here) with backoff ("How Lambda handles errors and retries with
 * asynchronous invocation": for throttling errors (429) "Lambda returns the event to the queue
 * and attempts to run the function again for up to 6 hours"), and throttles do not spend
 * the two retries of a failed invocation. The mail waits; the `RouterThrottles` alarm says
 * when it waits for long.
 */
export function routerConcurrencyCap(sesSendRate: number): number {
  return Math.max(MIN_ROUTER_CONCURRENCY, Math.ceil(sesSendRate * ROUTER_SECONDS_PER_MESSAGE));
}

/** Lambda's maximum event age for the router's events, hours (its default, 6 h). */
export const ROUTER_MAX_EVENT_AGE_HOURS = 6;

/** Properties of {@link RouterFunction}. */
export interface RouterFunctionProps {
  /** The validated configuration, bundled next to the handler as `outbound-pools.json`. */
  readonly config: Config;
  /** Where the receipt rule stores raw messages. */
  readonly mailBucket: IMailBucket;
  /** Limits and trace tables. */
  readonly tables: IOutboundPoolsTables;
  /** The configuration sets the router sends through. */
  readonly deliveryPools: IDeliveryPools;
  /** ARNs of the SES identities the router sends as. */
  readonly identityArns: readonly string[];
  /**
   * The pools' SES tenants: every send names one (`TenantName`, the policy's `ses:TenantName`
   * condition) and the router reads their `SendingStatus` (`ses:GetTenant` on their ARNs).
   */
  readonly tenants: RouterTenants;
  /**
   * Function timeout. The router's claim on a message (`LEASE_SECONDS`) lasts this long plus
   * 20 seconds, so a retry never takes over a message still being processed, yet Lambda's
   * retry of an attempt that timed out (one minute later) finds the claim expired.
   *
   * @default Duration.seconds(90)
   */
  readonly timeout?: Duration;
  /**
   * Memory (and so CPU) of the function, MB. DKIM verification and ARC sealing of 40 MB
   * messages are CPU- and memory-bound.
   *
   * 256 (issue 16): the message is held once (the S3 read fills one buffer; the copy is its
   * new header plus a view of the received body; a SendEmail of 1 MiB or more streams its
   * base64 body in chunks, `functions/adapters/ses-raw-stream.ts`), plus the S3 read's garbage
   * until the next collection. Measured (`bench/memory-limit.ts`, the bundle as deployed, with
   * the V8 limits Lambda's Node.js runtime sets for 256 MB and source maps on): the largest
   * message that is forwarded — 40 MiB less the copy's reserve; SES receives and sends at most
   * 40 MB ("Service quotas in Amazon SES") and larger ones are blocked unread — peaks at
   * 161-168 MiB of resident memory for the whole process, 201-208 MiB even counting the S3
   * object the bench's process also holds: a margin of ~90 MiB (over a third).
   *
   * Lambda gives CPU in proportion to memory (one vCPU at 1,769 MB, AWS Lambda Developer
   * Guide, "Configure Lambda function memory") and bills memory × time, so the CPU-bound
   * part costs the same at any size while the time spent waiting on S3, DynamoDB and SES
   * costs half of what it did at 512 MB: cheaper per message (bench/README.md, "Cost per
   * million"), at the price of latency (a plain message's ~10 ms of CPU takes ~70 ms). A 40 MB
   * message takes several seconds of CPU at 256 MB, far inside the timeout. Raise it for
   * lower latency; lower it only after measuring with `bench/memory-limit.ts`.
   *
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Concurrent executions reserved for (and capping) the router: a cap protects DynamoDB
   * and the SES send rate from a burst of inbound mail. Events beyond it wait in Lambda's
   * asynchronous queue and are retried (see {@link routerConcurrencyCap}).
   *
   * @default - routerConcurrencyCap(sesSendRate)
   */
  readonly reservedConcurrency?: number;
  /**
   * The SES account's maximum send rate, messages per second (`aws sesv2 get-account`,
   * `SendQuota.MaxSendRate`): the default concurrency cap is derived from it.
   *
   * @default 14 (DEFAULT_SES_SEND_RATE)
   */
  readonly sesSendRate?: number;
  /**
   * How long the router's logs are kept.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How long a container trusts a sender restriction it read before asking DynamoDB again.
   *
   * @default Duration.seconds(60)
   */
  readonly restrictionCacheTtl?: Duration;
  /**
   * The customer managed KMS key of the ARC key's SecureString parameter. Not needed for the
   * default `aws/ssm` key, which SSM uses on the caller's behalf without a KMS permission.
   *
   * @default - the parameter is encrypted with `aws/ssm`
   */
  readonly arcKeyEncryptionKey?: kms.IKey;
  /**
   * What happens to the log group when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The pools' tenants as the router's policy needs them (`PoolTenants` of `lib/tenants.ts`). */
export interface RouterTenants {
  /** Tenant names (never tokens): the `ses:TenantName` values a send may carry. */
  readonly names: readonly string[];
  /** Tenant ARNs (`arn:…:tenant/<name>/<id>`, tokens): `ses:GetTenant`'s resources. */
  readonly arns: readonly string[];
}

/**
 * The router: Node.js 22 on ARM, the configuration bundled with the code, a role granted
 * exactly what its calls need (`test/infra/privilege-alarms.test.ts` pins each statement):
 *
 * - `s3:GetObject` under the receipt rule's prefix, `s3:ListBucket` on the bucket (so a
 *   missing object reads as 404, not 403: `lib/mail-bucket.ts`);
 * - on the limits table `GetItem`, `UpdateItem` (+ `PutItem` of notice items, `N#…`, for the notice ledger when there
 *   is a notice topic); on the trace table `GetItem`, `UpdateItem`; table
 *   ARNs only, no index (`lib/tables.ts` lists which call needs which);
 * - `ses:SendEmail` on the three configuration sets and the sending identities, only as one
 *   of the pools' tenants; `ses:GetConfigurationSet` on the configuration sets and
 *   `ses:GetTenant` on the tenants (paused pools);
 * - `ssm:GetParameter` on the SRS secrets and ARC key parameters.
 */
export class RouterFunction extends Construct implements iam.IGrantable {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly deadLetterQueue: DeadLetterQueue;
  /** The router's on-failure destination: marks the trace, then queues the record (issue 15). */
  readonly deadLetterRecorder: DeadLetterRecorder;
  /** How long Lambda keeps trying an event (its maximum event age). */
  readonly maxEventAge = Duration.hours(ROUTER_MAX_EVENT_AGE_HOURS);
  readonly grantPrincipal: iam.IPrincipal;
  /** `LEASE_SECONDS` given to the function (timeout + 20). */
  readonly leaseSeconds: number;
  /** The router's reserved concurrency: the prop, or the cap derived from the SES send rate. */
  readonly reservedConcurrency: number;

  constructor(scope: Construct, id: string, props: RouterFunctionProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.seconds(DEFAULT_ROUTER_TIMEOUT_SECONDS);
    const timeoutSeconds = timeout.toSeconds();
    checkInteger(this, 'routerTimeout', timeoutSeconds, { min: 10, max: 900 });
    checkInteger(this, 'routerMemorySize', props.memorySize, { min: 128, max: 10_240 });
    checkInteger(this, 'reservedConcurrency', props.reservedConcurrency, { min: 1 });
    const sesSendRate = props.sesSendRate ?? DEFAULT_SES_SEND_RATE;
    if (!(Number.isFinite(sesSendRate) && sesSendRate > 0 && sesSendRate <= 100_000)) {
      throw new InfrastructureValidationError(
        'sesSendRate',
        `must be the SES account's maximum send rate, messages per second, above 0 (got ${sesSendRate})`,
        this,
      );
    }
    this.reservedConcurrency = props.reservedConcurrency ?? routerConcurrencyCap(sesSendRate);
    const restrictionCache = (props.restrictionCacheTtl ?? Duration.seconds(60)).toSeconds();
    checkInteger(this, 'restrictionCacheTtl', restrictionCache, { min: 0, max: 3600 });
    const arc = props.config.arc;
    if (arc && 'file' in arc.privateKey) {
      throw new InfrastructureValidationError(
        'arc.privateKey.file',
        'a key file exists only on this machine, not in Lambda; store the key in an SSM SecureString parameter and set arc.privateKey.ssmParameter',
        this,
      );
    }
    const srsParameter = props.config.srs.secretsParameter;
    if (!srsParameter) {
      throw new InfrastructureValidationError(
        'srs.secretsParameter',
        'a deployment reads the SRS secrets from an SSM SecureString parameter (one secret per line, newest first); literal srs.secrets would ship inside the Lambda code. Create it (aws ssm put-parameter --type SecureString) and set srs.secretsParameter',
        this,
      );
    }
    this.leaseSeconds = timeoutSeconds + LEASE_MARGIN_SECONDS;

    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetterQueue', {
      purpose: 'router events',
      removalPolicy: props.removalPolicy,
    });
    // A sibling of the router (`DeadLetters`), not a child: its resources are not the router's.
    this.deadLetterRecorder = new DeadLetterRecorder(scope, 'DeadLetters', {
      queue: this.deadLetterQueue,
      tables: props.tables,
      traceRetentionDays: props.config.trace.retentionDays,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    ({
      function: this.function,
      role: this.role,
      logGroup: this.logGroup,
    } = projectFunction(this, {
      entry: 'router/handler.ts',
      description: 'Outbound pools router (SES receipt rule Lambda action)',
      roleDescription: 'Outbound pools router: reads received mail, decides the pool, sends through SES',
      memorySize: props.memorySize ?? 256,
      timeout,
      environment: {
        OUTBOUND_POOLS_CONFIG_FILE: `/var/task/${BUNDLED_CONFIG_FILE}`,
        MAIL_BUCKET: props.mailBucket.bucket.bucketName,
        MAIL_PREFIX: props.mailBucket.prefix,
        LIMITS_TABLE: props.tables.limits.tableName,
        TRACE_TABLE: props.tables.trace.tableName,
        LEASE_SECONDS: String(this.leaseSeconds),
        MAX_ATTEMPTS: String(DEFAULT_MAX_ATTEMPTS),
        RESTRICTION_CACHE_SECONDS: String(restrictionCache),
      },
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      // The bundled configuration never carries the SRS secrets: the router reads them from
      // srs.secretsParameter at cold start.
      bundling: {
        extraFiles: { [BUNDLED_CONFIG_FILE]: stageConfigFile(withoutSrsSecrets(props.config)) },
      },
      invocation: {
        reservedConcurrentExecutions: this.reservedConcurrency,
        // Issue 15: through the recorder (trace status dead-letter), which queues the record;
        // the full invocation record, not only the response (responseOnly false).
        onFailure: new LambdaDestination(this.deadLetterRecorder.function, { responseOnly: false }),
        // The function is told this budget (MAX_ATTEMPTS = 1 + retryAttempts).
        retryAttempts: ROUTER_RETRY_ATTEMPTS,
        maxEventAge: this.maxEventAge,
      },
    }));
    this.grantPrincipal = this.role;

    props.mailBucket.grantReadMail(this.role);
    props.tables.grantRouter(this.role);
    this.grantSend(props.deliveryPools, props.identityArns, props.tenants);
    props.deliveryPools.grantReadSendingStatus(this.role); // issue 14: paused pools
    // Issue 14: a tenant SES paused pauses its pool (`SesPoolControl.paused`). GetTenant's
    // only resource type is the tenant (Service Authorization Reference, SESv2: GetTenant,
    // "tenant*").
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['ses:GetTenant'], resources: [...props.tenants.arns] }),
    );
    const parameters = [srsParameter];
    if (arc && 'ssmParameter' in arc.privateKey) parameters.push(arc.privateKey.ssmParameter);
    this.grantReadParameters(parameters, props.arcKeyEncryptionKey);
    this.acknowledgeScopedWildcards(props);
    const recorder = cfnResourceOf(this.deadLetterRecorder.function);
    if (recorder) {
      acknowledge(
        this.role,
        wildcardArnFinding(recorder, ':*'),
        'The on-failure destination (aws-lambda-destinations) lets the router invoke the dead-letter recorder ' +
          'and its versions (`:*`): one function of this stack, nothing else.',
      );
    }
  }

  /**
   * `ses:SendEmail` — the one action of SESv2 `SendEmail`, raw content included (there is no
   * `ses:SendRawEmail` in SESv2: that is the v1 API's action). Its resource types are
   * `identity*`, `configuration-set` and `template`; the tenant is not a resource of it but a
   * condition key, `ses:TenantName` (Service Authorization Reference, "Actions, resources, and
   * condition keys for Amazon Simple Email Service v2": SendEmail). So: the three
   * configuration sets and the sending identities, and only as one of the pools' tenants.
   */
  private grantSend(pools: IDeliveryPools, identityArns: readonly string[], tenants: RouterTenants): void {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [...pools.configurationSetArns, ...identityArns],
        conditions: { StringEquals: { 'ses:TenantName': [...tenants.names] } },
      }),
    );
  }

  /** The one wildcard of the router's policy: raw-mail objects under one prefix. */
  private acknowledgeScopedWildcards(props: RouterFunctionProps): void {
    const bucket = cfnResourceOf(props.mailBucket.bucket);
    if (bucket) {
      acknowledge(
        this.role,
        wildcardArnFinding(bucket, `/${props.mailBucket.prefix}*`),
        'Raw messages are objects named by their SES message id, unknown in advance: the router reads ' +
          `(s3:GetObject) any object under the receipt rule's prefix "${props.mailBucket.prefix}" and nothing else.`,
      );
    }
  }

  /** The function as an `IFunction` (receipt rule action, metrics). */
  get lambda(): lambda.IFunction {
    return this.function;
  }

  /** `ssm:GetParameter` on the SecureStrings it needs (SRS secrets, ARC key), nothing else. */
  private grantReadParameters(parameterNames: string[], key: kms.IKey | undefined): void {
    const resources = parameterNames.map((name) =>
      Stack.of(this).formatArn({
        service: 'ssm',
        resource: 'parameter',
        resourceName: name.replace(/^\//, ''),
      }),
    );
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources }));
    key?.grantDecrypt(this.role);
  }
}

/** The configuration as bundled: `srs.secrets` left out (they come from `srs.secretsParameter`). */
export function withoutSrsSecrets(
  config: Config,
): Omit<Config, 'srs'> & { srs: Omit<Config['srs'], 'secrets'> } {
  const { secrets: _secrets, ...srs } = config.srs;
  return { ...config, srs };
}
