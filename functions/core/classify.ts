/**
 * Step 1 of the decision (SPEC 3): everything about a message that does not depend on
 * counters. Reads the header block, the SES verdicts, DKIM (`dkim.ts`), DNS (through the
 * injected resolver) and the gateway chain (`gateways.ts`); computes the authentication facts
 * once (`authentication.ts`, SPEC 2a); expands routes; and says who the sending identities
 * are (`identity.ts`, SPEC 4) and how many recipients each adds.
 */
import { type AuthenticationFacts, authenticationFacts } from './authentication.js';
import type { Config } from './config.js';
import { type DkimEvaluation, evaluateDkim, relaxedAligned } from './dkim.js';
import { deadlineResolver } from './dns/deadline-resolver.js';
import type { Resolver } from './dns/resolver.js';
import { InvalidInputError } from './errors.js';
import { evaluateGatewayChain, type GatewayVerdict } from './gateways.js';
import { type HeaderMeasure, measureHeaderBlock, unparsedClassification } from './header-bounds.js';
import { normalizeIdentity } from './identity.js';
import { hopCount, markedRoutes } from './loop.js';
import {
  domainOf,
  type Mailbox,
  type MessageHeaders,
  parseContentType,
  parseHeaders,
  parseMailboxes,
  reportTypes,
  unbracket,
  wellDelimited,
} from './message.js';
import { type Expansion, expandRecipients, isOwnFromAddress } from './routes.js';
import { isRewrittenByUs } from './send-plan.js';
import type { ReceivedMail, VerdictStatus } from './ses-event.js';
import { checkSourceDomain, type SourceDomainVerdict } from './source-domain.js';
import { Srs } from './srs.js';

export interface DecisionInput {
  received: ReceivedMail;
  raw: Buffer;
  config: Config;
  resolver: Resolver;
  now: Date;
  /**
   * Lambda's last attempt for this event (the trace claim's attempt counter says so): every
   * DNS temporary failure that would decide the pool — source-domain A/MX, an aligned DKIM
   * key, the SPF recomputed behind a trusted gateway — counts as "not passed" and adds reason
   * `dns-temperror`, instead of throwing {@link DnsTemporaryError} (SPEC 2a; docs/retries.md).
   */
  finalAttempt?: boolean;
}

/** A recipient in the SRS domain, and what reversing it gave. */
export interface SrsBounce {
  recipient: string;
  /** The original sender to return the bounce to, or null when it is not reversed. */
  originalSender: string | null;
  /**
   * Why it is not reversed: the address is bad (`not-srs`, `malformed`, `bad-hash`,
   * `expired`), the message is no bounce (`not-a-bounce`: a non-null sender, SPEC 2a), or
   * it is beyond `srs.maxRecipients` (`too-many`).
   */
  invalid?: string;
}

/** Recipients one sending identity adds with this message (SPEC 4). */
export interface IdentityUsage {
  /** The normalized identity: the genuine sender's address, else the route key. */
  identity: string;
  external: number;
  internal: number;
  /** The routed recipients (aliases) whose destinations this identity sends. */
  recipients: string[];
}

export interface Classification {
  messageId: string;
  sizeBytes: number;
  /** Envelope sender, null for a null reverse path (`MAIL FROM:<>`). */
  envelopeSender: string | null;
  from: Mailbox[];
  replyTo: Mailbox[];
  /** The domain the source-domain rule checked (envelope sender's, else From's), if any. */
  sourceDomain: string | null;
  sourceDomainVerdict: SourceDomainVerdict | null;
  ndr: { nullSender: boolean; deliveryReport: boolean; toSrsAddress: boolean };
  srsBounces: SrsBounce[];
  expansion: Expansion;
  /** Who proved what (SPEC 2a), computed once. */
  authentication: AuthenticationFacts;
  /** A genuine accepted-domain sender (`authentication.genuineAcceptedSender`). */
  acceptedSender: boolean;
  /** SES's `spfVerdict`, or the SPF recomputed behind a trusted gateway when `gateway.applied`. */
  spf: VerdictStatus;
  /** Enhanced filtering: the gateway-chain verdict, null when no trusted gateway is configured. */
  gateway: GatewayVerdict | null;
  dmarc: VerdictStatus;
  dkim: DkimEvaluation;
  spam: boolean;
  virus: boolean;
  /** The message is forwarded or relayed: it is not from a genuine accepted-domain sender. */
  forwarded: boolean;
  /** `Received` fields of the message. */
  hops: number;
  /** Over `maxHops`, or carrying our loop marker for a route it is routed through. */
  loop: boolean;
  usage: IdentityUsage[];
  /** Classified on the last attempt: the decision decides a DKIM temperror, never throws. */
  finalAttempt?: boolean;
  /** SPEC 2a: the header block as measured before any parsing (header-bounds.ts). */
  bounds: HeaderMeasure;
}

