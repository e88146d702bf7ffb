/**
 * Reading the trace: a message by id (`get`) and searches by sender or recipient (`query`),
 * narrowed by pool or reason, or by pool or reason alone within a window (`trace-window.ts`).
 *
 * - `get`: one `Query` (main item and its newest events, newest first, paged past 1 MB);
 * - `query`: the index pages, `BatchGetItem` of the main items, and one `Query` of events per
 *   message returned.
 *
 * The GSIs are KEYS_ONLY (`trace-items.ts`), so a search pages through an index and fetches
 * the main items it points at.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { InvalidInputError } from '../core/errors.js';
import {
  Expr,
  sendMapped,
  TRACE_DESTINATION_INDEX,
  TRACE_DESTINATION_INDEX_PK,
  TRACE_EVENT_PREFIX,
  TRACE_INDEX_SK,
  TRACE_MAIN_SK,
  TRACE_MESSAGE_PREFIX,
  TRACE_PARTITION_KEY,
  TRACE_RECIPIENT_INDEX,
  TRACE_RECIPIENT_INDEX_PK,
  TRACE_SENDER_INDEX,
  TRACE_SENDER_INDEX_PK,
  TRACE_SORT_KEY,
} from './tables.js';
import { batchGetMain, type TraceTable } from './trace-batches.js';
import { eventOf, MAX_EVENTS_PER_MESSAGE, MAX_EVENTS_PER_SEARCH_RESULT } from './trace-events.js';
import { type Item, recordOf, senderKey, type TraceQuery, type TraceRecord, toIso } from './trace-items.js';
import { searchWindow } from './trace-window.js';

/** Messages a search returns when no limit is given. */
export const DEFAULT_QUERY_LIMIT = 50;
/** Event queries a search runs at once (one per message it returns). */
const EVENT_READS_IN_PARALLEL = 10;

/**
 * A message's trace (strongly consistent) with its {@link MAX_EVENTS_PER_MESSAGE} most recent
 * events, or null. One Query: the main item sorts after the events, so newest first it comes
 * first, then the events from the newest.
 */
export async function getTrace(table: TraceTable, messageId: string): Promise<TraceRecord | null> {
  const { items, more } = await newest(
    table,
    messageId,
    { between: [TRACE_EVENT_PREFIX, TRACE_MAIN_SK] },
    MAX_EVENTS_PER_MESSAGE + 1,
    true,
  );
  const [main, ...events] = items;
  if (main?.[TRACE_SORT_KEY] !== TRACE_MAIN_SK) return null; // events alone: no record
  return recordOf(main, { events: events.map(eventOf), more });
}

/**
 * Searches the trace by sender and/or recipient (a recipient matches both the addresses SES
 * received the message for and the destinations the copies went to), most recent first.
 * GSIs are eventually consistent: a message recorded a moment ago may be missing.
 */
export async function queryTrace(table: TraceTable, q: TraceQuery): Promise<TraceRecord[]> {
  const limit = Math.max(1, Math.floor(q.limit ?? DEFAULT_QUERY_LIMIT));
  const range = {
    since: q.since === undefined ? undefined : toIso(q.since, 'since'),
    until: q.until === undefined ? undefined : toIso(q.until, 'until'),
  };
  const sender = q.sender === undefined ? undefined : senderKey(q.sender);
  // Pool and reason narrow a search by address on the main items it fetches.
  const keep = (item: Item) =>
    (sender === undefined || item.sender === sender) &&
    (q.pool === undefined || item.pool === q.pool) &&
    (q.reason === undefined || (Array.isArray(item.reasons) && item.reasons.includes(q.reason)));
  let found: Item[];
  if (q.recipient !== undefined) {
    const recipient = q.recipient.trim().toLowerCase();
    const lists = await Promise.all([
      search(table, TRACE_RECIPIENT_INDEX, TRACE_RECIPIENT_INDEX_PK, recipient, range, limit, keep),
      search(table, TRACE_DESTINATION_INDEX, TRACE_DESTINATION_INDEX_PK, recipient, range, limit, keep),
    ]);
    found = lists.flat();
  } else if (sender !== undefined) {
    found = await search(table, TRACE_SENDER_INDEX, TRACE_SENDER_INDEX_PK, sender, range, limit, keep);
  } else if (q.pool !== undefined || q.reason !== undefined) {
    if (range.since === undefined || range.until === undefined) {
      throw new InvalidInputError('query', 'a search by pool or reason needs since and until');
    }
    const window = { since: range.since, until: range.until };
    found = (
      await searchWindow(
        table,
        {
          ...window,
          ...(q.pool !== undefined ? { pool: q.pool } : {}),
          ...(q.reason !== undefined ? { reason: q.reason } : {}),
        },
        limit,
      )
    ).filter(keep);
  } else {
    throw new InvalidInputError('query', 'a sender, a recipient, a pool or a reason is required');
  }
  const byId = new Map<string, Item>();
  for (const item of found) byId.set(item.messageId as string, item);
  const items = [...byId.values()]
    .sort((a, b) => {
      const [ra, rb] = [a.receivedAt as string, b.receivedAt as string];
      return ra === rb ? (a.messageId as string).localeCompare(b.messageId as string) : ra < rb ? 1 : -1;
    })
    .slice(0, limit);
  // The events of the messages returned only, a few at a time.
  const records: TraceRecord[] = [];
  for (let i = 0; i < items.length; i += EVENT_READS_IN_PARALLEL) {
    const batch = items.slice(i, i + EVENT_READS_IN_PARALLEL);
    const events = await Promise.all(
      batch.map((item) =>
        newest(
          table,
          item.messageId as string,
          { prefix: TRACE_EVENT_PREFIX },
          MAX_EVENTS_PER_SEARCH_RESULT,
          false,
        ),
      ),
    );
    batch.forEach((item, k) => {
      const { items: eventItems, more } = events[k]!;
      records.push(recordOf(item, { events: eventItems.map(eventOf), more }));
    });
  }
  return records;
}

