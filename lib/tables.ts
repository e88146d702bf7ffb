/**
 * The limits and trace tables, built from the one description the adapters use
 * (`functions/adapters/tables.ts`): key attributes, GSIs and TTL attribute cannot drift
 * between the code and the infrastructure.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { NOTICE_KEY_PREFIX } from '../functions/adapters/dynamo-notice-ledger.js';
import {
  type KeyAttribute,
  LIMITS_TABLE,
  type TableDescription,
  TRACE_TABLE,
} from '../functions/adapters/tables.js';

/** Properties of {@link OutboundPoolsTables}. */
export interface OutboundPoolsTablesProps {
  /**
   * What happens to the tables when they leave the stack. Restrictions of senders (limits)
   * and the message trace are operational records: keep them by default.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The two tables the router and the feedback function share. */
export interface IOutboundPoolsTables {
  /** Counters and restrictions of sending identities (`LIMITS_TABLE`). */
  readonly limits: dynamodb.ITable;
  /** Message trace (`TRACE_TABLE`). */
  readonly trace: dynamodb.ITable;
  /** Exactly the item operations of the router's code path ({@link ROUTER_LIMITS}, {@link ROUTER_TRACE}). */
  grantRouter(grantee: iam.IGrantable): iam.Grant;
  /** `dynamodb:PutItem` on the limits table's notice items (`N#…`): the notice ledger (`dynamo-notice-ledger.ts`). */
  grantNoticeLedger(grantee: iam.IGrantable): iam.Grant;
  /** Appending SES events to existing trace records, nothing else (the feedback function). */
  grantAppendTraceEvents(grantee: iam.IGrantable): iam.Grant;
  /** Reading the trace and querying its indexes, nothing else (the trace API). */
  grantReadTrace(grantee: iam.IGrantable): iam.Grant;
}

/** The reads of `DynamoTraceStore.get` and `.query` (main item; index query, then BatchGetItem). */
export const TRACE_READ: readonly string[] = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'];

/**
 * The router's calls on the limits table (`DynamoLimitsStore.count`, `refund`, `countNdr`,
 * `restrict`: conditional `UpdateItem`; `learnWindow`, and the read-backs after a failed or
 * repeated update of `count`, `countNdr` and `restrict`: `GetItem`). Listing restrictions (a
 * Query of `byRestriction`), `release` and `peek` are the CLI's, not the router's. A condition
 * on an `UpdateItem` needs no `ConditionCheckItem` (that action is `TransactWriteItems`'s).
 */
export const ROUTER_LIMITS: readonly string[] = ['dynamodb:GetItem', 'dynamodb:UpdateItem'];

/**
 * The router's calls on the trace table (`DynamoTraceStore.claim`, `recordSend`, `release`:
 * conditional `UpdateItem`; the duplicate path of `claim` and `recorded`, the read-back after a
 * failed `recordSend`: `GetItem`). No Query: the router
 * never reads the index (it is written by DynamoDB itself, which needs no permission of the
 * writer); no batch writes since a message is one item whatever its recipients (issue 16).
 */
export const ROUTER_TRACE: readonly string[] = ['dynamodb:GetItem', 'dynamodb:UpdateItem'];

const ATTRIBUTE_TYPE = {
  S: dynamodb.AttributeType.STRING,
  N: dynamodb.AttributeType.NUMBER,
} as const;

const PROJECTION = {
  KEYS_ONLY: dynamodb.ProjectionType.KEYS_ONLY,
  INCLUDE: dynamodb.ProjectionType.INCLUDE,
  ALL: dynamodb.ProjectionType.ALL,
} as const;

const attribute = (a: KeyAttribute): dynamodb.Attribute => ({ name: a.name, type: ATTRIBUTE_TYPE[a.type] });

/**
 * A DynamoDB table exactly as a {@link TableDescription} describes it: on-demand, encrypted
 * with the AWS managed key, point-in-time recovery on, TTL on the described attribute, and
 * every described GSI.
 */
export function tableFromDescription(
  scope: Construct,
  id: string,
  description: TableDescription,
  removalPolicy: RemovalPolicy,
): dynamodb.Table {
  const table = new dynamodb.Table(scope, id, {
    partitionKey: attribute(description.partitionKey),
    ...(description.sortKey ? { sortKey: attribute(description.sortKey) } : {}),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: description.ttlAttribute,
    removalPolicy,
    // `Retain` covers a delete by CloudFormation only; this refuses a console or API delete too
    // (losing the limits table would silently release every restricted sender). Off for a
    // stack that asks to be destroyed with its data.
    deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
  });
  for (const [indexName, index] of Object.entries(description.indexes)) {
    table.addGlobalSecondaryIndex({
      indexName,
      partitionKey: attribute(index.partitionKey),
      ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
      projectionType: PROJECTION[index.projection],
      ...(index.projection === 'INCLUDE' ? { nonKeyAttributes: [...(index.nonKeyAttributes ?? [])] } : {}),
    });
  }
  return table;
}

/**
 * The limits table (counters, restrictions; a sparse GSI of restricted identities) and the
 * trace table (one partition per received message; GSIs by sender, recipient, destination).
 * Point-in-time recovery is on for both: the trace is the operator's record, and a lost
 * limits table would silently release every restricted sender.
 */
export class OutboundPoolsTables extends Construct implements IOutboundPoolsTables {
  readonly limits: dynamodb.Table;
  readonly trace: dynamodb.Table;

