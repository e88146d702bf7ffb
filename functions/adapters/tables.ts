/**
 * The one description of the two DynamoDB tables (limits and trace), shared by the adapters,
 * by tests and the sandbox (`createTables`, against dynalite or a real account), and by the
 * CDK stack (the plain constants below; no CDK import here, so the Lambda bundle never pulls
 * CDK in).
 *
 * It also holds the little plumbing both adapters share: wrapping an injected client in a
 * document client, and mapping SDK errors onto the project's error hierarchy.
 */
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TransientDependencyError } from '../core/errors.js';
import { isTransientAwsError } from './aws-errors.js';

export type KeyType = 'S' | 'N';

export interface KeyAttribute {
  name: string;
  type: KeyType;
}

export interface IndexDescription {
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  /** KEYS_ONLY: the table keys and the index keys; INCLUDE adds `nonKeyAttributes`. */
  projection: 'KEYS_ONLY' | 'INCLUDE' | 'ALL';
  nonKeyAttributes?: readonly string[];
}

export interface TableDescription {
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  /** Epoch-seconds attribute DynamoDB TTL deletes items by (enable TTL on it in the stack). */
  ttlAttribute: string;
  indexes: Readonly<Record<string, IndexDescription>>;
}

// --- limits table --------------------------------------------------------------------------

/** Partition key of the limits table (`S#<identity>`). */
export const LIMITS_PARTITION_KEY = 'pk';
/** Prefix of a sending identity's item key. */
export const LIMITS_IDENTITY_PREFIX = 'S#';
/** Sparse GSI of the identities with a restriction (so `listRestricted` is a Query, not a Scan). */
export const LIMITS_RESTRICTION_INDEX = 'byRestriction';
/** Partition key of `byRestriction`: present (always `R`) only while an item carries a restriction. */
export const LIMITS_RESTRICTION_INDEX_PK = 'rstate';
/** The only value of `rstate`. */
export const LIMITS_RESTRICTION_STATE = 'R';
/** Sort key of `byRestriction`: the ISO time the restriction ends (`listRestricted` keeps `> now`). */
export const LIMITS_RESTRICTION_INDEX_SK = 'rUntil';
/** Epoch seconds; refreshed to now + 3 days by every count, pinned far ahead while a `block` holds. */
export const LIMITS_TTL_ATTRIBUTE = 'expiresAt';

export const LIMITS_TABLE: TableDescription = {
  partitionKey: { name: LIMITS_PARTITION_KEY, type: 'S' },
  ttlAttribute: LIMITS_TTL_ATTRIBUTE,
  indexes: {
    [LIMITS_RESTRICTION_INDEX]: {
      partitionKey: { name: LIMITS_RESTRICTION_INDEX_PK, type: 'S' },
      sortKey: { name: LIMITS_RESTRICTION_INDEX_SK, type: 'S' },
      // Not ALL: counter updates of a restricted item then change nothing projected, so they
      // cause no write to the index (whose single partition `R` only sees restrict/release).
      projection: 'INCLUDE',
      nonKeyAttributes: ['identity', 'rReason', 'rSince'],
    },
  },
};

// --- trace table ---------------------------------------------------------------------------

export const TRACE_PARTITION_KEY = 'pk';
export const TRACE_SORT_KEY = 'sk';
/** Prefix of a message's partition (`M#<messageId>`). */
export const TRACE_MESSAGE_PREFIX = 'M#';
/** Sort key of the main item of a message. */
export const TRACE_MAIN_SK = 'MSG';
/**
 * Sort-key prefix of a message's delivery events, one small item each (`E#<at>#<rank><digest>`,
 * `trace-events.ts`). They sort before the main item (`MSG`), so one Query for `sk BETWEEN "E#"
 * AND "MSG"`, newest first, reads the main item and then its most recent events: keep every
 * other sort key of a message outside that range.
 */
