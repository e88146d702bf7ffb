/**
 * Step 2 of the decision: SPEC 3 rules 1-7 in their normative order, over a classification
 * (`classify.ts`) and the sending identities' counters and restrictions. Every rule that
 * matched is recorded as a reason, even when an earlier rule already chose the pool. What to
 * send is the next step (`send-plan.ts`).
 */
import type { Classification } from './classify.js';
import { overSize } from './compose/copy-size.js';
import type { Config } from './config.js';
import { DnsTemporaryError } from './errors.js';
import { evaluateLimits, type LimitVerdict, type Restriction, type SenderState } from './limits.js';
import { type Disposition, type Pool, REASONS, type Reason } from './vocabulary.js';

export interface PoolDecision {
  /** The pool the copies leave through (when not blocked). */
  pool: Pool;
  /** The pool, or `blocked`. */
  disposition: Disposition;
  reasons: Reason[];
  /** The message is a non-delivery report (rule 2). */
  isNdr: boolean;
  /** Rule 6 fired: not from a genuine sender and not author-authenticated, or a spoof. */
  relay: boolean;
  /**
   * Rule 1 blocked the message and its sender may learn of it by an NDR: envelope-
   * authenticated, not a spoof, not itself an NDR, not a loop (SPEC 3 rule 1).
   */
  ndrToSender: boolean;
  limits: LimitVerdict[];
  /** Restrictions to record because this message crossed a restricting limit. */
  restrictions: Restriction[];
  /** Identities over an alert-only limit (an alert is raised for each). */
  alerts: { identity: string; reasons: Reason[] }[];
}

export function sortReasons(reasons: Iterable<Reason>): Reason[] {
  const set = new Set(reasons);
  return REASONS.filter((r) => set.has(r));
}

/**
 * SPEC 3 in its normative order. `senders` holds each identity's counters *before* this
 * message and its restriction, keyed by identity (missing = zero, unrestricted).
 */
