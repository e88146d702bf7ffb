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
   * `blank-run`: more than {@link MAX_BLANK_RUN} blank bytes in a row, or more than
   * {@link MAX_SIGNATURE_BLANK_RUN} inside a DKIM or ARC field (below). `signature-fields`:
   * more than `bounds.signatureFieldBytes` of DKIM and ARC fields; `author-fields`: more than
   * `bounds.authorFieldBytes` of From, Sender and Reply-To, or more than
   * {@link MAX_AUTHOR_ENCODED_WORDS} encoded-words in them; `content-type`: more than
   * {@link MAX_CONTENT_TYPE_MARKS} marks (RFC 2231 sections, encoded-words) in Content-Type fields.
   */
  exceeded: 'bytes' | 'lines' | 'blank-run' | 'signature-fields' | 'author-fields' | 'content-type' | null;
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

/**
 * Most blank bytes in a row inside the fields mailauth reads as RFC 6376 tag-lists
 * (`DKIM-Signature`, `ARC-Seal`, `ARC-Message-Signature`, `ARC-Authentication-Results`): its
 * tag parser trims every tag-spec with `/^[ \t\r\n]+|[ \t\r\n]+$/g`, n² steps for a run of n,
 * and it parses every such field of the block before any budget applies. 100 KB of them in
 * runs of 64 cost ~5× an ordinary signed message (December 2026, a quiet machine); at 24 about
 * twice. Signers fold these fields with CRLF and a tab or up to 8 spaces (10 bytes).
 */
export const MAX_SIGNATURE_BLANK_RUN = 24;

/** The fields {@link MAX_SIGNATURE_BLANK_RUN} and `bounds.signatureFieldBytes` apply to (lower case). */
const SIGNATURE_FIELDS: ReadonlySet<string> = new Set([
  'dkim-signature',
  'arc-seal',
  'arc-message-signature',
  'arc-authentication-results',
]);

/**
 * Most marks in the Content-Type fields of a header block, together: each `*` (RFC 2231
 * sections: `name*0=`, `name*1*=...` count one or two) and each encoded-word (`=?`, two). The
 * Content-Type is parsed with libmime (the type, `report-type` for rule 2, the boundary for
 * the body hashers), which assembles every RFC 2231 section, decodes each that names a charset
 * and every encoded-word of a continued value: a charset it does not know costs a thrown
 * exception, ~20 µs for ~10 bytes of header. 6,000 such sections within the other bounds cost
 * ~25-40 ordinary messages (review of December 2026); so at most 64 decodings here. Plain
 * parameters are not counted (~1 µs each: 3,000 in 40 KB cost ~2 ordinary messages). A
 * Content-Type has a few parameters (boundary, charset, report-type...); a 255-character CJK
 * file name split into RFC 2231 sections (~33, `name*N*=`) takes ~66 marks. Not a setting.
 */
export const MAX_CONTENT_TYPE_MARKS = 128;

/**
 * Most encoded-words (each `=?`) in a charset other than UTF-8 in the From, Sender and
 * Reply-To fields together. Every display name is decoded (libmime), and an encoded-word whose
 * charset libmime does not know costs a thrown exception, ~20 µs for ~10 bytes: 700 of them in
 * one From, within `bounds.authorFieldBytes`, cost ~5.5 ordinary messages (review of December
 * 2026). Names cannot be left undecoded instead: "… via <our domain>" in a decoded name is how
 * a copy of ours is recognised (`isRewrittenByUs`). UTF-8 words are not counted: they decode
 * without an exception, and they are all our copies write (`formatMailbox`: a From of 100
 * emoji is 34 words, and a copy carries up to ten Reply-To names more; counted, a copy of ours
 * coming back would be blocked instead of recognised). A display name in another charset is a
 * few encoded-words (RFC 2047 2: at most 75 characters each). Not a setting.
 */
export const MAX_AUTHOR_ENCODED_WORDS = 128;

