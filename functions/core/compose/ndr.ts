/**
 * The non-delivery report an authenticated sender gets when its message was blocked
 * (SPEC 3 rule 1): a `multipart/report; report-type=delivery-status` message (RFC 6522)
 * with a human explanation, a `message/delivery-status` part (RFC 3464) and the original
 * header block as `text/rfc822-headers` (RFC 6522 section 4).
 *
 * Everything is CRLF, no line is longer than 998 octets (RFC 5322 section 2.1.1), and every
 * value that comes from the message or the event (recipients, the sender, ids) is
 * sanitised before it is written, so an address with CR/LF cannot add a field or a part.
 * The original header block is carried as is (line ends made CRLF, as MIME's canonical text
 * form requires) and quoted-printable encoded when it is not plain 7-bit text with short
 * lines (RFC 6522 section 4 allows exactly that), so even broken headers survive; it is cut
 * at a field boundary past {@link MAX_ORIGINAL_HEADER_BYTES}, and the report says so.
 */

import { createHash } from 'node:crypto';
import { InvalidInputError } from '../errors.js';
import { sanitizeHeaderText } from '../message.js';
import type { CopyRefusal } from '../ses-refusals.js';
import { REASONS, type Reason } from '../vocabulary.js';
import { formatField, headerFields, MAX_LINE_OCTETS } from './rewrite.js';

export interface NdrOptions {
  /** Formatted mailbox, e.g. `"Mail Delivery System" <mailer-daemon@fwd.example.com>`. */
  from: string;
  /** The authenticated original sender (address). */
  to: string;
  /** e.g. the SRS domain. */
  reportingMta: string;
  /** Header block of the original message (goes into text/rfc822-headers). */
  originalHeaders: Buffer;
  arrivalDate: Date;
  /** Original recipients that were not delivered. */
  recipients: string[];
  reasons: readonly Reason[];
  inboundMessageId: string;
  now: Date;
  /** The status to report instead of the one of `reasons` (a copy SES refused). */
  status?: NdrStatus;
}

/** RFC 3464 `Status` (an RFC 3463 code) and the text that goes with it. */
export interface NdrStatus {
  status: string;
  diagnostic: string;
}

/**
 * How much of the original header block the report carries: 16 KB (SPEC 2a). An NDR is sent
 * to the sender, whose own headers these are; a larger cap would let a message's author
 * make us carry up to the whole header block to someone else.
 */
export const MAX_ORIGINAL_HEADER_BYTES = 16 * 1024;

export const NDR_SUBJECT = 'Undelivered Mail Returned to Sender';

/**
 * The blocking reasons and their RFC 3463 codes. Policy blocks are X.7.1 ("delivery not
 * authorized, message refused"); the text says which policy.
 */
const STATUS_BY_REASON: Partial<Record<Reason, NdrStatus>> = {
  'sender-restricted': {
    status: '5.7.1',
    diagnostic: 'Sender restricted: it exceeded the outbound sending policy and may not send for now',
  },
  virus: { status: '5.7.1', diagnostic: 'Message refused: it contains a virus' },
  'hard-limit-size': { status: '5.3.4', diagnostic: 'Message too big for the system' },
  // RFC 3463 3.4: X.3.4 "message too big for system" covers a header block over its bound.
  'hard-limit-headers': { status: '5.3.4', diagnostic: 'Message header too large for the system' },
  'hard-limit-recipients': { status: '5.5.3', diagnostic: 'Too many recipients' },
  // RFC 3463 3.5: X.4.6 "routing loop detected".
  loop: { status: '5.4.6', diagnostic: 'Routing loop detected: the message came back to this system' },
  'no-route': { status: '5.1.1', diagnostic: 'Recipient address unknown' },
  'srs-invalid': { status: '5.1.1', diagnostic: 'Invalid or expired bounce address' },
  'limit-external-hour': {
    status: '5.7.1',
    diagnostic: 'Sending limit exceeded: too many external recipients in the last hour',
  },
  'limit-internal-hour': {
    status: '5.7.1',
    diagnostic: 'Sending limit exceeded: too many internal recipients in the last hour',
  },
  'limit-day': { status: '5.7.1', diagnostic: 'Sending limit exceeded: too many recipients in the last day' },
};

