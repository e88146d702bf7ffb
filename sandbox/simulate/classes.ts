/**
 * The traffic classes of the simulation (issue 12 item 8). Each message of the stream carries
 * its class and its expected nature, decided when the stream is generated — from what the
 * simulated sender can prove and from the limit policy — never from what the router decided:
 *
 * - `good`: entitled to the `normal` pool (a proved sender within its limits). Leaving by
 *   another pool is **collateral**.
 * - `bad`: must not leave through `normal` (an unproved or forged sender, a bounce, mail over
 *   a limit, a domain without A/MX). Leaving through `normal` is a **leak**. "Bad" is about
 *   the pool, not about intent: unauthenticated forwarded mail is not malicious, it belongs
 *   in `relay`.
 *
 * `trustModel`: the class is one of the attacks SPEC 2a measures (spoofs, forged SRS,
 * NDR-shaped mail, sub-address variants of a restricted sender); the others exercise rules
 * the product had before (limits, relay, no A/MX) and the good traffic.
 */
export const CLASS_IDS = [
  'good-accepted',
  'forwarded-spf',
  'forwarded-dkim',
  'forwarded-unauthenticated',
  'compromised-burst',
  'spoof-own-domain-dkim',
  'spoof-accepted-from',
  'spoof-dmarc-fail',
  'subaddress-restricted',
  'bounce-srs-valid',
  'bounce-srs-forged',
  'bounce-ndr-shaped',
  'no-a-mx',
  'alert-only',
] as const;

export type ClassId = (typeof CLASS_IDS)[number];

export interface TrafficClass {
  id: ClassId;
  /** One line for the table's legend and the docs. */
  description: string;
  /** The messages' nature: fixed, or `mixed` when the limit policy decides per message. */
  nature: 'good' | 'bad' | 'mixed';
  trustModel: boolean;
  /** Share of the stream. */
  weight: number;
  /** Fewest messages that still show the class's point (a burst needs a few to cross a limit). */
  minimum: number;
}

export const CLASSES: readonly TrafficClass[] = [
  {
    id: 'good-accepted',
    description: 'a user of an accepted domain, SPF and DKIM aligned',
    nature: 'good',
    trustModel: false,
    weight: 0.3,
    minimum: 1,
  },
  {
    id: 'forwarded-spf',
    description: 'forwarded mail, aligned SPF pass (no DKIM)',
    nature: 'good',
    trustModel: false,
    weight: 0.1,
    minimum: 1,
  },
  {
    id: 'forwarded-dkim',
    description: 'forwarded mail through a list host (SPF fail), aligned DKIM pass',
    nature: 'good',
    trustModel: false,
    weight: 0.1,
    minimum: 1,
  },
  {
    id: 'forwarded-unauthenticated',
    description: 'forwarded mail, no SPF record, no DKIM: belongs in relay',
    nature: 'bad',
    trustModel: false,
    weight: 0.1,
    minimum: 1,
  },
  {
    id: 'compromised-burst',
    description: 'one genuine user sending a burst: good within its hourly limit, bad past it',
    nature: 'mixed',
    trustModel: false,
    weight: 0.06,
    minimum: 4,
  },
  {
    id: 'spoof-own-domain-dkim',
    description: "envelope of an accepted domain (SPF fail) with the attacker's own aligned DKIM",
    nature: 'bad',
    trustModel: true,
    weight: 0.04,
    minimum: 1,
  },
  {
    id: 'spoof-accepted-from',
    description: 'From in an accepted domain, unrelated envelope with SPF pass',
    nature: 'bad',
    trustModel: true,
    weight: 0.04,
    minimum: 1,
  },
  {
    id: 'spoof-dmarc-fail',
    description: 'From of a p=reject domain (DMARC fail), unrelated envelope with SPF pass',
    nature: 'bad',
    trustModel: true,
    weight: 0.04,
    minimum: 1,
  },
  {
    id: 'subaddress-restricted',
    description: 'a sender restricted by its limit, then user+tag@ variants of it',
    nature: 'mixed',
    trustModel: true,
    weight: 0.05,
    minimum: 4,
  },
  {
    id: 'bounce-srs-valid',
    description: 'bounce storm: null sender to valid SRS addresses (reversed, high-risk)',
    nature: 'bad',
    trustModel: true,
    weight: 0.03,
    minimum: 1,
  },
  {
    id: 'bounce-srs-forged',
    description: 'bounce storm: null sender to forged SRS addresses',
    nature: 'bad',
    trustModel: true,
    weight: 0.03,
    minimum: 1,
  },
  {
    id: 'bounce-ndr-shaped',
    description: 'bounce storm: DSN-shaped mail with a non-null sender, to an alias or an SRS address',
    nature: 'bad',
    trustModel: true,
    weight: 0.03,
    minimum: 2,
  },
  {
    id: 'no-a-mx',
    description: 'an authenticated sender whose domain has no A and no MX record',
    nature: 'bad',
    trustModel: false,
    weight: 0.04,
    minimum: 1,
  },
  {
    id: 'alert-only',
    description: 'a sender with an alert-only policy: good within its limit, bad (high-risk) past it',
    nature: 'mixed',
    trustModel: false,
    weight: 0.04,
    minimum: 4,
  },
];

export const CLASS_BY_ID: Readonly<Record<ClassId, TrafficClass>> = Object.fromEntries(
  CLASSES.map((c) => [c.id, c]),
) as Record<ClassId, TrafficClass>;

/** Fewest messages a stream can have: every class at its minimum. */
export const MIN_MESSAGES = CLASSES.reduce((sum, c) => sum + c.minimum, 0);

/**
 * How many messages of each class a stream of `total` has: the minimums first, the rest by
 * weight (largest remainder, ties in class order), so the counts always add up to `total`.
 */
export function classCounts(total: number): Record<ClassId, number> {
  const spare = total - MIN_MESSAGES;
  if (spare < 0) throw new RangeError(`a stream needs at least ${MIN_MESSAGES} messages`);
  const weights = CLASSES.reduce((sum, c) => sum + c.weight, 0);
  const exact = CLASSES.map((c) => (spare * c.weight) / weights);
  const counts = exact.map(Math.floor);
  let left = spare - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    counts[i]!++;
    left--;
  }
  return Object.fromEntries(CLASSES.map((c, i) => [c.id, c.minimum + counts[i]!])) as Record<ClassId, number>;
}
