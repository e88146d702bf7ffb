/**
 * SPEC 2a, "Hostile input is bounded": the header block is measured before anything parses
 * it, in one pass over at most `bounds.headerBytes` bytes, and a message over the bound is
 * decided on its envelope alone.
 *
 * Why before parsing: a sender controls every byte, and the parsers downstream are not
 * linear. mailauth's header parser (`mailauth/lib/tools.js` `parseHeaders`) merges each
 * continuation line with `concat` + `splice`, quadratic in the number of lines: a 250 KB
 * header of 64,000 continuation lines took 33.5 s in DKIM verification, an 800 KB one 317 s in
 * classify, and the invocation timed out, was retried and dead-lettered. Under the bounds
 * (100 KB, 2,000 lines by default) every parser the decision runs stays in milliseconds.
 *
 * Over a bound the message is blocked (`hard-limit-headers`) without running mailauth, DKIM,
 * DNS or any other parser on it. An NDR goes only to an envelope-authenticated sender; with
 * the headers unread no DKIM signature is verified, so only SES's SPF PASS for the envelope
 * domain can prove it (and not behind a trusted gateway, where SES's SPF judged the gateway).
 * The NDR carries at most the first {@link NDR_HEADER_EXCERPT_BYTES} of the header block.
 */
import { authenticationFacts } from './authentication.js';
import type { Config } from './config.js';
import type { Classification, Decision, DecisionInput } from './decide.js';
import { domainOf, unbracket } from './message.js';
import { expandRecipients } from './routes.js';
import { ndrSend } from './send-plan.js';
import { REASONS, type Reason } from './vocabulary.js';

/** What the pre-check saw of the header block. */
export interface HeaderMeasure {
  /** Bytes of the header block up to the empty line (the whole message when there is none). */
  headerBytes: number;
  /** Lines of the header block. */
  headerLines: number;
  /**
   * Which bound it is over, null when within all. Counting stops at the first bound crossed.
   * `blank-run`: more than {@link MAX_BLANK_RUN} blank bytes in a row (below).
   */
  exceeded: 'bytes' | 'lines' | 'blank-run' | null;
  /**
   * Bytes of the From, Sender and Reply-To fields (continuation lines included): what the
   * copy's rewrite may write again (`X-Original-From`, `Reply-To`...), for its size bound.
   */
  authorFieldBytes: number;
}

/**
 * Most blank bytes (space, tab, CR, LF) in a row inside a header block. mailauth trims field
 * names and the header block with regular expressions (`/^[ \t]+|[ \t]+$/`, `/[\r\n]+$/`,
 * the DKIM tag parser's) that backtrack over a run of blanks from each of its bytes: a run of
 * n costs n² steps, so one 99,000-byte run within the other bounds took seconds of CPU. A
 * header block never needs long runs (a fold is CRLF and a few blanks; RFC 5322 2.2.3), and
 * capped at 64 the worst block within the bounds stays near an ordinary one
 * (`test/hardening/hostile-input.test.ts`): the cost of a block of runs grows with the run's
 * length, and at 128 it was ~5× an ordinary signed message once body hashing got faster
 * (December 2026, `dkim-canonical-body.ts`).
 */
export const MAX_BLANK_RUN = 64;

/** How much of an over-bound header block an NDR carries (issue 13: "at most the first 16 KB"). */
export const NDR_HEADER_EXCERPT_BYTES = 16 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const AUTHOR_FIELDS: ReadonlySet<string> = new Set(['from', 'sender', 'reply-to']);

/** The lower-cased name of the field a line starts (`name` WSP* `:`), if it is one of a few. */
function authorFieldAt(raw: Uint8Array, start: number, limit: number): boolean {
  let name = '';
  let i = start;
  // The longest name we look for is 8 characters; a longer run is some other field.
  while (i < limit && i - start <= 8) {
    const b = raw[i]!;
    if (b < 0x21 || b > 0x7e || b === 0x3a) break;
    name += String.fromCharCode(b | 0x20);
    i++;
  }
  if (!AUTHOR_FIELDS.has(name)) return false;
  while (i < limit && (raw[i] === 0x20 || raw[i] === 0x09)) i++;
  return raw[i] === 0x3a;
}

/**
 * Measures the header block in one pass, reading at most `headerBytes` + 2 bytes: where it
 * ends (the first empty line, exactly as `message.ts` and `compose/rewrite.ts` cut it), how
 * many lines it has, and whether it is over either bound. Linear, allocation-free.
 */
export function measureHeaderBlock(
  raw: Uint8Array,
  limits: { headerBytes: number; headerLines: number },
): HeaderMeasure {
  // A message that starts with an empty line has no header block at all.
  if (raw[0] === LF || (raw[0] === CR && raw[1] === LF)) {
    return { headerBytes: 0, headerLines: 0, exceeded: null, authorFieldBytes: 0 };
  }
  const scan = Math.min(raw.length, limits.headerBytes);
  let lines = 0;
  let lineStart = 0;
  let author = authorFieldAt(raw, 0, scan);
  let authorFieldBytes = 0;
  let blank = 0;
  for (let i = 0; i < scan; i++) {
    const b = raw[i]!;
    if (b === 0x20 || b === 0x09 || b === CR || b === LF) {
      if (++blank > MAX_BLANK_RUN) {
        return { headerBytes: i + 1, headerLines: lines, exceeded: 'blank-run', authorFieldBytes };
      }
    } else blank = 0;
    if (b !== LF) continue;
    lines++;
    if (author) authorFieldBytes += i + 1 - lineStart;
    if (lines > limits.headerLines) {
      return { headerBytes: i + 1, headerLines: lines, exceeded: 'lines', authorFieldBytes };
    }
    lineStart = i + 1;
    // LF followed by LF, or by CR LF: the empty line that ends the header block.
    if (raw[i + 1] === LF || (raw[i + 1] === CR && raw[i + 2] === LF)) {
      return { headerBytes: i + 1, headerLines: lines, exceeded: null, authorFieldBytes };
    }
    const next = raw[lineStart];
    if (next !== 0x20 && next !== 0x09) author = authorFieldAt(raw, lineStart, scan);
  }
  if (raw.length > limits.headerBytes) {
    return { headerBytes: scan, headerLines: lines, exceeded: 'bytes', authorFieldBytes };
  }
  // No empty line: the whole message is header (RFC 5322 2.1 makes the body optional).
  const last = lineStart < raw.length ? 1 : 0;
  if (author) authorFieldBytes += raw.length - lineStart;
  const headerLines = lines + last;
  return {
    headerBytes: raw.length,
    headerLines,
    exceeded: headerLines > limits.headerLines ? 'lines' : null,
    authorFieldBytes,
  };
}

