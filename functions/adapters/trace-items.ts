/**
 * The trace table's items as plain data: the main item's key, the summary and sends read back
 * from it, the operator's `TraceRecord`, and the key of the one index every message has. No
 * requests here: `dynamo-trace-store.ts` writes these items, `trace-queries.ts` and
 * `trace-window.ts` read them.
 *
 * Main item, `pk = "M#" + messageId`, `sk = "MSG"`: `messageId`, `receivedAt`, `status`
 * (`in-progress` | `done` | `dead-letter`, with `deadLetter` the note), `attempt` (the fencing
 * token), `leaseUntil` (ISO), `expiresAt` (TTL, epoch s = receivedAt + retentionDays), `sends`
 * (map: send index → send) and the summary: `sender` (lower-case, `<>` for the null sender),
 * `recipients`, `destinations`, `unrouted`, `pool`, `outboundIpPoolName`, `configurationSet`,
 * `reasons`, `plan`, `sizeBytes`, `decisionMs`, `auth` — the summary and sends in the compact
 * form of `trace-compact.ts`, which keeps ordinary mail's item under 1 KB (one write unit).
 *
 * Every message also carries `gsiPool` ({@link poolIndexKey}), the key of the `byPoolDay`
 * index (`tables.ts`), written with the summary in the same update and never again: its one
 * index entry projects what a search filters on (`reasons`, `sender`, `recipients`,
 * `destinations`), so a search by sender, recipient, pool or reason is a time-window query
 * over the pool/day/shard partitions (`trace-window.ts`). Issue 16: one index entry per
 * message (one write unit for ordinary mail), where three indexes by sender, recipient and
 * destination and pointer items for further addresses cost three or more.
 */
import { InvalidInputError } from '../core/errors.js';
import type { DeliveryEvent, SendRecord, TraceSummary } from '../core/ports.js';
import type { Disposition, TraceStatus } from '../core/vocabulary.js';
import {
  TRACE_MAIN_SK,
  TRACE_MESSAGE_PREFIX,
  TRACE_PARTITION_KEY,
  TRACE_POOL_INDEX_SHARDS,
  TRACE_SORT_KEY,
  TRACE_TTL_ATTRIBUTE,
} from './tables.js';
import { decodeAuthentication, decodeOutboundIpPoolName, decodePlan, decodeSends } from './trace-compact.js';

/** A message's full trace, as operators see it. */
export interface TraceRecord {
  messageId: string;
  receivedAt: string;
  status: TraceStatus;
  /**
   * Why Lambda gave up on the message (its on-failure record), when it was dead-lettered;
   * kept after a redrive claimed it again, as history.
   */
  deadLetter?: DeadLetterNote;
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
   * SES's delivery events, oldest first: the most recent `MAX_EVENTS_PER_MESSAGE` of a
   * message looked up by id, `MAX_EVENTS_PER_SEARCH_RESULT` of each message a search returns
   * (`trace-events.ts`).
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
  /** Only messages decided for this pool. */
  pool?: Disposition;
  /** Only messages with this reason code among their reasons. */
  reason?: string;
  /**
   * Inclusive bounds on `receivedAt`: every search reads the index over a window
   * (`trace-window.ts`); an absent `until` is now, an absent `since` 24 hours before `until`.
   */
  since?: string | Date;
  until?: string | Date;
  /** Most recent first, at most this many (default 50). */
  limit?: number;
}

/** What the dead-letter recorder writes on a message Lambda gave up on (issue 15). */
/** What SES said of a dead-lettered message: the envelope its event carried. */
export interface DeadLetterEnvelope {
  /** The envelope sender (`''` for the null reverse path). */
  sender: string;
  recipients: string[];
}

export interface DeadLetterNote {
  /** When it was recorded (ISO). */
  at: string;
  /** The function's error (`errorType: errorMessage`), or the invocation record's condition. */
  error: string;
  /** `requestContext.condition` of the invocation record: RetriesExhausted, EventAgeExceeded, … */
  condition: string;
  /** `requestContext.approximateInvokeCount`. */
  attempts: number;
}

export type Item = Record<string, unknown>;

export const IN_PROGRESS = 'in-progress';
export const DONE = 'done';
export const DEAD_LETTER = 'dead-letter';
const NULL_SENDER = '<>';

/** The key of a message's main item. */
export function mainKey(messageId: string): Record<string, string> {
  return { [TRACE_PARTITION_KEY]: TRACE_MESSAGE_PREFIX + messageId, [TRACE_SORT_KEY]: TRACE_MAIN_SK };
}

/** Lower-cased, trimmed, without duplicates (first occurrence kept) or empties. */
export function addresses(list: readonly unknown[] | undefined): string[] {
  const out = new Set<string>();
  for (const a of list ?? []) if (typeof a === 'string' && a.trim()) out.add(a.trim().toLowerCase());
  return [...out];
}

