/**
 * `TraceStore` on DynamoDB: the message trace, which is also the idempotency record.
 *
 * ## Items
 *
 * Main item, `pk = "M#" + messageId`, `sk = "MSG"`: `messageId`, `receivedAt`, `status`
 * (`in-progress` | `done`), `attempt` (the fencing token), `leaseUntil` (ISO), `expiresAt`
 * (TTL, epoch s = receivedAt + retentionDays), `sends` (map: send index → SendRecord) and the
 * summary: `sender` (lower-case, `<>` for the null sender),
 * `recipients`, `destinations`, `unrouted`, `pool`, `outboundIpPoolName`, `configurationSet`,
 * `reasons`, `plan`, `sizeBytes`, `decisionMs`. It also carries the keys of three GSIs, each
 * sorted by `receivedAt`: `gsiSender` (`bySender`), `gsiRcpt` = first recipient
 * (`byRecipient`), `gsiDest` = first destination (`byDestination`).
 *
 * Putting the first recipient and destination on the main item means the typical message (one
 * recipient, one destination) costs no extra items to be searchable. Each further recipient or
 * destination gets a small pointer item `pk = "M#" + messageId`, `sk = "R#" + address` with
 * `gsiRcpt` and/or `gsiDest`, `receivedAt`, `messageId`, `expiresAt`, written with one
 * `BatchWriteItem` per 25 by the final `recordSend`. The indexes are KEYS_ONLY: the keys are
 * written once (with the summary) and the later updates (sends, status) change nothing
 * projected, so they cost no index writes; searches fetch the main items with `BatchGetItem`.
 *
 * Delivery events are items of their own in the message's partition, `sk = "E#" + at + "#" +
 * rank + digest`, never a list on the main item, so no item grows with them past DynamoDB's 400 KB
 * (`trace-events.ts` says why and how they are bounded). (Records written before this kept an
 * `events` list on the main item; it is still read.)
 *
 * ## Requests per message
 *
 * - `claim`: one `UpdateItem` that creates the item or takes over an expired lease (a
 *   duplicate delivery adds one `GetItem`, only on that path, to say `done` or `busy`);
 * - `recordSend`: one `UpdateItem` per call, fenced by `attempt = :attempt`;
- `release` (only after a failed attempt): one `UpdateItem`, fenced the same way, that ends
  the lease so Lambda's retry a minute later is not refused as "busy" (docs/retries.md);
- `appendEvent` (feedback function): one consistent `GetItem` of the main item (the message
  must exist; its TTL is copied) and one conditional `PutItem` of the event item: one write
  unit, whatever the size of the message's trace;
- `get`: one `Query` (main item and its newest events, newest first, paged past 1 MB);
  `query`: the index pages, `BatchGetItem` of the main items, and one `Query` of events per
  message returned.
 * So a message sent as one copy costs exactly 2 writes (claim + the final recordSend with the
 * summary and the send), plus ⌈pointers / 25⌉ `BatchWriteItem`s for a message with several
 * recipients or destinations. Pointers are written *before* the final fenced update when the
 * summary is known to this instance (given in the call, remembered from an earlier call or from
 * `claim`), so a failure leaves the message in progress and the retry writes them again (they
 * are idempotent; a stale attempt writing them is harmless). Otherwise the final update returns
 * the item and the pointers follow it.
 *
 * ## Hot partitions
 *
 * Every message has its own partition. The GSIs are partitioned by address: one sender or
 * recipient gets about 1 000 index writes a second before its index partition throttles (and
 * throttled index writes throttle the table), far above what SES lets one account send; the
 * null sender `<>` of all bounces shares one index partition, which bounce volume stays well
 * below.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { InvalidInputError, LeaseLostError, TransientDependencyError } from '../core/errors.js';
import type { ClaimResult, DeliveryEvent, SendRecord, TraceStore, TraceSummary } from '../router/ports.js';
import {
  documentClient,
  Expr,
  isConditionFailed,
  sendMapped,
  sleep,
  TRACE_DESTINATION_INDEX,
  TRACE_DESTINATION_INDEX_PK,
  TRACE_EVENT_PREFIX,
  TRACE_INDEX_SK,
  TRACE_MAIN_SK,
  TRACE_MESSAGE_PREFIX,
  TRACE_PARTITION_KEY,
  TRACE_POINTER_PREFIX,
  TRACE_RECIPIENT_INDEX,
  TRACE_RECIPIENT_INDEX_PK,
  TRACE_SENDER_INDEX,
  TRACE_SENDER_INDEX_PK,
  TRACE_SORT_KEY,
  TRACE_TTL_ATTRIBUTE,
} from './tables.js';
import {
  boundedEvent,
  eventItem,
  eventOf,
  MAX_EVENTS_PER_MESSAGE,
  MAX_EVENTS_PER_SEARCH_RESULT,
} from './trace-events.js';

export interface DynamoTraceStoreOptions {
  client: DynamoDBDocumentClient | DynamoDBClient;
  tableName: string;
  /** Trace items expire this many days after the message was received. */
  retentionDays: number;
}

