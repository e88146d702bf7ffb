/**
 * The copy SES re-sends (SESv2 `SendEmail`, `Content.Raw`): the original message with only
 * what must change for SES and for the receiver, and nothing else.
 *
 * Everything here works on bytes. The header block is cut into fields (a field is its first
 * line and every line after it that does not start a new field), fields are dropped or kept
 * whole with their original bytes (8-bit included), and the few fields we write are
 * sanitised and folded. The bytes after the empty line that ends the header block, the body,
 * are never looked at and are copied unchanged.
 *
 * What changes and why:
 *
 * - SES only sends from a verified identity, checking `From`, `Sender` and `Return-Path`
 *   (SES error "Email address is not verified ... could apply to the From, Source, Sender, or
 *   Return-Path address"). When the decision rewrote the author, every `From` is replaced by
 *   one `From: <send.from>`, `Reply-To` is set to the original author, the original `From`
 *   (and `Sender`, which would otherwise still name the unverified domain) is carried in
 *   `X-Original-From` / `X-Original-Sender`.
 * - SES accepts at most one `DKIM-Signature` (and one of each field in its list of
 *   single-instance fields, {@link SES_SINGLE_INSTANCE_FIELDS}); it rejects the message with
 *   "Duplicate header" otherwise. A rewritten `From` breaks every signature, so they all go
 *   (the ARC seal, `arc.ts`, carries the results seen on arrival). With the `From` kept, the
 *   aligned passing signature is kept (else the first) and the others dropped. For the other
 *   single-instance fields the first (topmost) occurrence is kept.
 * - `X-SES-*` fields steer SES itself: `X-SES-CONFIGURATION-SET` and `X-SES-MESSAGE-TAGS`
 *   (SES event publishing) would let a sender pick its own pool and tags,
 *   `X-SES-SOURCE-ARN`, `X-SES-FROM-ARN` and `X-SES-RETURN-PATH-ARN` (sending authorization)
 *   another account's identity, `X-SES-LIST-MANAGEMENT-OPTIONS` our contact lists; SES inbound
 *   itself adds `X-SES-RECEIPT`, `X-SES-Spam-Verdict`, `X-SES-Virus-Verdict`,
 *   `X-SES-DKIM-SIGNATURE`... None may reach SES from a sender: every `X-SES-*` is dropped.
 * - `Return-Path` tells SES where to send bounces and complaints, so a sender's own value is
 *   dropped and ours (`envelopeFrom`) written.
 * - Our trace fields (`X-Outbound-Pool*`) are written on top; copies of them that arrived
 *   with the message are dropped, since they would lie about us.
 * - A loop marker (`X-Outbound-Pools-Loop`, `loop.ts`) is written for every route the copy
 *   is sent for. Markers that arrived with the message are kept: a copy going round two
 *   routes (A forwards to B's domain, B back to A) still carries A's marker when it reaches
 *   A again. A marker cannot be forged (it is keyed), so keeping them costs nothing.
 * - `Bcc` never leaves a message (RFC 5322 3.6.3 leaves it to the sender to remove before
 *   transmission); a copy carrying one would disclose hidden recipients, and a raw send that
 *   took recipients from headers would deliver to them. Only `Destination` decides who gets
 *   a copy.
 *
 * A field that hides a bare CR followed by something that looks like a new field
 * (`Subject: x<CR>X-SES-CONFIGURATION-SET: y`) is dropped: a parser that ends lines at a bare
 * CR would otherwise see a field we never checked.
 *
 * Lines before the first field (a continuation line or text that is no field) belong to no
 * field and are dropped: written after our trace fields, they would extend the last one. So
 * are lines that are neither a field nor a continuation anywhere in the block, with their
 * continuation lines (see {@link headerFields}): dropped rather than the message blocked,
 * because a mailer's broken line is not worth a lost message once no parser can see it.
 *
 * Line endings are normalised once, in the copy's header block: every line of it, and the
 * empty line that ends it, ends with the line end of the first line (CRLF by default), so
 * a strict CRLF parser and an LF parser both see exactly the fields we wrote.
 *
 * A message without the empty line that ends the header block (RFC 5322 section 2.1 makes
 * the body optional) is all header: the copy gets the empty line SES requires ("The message
 * has to contain a header and a body, separated by a blank line") and an empty body, which
 * is byte-identical to the empty body it had.
 */

