/**
 * Searching the trace by pool and/or reason within a time window, through the sparse
 * `byPoolDay` index (`tables.ts`): "all high-risk mail in the last hour", "what was blocked as
 * `sender-restricted` today" (issue 15 item 9).
 *
 * The window is read a UTC day at a time, newest first: each day of each pool is
 * {@link TRACE_POOL_INDEX_SHARDS} index partitions, queried side by side with the window as a
 * key condition on `receivedAt` (so a partition reads only the window's entries) and the reason
 * as a filter on the projected `reasons`. Older days are not read once a day has filled the
 * limit: every entry of an older day is older than every entry of a newer one.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { InvalidInputError } from '../core/errors.js';
import type { Disposition } from '../core/vocabulary.js';
import {
  Expr,
  sendMapped,
  TRACE_INDEX_SK,
  TRACE_MESSAGE_PREFIX,
  TRACE_PARTITION_KEY,
  TRACE_POOL_INDEX,
  TRACE_POOL_INDEX_PK,
  TRACE_POOL_INDEX_SHARDS,
} from './tables.js';
import { batchGetMain, type TraceTable } from './trace-batches.js';
import { type Item, poolIndexValue } from './trace-items.js';

/** The pools the index holds: every disposition but `normal`. */
export const WINDOW_POOLS: readonly Disposition[] = ['high-risk', 'relay', 'blocked'];
/** The longest window one search may cover (a day costs one Query per pool and shard). */
export const MAX_WINDOW_DAYS = 31;
/** Index partitions queried at once. */
const PARTITIONS_IN_PARALLEL = 12;
const DAY_MS = 86_400_000;

export interface WindowSearch {
  /** One pool, or every pool of {@link WINDOW_POOLS}. */
  pool?: Disposition;
  reason?: string;
  /** ISO-8601, inclusive. */
  since: string;
  until: string;
}

/** The UTC days (`YYYY-MM-DD`) a window touches, newest first. */
export function windowDays(since: string, until: string): string[] {
  const first = Date.parse(`${since.slice(0, 10)}T00:00:00Z`);
  const days: string[] = [];
  for (let t = Date.parse(`${until.slice(0, 10)}T00:00:00Z`); t >= first; t -= DAY_MS) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

/** The `limit` most recent main items in the window, newest first. */
export async function searchWindow(table: TraceTable, w: WindowSearch, limit: number): Promise<Item[]> {
  if (w.pool === 'normal') {
    throw new InvalidInputError(
      'pool',
      'normal mail is not indexed by time (it is the bulk; indexing it would cost every message a write): add a sender or recipient',
    );
  }
  if (w.since > w.until) throw new InvalidInputError('since', 'is after until');
  const days = windowDays(w.since, w.until);
  if (days.length > MAX_WINDOW_DAYS) {
    throw new InvalidInputError(
      'since',
      `the window covers ${days.length} days; at most ${MAX_WINDOW_DAYS} for a search by pool or reason`,
    );
  }
  const pools = w.pool ? [w.pool] : WINDOW_POOLS;
  const found: { id: string; at: string }[] = [];
  for (const day of days) {
    const partitions = pools.flatMap((pool) =>
      Array.from({ length: TRACE_POOL_INDEX_SHARDS }, (_, shard) => poolIndexValue(pool, day, shard)),
    );
    for (let i = 0; i < partitions.length; i += PARTITIONS_IN_PARALLEL) {
      const lists = await Promise.all(
        partitions.slice(i, i + PARTITIONS_IN_PARALLEL).map((p) => queryPartition(table, p, w, limit)),
      );
      found.push(...lists.flat());
    }
    if (found.length >= limit) break;
  }
  found.sort((a, b) => (a.at === b.at ? a.id.localeCompare(b.id) : a.at < b.at ? 1 : -1));
  const ids = [...new Set(found.map((f) => f.id))].slice(0, limit);
  const items = await batchGetMain(table, ids);
  const order = new Map(ids.map((id, i) => [id, i]));
  return items.sort(
    (a, b) => (order.get(a.messageId as string) ?? 0) - (order.get(b.messageId as string) ?? 0),
  );
}

/** Up to `limit` entries of one index partition in the window (with the reason), newest first. */
async function queryPartition(
  table: TraceTable,
  partition: string,
  w: WindowSearch,
  limit: number,
): Promise<{ id: string; at: string }[]> {
  const out: { id: string; at: string }[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const x = new Expr();
    const reasonFilter =
      w.reason === undefined ? {} : { FilterExpression: `contains(${x.n('reasons')}, ${x.v(w.reason)})` };
    const page = await sendMapped('Query', () =>
      table.doc.send(
        new QueryCommand({
          TableName: table.tableName,
          IndexName: TRACE_POOL_INDEX,
          KeyConditionExpression: `${x.n(TRACE_POOL_INDEX_PK)} = ${x.v(partition)} AND ${x.n(TRACE_INDEX_SK)} BETWEEN ${x.v(w.since)} AND ${x.v(w.until)}`,
          ...reasonFilter,
          ScanIndexForward: false,
          // Limit counts the entries read, before the filter: pages go on until enough matched.
          Limit: limit,
          ExclusiveStartKey: start,
          ...x.params(),
        }),
      ),
    );
    for (const entry of page.Items ?? []) {
      const pk = entry[TRACE_PARTITION_KEY];
      const at = entry[TRACE_INDEX_SK];
      if (typeof pk === 'string' && typeof at === 'string') {
        out.push({ id: pk.slice(TRACE_MESSAGE_PREFIX.length), at });
      }
    }
    start = page.LastEvaluatedKey;
  } while (start && out.length < limit);
  return out.slice(0, limit);
}