/**
 * A copy the sending service refused (`ses-refusals.ts`): its content or request is X.6.0,
 * "other or undefined media error" (RFC 3463 3.7); its size X.3.4, "message too big for
 * system" (RFC 3463 3.4).
 */
const STATUS_BY_REFUSAL: Record<CopyRefusal, NdrStatus> = {
  content: {
    status: '5.6.0',
    diagnostic: 'Message refused by the sending service: its content cannot be sent',
  },
  request: {
    status: '5.6.0',
    diagnostic: 'Message refused by the sending service: it cannot be sent as it is',
  },
  size: { status: '5.3.4', diagnostic: 'Message too big for the sending service' },
};

/** The status of an NDR for a copy refused as `refusal`. */
export function refusalStatus(refusal: CopyRefusal): NdrStatus {
  return { ...STATUS_BY_REFUSAL[refusal] };
}

/** When no blocking reason is known: X.0.0, "other undefined status" (RFC 3463 3.1). */
const UNDEFINED_STATUS: NdrStatus = { status: '5.0.0', diagnostic: 'Message not delivered' };

/** The status of the first blocking reason in vocabulary (rule) order. */
export function statusFor(reasons: readonly Reason[]): NdrStatus {
  const given = new Set(reasons);
  for (const reason of REASONS) {
    const status = given.has(reason) ? STATUS_BY_REASON[reason] : undefined;
    if (status) return { ...status };
  }
  return { ...UNDEFINED_STATUS };
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 section 3.3 date-time, in UTC. */
export function rfc5322Date(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(
    d.getUTCHours(),
  )}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** A host name for `Reporting-MTA` and the right side of the Message-ID, or undefined. */
function hostName(text: string): string | undefined {
  const clean = sanitizeHeaderText(text).toLowerCase().replace(/\.$/, '');
  return /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/.test(clean) && clean.length <= 253 ? clean : undefined;
}

/** The left side of a Message-ID (RFC 5322 `dot-atom-text`) from any text. */
function idLeft(text: string): string {
  const clean = sanitizeHeaderText(text)
    .replace(/[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^\.+|\.+$/g, '')
    .slice(0, 200);
  return clean || 'unknown';
}

/** An address as one word: sanitised, without whitespace or angle brackets. */
function address(text: string): string {
  return sanitizeHeaderText(text).replace(/[\s<>]/g, '');
}

/**
 * `address-type; address` of a Final-Recipient (RFC 3464 2.3.2): `rfc822` for an ASCII
 * address, else `utf-8` with the RFC 6533 section 3 escapes (`\x{HEX}`).
 */
function typedAddress(addr: string): string {
  if (/^[\x21-\x7e]+$/.test(addr)) return `rfc822; ${addr}`;
  let out = '';
  for (const ch of addr) {
    const cp = ch.codePointAt(0)!;
    out += cp < 0x21 || cp > 0x7e || ch === '\\' ? `\\x{${cp.toString(16).toUpperCase()}}` : ch;
  }
  return `utf-8; ${out}`;
}

/** Canonical text (RFC 2049 section 4): every line end CRLF. */
function crlf(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  let start = 0;
  while (start < buf.length) {
    const lf = buf.indexOf(0x0a, start);
    if (lf < 0) {
      out.push(buf.subarray(start), Buffer.from('\r\n'));
      break;
    }
    const end = lf > start && buf[lf - 1] === 0x0d ? lf - 1 : lf;
    out.push(buf.subarray(start, end), Buffer.from('\r\n'));
    start = lf + 1;
  }
  return Buffer.concat(out);
}

/** Whether canonical CRLF text can go as 7bit (RFC 2045 2.7): ASCII, no NUL or bare CR, short lines. */
function is7bit(text: Buffer): boolean {
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const b = text[i]!;
    if (b === 0x0d) {
      if (text[i + 1] !== 0x0a) return false;
      if (i - lineStart > MAX_LINE_OCTETS) return false;
      i++;
      lineStart = i + 1;
      continue;
    }
    if (b === 0 || b > 0x7f || b === 0x0a) return false;
  }
  return text.length - lineStart <= MAX_LINE_OCTETS;
}

/**
 * Quoted-printable (RFC 2045 section 6.7) of canonical CRLF text: CRLF stays a line break,
 * any other byte outside printable ASCII (bare CR, NUL, 8-bit) and "=" are escaped, as is
 * whitespace at a line end; lines are soft-broken at 76 characters.
 */
export function quotedPrintable(text: Buffer): string {
  const lines: string[] = [];
  let start = 0;
  for (;;) {
    let end = text.indexOf('\r\n', start);
    const last = end < 0;
    if (last) end = text.length;
    const line = text.subarray(start, end);
    let out = '';
    let current = '';
    for (let i = 0; i < line.length; i++) {
      const b = line[i]!;
      const atEnd = i === line.length - 1;
      const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !atEnd);
      const token = literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
      if (current.length + token.length > 75) {
        out += `${current}=\r\n`;
        current = '';
      }
      current += token;
    }
    lines.push(out + current);
    if (last) break;
    start = end + 2;
  }
  return lines.join('\r\n');
}

