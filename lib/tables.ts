/**
 * The limits and trace tables, built from the one description the adapters use
 * (`functions/adapters/tables.ts`): key attributes, GSIs and TTL attribute cannot drift
 * between the code and the infrastructure.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
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
  /** Read and write access to both tables and their indexes (the router). */
  grantReadWrite(grantee: iam.IGrantable): iam.Grant;
  /** Appending SES events to existing trace records, nothing else (the feedback function). */
  grantAppendTraceEvents(grantee: iam.IGrantable): iam.Grant;
  /** Reading the trace and its indexes, nothing else (the trace API). */
  grantReadTrace(grantee: iam.IGrantable): iam.Grant;
}

/** The reads of `DynamoTraceStore.get` and `.query` (main item; index query, then BatchGetItem). */
export const TRACE_READ: readonly string[] = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'];

/** The item operations the router's stores use (`dynamo-limits-store.ts`, `dynamo-trace-store.ts`). */
export const ITEM_READ_WRITE: readonly string[] = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

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

  grantReadWrite(grantee: iam.IGrantable): iam.Grant {
    // Item reads and writes on the tables and their indexes (Table.grant adds `/index/*`);
    // unlike grantReadWriteData: no Scan, no DescribeTable, no stream reads.
    return this.limits
      .grant(grantee, ...ITEM_READ_WRITE)
      .combine(this.trace.grant(grantee, ...ITEM_READ_WRITE));
  }

  grantReadTrace(grantee: iam.IGrantable): iam.Grant {
    // Table.grant covers the table and `/index/*`: no Scan, no writes.
    return this.trace.grant(grantee, ...TRACE_READ);
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