export function senderKey(sender: string): string {
  const s = sender.trim().toLowerCase();
  return s === '' ? NULL_SENDER : s;
}

/** Drops `undefined` members (a DocumentClient without `removeUndefinedValues` rejects them). */
export function clean<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => clean(v)) as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = clean(v);
    return out as T;
  }
  return value;
}

export function toIso(input: string | Date, what: string): string {
  const ms = input instanceof Date ? input.getTime() : Date.parse(input);
  if (Number.isNaN(ms)) throw new InvalidInputError('query', `${what} is not a valid time: ${String(input)}`);
  return new Date(ms).toISOString();
}

export function summaryOf(item: Item): TraceSummary {
  const sender = typeof item.sender === 'string' ? item.sender : NULL_SENDER;
  const authentication = decodeAuthentication(item);
  return {
    messageId: item.messageId as string,
    receivedAt: item.receivedAt as string,
    sender: sender === NULL_SENDER ? '' : sender,
    recipients: (item.recipients as string[] | undefined) ?? [],
    destinations: (item.destinations as string[] | undefined) ?? [],
    unrouted: (item.unrouted as string[] | undefined) ?? [],
    pool: item.pool as TraceSummary['pool'],
    outboundIpPoolName: decodeOutboundIpPoolName(item),
    configurationSet: (item.configurationSet as string | null | undefined) ?? null,
    reasons: (item.reasons as TraceSummary['reasons'] | undefined) ?? [],
    plan: decodePlan(item) ?? [],
    sizeBytes: (item.sizeBytes as number | undefined) ?? 0,
    decisionMs: (item.decisionMs as number | undefined) ?? 0,
    ...(authentication ? { authentication } : {}),
  };
}

export function sendsOf(item: Item): SendRecord[] {
  return decodeSends(item, decodePlan(item));
}

/** Oldest first; stable, so events of the same millisecond keep their stored order. */
function chronological(events: DeliveryEvent[]): DeliveryEvent[] {
  return events
    .map((e, i) => ({ e, i }))
    .sort((a, b) => (a.e.at === b.e.at ? a.i - b.i : a.e.at < b.e.at ? -1 : 1))
    .map(({ e }) => e);
}

/** A record from its main item and the newest events read (newest first). */
export function recordOf(item: Item, newest: { events: DeliveryEvent[]; more: boolean }): TraceRecord {
  // A record written before events became items keeps them in a list on the main item.
  const legacy = Array.isArray(item.events) ? (item.events as DeliveryEvent[]) : [];
  return {
    messageId: item.messageId as string,
    receivedAt: item.receivedAt as string,
    status: item.status === DONE || item.status === DEAD_LETTER ? item.status : IN_PROGRESS,
    ...(isDeadLetterNote(item.deadLetter) ? { deadLetter: item.deadLetter } : {}),
    attempt: (item.attempt as number | undefined) ?? 0,
    leaseUntil: (item.leaseUntil as string | undefined) ?? '',
    expiresAt: (item[TRACE_TTL_ATTRIBUTE] as number | undefined) ?? 0,
    summary: item.plan !== undefined ? summaryOf(item) : null,
    sends: sendsOf(item),
    events: chronological([...legacy, ...[...newest.events].reverse()]),
    eventsTruncated: newest.more,
  };
}

function isDeadLetterNote(value: unknown): value is DeadLetterNote {
  const v = value as Partial<DeadLetterNote> | null | undefined;
  return typeof v?.at === 'string' && typeof v.error === 'string';
}

/** The `byPoolDay` partition of a pool, UTC day (`YYYY-MM-DD`) and shard. */
/**
 * A `byPoolDay` partition's first part: a message's disposition, or `dead-letter` for a message
 * Lambda gave up on before its decision was recorded (the recorder's entry; the decision, if a
 * redrive makes one, moves it under its pool).
 */
export type IndexPartition = Disposition | 'dead-letter';

export function poolIndexValue(pool: IndexPartition, day: string, shard: number): string {
  return `${pool}#${day}#${shard}`;
}

/**
 * A message's `gsiPool` (the `byPoolDay` key, `tables.ts`): every message has one. The shard is
 * a hash of the message id (FNV-1a), so every retry of a message writes the same key.
 */
export function poolIndexKey(pool: IndexPartition, receivedAt: string, messageId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < messageId.length; i++) {
    hash = Math.imul(hash ^ messageId.charCodeAt(i), 0x01000193) >>> 0;
  }
  return poolIndexValue(pool, toIso(receivedAt, 'receivedAt').slice(0, 10), hash % TRACE_POOL_INDEX_SHARDS);
}
