/**
 * What SES inbound hands on, played locally.
 *
 * Like SES, the S3 object is the message as received with trace fields prepended:
 * `Return-Path`, `Received` (`from HELO ([IP]) by HOST with SMTP id ID for RCPT; DATE`),
 * `X-SES-Spam-Verdict`, `X-SES-Virus-Verdict`, and mailauth's `Received-SPF` and
 * `Authentication-Results`. The key is `prefix + messageId`, the message id 40 characters of
 * base32hex as SES's. The event is the real SES Lambda-action event (`Records[0].ses.mail` and
 * `.receipt`); `mail.headers` stops at 10 KB with `headersTruncated: true`.
 *
 */
import { randomBytes } from 'node:crypto';
import libmime from 'libmime';
import addressparser from 'nodemailer/lib/addressparser';
import { receiptEventOf } from '../../functions/core/ses-event.js';
import type { Verdicts } from './verdicts.js';

/** Default name of the sandbox's receiving host (Received `by`, Authentication-Results authserv-id). */
export const SANDBOX_HOSTNAME = 'inbound-smtp.sandbox.localhost';
/** SES truncates `mail.headers` in notifications past 10 KB. */
const HEADERS_LIMIT_BYTES = 10 * 1024;

// --- message ids, headers, event --------------------------------------------------------------

const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

/** A message id shaped like SES's: 40 characters of lower-case base32hex (200 random bits). */
export function sesMessageId(): string {
  const bytes = randomBytes(25);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32HEX[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** RFC 5322 date-time in UTC: `Mon, 23 Nov 2026 10:00:00 +0000`. */
export function rfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

interface RawHeader {
  name: string;
  value: string;
}

/** The header fields of a message, names as written, values unfolded (what SES lists). */
function headerFields(raw: Buffer): RawHeader[] {
  const text = raw.toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  const block = end < 0 ? text : text.slice(0, end);
  const out: RawHeader[] = [];
  for (const line of block.split(/\r?\n/)) {
    const m = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:(.*)$/s.exec(line);
    if (m && !/^[ \t]/.test(line)) out.push({ name: m[1]!, value: m[2]!.trim() });
    else if (out.length > 0 && line.trim()) out[out.length - 1]!.value += ` ${line.trim()}`;
  }
  return out;
}

/** An address list header as SES's `commonHeaders` gives it: one string per mailbox. */
function addressList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return addressparser(value, { flatten: true })
    .filter((a) => a.address)
    .map((a) => {
      const name = a.name ? libmime.decodeWords(a.name) : '';
      return name ? `${name} <${a.address}>` : a.address;
    });
}

function commonHeaders(fields: RawHeader[], returnPath: string): Record<string, unknown> {
  const get = (name: string) => fields.find((f) => f.name.toLowerCase() === name)?.value;
  const common: Record<string, unknown> = { returnPath };
  const from = addressList(get('from'));
  if (from) common.from = from;
  const date = get('date');
  if (date) common.date = date;
  for (const key of ['to', 'cc', 'bcc', 'sender', 'reply-to'] as const) {
    const list = addressList(get(key));
    if (list) common[key === 'reply-to' ? 'replyTo' : key] = list;
  }
  const messageId = get('message-id');
  if (messageId) common.messageId = messageId;
  const subject = get('subject');
  if (subject !== undefined) common.subject = libmime.decodeWords(subject);
  return common;
}

export interface ReceiptEventInput {
  messageId: string;
  /** The stored message (with the trace fields the sandbox prepended). */
  stored: Buffer;
  mailFrom: string;
  recipients: string[];
  verdicts: Verdicts;
  receivedAt: Date;
  /** When the action ran. */
  actionAt: Date;
  functionArn: string;
}

/** The SES receipt event of a Lambda action, as SES builds it. */
export function buildReceiptEvent(i: ReceiptEventInput): Record<string, unknown> {
  const fields = headerFields(i.stored);
  const headers: RawHeader[] = [];
  let size = 0;
  let truncated = false;
  for (const f of fields) {
    size += f.name.length + f.value.length + 4;
    if (size > HEADERS_LIMIT_BYTES) {
      truncated = true;
      break;
    }
    headers.push(f);
  }
  const v = i.verdicts;
  const receipt: Record<string, unknown> = {
    timestamp: i.actionAt.toISOString(),
    processingTimeMillis: Math.max(0, i.actionAt.getTime() - i.receivedAt.getTime()),
    recipients: i.recipients,
    spamVerdict: { status: v.spam },
    virusVerdict: { status: v.virus },
    spfVerdict: { status: v.spf },
    dkimVerdict: { status: v.dkim },
    dmarcVerdict: { status: v.dmarc },
    ...(v.dmarc === 'FAIL' ? { dmarcPolicy: v.dmarcPolicy ?? 'none' } : {}),
    action: { type: 'Lambda', functionArn: i.functionArn, invocationType: 'Event' },
  };
  const mail = {
    timestamp: i.receivedAt.toISOString(),
    source: i.mailFrom,
    messageId: i.messageId,
    destination: i.recipients,
    headersTruncated: truncated,
    headers,
    commonHeaders: commonHeaders(fields, i.mailFrom),
  };
  return receiptEventOf(mail, receipt);
}

/** The S3 object: the received message with SES-like trace fields on top. */
export function storedMessage(
  raw: Buffer,
  a: {
    hostname: string;
    messageId: string;
    mailFrom: string;
    recipients: string[];
    clientIp: string;
    helo: string;
    verdicts: Verdicts;
    authHeaders: string;
    at: Date;
  },
): Buffer {
  const forClause = a.recipients.length === 1 ? ` for ${a.recipients[0]}` : '';
  const lines = [
    `Return-Path: <${a.mailFrom}>`,
    `Received: from ${a.helo || 'unknown'} (${a.helo || 'unknown'} [${a.clientIp}])\r\n by ${a.hostname} with SMTP id ${a.messageId}${forClause};\r\n ${rfc5322Date(a.at)} (UTC)`,
    `X-SES-Spam-Verdict: ${a.verdicts.spam}`,
    `X-SES-Virus-Verdict: ${a.verdicts.virus}`,
  ];
  const trace = Buffer.from(`${lines.join('\r\n')}\r\n${a.authHeaders.replace(/\r?\n/g, '\r\n')}`);
  return Buffer.concat([trace, raw]);
}
