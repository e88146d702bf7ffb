/**
 * The NDRs a message may send (SPEC 3 rule 1): at most `ndr.perRecipientPerHour` to one
 * address per clock hour, counted atomically in the limits table, whether the decision plans
 * them or SES's refusal of a copy asks for one (`core/refusal-ndr.ts`).
 *
 * A bounce reversed to the original sender (`srs-bounce`, SPEC 3 rule 2) is a non-delivery
 * report to that mailbox too, and shares its count. Its content is whatever the bounce's
 * sender wrote, and anyone holding one of our SRS addresses (every copy's return path carries
 * one, valid for days) can send bounces to it: uncapped, one SRS address was a stream of
 * attacker-written mail through `high-risk` to the sender it names.
 */
import type { Decision, PlannedSend } from '../core/decide.js';
import { normalizeIdentity } from '../core/identity.js';
import { NO_PAUSED_POOLS } from '../core/pause.js';
import type { TraceSummary } from '../core/ports.js';
import { type RefusedCopy, refusalNdr } from '../core/refusal-ndr.js';
import type { AttemptCounts } from './counting.js';
import type { PipelineDeps } from './process.js';

/**
 * SPEC 3 rule 1: at most `ndr.perRecipientPerHour` NDRs to one mailbox per clock hour,
 * counted atomically in the limits table. Counts this NDR and answers whether it may be sent
 * (one over the limit is logged and not sent).
 */
async function withinNdrLimit(
  ndr: PlannedSend,
  deps: PipelineDeps,
  now: Date,
  counts: AttemptCounts,
): Promise<boolean> {
  const max = deps.config.ndr.perRecipientPerHour;
  const to = ndr.to[0]!;
  // Counted per mailbox, not per spelling: `"alice"@x.test`, `Alice+1@x.test` and
  // `alice@x.test.` reach one mailbox, so they share one counter (as identities do).
  const mailbox = normalizeIdentity(to, deps.config);
  const count = await deps.limits.countNdr(mailbox, now);
  counts.ndrs.push({ mailbox, at: now });
  if (count <= max) return true;
  const what = ndr.kind === 'srs-bounce' ? 'reversed bounce' : 'NDR';
  deps.observer?.warn?.(`${what} not sent: over the per-recipient hourly limit`, { to, count, max });
  return false;
}

/**
 * The decision's NDRs and reversed bounces within their per-recipient hourly limit
 * ({@link withinNdrLimit}), each count noted in `counts` (taken back if the attempt fails
 * before its decision is recorded).
 */
export async function limitNdrs(
  decision: Decision,
  deps: PipelineDeps,
  now: Date,
  counts: AttemptCounts,
): Promise<void> {
  const kept: PlannedSend[] = [];
  for (const send of decision.sends) {
    const capped = send.kind === 'ndr' || send.kind === 'srs-bounce';
    if (!capped || (await withinNdrLimit(send, deps, now, counts))) kept.push(send);
  }
  decision.sends = kept;
}

/**
 * The NDR for a copy SES refused, when SPEC 3 rule 1 allows one (`core/refusal-ndr.ts`) and
 * the sender is under the per-recipient hourly NDR limit; null otherwise (logged).
 */
export async function planRefusalNdr(
  refused: RefusedCopy,
  summary: TraceSummary,
  deps: PipelineDeps,
  now: Date,
  counts: AttemptCounts,
): Promise<PlannedSend | null> {
  const paused = (await deps.poolStatus?.paused(['high-risk'])) ?? NO_PAUSED_POOLS;
  const verdict = refusalNdr(refused, summary, deps.config, paused);
  if (!verdict.ndr) {
    deps.observer?.warn?.('refused copy not answered with an NDR', {
      index: refused.index,
      why: verdict.why,
    });
    return null;
  }
  return (await withinNdrLimit(verdict.ndr, deps, now, counts)) ? verdict.ndr : null;
}
