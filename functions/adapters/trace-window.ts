/**
 * Every search of the trace — by sender, recipient, pool and/or reason — is a time-window
 * query of the `byPoolDay` index (`tables.ts`), which holds every message once (issue 16: one
 * index entry per message, where an index per sender, recipient and destination cost three).
 *
 * The window is read a UTC day at a time, newest first: each day of each pool is
 * {@link TRACE_POOL_INDEX_SHARDS} index partitions, queried side by side with the window as a
 * key condition on `receivedAt` (so a partition reads only the window's entries) and the
 * sender, recipient and reason as a filter on the projected `sender`, `recipients`,
 * `destinations` and `reasons`. Older days are not read once a day has filled the limit: every
 * entry of an older day is older than every entry of a newer one.
 *
 * What it costs: a filter does not reduce what DynamoDB reads (it bills every entry of the
 * window, 0.5 RRU per started 4 KB, eventually consistent), only what it returns. So a filtered
 * Query is sent without `Limit`: "Limit counts items evaluated before the FilterExpression"
 * (DynamoDB Developer Guide, "Query – Limiting the number of items in the result set" and
 * "Filter expressions for Query"), so `Limit: 1` would read one entry per round trip — 80 000
 * requests for a rare sender over a pool-day of 80 000 messages. Without it each request reads
 * a full 1 MB page (~4 000 entries of ~250 bytes), and the partition stops being paged as soon
 * as enough entries matched. A search over a day of a million messages then reads about 250 MB
 * of index (~30 000 RRU, under a cent) in ~250 pages, 16 partitions at a time; a pool narrows
 * it to that pool's partitions. Only an unfiltered (pool-only) search sends `Limit`: there
 * every entry read is a match.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { InvalidInputError } from '../core/errors.js';
import { type Disposition, POOLS } from '../core/vocabulary.js';
import {
  Expr,
  sendMapped,
  TRACE_INDEX_SK,
  TRACE_LOWER_CASE_ADDRESSES,
  TRACE_MESSAGE_PREFIX,
  TRACE_PARTITION_KEY,
  TRACE_POOL_INDEX,
  TRACE_POOL_INDEX_PK,
  TRACE_POOL_INDEX_SHARDS,
} from './tables.js';
import { batchGetMain, type TraceTable } from './trace-batches.js';
import { type IndexPartition, type Item, poolIndexValue } from './trace-items.js';

/**
 * The partitions a search without a pool reads: every disposition, and the dead letters whose
 * decision was never recorded (found by sender and recipient too, review of December 2026).
 */
export const WINDOW_POOLS: readonly IndexPartition[] = [...POOLS, 'blocked', 'dead-letter'];
/**
 * The longest window one search may cover, in days of 24 hours (so `since=31d` is allowed).
 * Such a window touches at most 32 UTC days of index partitions; each costs one Query per pool,
 * shard and 1 MB page of entries.
 */
export const MAX_WINDOW_DAYS = 31;
/** The window of a search that gives no `since` (the CLI, the API and `query` alike). */
export const DEFAULT_WINDOW_HOURS = 24;
/** Index partitions queried at once. */
const PARTITIONS_IN_PARALLEL = 16;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/**
 * The one rule on a search's length, shared by the lookup (CLI and API, which name the
 * parameter as their caller spells it) and the store: at most {@link MAX_WINDOW_DAYS} × 24
 * hours, wherever the window starts. (It once counted the UTC days touched here and the hours
 * in the lookup, so `since=31d` passed one check and failed the other: review H.)
 */
export function checkWindowLength(sinceMs: number, untilMs: number, parameter = 'since'): void {
  if (untilMs - sinceMs > MAX_WINDOW_DAYS * DAY_MS) {
    throw new InvalidInputError(
      parameter,
      `the window is ${Math.ceil((untilMs - sinceMs) / HOUR_MS)} hours long; a search covers at most ${MAX_WINDOW_DAYS} days (${MAX_WINDOW_DAYS * 24} hours)`,
    );
  }
}

export interface WindowSearch {
  /** One pool, or every pool of {@link WINDOW_POOLS}. */
  pool?: Disposition;
  reason?: string;
  /** The stored sender (lower-case, `<>` for the null sender). */
  sender?: string;
  /** A recipient or destination, lower-case. */
  recipient?: string;
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
  if (w.since > w.until) throw new InvalidInputError('since', 'is after until');
  checkWindowLength(Date.parse(w.since), Date.parse(w.until));
  const days = windowDays(w.since, w.until);
  const pools: readonly IndexPartition[] = w.pool ? [w.pool] : WINDOW_POOLS;
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

/** The filter on the projected attributes: every criterion given must hold. */
function filterOf(x: Expr, w: WindowSearch): { FilterExpression?: string } {
  const terms: string[] = [];
  if (w.reason !== undefined) terms.push(`contains(${x.n('reasons')}, ${x.v(w.reason)})`);
  if (w.sender !== undefined) terms.push(`${x.n('sender')} = ${x.v(w.sender)}`);
  if (w.recipient !== undefined) {
    const r = x.v(w.recipient);
    const lists = ['recipients', 'destinations', TRACE_LOWER_CASE_ADDRESSES];
    terms.push(`(${lists.map((list) => `contains(${x.n(list)}, ${r})`).join(' OR ')})`);
  }
  return terms.length > 0 ? { FilterExpression: terms.join(' AND ') } : {};
}

/** Up to `limit` matching entries of one index partition in the window, newest first. */
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
    const filter = filterOf(x, w);
    const page = await sendMapped('Query', () =>
      table.doc.send(
        new QueryCommand({
          TableName: table.tableName,
          IndexName: TRACE_POOL_INDEX,
          KeyConditionExpression: `${x.n(TRACE_POOL_INDEX_PK)} = ${x.v(partition)} AND ${x.n(TRACE_INDEX_SK)} BETWEEN ${x.v(w.since)} AND ${x.v(w.until)}`,
          ...filter,
          ScanIndexForward: false,
          // Limit counts the entries read before the filter (Developer Guide, "Filter
          // expressions for Query"): with a filter it would cap each round trip at `limit`
          // entries read, so it is left out and DynamoDB fills 1 MB pages; without one every
          // entry read matches, and Limit stops the read at what is needed.
          ...(filter.FilterExpression === undefined ? { Limit: limit - out.length } : {}),
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