import type { PlannedSend } from '../decide.js';
import type { DkimEvaluation } from '../dkim.js';
import { InvalidInputError } from '../errors.js';
import { LOOP_FIELD } from '../loop.js';
import { sanitizeHeaderText } from '../message.js';
import type { Reason } from '../vocabulary.js';

/** RFC 5322 section 2.1.1: a line MUST be at most 998 octets, excluding the CRLF. */
export const MAX_LINE_OCTETS = 998;
/** RFC 5322 section 2.1.1: a line SHOULD be at most 78 octets, excluding the CRLF. */
export const PREFERRED_LINE_OCTETS = 78;

/**
 * Fields SES refuses to see more than once in a raw message ("Amazon SES header fields",
 * SES developer guide), lower-cased.
 */
export const SES_SINGLE_INSTANCE_FIELDS: ReadonlySet<string> = new Set(
  [
    'Accept-Language',
    'acceptLanguage',
    'Archived-At',
    'Auto-Submitted',
    'Bounces-to',
    'Comments',
    'Content-Alternative',
    'Content-Base',
    'Content-Class',
    'Content-Description',
    'Content-Disposition',
    'Content-Duration',
    'Content-ID',
    'Content-Language',
    'Content-Length',
    'Content-Location',
    'Content-MD5',
    'Content-Transfer-Encoding',
    'Content-Type',
    'Date',
    'Delivered-To',
    'Disposition-Notification-Options',
    'Disposition-Notification-To',
    'DKIM-Signature',
    'DomainKey-Signature',
    'Errors-To',
    'From',
    'Importance',
    'In-Reply-To',
    'Keywords',
    'List-Archive',
    'List-Help',
    'List-Id',
    'List-Owner',
    'List-Post',
    'List-Subscribe',
    'List-Unsubscribe',
    'List-Unsubscribe-Post',
    'Message-Context',
    'Message-ID',
    'MIME-Version',
    'Organization',
    'Original-From',
    'Original-Message-ID',
    'Original-Recipient',
    'Original-Subject',
    'Precedence',
    'Priority',
    'References',
    'Reply-To',
    'Return-Path',
    'Return-Receipt-To',
    'Sender',
    'Solicitation',
    'Sensitivity',
    'Subject',
    'Thread-Index',
    'Thread-Topic',
    'User-Agent',
    'VBR-Info',
  ].map((f) => f.toLowerCase()),
);

/** Names of the trace fields we write (and drop when they arrive with the message). */
export const TRACE_FIELDS = {
  pool: 'X-Outbound-Pool',
  reasons: 'X-Outbound-Pool-Reasons',
  inboundId: 'X-Outbound-Pool-Inbound-Id',
} as const;

export interface RewriteOptions {
  send: Pick<PlannedSend, 'from' | 'fromRewritten' | 'replyTo' | 'envelopeFrom' | 'pool'>;
  reasons: readonly Reason[];
  /** SES receipt message id, for the trace header. */
  inboundMessageId: string;
  /** Which signature to keep when From is kept. */
  dkim: DkimEvaluation;
  /** Values of the loop markers to write (one per route of the copy, `loopMarker()`). */
  loopMarkers?: readonly string[];
}

export interface MessageParts {
  /** The header block, up to and including the line end of its last line (if it has one). */
  header: Buffer;
  /** The empty line ending the header block (`\r\n` or `\n`), empty when there is none. */
  separator: Buffer;
  /** Everything after the empty line, never parsed. Empty when there is no empty line. */
  body: Buffer;
}

/**
 * Cuts a raw message at the first empty line (RFC 5322 section 2.1), exactly as
 * `message.ts` does (a line end is LF, with or without CR before it), plus a message that
 * starts with an empty line (no header at all). `header + separator + body` is `raw`.
 */
