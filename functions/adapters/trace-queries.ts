/**
 * Reading the trace: a message by id (`get`) and searches by sender, recipient, pool and/or
 * reason over a time window (`query`, through `trace-window.ts`).
 *
 * - `get`: one `Query` (main item and its newest events, newest first, paged past 1 MB);
 * - `query`: the index partitions of the window (filtered on the projected attributes),
 *   `BatchGetItem` of the main items found, and one `Query` of events per message returned.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { InvalidInputError } from '../core/errors.js';
import {
  Expr,
  sendMapped,
  TRACE_EVENT_PREFIX,
  TRACE_MAIN_SK,
  TRACE_MESSAGE_PREFIX,
  TRACE_PARTITION_KEY,
  TRACE_SORT_KEY,
} from './tables.js';
import type { TraceTable } from './trace-batches.js';
import { eventOf, MAX_EVENTS_PER_MESSAGE, MAX_EVENTS_PER_SEARCH_RESULT } from './trace-events.js';
import { type Item, recordOf, senderKey, type TraceQuery, type TraceRecord, toIso } from './trace-items.js';
import { DEFAULT_WINDOW_HOURS, searchWindow } from './trace-window.js';

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
 * received the message for and the destinations the copies went to), pool and reason, most
 * recent first, within `since`..`until` (default: the {@link DEFAULT_WINDOW_HOURS} hours up
 * to now). The index is eventually consistent: a message recorded a moment ago may be missing.
 */
export async function queryTrace(
  table: TraceTable,
  q: TraceQuery,
  now: Date = new Date(),
): Promise<TraceRecord[]> {
  const limit = Math.max(1, Math.floor(q.limit ?? DEFAULT_QUERY_LIMIT));
  if (q.sender === undefined && q.recipient === undefined && q.pool === undefined && q.reason === undefined) {
    throw new InvalidInputError('query', 'a sender, a recipient, a pool or a reason is required');
  }
  const until = q.until === undefined ? now.toISOString() : toIso(q.until, 'until');
  const since =
    q.since === undefined
      ? new Date(Date.parse(until) - DEFAULT_WINDOW_HOURS * 3_600_000).toISOString()
      : toIso(q.since, 'since');
  const items = await searchWindow(
    table,
    {
      since,
      until,
      ...(q.pool !== undefined ? { pool: q.pool } : {}),
      ...(q.reason !== undefined ? { reason: q.reason } : {}),
      ...(q.sender !== undefined ? { sender: senderKey(q.sender) } : {}),
      ...(q.recipient !== undefined ? { recipient: q.recipient.trim().toLowerCase() } : {}),
    },
    limit,
  );
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
