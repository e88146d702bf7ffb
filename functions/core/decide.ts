/**
 * The pool decision (SPEC 3), as pure code over plain data. Two steps, so the pipeline can
 * count limits atomically in between:
 *
 * 1. {@link classify} reads the message, the SES verdicts, DKIM and DNS (through the injected
 *    resolver) and expands routes. It says who the sending identities are and how many
 *    recipients each adds, but knows nothing of counters.
 * 2. {@link decide} applies the normative rule order to that classification and the senders'
 *    counters and restrictions, recording every reason that matched, and says what to send.
 *
 * {@link decideMessage} runs both, for callers that already hold the counters (dry-run).
 */
import type { Config } from './config.js';
import { type DkimEvaluation, evaluateDkim, relaxedAligned } from './dkim.js';
import type { Resolver } from './dns/resolver.js';
import { DnsTemporaryError, InvalidInputError } from './errors.js';
import { evaluateGatewayChain, type GatewayVerdict } from './gateways.js';
import { evaluateLimits, type LimitVerdict, type Restriction, type SenderState } from './limits.js';
import {
  domainOf,
  formatMailbox,
  type Mailbox,
  type MessageHeaders,
  parseContentType,
  parseHeaders,
  parseMailboxes,
  unbracket,
} from './message.js';
import { chunk, type Expansion, expandRecipients } from './routes.js';
import type { ReceivedMail, VerdictStatus } from './ses-event.js';
import { checkSourceDomain, type SourceDomainVerdict } from './source-domain.js';
import { Srs } from './srs.js';
import { type Disposition, type Pool, REASONS, type Reason } from './vocabulary.js';

/** SES accepts at most 50 recipients per SendEmail call (SES quotas). */
export const SES_MAX_RECIPIENTS_PER_CALL = 50;

export interface DecisionInput {
  received: ReceivedMail;
  raw: Buffer;
  config: Config;
  resolver: Resolver;
  now: Date;
  // --- issue 13 item 3: bounded temporary failures (docs/retries.md) ----------------------
  /**
   * Lambda's last attempt for this event (the trace claim's attempt counter says so): every
   * DNS temporary failure that would decide the pool — source-domain A/MX, an aligned DKIM
   * key, the SPF recomputed behind a trusted gateway — counts as "not passed" and adds reason
   * `dns-temperror`, instead of throwing {@link DnsTemporaryError} (SPEC 2a). Default false.
   */
  finalAttempt?: boolean;
  // --- end issue 13 item 3 ------------------------------------------------------------------
}

/** A bounce addressed to the SRS domain, and what reversing it gave. */
export interface SrsBounce {
  recipient: string;
  /** The original sender to return the bounce to, or null when the address is invalid. */
  originalSender: string | null;
  /** Why it is invalid (`not-srs`, `malformed`, `bad-hash`, `expired`). */
  invalid?: string;
}

/** Recipients one sending identity adds with this message (SPEC 4). */
export interface IdentityUsage {
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
  /** Sender (envelope, else From) is in an accepted domain and not evidently spoofed. */
  acceptedSender: boolean;
  /** SES's `spfVerdict`, or the SPF recomputed behind a trusted gateway when `gateway.applied`. */
  spf: VerdictStatus;
  /** Enhanced filtering: the gateway-chain verdict, null when no trusted gateway is configured. */
  gateway: GatewayVerdict | null;
  dmarc: VerdictStatus;
  dkim: DkimEvaluation;
  spam: boolean;
  virus: boolean;
  /** The message is forwarded or relayed: its sender is not (authentically) in an accepted domain. */
  forwarded: boolean;
  usage: IdentityUsage[];
  // --- issue 13 item 3 ----------------------------------------------------------------------
  /** Classified on the last attempt: {@link decide} decides a DKIM temperror, never throws. */
  finalAttempt?: boolean;
  // --- end issue 13 item 3 ------------------------------------------------------------------
}

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
  /** Sending identity the copy counts against, null for NDRs. */
  identity: string | null;
}

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

function isNullPath(source: string): boolean {
  const s = unbracket(source);
  return s === '' || s === '<>';
}

function lastReturnPath(headers: MessageHeaders): string | undefined {
  const rp = headers.get('return-path');
  return rp === undefined ? undefined : unbracket(rp);
}