export function splitMessage(raw: Buffer): MessageParts {
  const cut = (end: number, bodyStart: number): MessageParts => ({
    header: raw.subarray(0, end),
    separator: raw.subarray(end, bodyStart),
    body: raw.subarray(bodyStart),
  });
  if (raw[0] === 0x0a) return cut(0, 1);
  if (raw[0] === 0x0d && raw[1] === 0x0a) return cut(0, 2);
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x0a) continue;
    if (raw[i + 1] === 0x0a) return cut(i + 1, i + 2);
    if (raw[i + 1] === 0x0d && raw[i + 2] === 0x0a) return cut(i + 1, i + 3);
  }
  return cut(raw.length, raw.length);
}

/** One field of the header block with its exact bytes. */
export interface RawField {
  /** Lower-cased field name; empty for lines before the first field (kept nowhere). */
  name: string;
  /** The field's bytes, continuation lines and line ends included. */
  bytes: Buffer;
}

/** A line starting a field: a field name (RFC 5322 3.6.8), optional WSP, a colon. */
const FIELD_START = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:/;

/**
 * Cuts a header block into fields. A line starting with WSP continues the field above. A line
 * that is neither a field nor a continuation (no name and colon: `Bcc<VT>: x`, `From<NUL>:`,
 * stray text) starts a nameless field (`name` empty) that takes its own continuation lines
 * with it: the rewrite drops nameless fields, and `parseHeaders` drops the same lines, so no
 * byte of them reaches a copy and no parser can read them as a field (mailparser reads
 * `Bcc<VT>: x` as a `Bcc`). Every byte of the block is in exactly one field.
 */
export function headerFields(header: Buffer): RawField[] {
  const fields: RawField[] = [];
  let start = 0;
  let name: string | null = null;
  let fieldStart = 0;
  const flush = (end: number) => {
    if (end > fieldStart) fields.push({ name: name ?? '', bytes: header.subarray(fieldStart, end) });
  };
  while (start < header.length) {
    const lf = header.indexOf(0x0a, start);
    const end = lf < 0 ? header.length : lf + 1;
    const first = header[start];
    if (first !== 0x20 && first !== 0x09) {
      flush(start);
      const m = FIELD_START.exec(header.toString('latin1', start, end));
      name = m ? m[1]!.toLowerCase() : '';
      fieldStart = start;
    }
    start = end;
  }
  flush(header.length);
  return fields;
}

/**
 * A field's bytes with the WSP between its name and colon removed (`From<TAB>:` → `From:`).
 * RFC 5322 4.5.8 lets a reader accept that obsolete form, and we do, but a strict reader
 * (section 3.6.8) does not see a field there at all: written as `Name:`, the copy reads the
 * same to both. Relaxed DKIM canonicalization deletes that WSP too (RFC 6376 3.4.2).
 */
export function withoutWspBeforeColon(bytes: Buffer): Buffer {
  const lf = bytes.indexOf(0x0a);
  const head = bytes.toString('latin1', 0, lf < 0 ? bytes.length : lf);
  const m = /^([\x21-\x39\x3b-\x7e]+)[ \t]+:/.exec(head);
  if (!m) return bytes;
  return Buffer.concat([Buffer.from(`${m[1]}:`, 'latin1'), bytes.subarray(m[0].length)]);
}

/**
 * A field's bytes with every line ending `eol` (SPEC 2a: line endings are normalised once, in
 * the copy): a bare LF becomes `eol` and CRs before a line end go, so a strict CRLF parser and
 * an LF parser cut the copy's header block into the same lines as we did. Returns the bytes
 * themselves when they already conform (the common case: no copy).
 */