/** `utf-8?`, the charset of an encoded-word whose `=?` ends at `i`, letters in any case. */
function utf8WordAt(raw: Uint8Array, i: number): boolean {
  return (
    (raw[i + 1]! | 0x20) === 0x75 &&
    (raw[i + 2]! | 0x20) === 0x74 &&
    (raw[i + 3]! | 0x20) === 0x66 &&
    raw[i + 4] === 0x2d &&
    raw[i + 5] === 0x38 &&
    raw[i + 6] === 0x3f
  );
}

/** How much of an over-bound header block an NDR carries (issue 13: "at most the first 16 KB"). */
export const NDR_HEADER_EXCERPT_BYTES = 16 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const AUTHOR_FIELDS: ReadonlySet<string> = new Set(['from', 'sender', 'reply-to']);

/** The longest field name looked for (`arc-authentication-results`). */
const LONGEST_NAME = 26;

/**
 * What the line at `start` opens, as mailauth's header parser decides (`header-rows.ts`): a
 * field when it is `ftext+ [ \t\r\n]* :`, the colon at most one line further down; then its
 * lower-cased name when it is no longer than {@link LONGEST_NAME} (else ''). Null when the
 * line opens no field (mailauth appends it to the field above).
 */
function fieldNameAt(raw: Uint8Array, start: number, limit: number): string | null {
  let name = '';
  let end = start;
  while (end < limit) {
    const b = raw[end]!;
    if (b < 0x21 || b > 0x7e || b === 0x3a) break;
    if (end - start < LONGEST_NAME) name += String.fromCharCode(b >= 0x41 && b <= 0x5a ? b | 0x20 : b);
    end++;
  }
  if (end === start) return null;
  let i = end;
  let lineEnds = 0;
  for (; i < limit; i++) {
    const b = raw[i];
    if (b === LF && ++lineEnds > 1) return null;
    if (b !== 0x20 && b !== 0x09 && b !== CR && b !== LF) break;
  }
  if (raw[i] !== 0x3a) return null;
  return end - start > LONGEST_NAME ? '' : name;
}

/**
 * The name mailauth gives the first row when its first line opens no field (it always starts
 * a row): what precedes the row's first colon, line breaks removed and blanks trimmed
 * (`header-rows.ts`), lower case; '' when that is longer than any name looked for. The row
 * ends before the first later line that opens a field. `" DKIM-Signature: ..."` is one.
 */
function firstRowName(raw: Uint8Array, limit: number): string {
  let name = '';
  // The row runs to the end of the block, whose trailing CRs mailauth strips (`/[\r\n]+$/`).
  let toEnd = true;
  for (let i = 0; i < limit; i++) {
    const b = raw[i]!;
    if (b === 0x3a) {
      toEnd = false;
      break;
    }
    if (b === LF) {
      // The CR of the line end is no part of the row (mailauth splits at CRLF).
      if (name.endsWith('\r')) name = name.slice(0, -1);
      // The row goes on only through lines that open no field; an empty line ends the block.
      const next = raw[i + 1];
      if (next === undefined || next === LF || (next === CR && raw[i + 2] === LF)) break;
      if (fieldNameAt(raw, i + 1, limit) !== null) {
        toEnd = false;
        break;
      }
      continue;
    }
    if (name.length === 0 && (b === 0x20 || b === 0x09)) continue;
    name += String.fromCharCode(b >= 0x41 && b <= 0x5a ? b | 0x20 : b);
    // Longer than any name looked for, trailing blanks aside.
    if (name.length > LONGEST_NAME + 64) return '';
  }
  let end = name.length;
  while (toEnd && end > 0 && name.charCodeAt(end - 1) === CR) end--;
  while (end > 0 && (name.charCodeAt(end - 1) === 0x20 || name.charCodeAt(end - 1) === 0x09)) end--;
  return end > LONGEST_NAME ? '' : name.slice(0, end);
}

/**
 * Measures the header block in one pass, reading at most `headerBytes` + 2 bytes: where it
 * ends (the first empty line, exactly as `message.ts` and `compose/rewrite.ts` cut it), how
 * many lines it has, and whether it is over either bound. Linear, allocation-free.
 */