export const TRACE_EVENT_PREFIX = 'E#';
export const TRACE_TTL_ATTRIBUTE = 'expiresAt';
/** Sort key of the trace index. */
export const TRACE_INDEX_SK = 'receivedAt';

/**
 * The trace's one index (issue 16: one index entry per message): every message, whatever its
 * pool, under `gsiPool = "<pool>#<YYYY-MM-DD>#<shard>"` (UTC day of `receivedAt`), sorted by
 * `receivedAt`. A search — by sender, recipient, pool or reason — reads the partitions of a
 * time window and filters on the projected attributes (`trace-window.ts`); a message id is
 * looked up by its key. The entry is written once, with the summary, and never again.
 */
export const TRACE_POOL_INDEX = 'byPoolDay';
export const TRACE_POOL_INDEX_PK = 'gsiPool';
/**
 * The addresses of a message's `recipients` and `destinations` that are not lower-case, lower-
 * cased: a search by address is case-insensitive, DynamoDB's `contains` is not. Written only
 * when there are some (an NDR to a mixed-case sender, say), so ordinary mail pays nothing.
 */
export const TRACE_LOWER_CASE_ADDRESSES = 'lcAddresses';
/**
 * What a search filters on, projected into the index entry so a search reads the index alone
 * for its matches. Ordinary mail's entry stays well under 1 KB (one write unit); a message to
 * 50 destinations of ~27 bytes each weighs about 1.5 KB (2 WRU), as does its main item
 * (`test/bench/dynamo-units.test.ts`).
 */
export const TRACE_POOL_INDEX_ATTRIBUTES: readonly string[] = [
  'reasons',
  'sender',
  'recipients',
  'destinations',
  TRACE_LOWER_CASE_ADDRESSES,
];
/**
 * Index partitions per pool and day. All of a pool's messages at one moment write the same
 * key whatever the bucket's length; shards spread them over this many partitions (each takes
 * about 1 000 writes a second, so `normal` mail takes about 4 000 messages a second), and a
 * search reads each shard of each day and pool it covers.
 */
export const TRACE_POOL_INDEX_SHARDS = 4;

export const TRACE_TABLE: TableDescription = {
  partitionKey: { name: TRACE_PARTITION_KEY, type: 'S' },
  sortKey: { name: TRACE_SORT_KEY, type: 'S' },
  ttlAttribute: TRACE_TTL_ATTRIBUTE,
  indexes: {
    [TRACE_POOL_INDEX]: {
      partitionKey: { name: TRACE_POOL_INDEX_PK, type: 'S' },
      sortKey: { name: TRACE_INDEX_SK, type: 'S' },
      // INCLUDE, not ALL: later updates of the main item (sends, status) change nothing
      // projected, so they cost no index write; event items carry no index key at all.
      projection: 'INCLUDE',
      nonKeyAttributes: TRACE_POOL_INDEX_ATTRIBUTES,
    },
  },
};

// --- creating the tables (tests, sandbox) ----------------------------------------------------

export interface TableNames {
  limits?: string;
  trace?: string;
}

/** The CreateTable request (PAY_PER_REQUEST) for a table description. */
export function createTableInput(tableName: string, table: TableDescription): CreateTableCommandInput {
  const attributes = new Map<string, KeyType>();
  const keySchema = (pk: KeyAttribute, sk?: KeyAttribute) => {
    attributes.set(pk.name, pk.type);
    if (sk) attributes.set(sk.name, sk.type);
    return [
      { AttributeName: pk.name, KeyType: 'HASH' as const },
      ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : []),
    ];
  };
  const KeySchema = keySchema(table.partitionKey, table.sortKey);
  const indexes: GlobalSecondaryIndex[] = Object.entries(table.indexes).map(([IndexName, index]) => ({
    IndexName,
    KeySchema: keySchema(index.partitionKey, index.sortKey),
    Projection: {
      ProjectionType: index.projection,
      ...(index.projection === 'INCLUDE' ? { NonKeyAttributes: [...(index.nonKeyAttributes ?? [])] } : {}),
    },
  }));
  const AttributeDefinitions: AttributeDefinition[] = [...attributes].map(
    ([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    }),
  );
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions,
    KeySchema,
    ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
  };
}