export function normalizeLineEnds(bytes: Buffer, eol: '\r\n' | '\n'): Buffer {
  let conforming = true;
  for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) {
    const crBefore = i > 0 && bytes[i - 1] === 0x0d;
    const crCr = i > 1 && bytes[i - 2] === 0x0d;
    if (eol === '\r\n' ? !crBefore || crCr : crBefore) {
      conforming = false;
      break;
    }
  }
  if (conforming) return bytes;
  const lines = bytes.toString('latin1').split('\n');
  const last = lines.pop()!; // after the final LF: empty, or an unterminated last line
  const text = lines.map((l) => l.replace(/\r+$/, '') + eol).join('') + last;
  return Buffer.from(text, 'latin1');
}

/** The unfolded value of a field (after the colon), decoded as UTF-8 (RFC 6532). */
export function fieldValue(field: RawField): string {
  const text = field.bytes.toString('utf8');
  const colon = text.indexOf(':');
  return (colon < 0 ? text : text.slice(colon + 1)).replace(/\r?\n/g, '').trim();
}

/** A bare CR followed by what a CR-splitting parser would read as a new field. */
const SMUGGLED_FIELD = /\r(?!\n)[\x21-\x39\x3b-\x7e]+[ \t]*:/;

function smuggles(field: RawField): boolean {
  return SMUGGLED_FIELD.test(field.bytes.toString('latin1'));
}

/** An encoded-word (RFC 2047 section 2), which must never be cut by a fold. */
const ENCODED_WORD = /=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=/g;

/**
 * Cuts a word without whitespace into pieces of at most `max` octets, at character
 * boundaries and never inside an encoded-word (unless the encoded-word itself is longer than
 * `max`, which RFC 2047's 75-character limit rules out).
 */
function cutWord(word: string, firstMax: number, max: number): string[] {
  const spans = [...word.matchAll(ENCODED_WORD)].map((m) => [m.index, m.index + m[0].length] as const);
  const pieces: string[] = [];
  let start = 0;
  let limit = firstMax;
  while (start < word.length) {
    let end = start;
    let bytes = 0;
    while (end < word.length) {
      const cp = word.codePointAt(end)!;
      const len = cp > 0xffff ? 2 : 1;
      const b = Buffer.byteLength(word.slice(end, end + len));
      if (bytes + b > limit && end > start) break;
      bytes += b;
      end += len;
    }
    for (const [s, e] of spans) {
      if (s > start && s < end && e > end) end = s;
    }
    pieces.push(word.slice(start, end));
    start = end;
    limit = max;
  }
  return pieces;
}

/**
 * Writes one header field: `Name: value` with the value sanitised ({@link sanitizeHeaderText}) and
 * folded (RFC 5322 section 2.2.3) at whitespace, at 78 octets where a word allows it and
 * always within 998. Folding only inserts a line end before an existing space, so unfolding
 * gives the value back; a single word longer than a line (no valid header has one) is cut
 * between characters, outside encoded-words, which adds a space where it was cut.
 */
export function formatField(name: string, value: string, eol: '\r\n' | '\n' = '\r\n'): string {
  const words = sanitizeHeaderText(value)
    .split(' ')
    .filter((w) => w.length > 0);
  const lines: string[] = [];
  let line = `${name}:`;
  let lineBytes = Buffer.byteLength(line);
  let hasWord = false;
  for (const word of words) {
    const wordBytes = Buffer.byteLength(word) + 1;
    if (
      lineBytes + wordBytes <= PREFERRED_LINE_OCTETS ||
      (!hasWord && lineBytes + wordBytes <= MAX_LINE_OCTETS)
    ) {
      line += ` ${word}`;
      lineBytes += wordBytes;
      hasWord = true;
      continue;
    }
    if (hasWord && wordBytes <= MAX_LINE_OCTETS) {
      lines.push(line);
      line = ` ${word}`;
      lineBytes = wordBytes;
      continue;
    }
    // A word too long for any line: cut it, on a line of its own (or after the name).
    if (hasWord) {
      lines.push(line);
      line = '';
      lineBytes = 0;
    }
    const pieces = cutWord(word, MAX_LINE_OCTETS - lineBytes - 1, MAX_LINE_OCTETS - 1);
    for (const [i, piece] of pieces.entries()) {
      if (i > 0) {
        lines.push(line);
        line = '';
      }
      line += ` ${piece}`;
    }
    lineBytes = Buffer.byteLength(line);
    hasWord = true;
  }
  lines.push(line);
  return lines.join(eol) + eol;
}

