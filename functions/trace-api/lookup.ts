/**
 * Looking messages up in the trace (SPEC 6: by message id, sender, recipient and time range),
 * shared by the `outbound-pools trace` command and the trace HTTP API: the same checks of the
 * same parameters, the same search, the same report. Only the spelling of the parameters in
 * error messages differs (`--sender` on the command line, `sender` in a URL).
 */
import { DEFAULT_QUERY_LIMIT, type TraceQuery, type TraceRecord } from '../adapters/dynamo-trace-store.js';
import { checkWindowLength, DEFAULT_WINDOW_HOURS } from '../adapters/trace-window.js';
import { InvalidInputError } from '../core/errors.js';
import type { DeliveryEvent } from '../core/ports.js';
import { parseInstant } from '../core/validation.js';
import { type Disposition, POOLS, REASONS } from '../core/vocabulary.js';

/** The parameters of a lookup, as text (command-line flags or URL query parameters). */
export interface TraceLookupInput {
  messageId?: string | undefined;
  sender?: string | undefined;
  recipient?: string | undefined;
  /** A pool (`normal`, `high-risk`, `relay`, `blocked`). */
  pool?: string | undefined;
  /** A reason code (SPEC 3). */
  reason?: string | undefined;
  /** ISO-8601, or relative: `30m`, `1h`, `2d`, `1w` ago, `today`, `yesterday` (UTC), `now`. */
  since?: string | undefined;
  until?: string | undefined;
  limit?: string | undefined;
}

/** A checked lookup: one message by its SES message id, or a search. */
export type TraceLookup =
  | { kind: 'message'; messageId: string; since?: Date; until?: Date }
  | {
      kind: 'search';
      /** `''` for the null sender (bounces). */
      sender?: string;
      recipient?: string;
      pool?: Disposition;
      reason?: string;
      since?: Date;
      until?: Date;
      limit: number;
    };

/** What a lookup reads: the trace store's two read operations. */
export interface TraceReader {
  get(messageId: string): Promise<TraceRecord | null>;
  query(q: TraceQuery): Promise<TraceRecord[]>;
}

const MAX_LOOKUP_LIMIT = 1000;

/** How a caller spells each parameter, for error messages (`--message-id`, `messageId`). */
export type ParameterName = (parameter: keyof TraceLookupInput) => string;

/**
 * Checks a lookup's parameters. Throws {@link InvalidInputError} naming the parameter as the
 * caller spells it; `selectorHint` is added to the "nothing to look up" error (the CLI's usage).
 */