/**
 * Creates the named tables (PAY_PER_REQUEST; a table that already exists is kept) and waits
 * until they and their indexes are ACTIVE. TTL is not enabled here: dynalite has no TTL API;
 * the stack enables it on `ttlAttribute`.
 */
export async function createTables(
  client: DynamoDBClient,
  names: TableNames,
  opts: { timeoutMs?: number; pollMs?: number } = {},
): Promise<void> {
  const wanted: [string, TableDescription][] = [];
  if (names.limits) wanted.push([names.limits, LIMITS_TABLE]);
  if (names.trace) wanted.push([names.trace, TRACE_TABLE]);
  await Promise.all(
    wanted.map(async ([name, table]) => {
      try {
        await client.send(new CreateTableCommand(createTableInput(name, table)));
      } catch (err) {
        if ((err as Error).name !== 'ResourceInUseException') throw err;
      }
    }),
  );
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  for (const [name] of wanted) {
    for (;;) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
      const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
      if (Table?.TableStatus === 'ACTIVE' && indexesActive) break;
      if (Date.now() > deadline) throw new Error(`table ${name} did not become ACTIVE in time`);
      await sleep(opts.pollMs ?? 20);
    }
  }
}

// --- shared adapter plumbing ------------------------------------------------------------------

/** A document client over an injected client: used as is when it already is one. */
export function documentClient(client: DynamoDBDocumentClient | DynamoDBClient): DynamoDBDocumentClient {
  if (client instanceof DynamoDBDocumentClient) return client;
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function isConditionFailed(err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}

/** DynamoDB's own names for faults worth retrying, also when they carry no HTTP status. */
const DYNAMODB_TRANSIENT = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
]);

/**
 * Throttling, a 5xx or a network fault: worth retrying later (the SDK has retried already).
 * The project-wide classification (`aws-errors.ts`) plus DynamoDB's own error names.
 */
export function isTransientDynamoError(err: unknown): boolean {
  if (isConditionFailed(err)) return false;
  if (isTransientAwsError(err)) return true;
  return err instanceof Error && DYNAMODB_TRANSIENT.has(err.name);
}

/** Maps a failed SDK call: transient faults become `TransientDependencyError`, the rest stays. */
export function mapDynamoError(operation: string, err: unknown): unknown {
  if (!isTransientDynamoError(err)) return err;
  const e = err as Error;
  return new TransientDependencyError('dynamodb', `${operation}: ${e.name}: ${e.message}`, { cause: err });
}

/** Sends a command, mapping transient faults (a condition failure is re-thrown unchanged). */
export async function sendMapped<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw mapDynamoError(operation, err);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Builds expression attribute names and values: every name goes through `#nN` (DynamoDB has
 * hundreds of reserved words: `status`, `day`, `int`...), every value through `:vN`.
 */
export class Expr {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private readonly nameAliases = new Map<string, string>();
  private valueCount = 0;

  /** `#alias` for an attribute name; a dotted path is aliased part by part. */
  n(path: string): string {
    return path
      .split('.')
      .map((part) => {
        let alias = this.nameAliases.get(part);
        if (!alias) {
          alias = `#n${this.nameAliases.size}`;
          this.nameAliases.set(part, alias);
          this.names[alias] = part;
        }
        return alias;
      })
      .join('.');
  }

  /** `:alias` for a value. */
  v(value: unknown): string {
    const alias = `:v${this.valueCount++}`;
    this.values[alias] = value;
    return alias;
  }

  /** Fields for a command input (values omitted when there are none: DynamoDB rejects `{}`). */
  params(): {
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues?: Record<string, unknown>;
  } {
    return {
      ExpressionAttributeNames: this.names,
      ...(this.valueCount > 0 ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}