export function decidePool(
  c: Classification,
  senders: Readonly<Record<string, SenderState>>,
  config: Config,
  now: Date,
): PoolDecision {
  const reasons = new Set<Reason>();
  const facts = c.authentication;
  // Rule 2's NDR: a null reverse path, a DSN, or mail to the SRS domain. Being one chooses the
  // pool (high-risk); it never exempts a routed copy from rule 1 (SPEC 3 rule 2).
  const isNdr = c.ndr.nullSender || c.ndr.deliveryReport || c.ndr.toSrsAddress;
  const routedAny = c.expansion.routed.some((r) => r.destinations.length > 0);
  const validSrs = c.srsBounces.filter((b) => b.originalSender !== null);

  // --- Rule 1: blocked -------------------------------------------------------------------
  let blocked = false;
  // Limits apply to every copy sent to a routed recipient, bounces included (SPEC 4).
  const limits = c.usage.map((u) => evaluateLimits(config, u, senders[u.identity], now));
  if (limits.some((l) => l.restricted)) {
    reasons.add('sender-restricted');
    blocked = true;
  }
  if (c.virus) {
    reasons.add('virus');
    blocked = true;
  }
  // Service limits on the message itself: its size, or a copy larger than SES sends
  // (compose/copy-size.ts); the header block over its bound (header-bounds.ts).
  const tooBig = overSize(c, config);
  if (tooBig) {
    reasons.add('hard-limit-size');
    blocked = true;
  }
  if (c.bounds.exceeded) {
    reasons.add('hard-limit-headers');
    blocked = true;
  }
  // A service limit on the message (SPEC 4), not on each identity: a message addressed to
  // several routes (one identity each when the sender is not genuine) counts all their
  // recipients, under the strictest policy among its identities.
  const messageRecipients = c.usage.reduce((n, u) => n + u.external + u.internal, 0);
  const overPerMessage = limits.some((l) => messageRecipients > l.policy.recipientsPerMessage);
  if (overPerMessage) {
    reasons.add('hard-limit-recipients');
    blocked = true;
  }
  if (c.loop) {
    reasons.add('loop');
    blocked = true;
  }
  const noRoute = !routedAny && validSrs.length === 0;
  // A message blocked for what it is (virus, size, too many recipients, a loop, no route) is
  // never sent, so it cannot cross a rate limit nor restrict its identity.
  const countable = !c.virus && !tooBig && !c.bounds.exceeded && !overPerMessage && !c.loop && !noRoute;
  if (countable && limits.some((l) => l.serviceCap)) {
    reasons.add('hard-limit-recipients');
    blocked = true;
  }
  const alerts: PoolDecision['alerts'] = [];
  const restrictions: Restriction[] = [];
  for (const l of countable ? limits : []) {
    for (const r of l.crossed) reasons.add(r);
    if (l.effect === 'block') {
      blocked = true;
      if (l.restrict) restrictions.push(l.restrict);
    } else if (l.effect === 'alert') {
      alerts.push({ identity: l.identity, reasons: l.crossed });
    }
  }
  if (noRoute) {
    if (c.srsBounces.length === 0 || c.expansion.unrouted.length > 0) reasons.add('no-route');
    blocked = true;
  }
  if (c.srsBounces.some((b) => b.originalSender === null)) reasons.add('srs-invalid');

  // --- Rule 2: NDR -----------------------------------------------------------------------
  let highRisk = false;
  if (isNdr) {
    reasons.add('ndr');
    highRisk = true;
  }
  if (validSrs.length > 0) reasons.add('srs-bounce');

  // --- Rule 3: no A/MX (a DnsTemporaryError was already thrown by classify) ----------------
  if (!c.sourceDomainVerdict?.ok) {
    // On the last attempt an A/MX check that failed temporarily is "not passed" (high-risk),
    // recorded as dns-temperror: the domain was not proved to lack records (SPEC 2a).
    reasons.add(c.sourceDomainVerdict?.temperror ? 'dns-temperror' : 'no-a-mx');
    highRisk = true;
  }

  // --- Rule 4: spam ----------------------------------------------------------------------
  if (c.spam) {
    reasons.add('spam');
    highRisk = true;
  }

  // --- Rule 5: over an alert-only limit (reasons recorded above) ---------------------------
  if (alerts.length > 0) highRisk = true;

  // --- Rule 6: relay, on author authentication (SPEC 2a) -----------------------------------
  if (facts.genuineAcceptedSender) reasons.add('accepted-domain');
  if (facts.spfPass) reasons.add('spf-pass');
  if (c.gateway?.applied) reasons.add('enhanced-filtering');
  // The recomputed SPF failed temporarily on the last attempt: not a pass (SPEC 2a).
  if (c.gateway?.applied && c.gateway.temperror) reasons.add('dns-temperror');
  if (facts.dkimAuthorAligned) reasons.add('dkim-aligned-pass');
  if (facts.spoof) reasons.add('spoofed-accepted-domain');
  const unauthenticated = c.forwarded && !facts.authorAuthenticated;
  const relay = facts.spoof || unauthenticated;
  if (unauthenticated) {
    // The aligned signature could not be checked: the message may well be authenticated, so
    // a relay verdict now would be a silent downgrade. Retry instead (SPEC 3 rule 3). Only
    // where rule 6 decides the pool: an earlier rule, or a spoof, sends it elsewhere anyway.
    if (c.dkim.temperror && config.relay.dkimAvoidsRelay && !facts.spoof && !blocked && !highRisk) {
      // Not forever: on the last attempt the signature counts as not passed, so an attacker's
      // SERVFAILing key server buys relay, not a dead letter (SPEC 2a).
      if (!c.finalAttempt) {
        throw new DnsTemporaryError(c.dkim.signatures.find((s) => s.aligned)?.domain ?? '', 'TXT');
      }
      reasons.add('dns-temperror');
    }
    reasons.add('unauthenticated-relay');
  }

  // --- Rule 7 and the disposition ----------------------------------------------------------
  const pool: Pool = highRisk ? 'high-risk' : relay ? 'relay' : 'normal';
  // An NDR only to a sender that proved its envelope address: anything else is backscatter.
  // Never for a bounce (RFC 3464 1, RFC 5321 4.5.5), never for a spoof, never for a loop
  // (the sender of a looping copy is ourselves).
  const ndrToSender =
    blocked &&
    facts.envelopeAuthenticated &&
    !facts.spoof &&
    !isNdr &&
    !c.loop &&
    c.envelopeSender !== null &&
    config.ndr.perRecipientPerHour > 0;
  return {
    pool,
    disposition: blocked ? 'blocked' : pool,
    reasons: sortReasons(reasons),
    isNdr,
    relay,
    ndrToSender,
    limits,
    restrictions,
    alerts,
  };
}
