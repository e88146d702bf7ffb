/**
 * The pool decision (SPEC 2a, 3), as pure code over plain data, in three steps so the
 * pipeline can count limits atomically in between:
 *
 * 1. {@link classify} (`classify.ts`) reads the message, the SES verdicts, DKIM and DNS and
 *    computes the authentication facts (`authentication.ts`) once; it says who the sending
 *    identities are and how many recipients each adds, but knows nothing of counters.
 * 2. {@link decidePool} (`pool-decision.ts`) applies the normative rule order to that
 *    classification and the identities' counters and restrictions, recording every reason.
 * 3. {@link planSends} (`send-plan.ts`) says which copies to send, to whom, how.
 *
 * {@link decide} runs steps 2 and 3; {@link decideMessage} runs all three, for callers that
 * already hold the counters (dry-run).
 */
import { type Classification, classify, type DecisionInput } from './classify.js';
import type { Config } from './config.js';
import { headerLimitDecision } from './header-bounds.js';
import type { LimitVerdict, Restriction, SenderState } from './limits.js';
import { decidePool, sortReasons } from './pool-decision.js';
import { type PlannedSend, planSends } from './send-plan.js';
import type { Disposition, Reason } from './vocabulary.js';

export type { Classification, DecisionInput, IdentityUsage, SrsBounce } from './classify.js';
export { classify } from './classify.js';
export type { PlannedSend, SendKind } from './send-plan.js';
export { SES_MAX_RECIPIENTS_PER_CALL } from './send-plan.js';

export interface Decision {
  pool: Disposition;
  reasons: Reason[];
  /** Configuration set of the pool, null when blocked. */
  configurationSet: string | null;
  sends: PlannedSend[];
  /** Restrictions to record because this message crossed a restricting limit. */
  restrictions: Restriction[];
  /** Identities over an alert-only limit (an alert is raised for each). */
  alerts: { identity: string; reasons: Reason[] }[];
  /** Recipients that had no route (nothing is sent to them). */
  unrouted: string[];
  classification: Classification;
  limits: LimitVerdict[];
}

/**
 * SPEC 3 in its normative order, then the copies. `senders` holds each identity's counters
 * *before* this message and its restriction, keyed by identity (missing = zero, unrestricted).
 */
export function decide(
  c: Classification,
  senders: Readonly<Record<string, SenderState>>,
  config: Config,
  now: Date,
): Decision {
  // SPEC 2a: a header block over its bound was never parsed, so the rules have nothing to
  // read: blocked, `hard-limit-headers`, with an NDR only as rule 1 allows (header-bounds.ts).
  if (c.bounds.exceeded) return headerLimitDecision(c, config);
  const p = decidePool(c, senders, config, now);
  const { sends, srsUsed } = planSends(c, p, config, now);
  const reasons = srsUsed ? [...p.reasons, 'srs-rewritten' as const] : p.reasons;
  return {
    pool: p.disposition,
    reasons: sortReasons(reasons),
    configurationSet: p.disposition === 'blocked' ? null : config.pools[p.pool].configurationSet,
    sends,
    restrictions: p.restrictions,
    alerts: p.alerts,
    unrouted: c.expansion.unrouted,
    classification: c,
    limits: p.limits,
  };
}

/** Classifies and decides in one go, with the senders' counters known up front. */
export async function decideMessage(
  input: DecisionInput & { senders?: Readonly<Record<string, SenderState>> },
): Promise<Decision> {
  const c = await classify(input);
  return decide(c, input.senders ?? {}, input.config, input.now);
}