/** A message's full trace, as operators see it. */
export interface TraceRecord {
  messageId: string;
  receivedAt: string;
  status: 'in-progress' | 'done';
  /** Attempts that claimed the message so far. */
  attempt: number;
  leaseUntil: string;
  /** TTL, epoch seconds. */
  expiresAt: number;
  /** The decision; null while the first attempt has not recorded it. `sender` is lower-case. */
  summary: TraceSummary | null;
  /** Recorded sends, by index. */
  sends: SendRecord[];
  /**
   * SES's delivery events, oldest first: the most recent {@link MAX_EVENTS_PER_MESSAGE} of a
   * message looked up by id, {@link MAX_EVENTS_PER_SEARCH_RESULT} of each message a search
   * returns.
   */
  events: DeliveryEvent[];
  /** The message has more events than `events` shows (the oldest are left out). */
  eventsTruncated: boolean;
}

export interface TraceQuery {
  /** Envelope sender (`''` or `<>` for the null sender); case-insensitive. */
  sender?: string;
  /** A recipient or destination address; case-insensitive. */
  recipient?: string;
  /** Inclusive bounds on `receivedAt`. */
  since?: string | Date;
  until?: string | Date;
  /** Most recent first, at most this many (default 50). */
  limit?: number;
}

type Item = Record<string, unknown>;

const IN_PROGRESS = 'in-progress';
const DONE = 'done';
const NULL_SENDER = '<>';
const DAY_SECONDS = 86_400;
const BATCH_WRITE_SIZE = 25;
const BATCH_GET_SIZE = 100;
const BATCH_ROUNDS = 8;
/** Messages a search returns when no limit is given. */
export const DEFAULT_QUERY_LIMIT = 50;
const REMEMBERED_SUMMARIES = 1_000;
/** Event queries a search runs at once (one per message it returns). */
const EVENT_READS_IN_PARALLEL = 10;

interface PointerSource {
  receivedAt: string;
  expiresAt: number | undefined;
  recipients: string[];
  destinations: string[];
}

/** Lower-cased, trimmed, without duplicates (first occurrence kept) or empties. */
function addresses(list: readonly unknown[] | undefined): string[] {
  const out = new Set<string>();
  for (const a of list ?? []) if (typeof a === 'string' && a.trim()) out.add(a.trim().toLowerCase());
  return [...out];
}

function senderKey(sender: string): string {
  const s = sender.trim().toLowerCase();
  return s === '' ? NULL_SENDER : s;
}

/** Drops `undefined` members (a DocumentClient without `removeUndefinedValues` rejects them). */
function clean<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => clean(v)) as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = clean(v);
    return out as T;
  }
  return value;
}

function toIso(input: string | Date, what: string): string {
  const ms = input instanceof Date ? input.getTime() : Date.parse(input);
  if (Number.isNaN(ms)) throw new InvalidInputError('query', `${what} is not a valid time: ${String(input)}`);
  return new Date(ms).toISOString();
}

