/**
 * Paused pools (issue 14). A pool is paused when its configuration set's sending is disabled:
 * by the pause function on a reputation alarm, or by an operator (`pools pause`). Mail for a
 * paused pool is blocked with reason `pool-paused` rather than handed to SES, which would
 * refuse it anyway — and no copy, NDRs included, leaves through a paused pool: an NDR goes
 * through `high-risk`, so when `high-risk` is paused the sender gets none.
 *
 * Pure: the set of paused pools comes from the `PoolStatus` port.
 */
import type { Decision } from './decide.js';
import { type Pool, REASONS, type Reason } from './vocabulary.js';

/** No pool paused. */
export const NO_PAUSED_POOLS: ReadonlySet<Pool> = new Set();

const order = (r: Reason) => REASONS.indexOf(r);

/**
 * The pools whose state {@link holdPausedPools} reads for `decision`: its own pool (unless
 * blocked) and every copy's (an NDR goes through `high-risk`). Asking only about these is
 * enough: a pool outside them changes nothing in the held decision.
 */
export function decisionPools(decision: Decision): Pool[] {
  const pools = new Set<Pool>(decision.sends.map((s) => s.pool));
  if (decision.pool !== 'blocked') pools.add(decision.pool);
  return [...pools];
}

/**
 * The decision with every copy for a paused pool held back. When the message's own pool is
 * paused it is blocked (nothing is sent, not even an NDR: the pause is the platform's, not a
 * verdict on the message); when only some copies are (an NDR or SRS bounce through a paused
 * `high-risk`), those are dropped. Either way `pool-paused` joins the reasons.
 */
export function holdPausedPools(decision: Decision, paused: ReadonlySet<Pool>): Decision {
  if (paused.size === 0) return decision;
  const poolPaused = decision.pool !== 'blocked' && paused.has(decision.pool);
  const held = decision.sends.some((s) => paused.has(s.pool));
  if (!poolPaused && !held) return decision;
  const reasons = [...new Set<Reason>([...decision.reasons, 'pool-paused'])].sort(
    (a, b) => order(a) - order(b),
  );
  return {
    ...decision,
    pool: poolPaused ? 'blocked' : decision.pool,
    configurationSet: poolPaused ? null : decision.configurationSet,
    reasons,
    sends: poolPaused ? [] : decision.sends.filter((s) => !paused.has(s.pool)),
  };
}
