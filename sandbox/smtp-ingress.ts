/**
 * SES inbound, played locally: an SMTP server (`smtp-server`) that does what the receipt rule
 * of the stack does in AWS — accept mail for the accepted domains and the SRS domain, compute
 * the verdicts SES puts in the receipt event, store the raw message in S3 (the S3 action), and
 * invoke the router Lambda asynchronously (the Lambda action, `InvocationType: Event`).
 *
 * ## The SMTP side
 *
 * - RCPT TO: an address of the SRS domain is always accepted (bounces come back to it; the
 *   router reverses or drops them). An address of an accepted domain is accepted when a route
 *   (exact, then catch-all) exists, else refused `550 5.1.1` — the sandbox never takes mail it
 *   would drop as `no-route`. Any other domain is refused `554 5.7.1` (no relaying).
 * - SIZE is `maxMessageBytes`: a larger message is refused `552 5.3.4`.
 * - The client IP used for SPF is the connection's address, or the one given with the Postfix
 *   `XCLIENT ADDR=` (or `XFORWARD ADDR=`) command, which loopback clients may send: everything
 *   runs on 127.0.0.1, so that is how a test or a person says "this came from 192.0.2.10"
 *   (`swaks --xclient-addr 192.0.2.10`). The HELO name is the client's EHLO/HELO.
 * - After DATA, the message is answered `250 Ok <message id>` once it is stored in S3; a
 *   storage failure is `451 4.3.0` (the client retries, as with SES).
 *
 * ## Verdicts (what SES puts in `receipt.*Verdict.status`)
 *
 * SES documents PASS, FAIL, GRAY and PROCESSING_FAILED for each verdict ("Contents of
 * notifications for Amazon SES email receiving", receipt object). The sandbox computes SPF,
 * DKIM, DMARC (and ARC, which SES does not report) with `mailauth` `authenticate()` through the
 * injected resolver, and maps them like this:
 *
 * | verdict | PASS                      | FAIL                                    | GRAY                                   | PROCESSING_FAILED        |
 * | ------- | ------------------------- | --------------------------------------- | -------------------------------------- | ------------------------ |
 * | SPF     | `pass`                    | `fail`, `softfail` (not authorized)     | `none`, `neutral` (no policy asserted) | `temperror`, `permerror` |
 * | DKIM    | a signature passes        | signatures, none passes (fail, neutral, policy, permerror) | no signature       | none passes, one `temperror` |
 * | DMARC   | `pass`                    | `fail` (+ `dmarcPolicy`: the effective policy) | `none` (no record), or no single author domain | `temperror`    |
 * | spam    | scanner says PASS (default: no GTUBE string) | scanner says FAIL (GTUBE found) | scanner's choice              | the scanner threw        |
 * | virus   | scanner says PASS (default: no EICAR string) | scanner says FAIL (EICAR found) | scanner's choice              | the scanner threw        |
 *
 * `dmarcPolicy` is set only when DMARC failed, as SES does. Scanners are pluggable functions;
 * the defaults look for the GTUBE and EICAR test strings in the raw message and in every
 * base64 block of it (so an attached EICAR file is found too).
 *
 * ## The stored message and the event
 *
 * Like SES, the S3 object is the message as received with trace fields prepended:
 * `Return-Path`, `Received` (`from HELO ([IP]) by HOST with SMTP id ID for RCPT; DATE`),
 * `X-SES-Spam-Verdict`, `X-SES-Virus-Verdict`, and mailauth's `Received-SPF` and
 * `Authentication-Results`. The key is `prefix + messageId`, the message id 40 characters of
 * base32hex as SES's. The event is the real SES Lambda-action event (`Records[0].ses.mail` and
 * `.receipt`); `mail.headers` stops at 10 KB with `headersTruncated: true`.
 *
 * ## Invocation
 *
 * Asynchronous, like Lambda's `Event` invocations: the SMTP client has its `250` before the
 * handler runs. When the handler throws a retryable error it is retried after each delay of
 * `retryDelaysMs` (default 1 s and 2 s: Lambda retries twice, after about 1 and 2 minutes),
 * then the event goes to an in-memory dead-letter list (Lambda's on-failure destination). A
 * non-retryable error goes there at once: a retry would fail the same way.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import libmime from 'libmime';
import { authenticate } from 'mailauth';
import addressparser from 'nodemailer/lib/addressparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Config } from '../functions/core/config.js';
import type { Resolver } from '../functions/core/dns/resolver.js';
import { isRetryable } from '../functions/core/errors.js';
import { mapSpfResult } from '../functions/core/gateways.js';
import { domainOf } from '../functions/core/message.js';
import { routeFor } from '../functions/core/routes.js';
import { receiptEventOf, type VerdictStatus } from '../functions/core/ses-event.js';
import type { SendRecord } from '../functions/router/ports.js';
import type { PipelineResult } from '../functions/router/process.js';

/** The GTUBE test string (SpamAssassin): a message containing it is spam for every filter. */
export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';
/**
 * The EICAR anti-virus test string. Built from two halves so this source file is not itself
 * flagged by a virus scanner on a developer's machine.
 */