function isNullPath(source: string): boolean {
  const s = unbracket(source);
  return s === '' || s === '<>';
}

function lastReturnPath(headers: MessageHeaders): string | undefined {
  const rp = headers.get('return-path');
  return rp === undefined ? undefined : unbracket(rp);
}

/**
 * SRS recipients (SPEC 2a): reversed only for a bounce (null reverse path), and only the
 * first `srs.maxRecipients` of them, so one message can neither relay to a decoded address
 * nor try many hash guesses at once.
 */
function classifySrsBounces(
  config: Config,
  recipients: readonly string[],
  nullSender: boolean,
  now: Date,
): SrsBounce[] {
  const srs = new Srs(config.srs);
  const out: SrsBounce[] = [];
  for (const raw of recipients) {
    const recipient = raw.trim().toLowerCase();
    if (domainOf(recipient) !== config.srs.domain) continue;
    if (!nullSender) {
      out.push({ recipient, originalSender: null, invalid: 'not-a-bounce' });
      continue;
    }
    if (out.length >= config.srs.maxRecipients) {
      out.push({ recipient, originalSender: null, invalid: 'too-many' });
      continue;
    }
    const result = srs.reverse(recipient, now);
    out.push(
      result.ok
        ? { recipient, originalSender: result.address }
        : { recipient, originalSender: null, invalid: result.reason },
    );
  }
  return out;
}

/** SPEC 4: the genuine sender's own address, else one identity per route (a catch-all is one). */
function usageOf(config: Config, facts: AuthenticationFacts, expansion: Expansion): IdentityUsage[] {
  const accepted = new Set(config.acceptedDomains);
  const countOf = (destinations: string[]) => {
    const internal = destinations.filter((d) => accepted.has(domainOf(d) ?? '')).length;
    return { internal, external: destinations.length - internal };
  };
  if (facts.genuineAddress !== null) {
    return [
      {
        identity: normalizeIdentity(facts.genuineAddress, config),
        ...countOf(expansion.routed.flatMap((r) => r.destinations)),
        recipients: expansion.routed.map((r) => r.recipient),
      },
    ];
  }
  const byIdentity = new Map<string, { destinations: string[]; recipients: string[] }>();
  for (const r of expansion.routed) {
    const identity = normalizeIdentity(r.route, config);
    const entry = byIdentity.get(identity) ?? { destinations: [], recipients: [] };
    entry.destinations.push(...r.destinations);
    entry.recipients.push(r.recipient);
    byIdentity.set(identity, entry);
  }
  return [...byIdentity].map(([identity, e]) => ({
    identity,
    ...countOf(e.destinations),
    recipients: e.recipients,
  }));
}

/**
 * Throws {@link DnsTemporaryError} (retryable) when DNS fails temporarily on a lookup whose
 * answer would change the pool, and {@link InvalidInputError} for inputs that cannot be read.
 */