export function parseTraceLookup(
  input: TraceLookupInput,
  name: ParameterName,
  selectorHint = '',
  now: Date = new Date(),
): TraceLookup {
  const { messageId, sender, recipient } = input;
  const pool = parsePool(input.pool, name);
  const reason = parseReason(input.reason, name);
  if (
    messageId === undefined &&
    sender === undefined &&
    recipient === undefined &&
    pool === undefined &&
    reason === undefined
  ) {
    throw new InvalidInputError(
      'trace',
      `one of ${name('messageId')}, ${name('sender')}, ${name('recipient')}, ${name('pool')} or ${name('reason')} is required${selectorHint}`,
    );
  }
  if (
    messageId !== undefined &&
    (sender !== undefined || recipient !== undefined || pool !== undefined || reason !== undefined)
  ) {
    throw new InvalidInputError(
      name('messageId'),
      `cannot be combined with ${name('sender')}, ${name('recipient')}, ${name('pool')} or ${name('reason')}`,
    );
  }
  // SES message ids are short printable tokens; anything with spaces or of any length is not one.
  if (messageId !== undefined && !/^[^\s]{1,256}$/.test(messageId)) {
    throw new InvalidInputError(name('messageId'), `not a message id: ${JSON.stringify(messageId)}`);
  }
  if (sender !== undefined && sender !== '<>' && sender !== '' && !sender.includes('@')) {
    throw new InvalidInputError(
      name('sender'),
      `not an address (use <> for bounces): ${JSON.stringify(sender)}`,
    );
  }
  if (recipient !== undefined && !recipient.includes('@')) {
    throw new InvalidInputError(name('recipient'), `not an address: ${JSON.stringify(recipient)}`);
  }
  let since = parseWhen(input.since, name('since'), now);
  let until = parseWhen(input.until, name('until'), now);
  if (since && until && since > until)
    throw new InvalidInputError(name('since'), `is after ${name('until')}`);
  if (messageId === undefined) {
    // Every search reads the index over a window (issue 16: one index of all mail, by pool,
    // day and shard): the last 24 hours unless since/until say otherwise, at most 31 days
    // (the store's own rule, so what passes here passes there).
    until ??= now;
    since ??= new Date(until.getTime() - DEFAULT_WINDOW_HOURS * 3_600_000);
    if (since > until)
      throw new InvalidInputError(name('since'), `is after ${name('until')} (now by default)`);
    checkWindowLength(since.getTime(), until.getTime(), name('since'));
  }
  const range = { ...(since ? { since } : {}), ...(until ? { until } : {}) };
  if (messageId !== undefined) return { kind: 'message', messageId, ...range };

  let limit = DEFAULT_QUERY_LIMIT;
  if (input.limit !== undefined) {
    if (!/^\d+$/.test(input.limit) || Number(input.limit) < 1 || Number(input.limit) > MAX_LOOKUP_LIMIT) {
      throw new InvalidInputError(
        name('limit'),
        `expected a whole number from 1 to ${MAX_LOOKUP_LIMIT}, got ${JSON.stringify(input.limit)}`,
      );
    }
    limit = Number(input.limit);
  }
  return {
    kind: 'search',
    ...(sender !== undefined ? { sender: sender === '<>' ? '' : sender } : {}),
    ...(recipient !== undefined ? { recipient } : {}),
    ...(pool !== undefined ? { pool } : {}),
    ...(reason !== undefined ? { reason } : {}),
    ...range,
    limit,
  };
}

export const DAY_MS = 86_400_000;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS } as const;

/**
 * A point in time as operators type it: ISO-8601, `now`, `today` or `yesterday` (the start of
 * that UTC day, like the limits' days), or a duration ago (`30m`, `1h`, `2d`, `1w`; s m h d w).
 */
export function parseWhen(value: string | undefined, parameter: string, now: Date): Date | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === 'now') return now;
  if (v === 'today' || v === 'yesterday') {
    const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    return new Date(v === 'today' ? midnight : midnight - DAY_MS);
  }
  const ago = /^(\d{1,6})([smhdw])$/.exec(v);
  if (ago) return new Date(now.getTime() - Number(ago[1]) * UNIT_MS[ago[2] as keyof typeof UNIT_MS]);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) {
    throw new InvalidInputError(
      parameter,
      `not a time: ${JSON.stringify(value)} (ISO-8601, or 30m, 1h, 2d, 1w ago, today, yesterday, now)`,
    );
  }
  return parseInstant(value, parameter);
}

/** Every disposition a message can have: the three pools and `blocked`. */
const DISPOSITIONS: readonly Disposition[] = [...POOLS, 'blocked'];

function parsePool(value: string | undefined, name: ParameterName): Disposition | undefined {
  if (value === undefined) return undefined;
  if (!(DISPOSITIONS as readonly string[]).includes(value)) {
    throw new InvalidInputError(
      name('pool'),
      `unknown pool ${JSON.stringify(value)} (one of ${DISPOSITIONS.join(', ')})`,
    );
  }
  return value as Disposition;
}