/**
 * The classification of a message whose header block is over its bound: the envelope and
 * SES's verdicts only. No header is parsed, no DKIM verified, no DNS queried; routes are
 * expanded from the envelope recipients (for the trace), and nobody is counted (`usage` is
 * empty: the message will not go out).
 */
export function unparsedClassification(input: DecisionInput, measure: HeaderMeasure): Classification {
  const { mail, receipt } = input.received;
  const source = unbracket(mail.source).toLowerCase();
  const envelopeSender = source === '' || source === '<>' ? null : source;
  // Only SES's own verdicts are known. Behind a trusted gateway SES's SPF judged the gateway,
  // not the sender, so it proves nothing here (the chain that would say more is unread).
  const spf = input.config.trustedGateways.length > 0 ? 'PROCESSING_FAILED' : receipt.spfVerdict.status;
  const authentication = authenticationFacts({
    envelopeSender,
    from: [],
    spf,
    dmarc: receipt.dmarcVerdict.status,
    dkim: { signatures: [] },
    acceptedDomains: input.config.acceptedDomains,
    dkimAvoidsRelay: input.config.relay.dkimAvoidsRelay,
    viaGateway: false,
  });
  return {
    messageId: mail.messageId,
    sizeBytes: input.raw.length,
    envelopeSender,
    from: [],
    replyTo: [],
    sourceDomain: null,
    sourceDomainVerdict: null,
    // Mail to the SRS domain is an NDR whatever its header says (the envelope tells), and no
    // NDR answers an NDR (SPEC 2a).
    ndr: {
      nullSender: envelopeSender === null,
      deliveryReport: false,
      toSrsAddress: receipt.recipients.some((r) => domainOf(r.trim()) === input.config.srs.domain),
    },
    srsBounces: [],
    expansion: expandRecipients(input.config, receipt.recipients),
    authentication,
    acceptedSender: false,
    spf,
    gateway: null,
    dmarc: receipt.dmarcVerdict.status,
    dkim: { signatures: [], alignedPass: false, temperror: false },
    spam: receipt.spamVerdict.status === 'FAIL',
    virus: receipt.virusVerdict.status === 'FAIL',
    forwarded: true,
    hops: 0,
    loop: false,
    usage: [],
    bounds: measure,
  };
}

/**
 * Rule 1 for a message whose header block is over its bound: blocked, `hard-limit-headers`
 * (with `hard-limit-size` and `virus` when they hold too), nothing counted, and an NDR only
 * to an envelope-authenticated sender: SES's SPF PASS for a non-null envelope sender, never
 * behind a trusted gateway, never for a bounce (RFC 3464 1), never for mail to the SRS domain
 * (an NDR itself, SPEC 2a: what is sent there is answered by nobody).
 */
export function headerLimitDecision(c: Classification, config: Config): Decision {
  const matched = new Set<Reason>(['hard-limit-headers']);
  if (c.sizeBytes > config.maxMessageBytes) matched.add('hard-limit-size');
  if (c.virus) matched.add('virus');
  // SPEC 3 rule 1: an NDR only to a sender that proved its envelope (here only SES's SPF can),
  // never for a bounce, never for a spoof of our own domains.
  const facts = c.authentication;
  const ndrToSender =
    facts.envelopeAuthenticated &&
    !facts.bounce &&
    !facts.spoof &&
    !c.ndr.toSrsAddress &&
    config.ndr.perRecipientPerHour > 0;
  const sends: Decision['sends'] = ndrToSender ? [ndrSend(c.envelopeSender!, config)] : [];
  return {
    pool: 'blocked',
    reasons: REASONS.filter((r) => matched.has(r)),
    configurationSet: null,
    sends,
    restrictions: [],
    alerts: [],
    unrouted: c.expansion.unrouted,
    classification: c,
    limits: [],
  };
}

/**
 * The header lines an NDR for `reasons` may carry of `header`: for `hard-limit-headers` at
 * most the first {@link NDR_HEADER_EXCERPT_BYTES}, cut after a line end, so the report never
 * copies (nor re-parses) a header block too large to read; otherwise all of it (the NDR
 * builder applies its own cap).
 */
export function ndrHeaderExcerpt(header: Buffer, reasons: readonly Reason[]): Buffer {
  if (!reasons.includes('hard-limit-headers') || header.length <= NDR_HEADER_EXCERPT_BYTES) return header;
  const lf = header.lastIndexOf(LF, NDR_HEADER_EXCERPT_BYTES - 1);
  return header.subarray(0, lf < 0 ? 0 : lf + 1);
}
