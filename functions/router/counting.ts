/**
 * What a message costs the sending limits (SPEC 4), and taking it back. The limits are counted
 * before the decision is final (the counters decide it), so two cases give counts back:
 *
 * - a message the counters then block is taken back out of them at once: blocked mail is never
 *   counted, so a restricted sender's mail does not keep counting;
 * - an attempt that fails before its decision reaches the trace, and before SES accepted any of
 *   its copies (SES throttling the first copy past the backoff), is decided and counted again
 *   by Lambda's retry, so `process.ts` takes back everything the attempt counted — identities
 *   and NDRs — before it fails ({@link AttemptCounts}). Found in a review (December 2026): a sender exactly at
 *   its limit was otherwise blocked and restricted for the day by its own retried message.
 */
import { type Classification, type Decision, decide } from '../core/decide.js';
import type { LimitUsage, SenderState } from '../core/limits.js';
import { decisionPools, holdPausedPools, NO_PAUSED_POOLS } from '../core/pause.js';
import type { LimitsStore } from '../core/ports.js';
import type { PipelineDeps } from './process.js';

/** The counts one attempt took, until its decision is recorded. */
export class AttemptCounts {
  /** Identities counted, with what (`LimitsStore.count`), and when. */
  readonly limits: { usage: LimitUsage; at: Date }[] = [];
  /** NDR recipients counted (`LimitsStore.countNdr`), each under its clock hour. */
  readonly ndrs: { mailbox: string; at: Date }[] = [];

  /** Gives every count back, all at once; a refund that fails over-counts (the safe side). */
  async refund(limits: LimitsStore): Promise<void> {
    await Promise.all([
      ...this.limits.map((c) => limits.refund(c.usage, c.at)),
      ...this.ndrs.map((n) => limits.refundNdr(n.mailbox, n.at)),
    ]);
    this.limits.length = 0;
    this.ndrs.length = 0;
  }
}

/**
 * Counts the limits of every sending identity and decides (SPEC 4). Only mail that would
 * otherwise be sent is counted (a virus or an unrouted message costs no counter write), and
 * a message the counters then block (a restriction, a limit crossed) is taken back out of
 * them. What stays counted is noted in `counts`.
 */
export async function countAndDecide(
  c: Classification,
  deps: PipelineDeps,
  now: Date,
  counts: AttemptCounts,
): Promise<CountedDecision> {
  // Mail for a paused pool is blocked (issue 14), and blocked mail is not counted (SPEC 4).
  const first = await holdPaused(decide(c, {}, deps.config, now), deps);
  if (first.pool === 'blocked' || c.usage.length === 0) return { decision: first, senders: {} };
  const usages = c.usage.map((u) => ({ identity: u.identity, external: u.external, internal: u.internal }));
  // All at once, and all settled: when one count fails, the others may have landed. From here
  // on what landed is noted in `counts` as soon as a step fails, so the failed attempt gives
  // it back before Lambda's retry counts every identity again (review, December 2026).
  const settled = await Promise.allSettled(usages.map((u) => deps.limits.count(u, now)));
  const taken = new AttemptCounts();
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled' && s.value.counted !== false)
      taken.limits.push({ usage: usages[i]!, at: now });
  });
  const failure = settled.find((s) => s.status === 'rejected');
  if (failure) {
    counts.limits.push(...taken.limits);
    throw failure.reason;
  }
  const senders: Record<string, SenderState> = {};
  usages.forEach((u, i) => {
    senders[u.identity] = (settled[i] as PromiseFulfilledResult<SenderState>).value;
  });
  let decision: Decision;
  try {
    decision = await holdPaused(decide(c, senders, deps.config, now), deps);
  } catch (error) {
    counts.limits.push(...taken.limits);
    throw error;
  }
  if (decision.pool === 'blocked') await taken.refund(deps.limits);
  else counts.limits.push(...taken.limits);
  return { decision, senders };
}

/** A decision and the identities' states it was made on (`LimitsStore.count`'s answers). */
export interface CountedDecision {
  decision: Decision;
  senders: Readonly<Record<string, SenderState>>;
}

/**
 * Writes the decision's restrictions, each only while the identity's last release is the one
 * its counters were read with (`LimitsStore.restrict`), and returns those written: a release
 * in between stands, and no notice tells of a restriction that was not written.
 */
export async function writeRestrictions(counted: CountedDecision, limits: LimitsStore, now: Date) {
  const written = [];
  for (const r of counted.decision.restrictions) {
    const releasedAt = counted.senders[r.identity]?.releasedAt ?? null;
    if (await limits.restrict(r, now, { releasedAt })) written.push(r);
  }
  return written;
}

/**
 * The decision with its paused pools held back (issue 14), asking SES only about the pools it
 * uses (issue 16: a cold container's first message looks up one pool, not all three).
 */
async function holdPaused(decision: Decision, deps: PipelineDeps): Promise<Decision> {
  const paused = (await deps.poolStatus?.paused(decisionPools(decision))) ?? NO_PAUSED_POOLS;
  return holdPausedPools(decision, paused);
}
