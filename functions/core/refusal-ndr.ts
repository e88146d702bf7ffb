/**
 * The NDR that answers a copy SES refused (issue 15 item 1): SES took the message in but would
 * not send one of its copies, so the sender learns it was not delivered — under exactly the
 * gate of SPEC 3 rule 1, since an NDR to an address nobody proved is backscatter:
 *
 * - the sender is envelope-authenticated (SPEC 2a), not a spoof of an accepted domain;
 * - the message is no bounce (null reverse path, `ndr`, `srs-bounce`) and no loop, and the
 *   refused copy is a forwarded copy (an NDR or a reversed bounce that SES refused is never
 *   answered: that would be an NDR about an NDR);
 * - NDRs are on (`ndr.perRecipientPerHour` > 0) and `high-risk`, which carries every NDR, is
 *   not paused; the per-recipient hourly count is the router's (`process.ts`), as for others;
 * - one NDR per refused copy: the NDR is appended to the message's plan and written to the
 *   trace with the refusal, in one write, so a retried attempt resumes it like any planned
 *   copy and never plans a second one (the plan already holds an NDR for that copy).
 *
 * Pure: the trace summary carries everything (the authentication facts included).
 */
import type { Config } from './config.js';
import type { PlannedSend } from './decide.js';
import type { TraceSummary } from './ports.js';
import { routeFor } from './routes.js';
import { ndrSend } from './send-plan.js';
import type { CopyRefusal } from './ses-refusals.js';
import type { Pool, Reason } from './vocabulary.js';

/** Reasons that make the message a bounce or a loop: never answered (SPEC 3 rule 1). */
const NEVER_ANSWERED: readonly Reason[] = ['ndr', 'srs-bounce', 'loop'];

export type RefusalNdrVerdict = { ndr: PlannedSend } | { ndr: null; why: string };

export interface RefusedCopy {
  send: PlannedSend;
  /** The copy's index in `summary.plan`. */
  index: number;
  refusal: CopyRefusal;
}

/**
 * The NDR to plan for a refused copy, or why there is none. `paused` is the set of paused
 * pools (an NDR never leaves through a paused `high-risk`, `pause.ts`).
 */
export function refusalNdr(
  refused: RefusedCopy,
  summary: TraceSummary,
  config: Config,
  paused: ReadonlySet<Pool>,
): RefusalNdrVerdict {
  const facts = summary.authentication;
  if (refused.send.kind !== 'forward')
    return { ndr: null, why: 'the refused copy is itself a bounce or an NDR' };
  if (summary.plan.some((p) => p.refused?.copy === refused.index)) {
    return { ndr: null, why: 'an NDR for this copy is already planned' };
  }
  if (!summary.sender || facts?.bounce) return { ndr: null, why: 'null reverse path' };
  if (!facts?.envelopeAuthenticated) return { ndr: null, why: 'the sender is not envelope-authenticated' };
  if (facts.spoof) return { ndr: null, why: 'the message spoofs an accepted domain' };
  if (summary.reasons.some((r) => NEVER_ANSWERED.includes(r))) {
    return { ndr: null, why: 'the message is a bounce or a loop' };
  }
  if (config.ndr.perRecipientPerHour <= 0) return { ndr: null, why: 'NDRs are turned off' };
  if (paused.has('high-risk')) return { ndr: null, why: 'the high-risk pool is paused' };

  // The received recipients the copy was for (its routes), not its destinations: an alias's
  // forwarding targets are not the sender's to learn.
  const routes = new Set(refused.send.routes ?? []);
  const forCopy = summary.recipients.filter((r) => {
    const route = routeFor(config, r)?.route;
    return route !== undefined && routes.has(route);
  });
  return {
    ndr: {
      ...ndrSend(summary.sender, config),
      refused: {
        copy: refused.index,
        recipients: forCopy.length > 0 ? forCopy : [...summary.recipients],
        refusal: refused.refusal,
      },
    },
  };
}
