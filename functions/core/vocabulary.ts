/**
 * The fixed vocabulary of SPEC sections 2 and 3: pools and reason codes. Used verbatim in
 * traces, metrics, SES EmailTags and the dry-run output, so never rename one lightly.
 */

/** The three SES delivery pools. */
export const POOLS = ['normal', 'high-risk', 'relay'] as const;
export type Pool = (typeof POOLS)[number];

/** A pool, or `blocked`: nothing is sent. */
export type Disposition = Pool | 'blocked';

/** SPEC section 3 reason codes, in the order the rules are evaluated. */
export const REASONS = [
  'sender-restricted',
  'virus',
  'hard-limit-size',
  // SPEC 2a: the header block is over its bound; nothing after it is parsed.
  'hard-limit-headers',
  'hard-limit-recipients',
  // SPEC 2a: more Received fields than maxHops, or our own loop marker for the same route.
  'loop',
  // SPEC 2 / issue "Isolation": the chosen pool is paused; nothing is sent through it.
  'pool-paused',
  'no-route',
  'srs-invalid',
  'ndr',
  'srs-bounce',
  'no-a-mx',
  // SPEC 2a: a DNS check failed temporarily on the last attempt and was counted as not passed.
  'dns-temperror',
  'spam',
  'limit-external-hour',
  'limit-internal-hour',
  'limit-day',
  'accepted-domain',
  'spf-pass',
  'dkim-aligned-pass',
  'unauthenticated-relay',
  // SPEC 2a: the message claims an accepted domain (envelope or From) and did not prove it.
  'spoofed-accepted-domain',
  'srs-rewritten',
  // Issue "Enhanced filtering": SPF was recomputed behind a trusted gateway.
  'enhanced-filtering',
] as const;
export type Reason = (typeof REASONS)[number];

/** Policy actions of the outbound spam policy (SPEC section 4). */
export const LIMIT_ACTIONS = ['alert', 'block-for-today', 'block'] as const;
export type LimitAction = (typeof LIMIT_ACTIONS)[number];

/**
 * A message's status in the trace: being processed (or waiting for Lambda's retry), done, or
 * dead-lettered after Lambda's last attempt (issue 15: recorded with the error until a
 * redrive claims it again; docs/retries.md).
 */
export const TRACE_STATUSES = ['in-progress', 'done', 'dead-letter'] as const;
export type TraceStatus = (typeof TRACE_STATUSES)[number];
