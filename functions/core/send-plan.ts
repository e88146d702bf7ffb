/**
 * Step 3 of the decision: the copies to send (SPEC 5), from the classification and the pool
 * decision. Nothing is ever sent to an address that no route produced, except two answers
 * SPEC 2a allows: the NDR to an envelope-authenticated sender, and the reversal of a null-
 * sender bounce to a valid SRS address.
 */
import type { Classification } from './classify.js';
import type { Config } from './config.js';
import { domainOf, formatMailbox, isAddrSpec, type Mailbox } from './message.js';
import type { PoolDecision } from './pool-decision.js';
import { chunk } from './routes.js';
import { sendingDomains } from './sending-domains.js';
import type { CopyRefusal } from './ses-refusals.js';
import { Srs } from './srs.js';
import { cutText } from './text.js';
import type { Pool } from './vocabulary.js';

/** SES accepts at most 50 recipients per SendEmail call (SES quotas). */
export const SES_MAX_RECIPIENTS_PER_CALL = 50;

export type SendKind = 'forward' | 'srs-bounce' | 'ndr';

export interface PlannedSend {
  kind: SendKind;
  to: string[];
  pool: Pool;
  configurationSet: string;
  /** Return path: SRS address, the sender's own address, or the bounce sink. */
  envelopeFrom: string;
  /** The From header of the copy (the original one when `fromRewritten` is false). */
  from: string;
  fromRewritten: boolean;
  /** Reply-To to set when From is rewritten (the original author), else null. */
  replyTo: string | null;
  /** Sending identity the copy counts against, null for NDRs and SRS reversals. */
  identity: string | null;
  /** The routes (route keys) this copy is sent for: each gets a loop marker on the copy. */
  routes?: string[];
  /**
   * On an NDR planned after SES refused a copy (`refusal-ndr.ts`): which copy (its index in
   * the plan), the received recipients it was for, and why it was refused.
   */
  refused?: { copy: number; recipients: string[]; refusal: CopyRefusal };
}

export interface SendPlan {
  sends: PlannedSend[];
  /** An SRS return path was written on some copy. */
  srsUsed: boolean;
}

/**
 * What a copy carries of the sender's own author fields, bounded: the display names and the
 * number of `Reply-To` mailboxes are the sender's to choose, and every planned copy carries
 * them — in its header, and in the trace's main item, once per copy. Unbounded, a 85 KB
 * `Reply-To` (within the header bounds) repeated over the copies of a large list took that
 * item past DynamoDB's 400 KB: the first copy went out, its trace write was refused, and every
 * retry sent it again (review of December 2026). Ordinary mail is far inside both.
 */
export const MAX_REPLY_TO_MAILBOXES = 10;
export const MAX_DISPLAY_NAME_CHARS = 100;
/**
 * The longest address a copy carries in `Reply-To`: RFC 5321 4.5.3.1.3 bounds a path to 256
 * octets with its angle brackets, so no longer address can receive a reply anyway. A longer
 * one — a quoted local part folded over many lines reads as one 90 KB address — is left out
 * (review of December 2026: its copies took the trace item past 400 KB as above).
 */
export const MAX_ADDRESS_OCTETS = 254;

const boundedName = (name: string): string => cutText(name, MAX_DISPLAY_NAME_CHARS, '\u2026');

/** `bob@example.com.` → `bob@example.com`: the same mailbox, as an identity is written. */
const withoutRootDot = (address: string): string => address.replace(/\.$/, '');

/** What ends the display name of every From we rewrite: " via example.com". */
const viaDomain = (address: string): string => ` via ${domainOf(address) ?? ''}`;

/** The author shown to the reader of a rewritten copy: "Alice via example.com". */
function rewrittenFrom(original: Mailbox | undefined, address: string): string {
  const who = boundedName(original?.name || original?.address || 'Unknown sender');
  return formatMailbox(`${who}${viaDomain(address)}`, address);
}

/**
 * Whether `from` reads as a From this platform rewrote ({@link rewrittenFrom}): an address in
 * a domain we send from, under a display name ending " via <that domain>". SES signs every
 * copy for its From, display name included, so this holds for a copy of ours whatever the
 * configuration says today: a copy sent from a route later removed or renamed is still ours
 * (`authentication.ts`, our own copies), where `isOwnFromAddress` asks today's routes.
 */
export function isRewrittenByUs(config: Config, from: Mailbox): boolean {
  const domain = domainOf(from.address);
  if (domain === undefined || !sendingDomains(config).includes(domain)) return false;
  return from.name.toLowerCase().endsWith(viaDomain(from.address));
}

/** The NDR to `sender` (SPEC 3 rule 1): through `high-risk`, from and returning to the bounce sink. */
export function ndrSend(sender: string, config: Config): PlannedSend {
  return {
    kind: 'ndr',
    to: [sender],
    pool: 'high-risk',
    configurationSet: config.pools['high-risk'].configurationSet,
    envelopeFrom: config.bounceSink,
    from: formatMailbox('Mail Delivery System', config.bounceSink),
    fromRewritten: true,
    replyTo: null,
    identity: null,
  };
}

