/**
 * What a simulation measured, from the labels of the stream and what the sandbox did with
 * each message: the class × pool table, leak, collateral, lost, duplicates, and two checks
 * of SPEC 2a on what SES was asked to send (copies to an address no route produced, NDRs to
 * an address that did not prove itself).
 */
import { CLASSES, type ClassId } from './classes.js';
import type { SimMessage } from './stream.js';

/** Where a message ended: its pool, refused at SMTP, or lost (accepted, never decided). */
export const COLUMNS = ['normal', 'high-risk', 'relay', 'blocked', 'refused', 'lost'] as const;
export type Column = (typeof COLUMNS)[number];

export interface Outcome {
  seq: number;
  column: Column;
  reasons: string[];
}

/** One copy SES was asked to send, as the SES emulator recorded it. */
export interface ObservedSend {
  /** `seq` of the simulated message it belongs to, or null when no message matches. */
  seq: number | null;
  kind: string;
  to: string[];
}

export interface Ratio {
  count: number;
  of: number;
  percent: number;
}

export interface ClassRow {
  class: ClassId;
  description: string;
  trustModel: boolean;
  sent: number;
  good: number;
  bad: number;
  pools: Record<Column, number>;
  /** Bad messages of the class that left through `normal`. */
  leak: number;
  /** Good messages of the class that did not (lost ones excepted: see `lost`). */
  collateral: number;
  /** How often each set of reason codes was given (`a,b,c` → messages): the *why* of the row. */
  reasons: Record<string, number>;
}

export interface SimulationReport {
  seed: number;
  messages: number;
  config: string;
  /** SHA-256 of the stream (envelopes and bytes): equal for equal seeds. */
  streamSha256: string;
  /** The policies the simulation gave its own limited senders. */
  simulatedSenders: Record<string, { identity: string; externalPerHour: number; action: string }>;
  classes: ClassRow[];
  totals: { sent: number; good: number; bad: number; pools: Record<Column, number> };
  leak: Ratio;
  collateral: Ratio;
  /** Sent to the sandbox and accepted, but never decided (dead-lettered or timed out). */
  lost: number;
  /** Copies beyond the first of one message to one destination. */
  duplicates: number;
  /** Copies to an address that neither a route nor a reversed bounce produced (open relay). */
  strayCopies: number;
  /** NDRs to an address other than an envelope-authenticated sender of a non-bounce (backscatter). */
  backscatter: number;
}

const ratio = (count: number, of: number): Ratio => ({
  count,
  of,
  percent: of === 0 ? 0 : Math.round((count / of) * 10_000) / 100,
});

const zeroPools = (): Record<Column, number> =>
  Object.fromEntries(COLUMNS.map((c) => [c, 0])) as Record<Column, number>;

export function buildReport(o: {
  seed: number;
  config: string;
  streamSha256: string;
  simulatedSenders: SimulationReport['simulatedSenders'];
  messages: readonly SimMessage[];
  outcomes: readonly Outcome[];
  sends: readonly ObservedSend[];
}): SimulationReport {
  const outcomeOf = new Map(o.outcomes.map((x) => [x.seq, x]));
  const rows = new Map<ClassId, ClassRow>(
    CLASSES.map((c) => [
      c.id,
      {
        class: c.id,
        description: c.description,
        trustModel: c.trustModel,
        sent: 0,
        good: 0,
        bad: 0,
        pools: zeroPools(),
        leak: 0,
        collateral: 0,
        reasons: {},
      },
    ]),
  );
  for (const m of o.messages) {
    const row = rows.get(m.class)!;
    // A message with no outcome at all never came back from the sandbox: lost.
    const outcome = outcomeOf.get(m.seq);
    const column = outcome?.column ?? 'lost';
    const why = outcome && column !== 'lost' ? outcome.reasons.join(',') || '-' : 'lost';
    row.reasons[why] = (row.reasons[why] ?? 0) + 1;
    row.sent++;
    row[m.nature]++;
    row.pools[column]++;
    if (m.nature === 'bad' && column === 'normal') row.leak++;
    if (m.nature === 'good' && column !== 'normal' && column !== 'lost') row.collateral++;
  }
  const classes = [...rows.values()]
    .filter((r) => r.sent > 0)
    .map((r) => ({
      ...r,
      reasons: Object.fromEntries(Object.entries(r.reasons).sort(([a], [b]) => (a < b ? -1 : 1))),
    }));
  const sum = (f: (r: ClassRow) => number) => classes.reduce((s, r) => s + f(r), 0);
  const pools = zeroPools();
  for (const r of classes) for (const c of COLUMNS) pools[c] += r.pools[c];

  const bySeq = new Map(o.messages.map((m) => [m.seq, m]));
  const seen = new Set<string>();
  let duplicates = 0;
  let strayCopies = 0;
  let backscatter = 0;
  for (const s of o.sends) {
    const m = s.seq === null ? undefined : bySeq.get(s.seq);
    for (const raw of s.to) {
      const to = raw.toLowerCase();
      const key = `${s.seq}\u0000${to}`;
      if (seen.has(key)) duplicates++;
      seen.add(key);
      if (s.kind === 'ndr') {
        if (!m || m.ndrTo === null || m.ndrTo.toLowerCase() !== to) backscatter++;
      } else if (!m?.allowed.some((a) => a.toLowerCase() === to)) {
        strayCopies++;
      }
    }
  }

  return {
    seed: o.seed,
    messages: o.messages.length,
    config: o.config,
    streamSha256: o.streamSha256,
    simulatedSenders: o.simulatedSenders,
    classes,
    totals: { sent: sum((r) => r.sent), good: sum((r) => r.good), bad: sum((r) => r.bad), pools },
    leak: ratio(
      sum((r) => r.leak),
      sum((r) => r.bad),
    ),
    collateral: ratio(
      sum((r) => r.collateral),
      sum((r) => r.good),
    ),
    lost: pools.lost,
    duplicates,
    strayCopies,
    backscatter,
  };
}

/** What `--fail-on-leak` fails on: any leak, collateral of 1 % or more, or lost or duplicated mail. */
export function failedChecks(r: SimulationReport): string[] {
  const out: string[] = [];
  if (r.leak.count > 0) out.push(`leak ${r.leak.count} (${r.leak.percent} %)`);
  if (r.collateral.percent >= 1) out.push(`collateral ${r.collateral.percent} % (≥ 1 %)`);
  if (r.lost > 0) out.push(`${r.lost} lost`);
  if (r.duplicates > 0) out.push(`${r.duplicates} duplicates`);
  return out;
}