function classifySrsBounces(config: Config, srs: Srs, recipients: readonly string[], now: Date): SrsBounce[] {
  const out: SrsBounce[] = [];
  for (const raw of recipients) {
    const recipient = raw.trim().toLowerCase();
    if (domainOf(recipient) !== config.srs.domain) continue;
    const result = srs.reverse(recipient, now);
    out.push(
      result.ok
        ? { recipient, originalSender: result.address }
        : { recipient, originalSender: null, invalid: result.reason },
    );
  }
  return out;
}

/**
 * Step 1: everything about the message that does not depend on counters. Throws
 * {@link DnsTemporaryError} (retryable) when DNS fails temporarily on a lookup whose answer
 * would change the pool, and {@link InvalidInputError} for inputs that cannot be read.
 */
export async function classify(input: DecisionInput): Promise<Classification> {
  const { received, raw, config, resolver, now } = input;
  // issue 13 item 3: on the last attempt a temporary DNS failure is decided, not thrown.
  const onTemporary = input.finalAttempt ? 'not-passed' : 'throw';
  const { mail, receipt } = received;
  if (!Buffer.isBuffer(raw)) throw new InvalidInputError('message', 'raw message must be a Buffer');
  if (Number.isNaN(now.getTime())) throw new InvalidInputError('now', 'invalid date');
  const headers = parseHeaders(raw);
  const from = parseMailboxes(headers.getAll('from').join(', '));
  const replyTo = parseMailboxes(headers.get('reply-to'));

  const source = isNullPath(mail.source) ? '' : unbracket(mail.source).toLowerCase();
  const returnPath = lastReturnPath(headers);
  const nullSender = source === '' || (returnPath !== undefined && returnPath === '');
  const envelopeSender = nullSender ? null : source;

  const ct = parseContentType(headers.get('content-type'));
  const deliveryReport =
    ct?.type === 'multipart/report' && ct.params['report-type']?.toLowerCase() === 'delivery-status';

  const srs = new Srs(config.srs);
  const srsBounces = classifySrsBounces(config, srs, receipt.recipients, now);
  const nonSrsRecipients = receipt.recipients.filter((r) => domainOf(r) !== config.srs.domain);
  const expansion = expandRecipients(config, nonSrsRecipients);

  // From domains: DKIM alignment needs exactly one (RFC 7489 6.6.1).
  const fromDomains = [...new Set(from.map((m) => domainOf(m.address)).filter((d) => d !== undefined))];
  const fromDomain = fromDomains.length === 1 ? fromDomains[0] : undefined;
  const senderAddress = envelopeSender ?? from[0]?.address.toLowerCase() ?? null;
  const senderDomain = domainOf(senderAddress) ?? null;

  // SPEC 3 rule 3: envelope sender's domain; the From domain where the envelope is null.
  const sourceDomain = (envelopeSender ? domainOf(envelopeSender) : fromDomain) ?? null;
  const [sourceDomainVerdict, dkim, gateway] = await Promise.all([
    sourceDomain ? checkSourceDomain(sourceDomain, resolver, onTemporary) : Promise.resolve(null),
    // The body hash is for the ARC seal of the copies: only when the configuration seals.
    evaluateDkim(raw, fromDomain, resolver, now, { bodyHash: config.arc !== undefined }),
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

  const spf = gateway?.applied ? gateway.spf : receipt.spfVerdict.status;
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
  const accepted = new Set(config.acceptedDomains);
  // An accepted-domain sender arriving from the internet is trusted unless SES saw it fail
  // SPF or DMARC with no aligned DKIM pass: that is a spoof of our own domain, not our user.
  const spoofed = (spf === 'FAIL' || dmarc === 'FAIL') && !dkim.alignedPass;
  const acceptedSender = senderDomain !== null && accepted.has(senderDomain) && !spoofed;
  // A spoof of an accepted domain is treated like any other mail from outside.
  const forwarded = !acceptedSender;

  const usage: IdentityUsage[] = [];
  const countOf = (destinations: string[]) => {
    const internal = destinations.filter((d) => accepted.has(domainOf(d) ?? '')).length;
    return { internal, external: destinations.length - internal };
  };
  if (acceptedSender && senderAddress) {
    const all = expansion.routed.flatMap((r) => r.destinations);
    usage.push({
      identity: senderAddress,
      ...countOf(all),
      recipients: expansion.routed.map((r) => r.recipient),
    });
  } else {
    for (const r of expansion.routed) {
      usage.push({ identity: r.recipient, ...countOf(r.destinations), recipients: [r.recipient] });
    }
  }

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
    acceptedSender,
    spf,
    gateway,
    dmarc,
    dkim,
    spam: receipt.spamVerdict.status === 'FAIL',
    virus: receipt.virusVerdict.status === 'FAIL',
    forwarded,
    usage,
    ...(input.finalAttempt ? { finalAttempt: true } : {}),
  };
}

function sortReasons(reasons: Iterable<Reason>): Reason[] {
  const set = new Set(reasons);
  return REASONS.filter((r) => set.has(r));
}

/** The author shown to the reader of a rewritten copy: "Alice via example.com". */
function rewrittenFrom(original: Mailbox | undefined, address: string): string {
  const domain = domainOf(address) ?? '';
  const who = original?.name || original?.address || 'Unknown sender';
  return formatMailbox(`${who} via ${domain}`, address);
}

/**
 * Step 2: SPEC 3 in its normative order. `senders` holds each identity's counters *before*
 * this message and its restriction, keyed by identity (missing = zero, unrestricted).
 */
export function decide(
  c: Classification,
  senders: Readonly<Record<string, SenderState>>,
  config: Config,
  now: Date,
): Decision {
  const reasons = new Set<Reason>();
  const isNdr = c.ndr.nullSender || c.ndr.deliveryReport || c.ndr.toSrsAddress;
  const routedAny = c.expansion.routed.some((r) => r.destinations.length > 0);
  const validSrs = c.srsBounces.filter((b) => b.originalSender !== null);

  // Rule 6's inputs, evaluated first because rule 1 needs "authenticated".
  const spfPass = c.spf === 'PASS';
  const dkimCounts = c.dkim.alignedPass && config.relay.dkimAvoidsRelay;
  const authenticated = c.acceptedSender || spfPass || c.dkim.alignedPass;

  // --- Rule 1: blocked -------------------------------------------------------------------
  let blocked = false;
  // Limits apply to mail a sender originates, not to bounces (which carry no identity).
  const limits = isNdr ? [] : c.usage.map((u) => evaluateLimits(config, u, senders[u.identity], now));
  if (limits.some((l) => l.restricted)) {
    reasons.add('sender-restricted');
    blocked = true;
  }
  if (c.virus) {
    reasons.add('virus');
    blocked = true;
  }
  if (c.sizeBytes > config.maxMessageBytes) {
    reasons.add('hard-limit-size');
    blocked = true;
  }
  const overPerMessage = limits.some((l) => {
    const u = c.usage.find((x) => x.identity === l.identity)!;
    return u.external + u.internal > l.policy.recipientsPerMessage;
  });
  if (overPerMessage) {
    reasons.add('hard-limit-recipients');
    blocked = true;
  }
  const noRoute = !routedAny && validSrs.length === 0;
  // A message blocked for what it is (virus, size, too many recipients, no route) is never
  // sent, so it is not counted against its sender and cannot restrict it: only mail that
  // would go out meets the rate limits (the pipeline counts nothing for it either).
  const countable = !c.virus && c.sizeBytes <= config.maxMessageBytes && !overPerMessage && !noRoute;
  if (countable && limits.some((l) => l.serviceCap)) {
    reasons.add('hard-limit-recipients');
    blocked = true;
  }
  const alerts: Decision['alerts'] = [];
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
    // issue 13 item 3: on the last attempt an A/MX check that failed temporarily is "not
    // passed" (high-risk), recorded as dns-temperror: the domain was not proved to lack records.
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

  // --- Rule 6: relay ---------------------------------------------------------------------
  if (c.acceptedSender) reasons.add('accepted-domain');
  if (spfPass) reasons.add('spf-pass');
  if (c.gateway?.applied) reasons.add('enhanced-filtering');
  // issue 13 item 3: the recomputed SPF failed temporarily on the last attempt (not a pass).
  if (c.gateway?.applied && c.gateway.temperror) reasons.add('dns-temperror');
  if (c.dkim.alignedPass) reasons.add('dkim-aligned-pass');
  const relay = !isNdr && c.forwarded && !spfPass && !dkimCounts;
  if (relay) {
    // The aligned signature could not be checked: the message may well be authenticated,
    // so a relay verdict now would be a silent downgrade. Retry instead (SPEC 3 rule 3).
    if (c.dkim.temperror && config.relay.dkimAvoidsRelay) {
      // issue 13 item 3: not forever. On the last attempt the signature counts as not passed,
      // so an attacker's SERVFAILing key server buys relay, not a dead letter (SPEC 2a).
      if (!c.finalAttempt) {
        throw new DnsTemporaryError(c.dkim.signatures.find((s) => s.aligned)?.domain ?? '', 'TXT');
      }
      reasons.add('dns-temperror');
    }
    reasons.add('unauthenticated-relay');
  }

  // --- Rule 7 and the disposition ----------------------------------------------------------
  const pool: Pool = highRisk ? 'high-risk' : relay ? 'relay' : 'normal';
  const disposition: Disposition = blocked ? 'blocked' : pool;
  const accepted = new Set(config.acceptedDomains);
  const fromDomain = domainOf(c.from[0]?.address);
  const keepFrom =
    c.from.length > 0 && fromDomain !== undefined && accepted.has(fromDomain) && c.acceptedSender;
  const originalFrom = c.from.map((m) => formatMailbox(m.name, m.address)).join(', ');
  // Only mailboxes with an address can be replied to; a Reply-To that parses to none falls
  // back to the author.
  const withAddress = (list: Mailbox[]) => list.filter((m) => m.address.includes('@'));
  const author = withAddress(c.replyTo).length > 0 ? withAddress(c.replyTo) : withAddress(c.from);
  const replyTo = author.length > 0 ? author.map((m) => formatMailbox(m.name, m.address)).join(', ') : null;

  const sends: PlannedSend[] = [];
  const plan = (
    kind: SendKind,
    to: string[],
    p: Pool,
    envelopeFrom: string,
    fromAddress: string | null,
    identity: string | null,
  ) => {
    const rewrite = fromAddress !== null;
    for (const batch of chunk(to, SES_MAX_RECIPIENTS_PER_CALL)) {
      sends.push({
        kind,
        to: batch,
        pool: p,
        configurationSet: config.pools[p].configurationSet,
        envelopeFrom,
        from: rewrite ? rewrittenFrom(c.from[0], fromAddress) : originalFrom,
        fromRewritten: rewrite,
        replyTo: rewrite ? replyTo : null,
        identity,
      });
    }
  };

  if (!blocked) {
    const srs = new Srs(config.srs);
    let srsUsed = false;
    const envelopeFor = (): string => {
      if (isNdr || !authenticated || relay || !c.envelopeSender) return config.bounceSink;
      if (!c.forwarded) return c.envelopeSender;
      srsUsed = true;
      return srs.forward(c.envelopeSender, now);
    };
    const envelopeFrom = envelopeFor();
    for (const u of isNdr ? [] : c.usage) {
      const to = c.expansion.routed
        .filter((r) => u.recipients.includes(r.recipient))
        .flatMap((r) => r.destinations);
      plan('forward', to, pool, envelopeFrom, keepFrom ? null : u.identity, u.identity);
    }
    if (isNdr) {
      for (const r of c.expansion.routed)
        plan('forward', r.destinations, pool, envelopeFrom, keepFrom ? null : r.recipient, null);
    }
    for (const b of validSrs)
      plan(
        'srs-bounce',
        [b.originalSender!],
        'high-risk',
        config.bounceSink,
        keepFrom ? null : config.bounceSink,
        null,
      );
    if (srsUsed) reasons.add('srs-rewritten');
  } else if (authenticated && c.envelopeSender && !isNdr) {
    // SPEC 3 rule 1: an authenticated sender learns its mail was not sent. Never to an
    // unauthenticated sender (backscatter) and never in answer to a bounce (RFC 3464 1).
    sends.push({
      kind: 'ndr',
      to: [c.envelopeSender],
      pool: 'high-risk',
      configurationSet: config.pools['high-risk'].configurationSet,
      envelopeFrom: config.bounceSink,
      from: formatMailbox('Mail Delivery System', config.bounceSink),
      fromRewritten: true,
      replyTo: null,
      identity: null,
    });
  }

  return {
    pool: disposition,
    reasons: sortReasons(reasons),
    configurationSet: blocked ? null : config.pools[pool].configurationSet,
    sends,
    restrictions,
    alerts,
    unrouted: c.expansion.unrouted,
    classification: c,
    limits,
  };
}

/** Classifies and decides in one go, with the senders' counters known up front. */
export async function decideMessage(
  input: DecisionInput & { senders?: Readonly<Record<string, SenderState>> },
): Promise<Decision> {
  const c = await classify(input);
  return decide(c, input.senders ?? {}, input.config, input.now);
}