/** The line end the header block uses: that of its first line, CRLF by default. */
export function lineEnding(parts: MessageParts): '\r\n' | '\n' {
  const source = parts.header.length > 0 ? parts.header : parts.separator;
  const lf = source.indexOf(0x0a);
  if (lf < 0) return '\r\n';
  return lf > 0 && source[lf - 1] === 0x0d ? '\r\n' : '\n';
}

/** The `d=` and `s=` tags of a DKIM-Signature value (RFC 6376 section 3.5), lower-cased. */
export function dkimTags(value: string): { domain: string; selector: string } {
  const tags = new Map<string, string>();
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    tags.set(part.slice(0, eq).replace(/\s/g, ''), part.slice(eq + 1).replace(/\s/g, ''));
  }
  return { domain: (tags.get('d') ?? '').toLowerCase(), selector: (tags.get('s') ?? '').toLowerCase() };
}

/**
 * The DKIM-Signature to keep with the From kept: the first one whose verification (matched
 * in order by d= and s= against `dkim.signatures`) passed and is aligned, else the first.
 */
function signatureToKeep(fields: readonly RawField[], dkim: DkimEvaluation): RawField | undefined {
  const signatures = fields.filter((f) => f.name === 'dkim-signature');
  const used = new Set<number>();
  for (const field of signatures) {
    const { domain, selector } = dkimTags(fieldValue(field));
    const index = dkim.signatures.findIndex(
      (s, i) => !used.has(i) && s.domain.toLowerCase() === domain && s.selector.toLowerCase() === selector,
    );
    if (index < 0) continue;
    used.add(index);
    const verdict = dkim.signatures[index]!;
    if (verdict.aligned && verdict.result === 'pass') return field;
  }
  return signatures[0];
}

const isSesField = (name: string) => name.startsWith('x-ses-');
const LOOP_KEY = LOOP_FIELD.toLowerCase();
const isTraceField = (name: string) => name.startsWith('x-outbound-pool') && name !== LOOP_KEY;

/** `<address>` for a path, whether or not it came bracketed. */
function path(address: string): string {
  const clean = sanitizeHeaderText(address).replace(/\s/g, '');
  const bare = clean.startsWith('<') && clean.endsWith('>') ? clean.slice(1, -1) : clean;
  return `<${bare.replace(/[<>]/g, '')}>`;
}

/**
 * A copy in two pieces: its new header block (the empty line that ends it included) and the
 * body of the message it was made from, a view of the same bytes rather than a copy of them.
 * `header + body` is the message to send; keeping them apart lets the ARC seal put its fields
 * on top and make the one copy of a multi-megabyte body there.
 */
export interface ComposedMessage {
  header: Buffer;
  body: Buffer;
}

/** The bytes of a composed message, in one buffer (the body's single copy). */
export function joinMessage(message: ComposedMessage, top?: Buffer): Buffer {
  return Buffer.concat(top ? [top, message.header, message.body] : [message.header, message.body]);
}

/**
 * Builds the copy to send. See the module comment for the rules.
 * @throws InvalidInputError when `raw` is not a Buffer or the options cannot be written
 *   (no From to write when the From is rewritten).
 */
export function rewriteMessage(raw: Buffer, opts: RewriteOptions): Buffer {
  return joinMessage(rewriteHeader(raw, opts));
}

/**
 * {@link rewriteMessage} without joining: the new header block, and the body of `raw` as a
 * view of `raw` (not copied).
 */