function parseReason(value: string | undefined, name: ParameterName): string | undefined {
  if (value === undefined) return undefined;
  if (!(REASONS as readonly string[]).includes(value)) {
    const near = REASONS.filter((r) => r.includes(value) || value.includes(r));
    const hint =
      near.length > 0
        ? `did you mean ${near.map((r) => `"${r}"`).join(' or ')}?`
        : `one of ${REASONS.join(', ')}`;
    throw new InvalidInputError(name('reason'), `unknown reason code ${JSON.stringify(value)} (${hint})`);
  }
  return value;
}

/** Runs a lookup: the matching messages' reports, most recent first. */
export async function lookUpTrace(reader: TraceReader, lookup: TraceLookup): Promise<TraceReport[]> {
  return (await lookUpRecords(reader, lookup)).map(traceReport);
}

/** A lookup's records, before they are reported (`answer.ts` weighs them). */
export async function lookUpRecords(reader: TraceReader, lookup: TraceLookup): Promise<TraceRecord[]> {
  let records: TraceRecord[];
  if (lookup.kind === 'message') {
    const one = await reader.get(lookup.messageId);
    records = one ? [one] : [];
  } else {
    const { kind: _kind, ...query } = lookup;
    records = await reader.query(query);
  }
  // The search applies the range through its index; a message id lookup has none of its own.
  const { since, until } = lookup;
  return records.filter(
    (r) =>
      (!since || Date.parse(r.receivedAt) >= since.getTime()) &&
      (!until || Date.parse(r.receivedAt) <= until.getTime()),
  );
}

/**
 * A trace record as operators read it: the summary flattened, each event listed once, under
 * the send it is about (`sends[].events`); `events` holds only those of no send recorded
 * (usually none). Every event was once listed in both, which doubled the largest part of a
 * report (review H).
 */
export function traceReport(r: TraceRecord) {
  const s = r.summary;
  const eventsOf = (sesMessageId: string | undefined) =>
    sesMessageId === undefined ? [] : r.events.filter((e) => e.sesMessageId === sesMessageId);
  const sent = new Set(
    r.sends.flatMap((send) => (send.sesMessageId === undefined ? [] : [send.sesMessageId])),
  );
  return {
    messageId: r.messageId,
    receivedAt: s?.receivedAt ?? r.receivedAt,
    status: r.status,
    // Issue 15: why Lambda gave up on it (kept after a redrive, as history).
    ...(r.deadLetter ? { deadLetter: r.deadLetter } : {}),
    sender: s ? s.sender : null,
    recipients: s?.recipients ?? [],
    destinations: s?.destinations ?? [],
    unrouted: s?.unrouted ?? [],
    pool: s?.pool ?? null,
    outboundIpPoolName: s?.outboundIpPoolName ?? null,
    configurationSet: s?.configurationSet ?? null,
    reasons: s?.reasons ?? [],
    sizeBytes: s?.sizeBytes ?? null,
    sends: r.sends.map((send) => ({
      index: send.index,
      kind: send.kind,
      to: send.to,
      pool: send.pool,
      configurationSet: send.configurationSet,
      // Issue 14: the SES tenant the copy was sent as (absent in records from before tenants).
      ...(send.tenant ? { tenant: send.tenant } : {}),
      envelopeFrom: send.envelopeFrom,
      status: send.status,
      sesMessageId: send.sesMessageId ?? null,
      at: send.at,
      ...(send.error ? { error: send.error } : {}),
      events: eventsOf(send.sesMessageId).map(eventReport),
    })),
    /** The events of no send above (a copy whose send record was lost), oldest first. */
    events: r.events.filter((e) => !sent.has(e.sesMessageId)).map(eventReport),
    /** More events were recorded than shown: the oldest are left out (docs/retries.md). */
    eventsTruncated: r.eventsTruncated,
  };
}

export type TraceReport = ReturnType<typeof traceReport>;

export function eventReport(e: DeliveryEvent) {
  return {
    type: e.type,
    at: e.at,
    sesMessageId: e.sesMessageId,
    recipients: e.recipients,
    detail: e.detail ?? null,
  };
}