export async function classify(input: DecisionInput): Promise<Classification> {
  if (!Buffer.isBuffer(input.raw)) throw new InvalidInputError('message', 'raw message must be a Buffer');
  if (Number.isNaN(input.now.getTime())) throw new InvalidInputError('now', 'invalid date');
  // SPEC 2a, hostile input is bounded: the header block is measured in one linear pass before
  // anything parses it; over its bound the message is classified on its envelope alone
  // (mailauth's header parser is quadratic). Every DNS lookup then shares one deadline.
  const bounds = measureHeaderBlock(input.raw, input.config.bounds);
  if (bounds.exceeded) return unparsedClassification(input, bounds);
  const { received, raw, config, now } = input;
  const resolver = deadlineResolver(input.resolver, config.bounds.dnsDeadlineMs);
  const { mail, receipt } = received;
  // On the last attempt a temporary DNS failure is decided, not thrown (SPEC 2a).
  const onTemporary = input.finalAttempt ? 'not-passed' : 'throw';
  const headers = parseHeaders(raw);
  // Each From field on its own: joined, a quote left open in one swallows the next, and the
  // decision would read one author where the copy (which keeps the first field) names another.
  const fromFields = headers.getAll('from');
  const from = fromFields.flatMap((field) => parseMailboxes(field));
  // F needs exactly one From address (SPEC 2a; RFC 7489 6.6.1), in one field every parser
  // reads alike.
  const singleFrom = fromFields.length === 1 && from.length === 1 && wellDelimited(fromFields[0]!);
  const replyTo = parseMailboxes(headers.get('reply-to'));

  const source = isNullPath(mail.source) ? '' : unbracket(mail.source).toLowerCase();
  const returnPath = lastReturnPath(headers);
  const nullSender = source === '' || (returnPath !== undefined && returnPath === '');
  const envelopeSender = nullSender ? null : source;

  // Parsed once: libmime decodes every RFC 2231 section and encoded-word of it (header-bounds.ts).
  const contentType = headers.get('content-type');
  const ct = parseContentType(contentType);
  const deliveryReport =
    ct?.type === 'multipart/report' && reportTypes(contentType, ct).includes('delivery-status');

  const srsBounces = classifySrsBounces(config, receipt.recipients, nullSender, now);
  const nonSrsRecipients = receipt.recipients.filter((r) => domainOf(r) !== config.srs.domain);
  const expansion = expandRecipients(config, nonSrsRecipients);

  const fromDomain = singleFrom ? domainOf(from[0]!.address) : undefined;

  // SPEC 3 rule 3: envelope sender's domain; the From domain where the envelope is null.
  const sourceDomain = (envelopeSender ? domainOf(envelopeSender) : fromDomain) ?? null;
  const [sourceDomainVerdict, dkim, gateway] = await Promise.all([
    sourceDomain ? checkSourceDomain(sourceDomain, resolver, onTemporary) : Promise.resolve(null),
    // The body hash is for the ARC seal of the copies: only when the configuration seals.
    evaluateDkim(raw, fromDomain, resolver, now, {
      bodyHash: config.arc !== undefined,
      maxSignatures: config.bounds.dkimSignatures,
      envelopeDomain: domainOf(envelopeSender),
    }),
    // Enhanced filtering: behind a trusted gateway, SPF is recomputed against the first
    // untrusted hop (a temporary DNS failure throws DnsTemporaryError, never a downgrade).
    config.trustedGateways.length > 0
      ? evaluateGatewayChain({
          headers: headers.fields,
          envelopeSender,
          trustedGateways: config.trustedGateways,
          resolver,
          now,
          onTemporary,
        })
      : Promise.resolve(null),
  ]);

  // Behind a gateway whose chain cannot be read, SES's verdict is about the gateway's IP, not
  // the sender's: not a pass (gateways.ts, step 5).
  const spf: VerdictStatus = gateway?.applied
    ? gateway.spf
    : gateway?.why === 'unreadable-hop'
      ? 'PROCESSING_FAILED'
      : receipt.spfVerdict.status;
  // SES's DMARC verdict rests on SES's SPF, i.e. on the gateway's IP. A recomputed SPF pass
  // whose MAIL FROM domain is aligned with the From domain (RFC 7489 3.1.2, relaxed) is a
  // DMARC pass (RFC 7489 4.2) whatever SES concluded; nothing else about DMARC changes.
  const spfAlignedPass =
    gateway?.applied === true &&
    spf === 'PASS' &&
    envelopeSender !== null &&
    fromDomain !== undefined &&
    relaxedAligned(domainOf(envelopeSender) ?? '', fromDomain);
  const dmarc =
    spfAlignedPass && receipt.dmarcVerdict.status === 'FAIL' ? 'PASS' : receipt.dmarcVerdict.status;

  const ourMarkers = markedRoutes(headers.fields, config.srs.secrets, (route) =>
    Object.hasOwn(config.routes, route),
  );
  const authentication = authenticationFacts({
    envelopeSender,
    from,
    spf,
    dmarc,
    dkim,
    acceptedDomains: config.acceptedDomains,
    dkimAvoidsRelay: config.relay.dkimAvoidsRelay,
    viaGateway: gateway?.applied === true,
    singleFrom,
    // A From of ours: one today's configuration would write, or one we wrote (a copy sent
    // from a route since removed still names itself "… via <domain>" under SES's signature).
    ownFrom: (mailbox) => isOwnFromAddress(config, mailbox.address) || isRewrittenByUs(config, mailbox),
    // A valid marker for any configured route: a copy we sent came back (routes are keyed in
    // lower case, as markers name them).
    copyOfOurs: ourMarkers.size > 0,
  });

  const hops = hopCount(headers.fields);
  const markedRoute = expansion.routed.some((r) => ourMarkers.has(r.route));

  return {
    messageId: mail.messageId,
    sizeBytes: raw.length,
    envelopeSender,
    from,
    replyTo,
    sourceDomain,
    sourceDomainVerdict,
    ndr: { nullSender, deliveryReport, toSrsAddress: srsBounces.length > 0 },
    srsBounces,
    expansion,
    authentication,
    acceptedSender: authentication.genuineAcceptedSender,
    spf,
    gateway,
    dmarc,
    dkim,
    spam: receipt.spamVerdict.status === 'FAIL',
    virus: receipt.virusVerdict.status === 'FAIL',
    forwarded: !authentication.genuineAcceptedSender,
    hops,
    loop: hops > config.maxHops || markedRoute,
    usage: usageOf(config, authentication, expansion),
    bounds,
    ...(input.finalAttempt ? { finalAttempt: true } : {}),
  };
}
