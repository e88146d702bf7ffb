/**
 * The pause function (`functions/pause/handler.ts`, issue 14): a pool's reputation alarm
 * invokes it directly; it disables the pool's configuration set's sending and publishes a
 * "pool paused" notice. Its role holds exactly what that takes: `ses:PutConfigurationSetSendingOptions`
 * on the three configuration sets, and — only when there is a notice topic — `sns:Publish` on
 * that topic (with its key), `ses:GetConfigurationSet` on the three sets (a retry's late notice
 * says whether the pool sends again by then) and `dynamodb:PutItem` on the limits table's notice items, `N#…` (the notice ledger).
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { Config } from '../functions/core/config.js';
import { POOLS } from '../functions/core/vocabulary.js';
import type { IDeliveryPools } from './delivery-pools.js';
import { projectFunction } from './lambda-bundling.js';
import type { IOutboundPoolsTables } from './tables.js';

/** Properties of {@link PoolPauseFunction}. */
export interface PoolPauseFunctionProps {
  /** The pools of the validated configuration: configuration set and tenant names. */
  readonly pools: Config['pools'];
  readonly deliveryPools: IDeliveryPools;
  /** The limits table: notice events are remembered there. */
  readonly tables: IOutboundPoolsTables;
  /**
   * Where "pool paused" notices go.
   *
   * @default - no notice (the alarm itself still notifies its own actions)
   */
  readonly noticeTopic?: sns.ITopic;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

export class PoolPauseFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: PoolPauseFunctionProps) {
    super(scope, id);
    const pools = Object.fromEntries(
      POOLS.map((p) => [
        p,
        { configurationSet: props.pools[p].configurationSet, tenant: props.pools[p].tenant },
      ]),
    );
    ({ function: this.function, role: this.role } = projectFunction(this, {
      entry: 'pause/handler.ts',
      description: 'Outbound pools: pauses a pool whose reputation alarm fired',
      roleDescription: "Outbound pools pause: disables a pool configuration set's sending",
      memorySize: 256,
      timeout: Duration.seconds(30),
      environment: {
        POOLS: JSON.stringify(pools),
        LIMITS_TABLE: props.tables.limits.tableName,
        ...(props.noticeTopic ? { NOTICE_TOPIC_ARN: props.noticeTopic.topicArn } : {}),
      },
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      // CloudWatch invokes asynchronously and Lambda retries twice; pausing is idempotent.
      invocation: { retryAttempts: 2, maxEventAge: Duration.hours(1) },
    }));
    props.deliveryPools.grantPause(this.role);
    if (props.noticeTopic) {
      // A retry's late notice says whether the pool sends again by then (`resumedSince`).
      props.deliveryPools.grantReadSendingStatus(this.role);
      grantNoticePublish(props.noticeTopic, this.role);
      props.tables.grantNoticeLedger(this.role);
    }
  }
}

/**
 * `sns:Publish` on the notice topic and, for a KMS-encrypted topic, `kms:GenerateDataKey` and
 * `kms:Decrypt` on its key only — what an SNS publisher needs (SNS Developer Guide, "Encryption
 * at rest": the publisher's key permissions) — rather than `grantPublish`'s
 * `kms:GenerateDataKey*`, a wildcard action.
 */
export function grantNoticePublish(topic: sns.ITopic, role: iam.Role): void {
  iam.Grant.addToPrincipal({ grantee: role, actions: ['sns:Publish'], resourceArns: [topic.topicArn] });
  topic.masterKey?.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
}