  constructor(scope: Construct, id: string, props: OutboundPoolsTablesProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.limits = tableFromDescription(this, 'Limits', LIMITS_TABLE, removalPolicy);
    this.trace = tableFromDescription(this, 'Trace', TRACE_TABLE, removalPolicy);
  }

  grantRouter(grantee: iam.IGrantable): iam.Grant {
    // The table ARNs alone: Table.grant would add `/index/*`, and the router queries no index.
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...ROUTER_LIMITS],
      resourceArns: [this.limits.tableArn],
    }).combine(
      iam.Grant.addToPrincipal({ grantee, actions: [...ROUTER_TRACE], resourceArns: [this.trace.tableArn] }),
    );
  }

  grantNoticeLedger(grantee: iam.IGrantable): iam.Grant {
    // A conditional PutItem per notice event (`attribute_not_exists`): nothing else, and only
    // on notice items (`N#…`). A PutItem replaces a whole item, so without the key condition
    // the pause function's role (which needs no other access to this table) could rewrite any
    // sender's counters or restriction (`S#…`): release a restricted sender, or restrict
    // anyone (review of December 2026). `dynamodb:LeadingKeys` is the partition key of the
    // item the request writes; it takes `ForAllValues` ("Using IAM policy conditions for
    // fine-grained access control", Amazon DynamoDB Developer Guide).
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:PutItem'],
      resourceArns: [this.limits.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${NOTICE_KEY_PREFIX}*`] } },
    });
  }

  grantReadTrace(grantee: iam.IGrantable): iam.Grant {
    // The table (GetItem, BatchGetItem, the Query of one message's items) and each index the
    // trace queries (`trace-queries.ts`) by name, from the same description: no `/index/*`.
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...TRACE_READ],
      resourceArns: [
        this.trace.tableArn,
        ...Object.keys(TRACE_TABLE.indexes).map((index) => `${this.trace.tableArn}/index/${index}`),
      ],
    });
  }

  grantAppendTraceEvents(grantee: iam.IGrantable): iam.Grant {
    // DynamoTraceStore.appendEvent reads the message's main item (GetItem) and puts one event
    // item beside it, never overwriting an item (a conditional PutItem): no update, no index.
    // The table ARN alone: no index is ever written directly.
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      resourceArns: [this.trace.tableArn],
    });
  }
}