function summaryOf(item: Item): TraceSummary {
  const sender = typeof item.sender === 'string' ? item.sender : NULL_SENDER;
  return {
    messageId: item.messageId as string,
    receivedAt: item.receivedAt as string,
    sender: sender === NULL_SENDER ? '' : sender,
    recipients: (item.recipients as string[] | undefined) ?? [],
    destinations: (item.destinations as string[] | undefined) ?? [],
    unrouted: (item.unrouted as string[] | undefined) ?? [],
    pool: item.pool as TraceSummary['pool'],
    outboundIpPoolName: (item.outboundIpPoolName as string | null | undefined) ?? null,
    configurationSet: (item.configurationSet as string | null | undefined) ?? null,
    reasons: (item.reasons as TraceSummary['reasons'] | undefined) ?? [],
    plan: (item.plan as TraceSummary['plan'] | undefined) ?? [],
    sizeBytes: (item.sizeBytes as number | undefined) ?? 0,
    decisionMs: (item.decisionMs as number | undefined) ?? 0,
    ...(item.authentication ? { authentication: item.authentication as TraceSummary['authentication'] } : {}),
  };
}

function sendsOf(item: Item): SendRecord[] {
  const sends = (item.sends as Record<string, SendRecord> | undefined) ?? {};
  return Object.values(sends).sort((a, b) => a.index - b.index);
}

/** Oldest first; stable, so events of the same millisecond keep their stored order. */
function chronological(events: DeliveryEvent[]): DeliveryEvent[] {
  return events
    .map((e, i) => ({ e, i }))
    .sort((a, b) => (a.e.at === b.e.at ? a.i - b.i : a.e.at < b.e.at ? -1 : 1))
    .map(({ e }) => e);
}

/** A record from its main item and the newest events read (newest first). */
function recordOf(item: Item, newest: { events: DeliveryEvent[]; more: boolean }): TraceRecord {
  // A record written before events became items keeps them in a list on the main item.
  const legacy = Array.isArray(item.events) ? (item.events as DeliveryEvent[]) : [];
  return {
    messageId: item.messageId as string,
    receivedAt: item.receivedAt as string,
    status: item.status === DONE ? DONE : IN_PROGRESS,
    attempt: (item.attempt as number | undefined) ?? 0,
    leaseUntil: (item.leaseUntil as string | undefined) ?? '',
    expiresAt: (item[TRACE_TTL_ATTRIBUTE] as number | undefined) ?? 0,
    summary: item.plan !== undefined ? summaryOf(item) : null,
    sends: sendsOf(item),
    events: chronological([...legacy, ...[...newest.events].reverse()]),
    eventsTruncated: newest.more,
  };
}

/**
 * Runs a DynamoDB batch call until nothing is left: batch APIs answer with what they did not
 * process (throttling, size), to be sent again after a backoff. Gives up after
 * `BATCH_ROUNDS` rounds with a retryable error.
 */
async function drainBatch<T>(
  operation: string,
  items: T[],
  call: (pending: T[]) => Promise<T[]>,
): Promise<void> {
  let pending = items;
  for (let round = 0; pending.length > 0; round++) {
    if (round >= BATCH_ROUNDS) {
      throw new TransientDependencyError(
        'dynamodb',
        `${operation}: ${pending.length} items left unprocessed`,
      );
    }
    if (round > 0) await sleep(backoffMs(round));
    pending = await call(pending);
  }
}

