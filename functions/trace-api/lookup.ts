/**
 * Looking messages up in the trace (SPEC 6: by message id, sender, recipient and time range),
 * shared by the `outbound-pools trace` command and the trace HTTP API: the same checks of the
 * same parameters, the same search, the same report. Only the spelling of the parameters in
 * error messages differs (`--sender` on the command line, `sender` in a URL).
 */
import { DEFAULT_QUERY_LIMIT, type TraceQuery, type TraceRecord } from '../adapters/dynamo-trace-store.js';
import { InvalidInputError } from '../core/errors.js';
import type { DeliveryEvent } from '../core/ports.js';
import { parseInstant } from '../core/validation.js';

/** The parameters of a lookup, as text (command-line flags or URL query parameters). */
export interface TraceLookupInput {
  messageId?: string | undefined;
  sender?: string | undefined;
  recipient?: string | undefined;
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
): TraceLookup {
  const { messageId, sender, recipient } = input;
  if (messageId === undefined && sender === undefined && recipient === undefined) {
    throw new InvalidInputError(
      'trace',
      `one of ${name('messageId')}, ${name('sender')} or ${name('recipient')} is required${selectorHint}`,
    );
  }
  if (messageId !== undefined && (sender !== undefined || recipient !== undefined)) {
    throw new InvalidInputError(
      name('messageId'),
      `cannot be combined with ${name('sender')} or ${name('recipient')}`,
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
  const since = parseInstant(input.since, name('since'));
  const until = parseInstant(input.until, name('until'));
  if (since && until && since > until)
    throw new InvalidInputError(name('since'), `is after ${name('until')}`);
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
    ...range,
    limit,
  };
}

/** Runs a lookup: the matching messages' reports, most recent first. */
export async function lookUpTrace(reader: TraceReader, lookup: TraceLookup): Promise<TraceReport[]> {
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
  return records
    .filter(
      (r) =>
        (!since || Date.parse(r.receivedAt) >= since.getTime()) &&
        (!until || Date.parse(r.receivedAt) <= until.getTime()),
    )
    .map(traceReport);
}

/** A trace record as operators read it: the summary flattened, events attached to their send. */
export function traceReport(r: TraceRecord) {
  const s = r.summary;
  const eventsOf = (sesMessageId: string | undefined) =>
    sesMessageId === undefined ? [] : r.events.filter((e) => e.sesMessageId === sesMessageId);
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
    events: r.events.map(eventReport),
    /** More events were recorded than shown: the oldest are left out (docs/retries.md). */
    eventsTruncated: r.eventsTruncated,
  };
}

export type TraceReport = ReturnType<typeof traceReport>;

function eventReport(e: DeliveryEvent) {
  return {
    type: e.type,
    at: e.at,
    sesMessageId: e.sesMessageId,
    recipients: e.recipients,
    detail: e.detail ?? null,
  };
}