export function measureHeaderBlock(
  raw: Uint8Array,
  limits: { headerBytes: number; headerLines: number; signatureFieldBytes: number; authorFieldBytes: number },
): HeaderMeasure {
  // A message that starts with an empty line has no header block at all.
  if (raw[0] === LF || (raw[0] === CR && raw[1] === LF)) {
    return { headerBytes: 0, headerLines: 0, exceeded: null, authorFieldBytes: 0 };
  }
  const scan = Math.min(raw.length, limits.headerBytes);
  let lines = 0;
  let lineStart = 0;
  const first = fieldNameAt(raw, 0, scan) ?? firstRowName(raw, scan);
  // In an author or a tag-list field, as mailauth's rows go: a line that opens no field belongs
  // to the one above (its DKIM verifier hands a From row whole to its address parser; our own
  // parser, message.ts, drops such lines, so it reads no more than this counts).
  let author = AUTHOR_FIELDS.has(first);
  let signature = SIGNATURE_FIELDS.has(first);
  let contentType = first === 'content-type';
  let contentTypeMarks = 0;
  let authorWords = 0;
  let authorFieldBytes = 0;
  let signatureFieldBytes = 0;
  let blank = 0;
  for (let i = 0; i < scan; i++) {
    const b = raw[i]!;
    if (b === 0x20 || b === 0x09 || b === CR || b === LF) {
      if (++blank > (signature ? MAX_SIGNATURE_BLANK_RUN : MAX_BLANK_RUN)) {
        return { headerBytes: i + 1, headerLines: lines, exceeded: 'blank-run', authorFieldBytes };
      }
    } else blank = 0;
    if (
      author &&
      b === 0x3f &&
      raw[i - 1] === 0x3d &&
      !utf8WordAt(raw, i) &&
      ++authorWords > MAX_AUTHOR_ENCODED_WORDS
    ) {
      return { headerBytes: i + 1, headerLines: lines, exceeded: 'author-fields', authorFieldBytes };
    }
    if (contentType && (b === 0x2a || (b === 0x3f && raw[i - 1] === 0x3d))) {
      contentTypeMarks += b === 0x2a ? 1 : 2;
      if (contentTypeMarks > MAX_CONTENT_TYPE_MARKS) {
        return { headerBytes: i + 1, headerLines: lines, exceeded: 'content-type', authorFieldBytes };
      }
    }
    if (b !== LF) continue;
    lines++;
    if (author) authorFieldBytes += i + 1 - lineStart;
    if (signature) signatureFieldBytes += i + 1 - lineStart;
    const over =
      lines > limits.headerLines
        ? 'lines'
        : signatureFieldBytes > limits.signatureFieldBytes
          ? 'signature-fields'
          : authorFieldBytes > limits.authorFieldBytes
            ? 'author-fields'
            : null;
    if (over) return { headerBytes: i + 1, headerLines: lines, exceeded: over, authorFieldBytes };
    lineStart = i + 1;
    // LF followed by LF, or by CR LF: the empty line that ends the header block.
    if (raw[i + 1] === LF || (raw[i + 1] === CR && raw[i + 2] === LF)) {
      return { headerBytes: i + 1, headerLines: lines, exceeded: null, authorFieldBytes };
    }
    const next = raw[lineStart];
    if (next !== 0x20 && next !== 0x09) {
      const name = fieldNameAt(raw, lineStart, scan);
      if (name !== null) {
        author = AUTHOR_FIELDS.has(name);
        signature = SIGNATURE_FIELDS.has(name);
        contentType = name === 'content-type';
      }
    }
  }
  if (raw.length > limits.headerBytes) {
    return { headerBytes: scan, headerLines: lines, exceeded: 'bytes', authorFieldBytes };
  }
  // No empty line: the whole message is header (RFC 5322 2.1 makes the body optional).
  const last = lineStart < raw.length ? 1 : 0;
  if (author) authorFieldBytes += raw.length - lineStart;
  if (signature) signatureFieldBytes += raw.length - lineStart;
  const headerLines = lines + last;
  return {
    headerBytes: raw.length,
    headerLines,
    exceeded:
      headerLines > limits.headerLines
        ? 'lines'
        : signatureFieldBytes > limits.signatureFieldBytes
          ? 'signature-fields'
          : authorFieldBytes > limits.authorFieldBytes
            ? 'author-fields'
            : null,
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