export class DynamoTraceStore implements TraceStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly retentionSeconds: number;
  /** Summaries this instance wrote or resumed, for the final call's pointer items. */
  private readonly summaries = new Map<string, PointerSource>();

  constructor(opts: DynamoTraceStoreOptions) {
    this.doc = documentClient(opts.client);
    this.tableName = opts.tableName;
    this.retentionSeconds = Math.round(opts.retentionDays * DAY_SECONDS);
  }

  async claim(messageId: string, now: Date, leaseMs: number): Promise<ClaimResult> {
    const nowIso = now.toISOString();
    for (let round = 0; round < 3; round++) {
      const x = new Expr();
      const inProgress = x.v(IN_PROGRESS);
      const nowValue = x.v(nowIso);
      const status = x.n('status');
      const attempt = x.n('attempt');
      const leaseUntil = x.n('leaseUntil');
      const update = [
        `${status} = ${inProgress}`,
        `${attempt} = if_not_exists(${attempt}, ${x.v(0)}) + ${x.v(1)}`,
        `${leaseUntil} = ${x.v(new Date(now.getTime() + leaseMs).toISOString())}`,
        `${x.n('messageId')} = ${x.v(messageId)}`,
        `${x.n('receivedAt')} = if_not_exists(${x.n('receivedAt')}, ${nowValue})`,
        `${x.n(TRACE_TTL_ATTRIBUTE)} = if_not_exists(${x.n(TRACE_TTL_ATTRIBUTE)}, ${x.v(this.expiresAt(nowIso))})`,
        `${x.n('sends')} = if_not_exists(${x.n('sends')}, ${x.v({})})`,
      ];
      try {
        const out = await sendMapped('UpdateItem', () =>
          this.doc.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: this.key(messageId),
              UpdateExpression: `SET ${update.join(', ')}`,
              ConditionExpression: `attribute_not_exists(${x.n(TRACE_PARTITION_KEY)}) OR (${status} = ${inProgress} AND ${leaseUntil} < ${nowValue})`,
              ReturnValues: 'ALL_NEW',
              ...x.params(),
            }),
          ),
        );
        const item = out.Attributes ?? {};
        let resumed: { summary: TraceSummary; sent: SendRecord[] } | null = null;
        if (item.plan !== undefined) {
          const summary = summaryOf(item);
          this.rememberSummary(summary, item[TRACE_TTL_ATTRIBUTE] as number | undefined);
          resumed = { summary, sent: sendsOf(item).filter((s) => s.status === 'sent') };
        }
        return { state: 'claimed', attempt: item.attempt as number, resumed };
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
      }
      // Only a duplicate gets here: say whether it is done or still owned by someone.
      const current = await this.getMain(messageId, ['status', 'leaseUntil']);
      if (!current) continue; // expired between the two calls: claim it afresh
      if (current.status === DONE) return { state: 'done' };
      const lease = typeof current.leaseUntil === 'string' ? current.leaseUntil : '';
      if (lease >= nowIso) return { state: 'busy', leaseUntil: lease };
      // The lease ran out between the two calls: try to take it over.
    }
    throw new TransientDependencyError('dynamodb', `claim ${messageId}: the trace item kept changing`);
  }

  async recordSend(
    messageId: string,
    attempt: number,
    send: SendRecord | null,
    summary: TraceSummary | null,
    final: boolean,
  ): Promise<void> {
    if (summary) this.rememberSummary(summary, this.expiresAt(summary.receivedAt));
    const source = final ? this.summaries.get(messageId) : undefined;
    if (source) await this.writePointers(messageId, source);

    const x = new Expr();
    const sets: string[] = [];
    if (send) sets.push(`${x.n('sends')}.${x.n(String(send.index))} = ${x.v(clean(send))}`);
    if (summary) {
      const recipients = addresses(summary.recipients);
      const destinations = addresses(summary.destinations);
      const sender = senderKey(summary.sender);
      const attrs: Record<string, unknown> = {
        messageId: summary.messageId,
        receivedAt: summary.receivedAt,
        sender,
        recipients: summary.recipients,
        destinations: summary.destinations,
        unrouted: summary.unrouted,
        pool: summary.pool,
        outboundIpPoolName: summary.outboundIpPoolName,
        configurationSet: summary.configurationSet,
        reasons: summary.reasons,
        plan: clean(summary.plan),
        sizeBytes: summary.sizeBytes,
        decisionMs: summary.decisionMs,
        authentication: summary.authentication ? clean(summary.authentication) : undefined,
        [TRACE_SENDER_INDEX_PK]: sender,
        [TRACE_RECIPIENT_INDEX_PK]: recipients[0],
        [TRACE_DESTINATION_INDEX_PK]: destinations[0],
        [TRACE_TTL_ATTRIBUTE]: this.expiresAt(summary.receivedAt),
      };
      for (const [name, value] of Object.entries(attrs)) {
        if (value !== undefined) sets.push(`${x.n(name)} = ${x.v(value)}`);
      }
    }
    if (final) sets.push(`${x.n('status')} = ${x.v(DONE)}`);
    const attemptValue = x.v(attempt);
    if (sets.length === 0) sets.push(`${x.n('attempt')} = ${attemptValue}`);
    let item: Item | undefined;
    try {
      const out = await sendMapped('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: this.key(messageId),
            UpdateExpression: `SET ${sets.join(', ')}`,
            ConditionExpression: `${x.n('attempt')} = ${attemptValue}`,
            ReturnValues: final && !source ? 'ALL_NEW' : 'NONE',
            ...x.params(),
          }),
        ),
      );
      item = out.Attributes;
    } catch (err) {
      if (isConditionFailed(err)) {
        throw new LeaseLostError(messageId, `attempt ${attempt} no longer owns this message`, { cause: err });
      }
      throw err;
    }
    if (final) {
      this.summaries.delete(messageId);
      if (!source && item?.plan !== undefined) {
        await this.writePointers(messageId, {
          receivedAt: item.receivedAt as string,
          expiresAt: item[TRACE_TTL_ATTRIBUTE] as number | undefined,
          recipients: (item.recipients as string[] | undefined) ?? [],
          destinations: (item.destinations as string[] | undefined) ?? [],
        });
      }
    }
  }

  async release(messageId: string, attempt: number, now: Date): Promise<boolean> {
    const x = new Expr();
    try {
      await sendMapped('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: this.key(messageId),
            // The lease ends now: the next claim (`leaseUntil < now`) takes the message over.
            UpdateExpression: `SET ${x.n('leaseUntil')} = ${x.v(now.toISOString())}`,
            ConditionExpression: `${x.n('attempt')} = ${x.v(attempt)} AND ${x.n('status')} = ${x.v(IN_PROGRESS)}`,
            ...x.params(),
          }),
        ),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  /**
   * Files one SES event under its message as an item of its own (`trace-events.ts`). False,
   * writing nothing, when the message has no trace record (expired, or not ours). The same
   * event delivered again is the same item: recorded once, answered true.
   */
  async appendEvent(messageId: string, event: DeliveryEvent): Promise<boolean> {
    const main = await this.getMain(messageId, [TRACE_PARTITION_KEY, TRACE_TTL_ATTRIBUTE]);
    if (!main) return false;
    const item = eventItem(
      messageId,
      boundedEvent(clean(event)),
      main[TRACE_TTL_ATTRIBUTE] as number | undefined,
    );
    const x = new Expr();
    try {
      await sendMapped('PutItem', () =>
        this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: item,
            // Never overwrites anything: a redelivered event finds its item already there.
            ConditionExpression: `attribute_not_exists(${x.n(TRACE_PARTITION_KEY)})`,
            ...x.params(),
          }),
        ),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
    return true;
  }

  /**
   * A message's trace (strongly consistent) with its {@link MAX_EVENTS_PER_MESSAGE} most recent
   * events, or null. One Query: the main item sorts after the events, so newest first it comes
   * first, then the events from the newest.
   */
  async get(messageId: string): Promise<TraceRecord | null> {
    const { items, more } = await this.newest(
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
  async query(q: TraceQuery): Promise<TraceRecord[]> {
    const limit = Math.max(1, Math.floor(q.limit ?? DEFAULT_QUERY_LIMIT));
    const range = {
      since: q.since === undefined ? undefined : toIso(q.since, 'since'),
      until: q.until === undefined ? undefined : toIso(q.until, 'until'),
    };
    let found: Item[];
    if (q.recipient !== undefined) {
      const recipient = q.recipient.trim().toLowerCase();
      const sender = q.sender === undefined ? undefined : senderKey(q.sender);
      const keep = sender === undefined ? undefined : (item: Item) => item.sender === sender;
      const lists = await Promise.all([
        this.search(TRACE_RECIPIENT_INDEX, TRACE_RECIPIENT_INDEX_PK, recipient, range, limit, keep),
        this.search(TRACE_DESTINATION_INDEX, TRACE_DESTINATION_INDEX_PK, recipient, range, limit, keep),
      ]);
      found = lists.flat();
    } else if (q.sender !== undefined) {
      found = await this.search(TRACE_SENDER_INDEX, TRACE_SENDER_INDEX_PK, senderKey(q.sender), range, limit);
    } else {
      throw new InvalidInputError('query', 'a sender or a recipient is required');
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
          this.newest(
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
  private async newest(
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
        this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
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

  private key(messageId: string): Record<string, string> {
    return { [TRACE_PARTITION_KEY]: TRACE_MESSAGE_PREFIX + messageId, [TRACE_SORT_KEY]: TRACE_MAIN_SK };
  }

  private expiresAt(receivedAt: string): number | undefined {
    const ms = Date.parse(receivedAt);
    return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000) + this.retentionSeconds;
  }

  private rememberSummary(summary: TraceSummary, expiresAt: number | undefined): void {
    this.summaries.delete(summary.messageId);
    this.summaries.set(summary.messageId, {
      receivedAt: summary.receivedAt,
      expiresAt,
      recipients: summary.recipients,
      destinations: summary.destinations,
    });
    if (this.summaries.size > REMEMBERED_SUMMARIES) {
      const oldest = this.summaries.keys().next();
      if (!oldest.done) this.summaries.delete(oldest.value);
    }
  }

  private async getMain(messageId: string, attributes?: string[]): Promise<Item | undefined> {
    const x = new Expr();
    const projection = attributes?.map((a) => x.n(a)).join(', ');
    const out = await sendMapped('GetItem', () =>
      this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: this.key(messageId),
          ConsistentRead: true,
          ...(projection ? { ProjectionExpression: projection, ...x.params() } : {}),
        }),
      ),
    );
    return out.Item;
  }

  /** Pointer items for every recipient/destination but the first (those are on the main item). */
  private async writePointers(messageId: string, source: PointerSource): Promise<void> {
    const roles = new Map<string, { rcpt: boolean; dest: boolean }>();
    const role = (address: string) => {
      let r = roles.get(address);
      if (!r) {
        r = { rcpt: false, dest: false };
        roles.set(address, r);
      }
      return r;
    };
    for (const a of addresses(source.recipients).slice(1)) role(a).rcpt = true;
    for (const a of addresses(source.destinations).slice(1)) role(a).dest = true;
    const items = [...roles].map(([address, r]) => ({
      [TRACE_PARTITION_KEY]: TRACE_MESSAGE_PREFIX + messageId,
      [TRACE_SORT_KEY]: TRACE_POINTER_PREFIX + address,
      messageId,
      [TRACE_INDEX_SK]: source.receivedAt,
      ...(r.rcpt ? { [TRACE_RECIPIENT_INDEX_PK]: address } : {}),
      ...(r.dest ? { [TRACE_DESTINATION_INDEX_PK]: address } : {}),
      ...(source.expiresAt !== undefined ? { [TRACE_TTL_ATTRIBUTE]: source.expiresAt } : {}),
    }));
    for (let i = 0; i < items.length; i += BATCH_WRITE_SIZE) {
      await this.batchWrite(items.slice(i, i + BATCH_WRITE_SIZE));
    }
  }

  /** One BatchWriteItem of at most 25 puts, retrying unprocessed items with backoff. */
  private async batchWrite(items: Item[]): Promise<void> {
    await drainBatch(
      'BatchWriteItem',
      items.map((Item) => ({ PutRequest: { Item } })),
      async (requests) => {
        const out = await sendMapped('BatchWriteItem', () =>
          this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } })),
        );
        return (out.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
      },
    );
  }

  /** Main items by message id (missing ones left out), retrying unprocessed keys with backoff. */
  private async batchGet(messageIds: string[]): Promise<Item[]> {
    const out: Item[] = [];
    for (let i = 0; i < messageIds.length; i += BATCH_GET_SIZE) {
      const keys: Record<string, unknown>[] = messageIds
        .slice(i, i + BATCH_GET_SIZE)
        .map((id) => this.key(id));
      await drainBatch('BatchGetItem', keys, async (pending) => {
        const page = await sendMapped('BatchGetItem', () =>
          this.doc.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending } } })),
        );
        out.push(...(page.Responses?.[this.tableName] ?? []));
        return page.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      });
    }
    return out;
  }

  /**
   * The `limit` most recent main items found through one index (optionally filtered), paging
   * through the index and fetching the main items of each page.
   */
  private async search(
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
        this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
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
      const items = await this.batchGet(ids);
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
}

function backoffMs(round: number): number {
  const cap = Math.min(1_000, 25 * 2 ** round);
  return cap / 2 + Math.random() * (cap / 2);
}