export const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-', 'STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join('');

/** Default name of the sandbox's receiving host (Received `by`, Authentication-Results authserv-id). */
export const SANDBOX_HOSTNAME = 'inbound-smtp.sandbox.localhost';
/** SES truncates `mail.headers` in notifications past 10 KB. */
const HEADERS_LIMIT_BYTES = 10 * 1024;

export interface ScanInput {
  /** The message as the client sent it. */
  raw: Buffer;
  /** Envelope sender, `''` for the null reverse path. */
  mailFrom: string;
  rcptTo: string[];
  clientIp: string;
  helo: string;
}

/** A spam or virus scanner: its verdict, in SES's words. A throw is PROCESSING_FAILED. */
export type Scanner = (input: ScanInput) => VerdictStatus | Promise<VerdictStatus>;

/**
 * Whether `needle` occurs in the raw message or in a decoded base64 block of it (a run of
 * base64 lines, as MIME writes attachments). Enough for the test strings; not a MIME parser.
 */
export function containsTestString(raw: Buffer, needle: string): boolean {
  const text = raw.toString('latin1');
  if (text.includes(needle)) return true;
  const block: string[] = [];
  const check = () => {
    if (block.length === 0) return false;
    const decoded = Buffer.from(block.join(''), 'base64').toString('latin1');
    block.length = 0;
    return decoded.includes(needle);
  };
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t.length >= 4 && /^[A-Za-z0-9+/]+={0,2}$/.test(t)) {
      block.push(t);
      if (t.endsWith('=') && check()) return true;
    } else if (check()) {
      return true;
    }
  }
  return check();
}

/** The default spam scanner: FAIL for the GTUBE string, else PASS. */
export const gtubeScanner: Scanner = ({ raw }) => (containsTestString(raw, GTUBE) ? 'FAIL' : 'PASS');
/** The default virus scanner: FAIL for the EICAR string, else PASS. */
export const eicarScanner: Scanner = ({ raw }) => (containsTestString(raw, EICAR) ? 'FAIL' : 'PASS');

// --- verdict mapping (see the table above) -------------------------------------------------

/** mailauth's SPF result → SES `spfVerdict` (as enhanced filtering maps it; temperror → PROCESSING_FAILED). */
export function spfVerdict(result: string | undefined): VerdictStatus {
  return mapSpfResult(result ?? '') ?? 'PROCESSING_FAILED';
}