export function planSends(c: Classification, p: PoolDecision, config: Config, now: Date): SendPlan {
  const facts = c.authentication;
  const sends: PlannedSend[] = [];
  let srsUsed = false;

  if (p.disposition === 'blocked') {
    // SPEC 3 rule 1: an envelope-authenticated sender learns its mail was not sent.
    if (p.ndrToSender && c.envelopeSender) sends.push(ndrSend(c.envelopeSender, config));
    return { sends, srsUsed };
  }

  const accepted = new Set(config.acceptedDomains);
  // The From is kept only for a genuine sender whose From is in an accepted domain (SES sends
  // only from verified identities); a spoof is never re-sent under the name it claims.
  // SES sends only from verified identities, and `example.com.` (the root's dot) is not how
  // one is written: an address of ours is sent without it, and a From written with it is not
  // kept as it is (SES would refuse every copy, and every attempt; review of December 2026).
  const keepFrom =
    facts.genuineAcceptedSender &&
    facts.fromDomain !== null &&
    accepted.has(facts.fromDomain) &&
    !c.from.some((m) => m.address.endsWith('.'));
  const originalFrom = c.from.map((m) => formatMailbox(boundedName(m.name), m.address)).join(', ');
  // Only mailboxes with one address (an addr-spec of at most MAX_ADDRESS_OCTETS) can be
  // replied to: our parser takes `<a@x,b@y>` as one address where a receiver reads two, so
  // anything but one addr-spec is left out. A Reply-To that keeps none falls back to the author.
  const withAddress = (list: Mailbox[]) =>
    list.filter((m) => isAddrSpec(m.address) && Buffer.byteLength(m.address) <= MAX_ADDRESS_OCTETS);
  const author = withAddress(c.replyTo).length > 0 ? withAddress(c.replyTo) : withAddress(c.from);
  const replyTo =
    author.length > 0
      ? author
          .slice(0, MAX_REPLY_TO_MAILBOXES)
          .map((m) => formatMailbox(boundedName(m.name), m.address))
          .join(', ')
      : null;

  // Bounces of the copies go back to the original sender (own address, or SRS) only when it
  // proved that address; otherwise to the bounce sink, where they are dropped (no backscatter).
  let envelopeFrom = config.bounceSink;
  if (!p.isNdr && !p.relay && facts.envelopeAuthenticated && c.envelopeSender) {
    // A genuine sender keeps its own return path only in an accepted domain: SES sends only
    // from verified identities and checks the Return-Path as one. A genuine sender whose E is
    // elsewhere (an ESP's bounce domain, the From proved by DKIM) gets SRS, as forwarded mail.
    if (facts.genuineAcceptedSender && facts.envelopeDomain !== null && accepted.has(facts.envelopeDomain)) {
      envelopeFrom = withoutRootDot(c.envelopeSender);
    } else {
      envelopeFrom = new Srs(config.srs).forwardProved(c.envelopeSender, now);
      srsUsed = true;
    }
  }

  const plan = (
    kind: SendKind,
    to: string[],
    pool: Pool,
    returnPath: string,
    fromAddress: string | null,
    identity: string | null,
    routes: string[],
  ) => {
    const rewrite = fromAddress !== null;
    for (const batch of chunk(to, SES_MAX_RECIPIENTS_PER_CALL)) {
      sends.push({
        kind,
        to: batch,
        pool,
        configurationSet: config.pools[pool].configurationSet,
        envelopeFrom: returnPath,
        from: rewrite ? rewrittenFrom(c.from[0], fromAddress) : originalFrom,
        fromRewritten: rewrite,
        replyTo: rewrite ? replyTo : null,
        identity,
        routes,
      });
    }
  };

  for (const u of c.usage) {
    const routed = c.expansion.routed.filter((r) => u.recipients.includes(r.recipient));
    if (facts.genuineAcceptedSender) {
      // One copy for all of a genuine sender's recipients, counted under its own address.
      const to = routed.flatMap((r) => r.destinations);
      const fromAddress = keepFrom ? null : withoutRootDot(facts.genuineAddress ?? u.identity);
      plan('forward', to, p.pool, envelopeFrom, fromAddress, u.identity, [
        ...new Set(routed.map((r) => r.route)),
      ]);
    } else {
      // Forwarded mail: one copy per alias, from the alias the mail arrived for.
      for (const r of routed) {
        plan('forward', r.destinations, p.pool, envelopeFrom, r.recipient, u.identity, [r.route]);
      }
    }
  }
  // One reversed bounce per original sender: several spellings of one SRS address (case, a
  // trailing dot) reverse to the same mailbox, which gets the bounce once.
  const reversed = new Set<string>();
  for (const b of c.srsBounces) {
    if (b.originalSender === null) continue;
    const mailbox = b.originalSender.toLowerCase();
    if (reversed.has(mailbox)) continue;
    reversed.add(mailbox);
    plan('srs-bounce', [b.originalSender], 'high-risk', config.bounceSink, config.bounceSink, null, []);
  }
  return { sends, srsUsed };
}
