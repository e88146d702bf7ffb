/**
 * Sending limits (SPEC 4), evaluated over plain counter values. Storage (DynamoDB, atomic
 * increments) lives in an adapter; this module only says what the numbers mean.
 */
import { type Config, type LimitPolicy, policyFor } from './config.js';
import type { LimitAction, Reason } from './vocabulary.js';

/** Recipients already counted for a sending identity, *before* the current message. */
export interface SenderCounters {
  /** To non-accepted domains in the current clock hour (UTC). */
  externalHour: number;
  /** To accepted domains in the current clock hour (UTC). */
  internalHour: number;
  /** In the current UTC day. */
  day: number;
  /** In the last 24 hours (the service cap's window). */
  rolling24h: number;
}

export const ZERO_COUNTERS: Readonly<SenderCounters> = Object.freeze({
  externalHour: 0,
  internalHour: 0,
  day: 0,
  rolling24h: 0,
});

export interface Restriction {
  identity: string;
  /** The limit that caused it. */
  reason: Reason;
  since: string;
  /** ISO time the restriction lifts by itself, or null until an operator releases it. */
  until: string | null;
}

export interface SenderState {
  counters: SenderCounters;
  restriction?: Restriction | null;
  /** ISO time of the last operator release; a `block` sender is not restricted again that day. */
  releasedAt?: string | null;
  /** false when the store answered without adding this message (a remembered restriction). */
  counted?: boolean;
}

/** Recipients the current message adds for one identity. */
export interface LimitUsage {
  identity: string;
  external: number;
  internal: number;
}

export interface LimitVerdict {
  identity: string;
  policy: LimitPolicy;
  /** Policy limits this message crosses (`limit-*` reasons). */
  crossed: Reason[];
  /** The service cap of recipients per rolling 24 hours is crossed: blocked, whatever the policy. */
  serviceCap: boolean;
  /** The identity is currently restricted. */
  restricted: boolean;
  /** What to do about `crossed`: block (and restrict), or let it through `high-risk` with an alert. */
  effect: 'none' | 'block' | 'alert';
  /** A restriction to record (block-for-today / block). */
  restrict: Restriction | null;
}

/** The next 00:00 UTC after `now` (end of a block-for-today restriction). */
export function nextUtcMidnight(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

function sameUtcDay(a: Date, b: Date): boolean {
  return a.toISOString().slice(0, 10) === b.toISOString().slice(0, 10);
}

/** Whether a stored restriction is still in force at `now`. */
export function isRestricted(restriction: Restriction | null | undefined, now: Date): boolean {
  if (!restriction) return false;
  return restriction.until === null || Date.parse(restriction.until) > now.getTime();
}

export function evaluateLimits(
  config: Config,
  usage: LimitUsage,
  state: SenderState | undefined,
  now: Date,
): LimitVerdict {
  const policy = policyFor(config, usage.identity);
  const c = state?.counters ?? ZERO_COUNTERS;
  const total = usage.external + usage.internal;
  const crossed: Reason[] = [];
  // A limit is crossed when this message takes the count past it: sending exactly the
  // limit is allowed, one recipient more is not.
  if (usage.external > 0 && c.externalHour + usage.external > policy.externalPerHour) {
    crossed.push('limit-external-hour');
  }
  if (usage.internal > 0 && c.internalHour + usage.internal > policy.internalPerHour) {
    crossed.push('limit-internal-hour');
  }
  if (total > 0 && c.day + total > policy.perDay) crossed.push('limit-day');
  const serviceCap = total > 0 && c.rolling24h + total > config.limits.service.recipientsPer24Hours;
  const restricted = isRestricted(state?.restriction, now);

  let action: LimitAction = policy.action;
  // SPEC 4: after an operator release, a `block` sender is not restricted again that day; the
  // mail still crosses the limit, so it leaves through high-risk with an alert.
  if (action === 'block' && state?.releasedAt && sameUtcDay(new Date(state.releasedAt), now))
    action = 'alert';

  let effect: LimitVerdict['effect'] = 'none';
  let restrict: Restriction | null = null;
  if (crossed.length > 0) {
    effect = action === 'alert' ? 'alert' : 'block';
    if (action !== 'alert' && !restricted) {
      restrict = {
        identity: usage.identity,
        reason: crossed[0]!,
        since: now.toISOString(),
        until: action === 'block-for-today' ? nextUtcMidnight(now).toISOString() : null,
      };
    }
  }
  return { identity: usage.identity, policy, crossed, serviceCap, restricted, effect, restrict };
}