export function rewriteHeader(raw: Buffer, opts: RewriteOptions): ComposedMessage {
  if (!Buffer.isBuffer(raw)) throw new InvalidInputError('message', 'raw message must be a Buffer');
  const { send } = opts;
  const newFrom = sanitizeHeaderText(send.from ?? '');
  if (send.fromRewritten && newFrom === '') {
    throw new InvalidInputError('send.from', 'a rewritten From needs an address');
  }

  const parts = splitMessage(raw);
  const eol = lineEnding(parts);
  const fields = headerFields(parts.header).filter((f) => f.name !== '');

  // Line ends normalised to `eol` (a bare LF inside a CRLF message would otherwise be a line
  // end for us and none for a strict CRLF parser); a last line without its line end (a
  // message that ends inside the header block) gets one.
  const terminated = (field: RawField): Buffer => {
    const bytes = normalizeLineEnds(withoutWspBeforeColon(field.bytes), eol);
    return bytes[bytes.length - 1] === 0x0a ? bytes : Buffer.concat([bytes, Buffer.from(eol)]);
  };

  const keptSignature = send.fromRewritten ? undefined : signatureToKeep(fields, opts.dkim);
  const originalFrom = fields.filter((f) => f.name === 'from').map(fieldValue);
  const originalSender = fields.filter((f) => f.name === 'sender').map(fieldValue);

  // The author fields we write in place of the first From.
  const authorBlock: string[] = [];
  if (send.fromRewritten) {
    authorBlock.push(formatField('From', newFrom, eol));
    if (send.replyTo) {
      const replyTo = sanitizeHeaderText(send.replyTo);
      if (replyTo) authorBlock.push(formatField('Reply-To', replyTo, eol));
    }
    const from = sanitizeHeaderText(originalFrom.join(', '));
    if (from) authorBlock.push(formatField('X-Original-From', from, eol));
    const sender = sanitizeHeaderText(originalSender.join(', '));
    if (sender) authorBlock.push(formatField('X-Original-Sender', sender, eol));
  }

  const out: Buffer[] = [
    Buffer.from(formatField('Return-Path', path(send.envelopeFrom ?? ''), eol)),
    Buffer.from(formatField(TRACE_FIELDS.pool, send.pool, eol)),
    Buffer.from(formatField(TRACE_FIELDS.reasons, opts.reasons.join(', '), eol)),
    Buffer.from(formatField(TRACE_FIELDS.inboundId, opts.inboundMessageId, eol)),
    ...(opts.loopMarkers ?? []).map((m) => Buffer.from(formatField(LOOP_FIELD, m, eol))),
  ];
  const topFields = out.length;
  const seen = new Set<string>();
  let authorWritten = false;
  let fromKept = false;
  for (const field of fields) {
    const { name } = field;
    if (
      isSesField(name) ||
      isTraceField(name) ||
      name === 'return-path' ||
      name === 'bcc' ||
      smuggles(field)
    ) {
      continue;
    }
    if (send.fromRewritten) {
      if (name === 'from') {
        if (!authorWritten) out.push(Buffer.from(authorBlock.join('')));
        authorWritten = true;
        continue;
      }
      if (
        name === 'reply-to' ||
        name === 'sender' ||
        name === 'dkim-signature' ||
        name === 'domainkey-signature' ||
        name === 'x-original-from' ||
        name === 'x-original-sender'
      ) {
        continue;
      }
    } else if (name === 'dkim-signature' && field !== keptSignature) {
      continue;
    }
    if (SES_SINGLE_INSTANCE_FIELDS.has(name)) {
      if (seen.has(name)) continue;
      seen.add(name);
    }
    if (name === 'from') fromKept = true;
    out.push(terminated(field));
  }
  if (send.fromRewritten && !authorWritten) {
    out.splice(topFields, 0, Buffer.from(authorBlock.join('')));
  } else if (!send.fromRewritten && !fromKept && newFrom !== '') {
    // The From to keep was missing or unusable (dropped above): write the planned one.
    out.splice(topFields, 0, Buffer.from(formatField('From', newFrom, eol)));
  }

  // The empty line is written as `eol` too: a CRLF header block ended by a bare LF-LF would
  // end, for a strict CRLF parser, only at a later CRLF CRLF in what we call the body, and the
  // lines in between (say `Bcc:` or `X-SES-CONFIGURATION-SET:`) would be fields for it.
  return { header: Buffer.concat([...out, Buffer.from(eol)]), body: parts.body };
}