/** mailauth's DKIM results (one per signature, or one `none` row) → SES `dkimVerdict`. */
export function dkimVerdict(results: readonly { status?: { result?: string } }[]): VerdictStatus {
  const outcomes = results.map((r) => r.status?.result ?? 'none').filter((r) => r !== 'none');
  if (outcomes.length === 0) return 'GRAY';
  if (outcomes.includes('pass')) return 'PASS';
  if (outcomes.includes('temperror')) return 'PROCESSING_FAILED';
  return 'FAIL';
}

/** mailauth's DMARC result → SES `dmarcVerdict` and, when it failed, `dmarcPolicy`. */
export function dmarcVerdict(dmarc: { status?: { result?: string }; policy?: string } | false | undefined): {
  status: VerdictStatus;
  policy?: string;
} {
  if (!dmarc) return { status: 'GRAY' };
  switch (dmarc.status?.result) {
    case 'pass':
      return { status: 'PASS' };
    case 'fail':
      return { status: 'FAIL', policy: (dmarc.policy || 'none').toLowerCase() };
    case 'none':
      return { status: 'GRAY' };
    default:
      return { status: 'PROCESSING_FAILED' };
  }
}

export interface Verdicts {
  spam: VerdictStatus;
  virus: VerdictStatus;
  spf: VerdictStatus;
  dkim: VerdictStatus;
  dmarc: VerdictStatus;
  /** Only when DMARC failed: `none`, `quarantine` or `reject`. */
  dmarcPolicy?: string;
  /** ARC chain result (mailauth); SES does not report one, the sandbox logs it. */
  arc: string;
}

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

// --- the ingress ---------------------------------------------------------------------------------

/** One received message and what became of it. */
export interface ProcessedMessage {
  messageId: string;
  receivedAt: string;
  /** Envelope sender, `''` for the null reverse path. */
  sender: string;
  recipients: string[];
  clientIp: string;
  helo: string;
  verdicts: Verdicts;
  /** `failed` = dead-lettered. */
  outcome: PipelineResult['outcome'] | 'failed';
  pool: PipelineResult['pool'];
  reasons: PipelineResult['reasons'];
  sends: SendRecord[];
  /** Handler invocations made (1 + retries). */
  attempts: number;
  error?: string;
}

export interface DeadLetter {
  messageId: string;
  at: string;
  attempts: number;
  error: string;
  retryable: boolean;
  /** The event, for a manual redrive. */
  event: Record<string, unknown>;
}

/** What the ingress tells its log. */
export type IngressEvent =
  | {
      type: 'refused';
      at: string;
      sender: string;
      recipient: string;
      clientIp: string;
      code: number;
      response: string;
    }
  | { type: 'rejected'; at: string; sender: string; recipients: string[]; code: number; response: string }
  | {
      type: 'accepted';
      at: string;
      messageId: string;
      sender: string;
      recipients: string[];
      verdicts: Verdicts;
    }
  | { type: 'retry'; at: string; messageId: string; attempt: number; delayMs: number; error: string }
  | { type: 'processed'; at: string; message: ProcessedMessage }
  | { type: 'dead-letter'; at: string; message: ProcessedMessage; deadLetter: DeadLetter };

/** Invokes the router with a receipt event (the sandbox wraps the middy handler). */
export type Invoke = (event: Record<string, unknown>) => Promise<PipelineResult>;

export interface IngressOptions {
  config: Config;
  resolver: Resolver;
  s3: S3Client;
  bucket: string;
  prefix: string;
  invoke: Invoke;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  hostname?: string;
  functionArn?: string;
  spamScanner?: Scanner;
  virusScanner?: Scanner;
  /** Delays before each retry of a retryable failure; default [1000, 2000]. */
  retryDelaysMs?: number[];
  /** Who may send XCLIENT/XFORWARD; default loopback only. */
  trustedProxies?: string[];
  onEvent?: (event: IngressEvent) => void;
  clock?: () => Date;
}