/**
 * Up to `max` items of one message's partition whose sort key is in `range`, highest sort
 * key first (paging past DynamoDB's 1 MB per page), and whether there were more.
 */
async function newest(
  table: TraceTable,
  messageId: string,
  range: { between: [string, string] } | { prefix: string },
  max: number,
  consistent: boolean,
): Promise<{ items: Item[]; more: boolean }> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const x = new Expr();
    const sk = x.n(TRACE_SORT_KEY);
    const skCondition =
      'prefix' in range
        ? `begins_with(${sk}, ${x.v(range.prefix)})`
        : `${sk} BETWEEN ${x.v(range.between[0])} AND ${x.v(range.between[1])}`;
    const page = await sendMapped('Query', () =>
      table.doc.send(
        new QueryCommand({
          TableName: table.tableName,
          KeyConditionExpression: `${x.n(TRACE_PARTITION_KEY)} = ${x.v(TRACE_MESSAGE_PREFIX + messageId)} AND ${skCondition}`,
          ScanIndexForward: false,
          ConsistentRead: consistent,
          // One more than shown, to tell whether there are more.
          Limit: max + 1 - items.length,
          ExclusiveStartKey: start,
          ...x.params(),
        }),
      ),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start && items.length <= max);
  return { items: items.slice(0, max), more: items.length > max };
}

/**
 * The `limit` most recent main items found through one index (optionally filtered), paging
 * through the index and fetching the main items of each page.
 */
async function search(
  table: TraceTable,
  index: string,
  partitionKey: string,
  value: string,
  range: { since: string | undefined; until: string | undefined },
  limit: number,
  keep?: (item: Item) => boolean,
): Promise<Item[]> {
  const found: Item[] = [];
  const seen = new Set<string>();
  let start: Record<string, unknown> | undefined;
  do {
    const x = new Expr();
    let condition = `${x.n(partitionKey)} = ${x.v(value)}`;
    if (range.since !== undefined && range.until !== undefined) {
      condition += ` AND ${x.n(TRACE_INDEX_SK)} BETWEEN ${x.v(range.since)} AND ${x.v(range.until)}`;
    } else if (range.since !== undefined) {
      condition += ` AND ${x.n(TRACE_INDEX_SK)} >= ${x.v(range.since)}`;
    } else if (range.until !== undefined) {
      condition += ` AND ${x.n(TRACE_INDEX_SK)} <= ${x.v(range.until)}`;
    }
    const page = await sendMapped('Query', () =>
      table.doc.send(
        new QueryCommand({
          TableName: table.tableName,
          IndexName: index,
          KeyConditionExpression: condition,
          ScanIndexForward: false,
          Limit: limit,
          ExclusiveStartKey: start,
          ...x.params(),
        }),
      ),
    );
    const ids: string[] = [];
    for (const key of page.Items ?? []) {
      const pk = key[TRACE_PARTITION_KEY];
      if (typeof pk !== 'string') continue;
      const id = pk.slice(TRACE_MESSAGE_PREFIX.length);
      if (!seen.has(id)) {
        seen.add(id);
        ids.push(id);
      }
    }
    const items = await batchGetMain(table, ids);
    const order = new Map(ids.map((id, i) => [id, i]));
    items.sort((a, b) => (order.get(a.messageId as string) ?? 0) - (order.get(b.messageId as string) ?? 0));
    for (const item of items) {
      if (keep && !keep(item)) continue;
      found.push(item);
      if (found.length >= limit) return found;
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return found;
}
