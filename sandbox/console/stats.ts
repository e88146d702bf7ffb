/**
 * The console's figures, computed from trace reports (`functions/trace-api/lookup.ts`): pure
 * functions over plain data, so the page shows what the trace says and nothing else.
 *
 * "Messages per pool" counts what the router's `Messages` metric counts (dimension `Pool`, one
 * per decided message, see `functions/router/observer.ts` `decided`), which is what the
 * CloudWatch dashboard's "Messages per pool" widget sums (`lib/dashboard.ts`): one per message
 * by its decided pool (normal, high-risk, relay, blocked). Reasons and limit hits likewise follow
 * the `Reason.<code>` metrics (a limit hit is a `limit-*` reason).
 */
import { POOLS } from '../../functions/core/vocabulary.js';

/** The dispositions the dashboard's pool widget shows, in its order. */
export const DISPOSITIONS = [...POOLS, 'blocked'] as const;
export type DispositionName = (typeof DISPOSITIONS)[number];

/** What the figures read of a trace report (extra fields are ignored). */
export interface ReportFacts {
  messageId: string;
  receivedAt: string;
  /** null while the decision is not recorded (in progress, or dead-lettered before it). */
  pool: string | null;
  reasons: readonly string[];
}

export interface PoolSeries {
  /** Start of each minute, epoch seconds (uPlot's x values), oldest first. */
  minutes: number[];
  /** Messages per disposition per minute, aligned with `minutes`. */
  counts: Record<DispositionName, number[]>;
}

export interface Overview {
  /** Messages per disposition over everything the console holds. */
  totals: Record<DispositionName, number>;
  /** Messages without a recorded decision (in progress or failed). */
  undecided: number;
  series: PoolSeries;
  /** Reason codes by count, most frequent first (ties by name). */
  reasons: { reason: string; count: number }[];
  /** The `limit-*` reasons by count. */
  limitHits: { reason: string; count: number }[];
}

const MINUTE_MS = 60_000;

function zeroes(): Record<DispositionName, number> {
  return Object.fromEntries(DISPOSITIONS.map((d) => [d, 0])) as Record<DispositionName, number>;
}

function isDisposition(pool: string | null): pool is DispositionName {
  return pool !== null && (DISPOSITIONS as readonly string[]).includes(pool);
}

function ranked(counts: Map<string, number>): { reason: string; count: number }[] {
  return [...counts]
    .map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

/**
 * The figures of `reports`; the series covers the `windowMinutes` minutes up to `now`'s minute
 * (messages received earlier count in the totals, not in the series).
 */
export function overview(reports: readonly ReportFacts[], now: Date, windowMinutes = 30): Overview {
  const totals = zeroes();
  let undecided = 0;
  const lastMinute = Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS;
  const firstMinute = lastMinute - (windowMinutes - 1) * MINUTE_MS;
  const minutes = Array.from({ length: windowMinutes }, (_, i) => (firstMinute + i * MINUTE_MS) / 1000);
  const counts = Object.fromEntries(DISPOSITIONS.map((d) => [d, minutes.map(() => 0)])) as Record<
    DispositionName,
    number[]
  >;
  const reasons = new Map<string, number>();
  const limits = new Map<string, number>();
  for (const r of reports) {
    if (!isDisposition(r.pool)) {
      undecided++;
      continue;
    }
    totals[r.pool]++;
    const at = Date.parse(r.receivedAt);
    if (!Number.isNaN(at)) {
      const slot = Math.floor((Math.floor(at / MINUTE_MS) * MINUTE_MS - firstMinute) / MINUTE_MS);
      if (slot >= 0 && slot < windowMinutes) counts[r.pool][slot]!++;
    }
    for (const reason of r.reasons) {
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      if (reason.startsWith('limit-')) limits.set(reason, (limits.get(reason) ?? 0) + 1);
    }
  }
  return {
    totals,
    undecided,
    series: { minutes, counts },
    reasons: ranked(reasons),
    limitHits: ranked(limits),
  };
}

/** Reports newest first, optionally only those of one pool and/or with one reason. */
export function filterMessages<T extends ReportFacts>(
  reports: readonly T[],
  filter: { pool?: string | undefined; reason?: string | undefined },
): T[] {
  return reports
    .filter(
      (r) =>
        (filter.pool === undefined ||
          (filter.pool === 'undecided' ? !isDisposition(r.pool) : r.pool === filter.pool)) &&
        (filter.reason === undefined || r.reasons.includes(filter.reason)),
    )
    .sort((a, b) =>
      a.receivedAt === b.receivedAt
        ? b.messageId.localeCompare(a.messageId)
        : a.receivedAt < b.receivedAt
          ? 1
          : -1,
    );
}
