/**
 * The trace API's answer to a lookup, within what one Lambda response can carry: a byte
 * budget under the 6 MB response quota and a time budget under the function's timeout
 * (review H). `lookup.ts` parses and reports; this module weighs and cuts.
 */
import type { TraceRecord } from '../adapters/dynamo-trace-store.js';
import {
  DAY_MS,
  eventReport,
  lookUpRecords,
  type TraceLookup,
  type TraceReader,
  type TraceReport,
  traceReport,
} from './lookup.js';

/**
 * The most an API answer may weigh, as UTF-8 bytes of its JSON: a synchronous invocation's
 * response is at most 6 MB (Lambda Developer Guide, "Lambda quotas", invocation payload) and
 * Lambda replaces a larger one with an error, a bare 502 for the function URL's caller. A sender controls how large its messages' reports are (50 long
 * addresses make ~8.5 KB), so 1,000 of them, the largest search, exceed it.
 */
export const MAX_ANSWER_BYTES = 5 * 1024 * 1024;
/** What the body adds around the reports: the envelope, the `truncated` fields and the note. */
const ENVELOPE_BYTES = 2048;
/**
 * How long a search of the API may read before it answers with what it found: below the
 * function's 15 s timeout (`lib/trace-api.ts`), with room for the day being read when the
 * budget runs out (16 partitions at a time, in 1 MB pages: `trace-window.ts`) and the answer.
 */
export const SEARCH_TIME_BUDGET_MS = 10_000;

export interface AnswerLimits {
  /** Default {@link MAX_ANSWER_BYTES}. */
  maxBytes?: number;
  /** Default {@link SEARCH_TIME_BUDGET_MS}. */
  timeBudgetMs?: number;
  /** Milliseconds, for the time budget (default `Date.now`). */
  clock?: () => number;
}

/** Why a search's answer is not all of it, and how to ask for the rest. */
export interface TraceCut {
  truncated: true;
  /** Messages found but left out, the answer being full (`maxBytes`). */
  omitted?: number;
  /** The search ran out of time: `searchedSince`..`until` was read, older days were not. */
  searchedSince?: string;
  /** Ask again with this `until` for the rest (a message of that very instant may repeat). */
  continueUntil: string;
  /** The same, in one line. */
  note: string;
}

export interface TraceAnswer {
  reports: TraceReport[];
  cut?: TraceCut;
}

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/**
 * Runs a lookup for the API: like {@link lookUpTrace}, within a time budget (a search reads
 * its window a UTC day at a time, newest first, and stops starting days once the budget is
 * spent) and a byte budget (messages are added, most recent first, while they fit; a message
 * too large alone keeps its newest events that fit, `eventsTruncated` set).
 */
export async function answerTraceLookup(
  reader: TraceReader,
  lookup: TraceLookup,
  limits: AnswerLimits = {},
): Promise<TraceAnswer> {
  const maxBytes = (limits.maxBytes ?? MAX_ANSWER_BYTES) - ENVELOPE_BYTES;
  if (lookup.kind === 'message') {
    const [record] = await lookUpRecords(reader, lookup);
    const report = record && reportWithin(record, maxBytes);
    return { reports: report ? [report] : [] };
  }
  const { records, searchedSince } = await searchWithin(
    reader,
    lookup,
    limits.timeBudgetMs ?? SEARCH_TIME_BUDGET_MS,
    limits.clock ?? Date.now,
  );
  const reports: TraceReport[] = [];
  let used = 0;
  for (const record of records) {
    // Whole messages only, but the first one: it keeps what fits, so asking again from a
    // message left out always gets further.
    const report = reports.length === 0 ? reportWithin(record, maxBytes) : traceReport(record);
    const size = report ? jsonBytes(report) + 1 : Number.POSITIVE_INFINITY;
    if (!report || used + size > maxBytes) break;
    reports.push(report);
    used += size;
  }
  const omitted = records.length - reports.length;
  if (omitted === 0 && searchedSince === undefined) return { reports };
  const notes: string[] = [];
  let continueUntil: string;
  if (omitted > 0) {
    continueUntil = records[reports.length]!.receivedAt;
    notes.push(
      `the answer is full (${limits.maxBytes ?? MAX_ANSWER_BYTES} bytes): ${omitted} more messages found`,
    );
  } else {
    continueUntil = new Date(searchedSince!.getTime() - 1).toISOString();
  }
  if (searchedSince !== undefined) {
    notes.push(`the search ran out of time: the window before ${searchedSince.toISOString()} was not read`);
  }
  return {
    reports,
    cut: {
      truncated: true,
      ...(omitted > 0 ? { omitted } : {}),
      ...(searchedSince !== undefined ? { searchedSince: searchedSince.toISOString() } : {}),
      continueUntil,
      note: `${notes.join('; ')}; ask again with until=${continueUntil} for the rest`,
    },
  };
}

/**
 * A search's records, its window read a UTC day at a time (the days of the `byPoolDay`
 * index, `trace-window.ts`), newest first, until `limit` are found, the window is read, or
 * `budgetMs` has passed: then `searchedSince` is where the reading stopped.
 */
async function searchWithin(
  reader: TraceReader,
  lookup: Extract<TraceLookup, { kind: 'search' }>,
  budgetMs: number,
  clock: () => number,
): Promise<{ records: TraceRecord[]; searchedSince?: Date }> {
  const { kind: _kind, since, until, ...query } = lookup;
  if (!since || !until) return { records: await reader.query({ ...query, since, until }) };
  const started = clock();
  const records: TraceRecord[] = [];
  let searchedSince: Date | undefined;
  for (let end = until.getTime(); end >= since.getTime(); ) {
    if (searchedSince && clock() - started >= budgetMs) return { records, searchedSince };
    const start = Math.max(Math.floor(end / DAY_MS) * DAY_MS, since.getTime());
    records.push(
      ...(await reader.query({
        ...query,
        since: new Date(start),
        until: new Date(end),
        limit: lookup.limit - records.length,
      })),
    );
    if (records.length >= lookup.limit) break;
    searchedSince = new Date(start);
    end = start - 1;
  }
  return { records: records.slice(0, lookup.limit) };
}

/** `r`'s report if it fits in `maxBytes`, else with its newest events that fit, or undefined. */
function reportWithin(r: TraceRecord, maxBytes: number): TraceReport | undefined {
  const whole = traceReport(r);
  if (jsonBytes(whole) <= maxBytes) return whole;
  // Each event is listed once (`traceReport`): its JSON and a comma, at most.
  let room = maxBytes - jsonBytes(traceReport({ ...r, events: [], eventsTruncated: true }));
  if (room < 0) return undefined;
  let first = r.events.length;
  while (first > 0) {
    const size = jsonBytes(eventReport(r.events[first - 1]!)) + 1;
    if (size > room) break;
    room -= size;
    first--;
  }
  return traceReport({ ...r, events: r.events.slice(first), eventsTruncated: true });
}