export interface SmtpIngress {
  host: string;
  port: number;
  /** Messages processed or dead-lettered so far, oldest first. */
  processed(): ProcessedMessage[];
  deadLetters(): DeadLetter[];
  /** Resolves when the message reached its end (processed or dead-lettered). */
  waitFor(messageId: string, timeoutMs?: number): Promise<ProcessedMessage>;
  /** Resolves once nothing is being stored, invoked or waiting for a retry. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

class SmtpError extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** `::ffff:192.0.2.1` → `192.0.2.1` (SPF checks IPv4-mapped addresses as IPv4). */
function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function readStream(stream: SMTPServerDataStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

async function scan(scanner: Scanner, input: ScanInput): Promise<VerdictStatus> {
  try {
    return await scanner(input);
  } catch {
    return 'PROCESSING_FAILED';
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startSmtpIngress(opts: IngressOptions): Promise<SmtpIngress> {
  const config = opts.config;
  const host = opts.host ?? '127.0.0.1';
  const hostname = opts.hostname ?? SANDBOX_HOSTNAME;
  const clock = opts.clock ?? (() => new Date());
  const functionArn =
    opts.functionArn ?? 'arn:aws:lambda:us-east-1:000000000000:function:outbound-pools-router';
  const retryDelays = opts.retryDelaysMs ?? [1000, 2000];
  const spamScanner = opts.spamScanner ?? gtubeScanner;
  const virusScanner = opts.virusScanner ?? eicarScanner;
  const emit = (e: IngressEvent) => {
    try {
      opts.onEvent?.(e);
    } catch {
      // a broken log sink must not break mail
    }
  };
  const accepted = new Set(config.acceptedDomains);
  const processed: ProcessedMessage[] = [];
  const deadLetters: DeadLetter[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const finished = new Map<string, ProcessedMessage>();
  const waiters = new Map<string, ((m: ProcessedMessage) => void)[]>();

  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    return p;
  };
  const finish = (m: ProcessedMessage) => {
    processed.push(m);
    finished.set(m.messageId, m);
    for (const w of waiters.get(m.messageId) ?? []) w(m);
    waiters.delete(m.messageId);
  };

  /** RCPT TO: the SRS domain always; accepted domains when routed; nothing else. */
  function checkRecipient(address: string): SmtpError | null {
    const rcpt = address.trim().toLowerCase();
    const domain = domainOf(rcpt);
    if (domain === config.srs.domain) return null;
    if (domain === undefined || !accepted.has(domain)) {
      return new SmtpError(
        554,
        `5.7.1 <${rcpt}>: Relay access denied (${domain ?? 'no domain'} is not an accepted domain)`,
      );
    }
    if (!routeFor(config, rcpt)) {
      return new SmtpError(550, `5.1.1 <${rcpt}>: Recipient address rejected: no route for this address`);
    }
    return null;
  }

  async function verdictsFor(
    raw: Buffer,
    input: ScanInput,
  ): Promise<{ verdicts: Verdicts; authHeaders: string }> {
    const [spam, virus] = await Promise.all([scan(spamScanner, input), scan(virusScanner, input)]);
    try {
      const auth = await authenticate(raw, {
        ip: input.clientIp,
        helo: input.helo,
        sender: input.mailFrom,
        mta: hostname,
        resolver: opts.resolver,
        disableBimi: true,
        trustReceived: false,
      });
      const dmarc = dmarcVerdict(auth.dmarc);
      const verdicts: Verdicts = {
        spam,
        virus,
        spf: spfVerdict(auth.spf ? auth.spf.status.result : undefined),
        dkim: dkimVerdict(auth.dkim.results ?? []),
        dmarc: dmarc.status,
        ...(dmarc.policy ? { dmarcPolicy: dmarc.policy } : {}),
        arc: auth.arc ? String(auth.arc.status.result) : 'none',
      };
      return { verdicts, authHeaders: auth.headers };
    } catch {
      // SES reports a check it could not run as PROCESSING_FAILED, and so does the sandbox.
      const failed: VerdictStatus = 'PROCESSING_FAILED';
      return {
        verdicts: { spam, virus, spf: failed, dkim: failed, dmarc: failed, arc: 'none' },
        authHeaders: '',
      };
    }
  }

  /** The S3 object: the received message with SES-like trace fields on top. */
  function storedMessage(
    raw: Buffer,
    a: {
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
      `Received: from ${a.helo || 'unknown'} (${a.helo || 'unknown'} [${a.clientIp}])\r\n by ${hostname} with SMTP id ${a.messageId}${forClause};\r\n ${rfc5322Date(a.at)} (UTC)`,
      `X-SES-Spam-Verdict: ${a.verdicts.spam}`,
      `X-SES-Virus-Verdict: ${a.verdicts.virus}`,
    ];
    const trace = Buffer.from(`${lines.join('\r\n')}\r\n${a.authHeaders.replace(/\r?\n/g, '\r\n')}`);
    return Buffer.concat([trace, raw]);
  }

  async function invokeWithRetries(
    event: Record<string, unknown>,
    base: Omit<ProcessedMessage, 'outcome' | 'pool' | 'reasons' | 'sends' | 'attempts'>,
  ) {
    let attempt = 0;
    for (;;) {
      attempt++;
      try {
        const result = await opts.invoke(event);
        const message: ProcessedMessage = {
          ...base,
          outcome: result.outcome,
          pool: result.pool,
          reasons: result.reasons,
          sends: result.sends,
          attempts: attempt,
        };
        finish(message);
        emit({ type: 'processed', at: clock().toISOString(), message });
        return;
      } catch (error) {
        const retryable = isRetryable(error);
        const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        const delay = retryDelays[attempt - 1];
        if (retryable && delay !== undefined) {
          emit({
            type: 'retry',
            at: clock().toISOString(),
            messageId: base.messageId,
            attempt,
            delayMs: delay,
            error: text,
          });
          await sleep(delay);
          continue;
        }
        const deadLetter: DeadLetter = {
          messageId: base.messageId,
          at: clock().toISOString(),
          attempts: attempt,
          error: text,
          retryable,
          event,
        };
        deadLetters.push(deadLetter);
        const message: ProcessedMessage = {
          ...base,
          outcome: 'failed',
          pool: null,
          reasons: [],
          sends: [],
          attempts: attempt,
          error: text,
        };
        finish(message);
        emit({ type: 'dead-letter', at: deadLetter.at, message, deadLetter });
        return;
      }
    }
  }

  async function receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const raw = await readStream(stream);
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address.toLowerCase() : '';
    const recipients = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
    if (stream.sizeExceeded || raw.length > config.maxMessageBytes) {
      throw new SmtpError(
        552,
        `5.3.4 Message size exceeds fixed maximum message size (${config.maxMessageBytes} bytes)`,
      );
    }
    const receivedAt = clock();
    const clientIp = plainIp(session.remoteAddress);
    const helo = session.hostNameAppearsAs || '';
    const input: ScanInput = { raw, mailFrom, rcptTo: recipients, clientIp, helo };
    const { verdicts, authHeaders } = await verdictsFor(raw, input);
    const messageId = sesMessageId();
    const stored = storedMessage(raw, {
      messageId,
      mailFrom,
      recipients,
      clientIp,
      helo,
      verdicts,
      authHeaders,
      at: receivedAt,
    });
    try {
      await opts.s3.send(
        new PutObjectCommand({ Bucket: opts.bucket, Key: `${opts.prefix}${messageId}`, Body: stored }),
      );
    } catch (error) {
      throw new SmtpError(
        451,
        `4.3.0 Temporary failure storing the message, try again later (${(error as Error).message})`,
      );
    }
    emit({
      type: 'accepted',
      at: receivedAt.toISOString(),
      messageId,
      sender: mailFrom,
      recipients,
      verdicts,
    });
    const base = {
      messageId,
      receivedAt: receivedAt.toISOString(),
      sender: mailFrom,
      recipients,
      clientIp,
      helo,
      verdicts,
    };
    // The Lambda action runs after the SMTP transaction, as SES's asynchronous invocation.
    track(
      (async () => {
        await sleep(0);
        const event = buildReceiptEvent({
          messageId,
          stored,
          mailFrom,
          recipients,
          verdicts,
          receivedAt,
          actionAt: clock(),
          functionArn,
        });
        await invokeWithRetries(event, base);
      })(),
    );
    return messageId;
  }

  const server = new SMTPServer({
    name: hostname,
    banner: 'outbound-pools sandbox (Amazon SES inbound, played locally)',
    size: config.maxMessageBytes,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    hideENHANCEDSTATUSCODES: true,
    useXClient: opts.trustedProxies ?? ['127.0.0.1', '::1'],
    useXForward: opts.trustedProxies ?? ['127.0.0.1', '::1'],
    logger: false,
    closeTimeout: 1000,
    onRcptTo(address, session, callback) {
      const refused = checkRecipient(address.address);
      if (refused) {
        emit({
          type: 'refused',
          at: clock().toISOString(),
          sender: session.envelope.mailFrom ? session.envelope.mailFrom.address.toLowerCase() : '',
          recipient: address.address.toLowerCase(),
          clientIp: plainIp(session.remoteAddress),
          code: refused.responseCode,
          response: refused.message,
        });
        return callback(refused);
      }
      callback();
    },
    onData(stream, session, callback) {
      const done = track(receive(stream, session));
      done.then(
        (messageId) => callback(null, `2.0.0 Ok ${messageId}`),
        (error: unknown) => {
          const e =
            error instanceof SmtpError
              ? error
              : new SmtpError(451, `4.3.0 Local error in processing (${(error as Error).message})`);
          emit({
            type: 'rejected',
            at: clock().toISOString(),
            sender: session.envelope.mailFrom ? session.envelope.mailFrom.address.toLowerCase() : '',
            recipients: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            code: e.responseCode,
            response: e.message,
          });
          // The rest of the message must still be read before the reply goes out.
          stream.resume();
          callback(e);
        },
      );
    },
  });
  server.on('error', () => undefined);

  const port = await new Promise<number>((resolve, reject) => {
    const requested = opts.port ?? 0;
    const onError = (err: NodeJS.ErrnoException) => {
      const what =
        err.code === 'EADDRINUSE'
          ? `port ${requested} on ${host} is already in use (EADDRINUSE)`
          : `cannot listen on ${host}:${requested}: ${err.message}`;
      reject(
        Object.assign(new Error(`smtp ingress: ${what}`, { cause: err }), {
          code: err.code,
          service: 'smtp',
          port: requested,
        }),
      );
    };
    server.server.once('error', onError);
    server.listen(requested, host, () => {
      server.server.off('error', onError);
      resolve((server.server.address() as AddressInfo).port);
    });
  });

  let closed: Promise<void> | undefined;
  return {
    host,
    port,
    processed: () => processed.slice(),
    deadLetters: () => deadLetters.slice(),
    waitFor(messageId, timeoutMs = 30_000) {
      const done = finished.get(messageId);
      if (done) return Promise.resolve(done);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`message ${messageId} was not processed within ${timeoutMs} ms`)),
          timeoutMs,
        );
        const list = waiters.get(messageId) ?? [];
        list.push((m) => {
          clearTimeout(timer);
          resolve(m);
        });
        waiters.set(messageId, list);
      });
    },
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    close() {
      closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closed;
    },
  };
}

/** A fake Lambda context for the middy handler (what `injectLambdaContext` reads). */
export function lambdaContext(functionArn: string) {
  const functionName = functionArn.slice(functionArn.lastIndexOf(':') + 1);
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'sandbox',
    getRemainingTimeInMillis: () => 120_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