/** The header block cut at the last field boundary within `limit` octets. */
function truncateHeaders(header: Buffer, limit: number): { kept: Buffer; truncated: boolean } {
  if (header.length <= limit) return { kept: header, truncated: false };
  let size = 0;
  for (const field of headerFields(header)) {
    if (size + field.bytes.length > limit) break;
    size += field.bytes.length;
  }
  return { kept: header.subarray(0, size), truncated: true };
}

/** A MIME part: its header fields (already formatted) and body. */
function part(headers: string[], body: string): string {
  return `${headers.join('')}\r\n${body}`;
}

/** Wraps human text at spaces to at most 76 characters a line (longer words stay whole). */
function wrapText(text: string, width = 76): string {
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    if (paragraph.length <= width) {
      out.push(paragraph);
      continue;
    }
    let line = '';
    for (const word of paragraph.split(' ')) {
      if (line && line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    out.push(line);
  }
  return out.join('\r\n');
}

/**
 * Builds the report. Deterministic: the same options give the same bytes (the boundary is
 * derived from them).
 * @throws InvalidInputError for an invalid date, reporting MTA, sender or recipient list.
 */
export function buildNdr(opts: NdrOptions): Buffer {
  for (const [name, d] of [
    ['now', opts.now],
    ['arrivalDate', opts.arrivalDate],
  ] as const) {
    if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new InvalidInputError(name, 'invalid date');
  }
  if (!Buffer.isBuffer(opts.originalHeaders)) {
    throw new InvalidInputError('originalHeaders', 'must be a Buffer');
  }
  const mta = hostName(opts.reportingMta ?? '');
  if (!mta) throw new InvalidInputError('reportingMta', 'must be a host name');
  const to = address(opts.to ?? '');
  if (!to) throw new InvalidInputError('to', 'an address is required');
  const from = sanitizeHeaderText(opts.from ?? '');
  if (!from) throw new InvalidInputError('from', 'a mailbox is required');
  const recipients = [...new Set((opts.recipients ?? []).map(address).filter((r) => r.length > 0))];
  if (recipients.length === 0) {
    throw new InvalidInputError('recipients', 'a report needs at least one recipient (RFC 3464 2.3)');
  }

  const { status, diagnostic } = opts.status ?? statusFor(opts.reasons ?? []);
  const inboundId = sanitizeHeaderText(opts.inboundMessageId ?? '');

  // text/rfc822-headers: the original header block, cut at a field boundary if too long.
  const original = truncateHeaders(opts.originalHeaders, MAX_ORIGINAL_HEADER_BYTES);
  const headersText = crlf(original.kept);
  const headers7bit = is7bit(headersText);
  const headersBody = headers7bit ? headersText.toString('latin1') : quotedPrintable(headersText);

  // The human explanation.
  const explanation = [
    `This is the mail system at ${mta}.`,
    '',
    recipients.length === 1
      ? 'Your message could not be delivered to the following recipient:'
      : 'Your message could not be delivered to the following recipients:',
    '',
    ...recipients.map((r) => `  ${r}`),
    '',
    `Reason: ${diagnostic} (${status}).`,
    '',
    'The message was not sent and no further attempts will be made.',
    original.truncated
      ? `The headers of your message are attached, cut to their first ${original.kept.length} bytes (of ${opts.originalHeaders.length}).`
      : 'The headers of your message are attached.',
    ...(inboundId ? ['', `Reference: ${inboundId}`] : []),
  ].join('\n');
  const textBuf = Buffer.from(`${wrapText(explanation)}\r\n`, 'utf8');
  const text7bit = is7bit(textBuf);
  const textBody = text7bit ? textBuf.toString('latin1') : quotedPrintable(textBuf);

  // message/delivery-status: per-message fields, then one block per recipient.
  const perMessage = [
    formatField('Reporting-MTA', `dns; ${mta}`),
    formatField('Arrival-Date', rfc5322Date(opts.arrivalDate)),
  ].join('');
  const perRecipient = recipients.map((r) =>
    [
      formatField('Final-Recipient', typedAddress(r)),
      formatField('Action', 'failed'),
      formatField('Status', status),
      formatField('Diagnostic-Code', `smtp; 550 ${status} ${diagnostic}`),
    ].join(''),
  );
  const dsnBody = [perMessage, ...perRecipient].join('\r\n');

  const parts = [
    part(
      [
        formatField('Content-Type', 'text/plain; charset=utf-8'),
        formatField('Content-Transfer-Encoding', text7bit ? '7bit' : 'quoted-printable'),
        formatField('Content-Description', 'Notification'),
      ],
      textBody,
    ),
    part(
      [
        formatField('Content-Type', 'message/delivery-status'),
        formatField('Content-Description', 'Delivery report'),
      ],
      dsnBody,
    ),
    part(
      [
        formatField('Content-Type', 'text/rfc822-headers'),
        formatField('Content-Transfer-Encoding', headers7bit ? '7bit' : 'quoted-printable'),
        formatField(
          'Content-Description',
          original.truncated ? 'Undelivered message headers (truncated)' : 'Undelivered message headers',
        ),
      ],
      headersBody,
    ),
  ];

  // A boundary that occurs in no part (RFC 2046 5.1.1), derived from the content.
  const hash = createHash('sha256')
    .update(inboundId)
    .update(opts.now.toISOString())
    .update(opts.originalHeaders);
  let boundary = '';
  for (let n = 0; ; n++) {
    boundary = `=_ndr_${createHash('sha256').update(hash.copy().digest()).update(String(n)).digest('hex').slice(0, 32)}`;
    if (!parts.some((p) => p.includes(boundary))) break;
  }

  const head = [
    formatField('Return-Path', '<>'),
    formatField('From', from),
    formatField('To', `<${to}>`),
    formatField('Subject', NDR_SUBJECT),
    formatField('Date', rfc5322Date(opts.now)),
    formatField('Message-ID', `<ndr.${idLeft(inboundId)}@${mta}>`),
    formatField('MIME-Version', '1.0'),
    formatField('Auto-Submitted', 'auto-replied'),
    formatField('Content-Type', `multipart/report; report-type=delivery-status; boundary="${boundary}"`),
  ].join('');
  const body = `${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('')}--${boundary}--\r\n`;
  // The parts are ASCII (7bit checked, or quoted-printable); the head may carry UTF-8 (RFC 6532).
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'utf8'), Buffer.from(body, 'latin1')]);
}
