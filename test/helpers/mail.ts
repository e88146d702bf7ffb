/**
 * Test fixtures made by the tests themselves: SES receipt events, raw messages, DKIM keys
 * and signatures (mailauth's signer, keys generated per run), and a zone map to match.
 */
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { type CopyDeps, composeCopy } from '../../functions/core/compose/copy.js';
import { type Config, parseConfig } from '../../functions/core/config.js';
import type { Decision, PlannedSend } from '../../functions/core/decide.js';
import type { Zones } from '../../functions/core/dns/zone-resolver.js';
import {
  parseReceiptEvent,
  type ReceivedMail,
  receiptEventOf,
  type VerdictStatus,
} from '../../functions/core/ses-event.js';

export const NOW = new Date('2026-11-23T10:00:00.000Z');

export const CONFIG_JSON = {
  acceptedDomains: ['example.com', 'example.org'],
  routes: {
    'alias@example.com': ['dest@remote.test'],
    'team@example.com': ['ann@remote.test', 'bob@example.org'],
    '@example.org': ['catchall@remote.test'],
  },
  srs: { domain: 'fwd.example.com', secrets: ['test-secret-newest', 'test-secret-older'], maxAgeDays: 21 },
  limits: { default: { externalPerHour: 5, internalPerHour: 10, perDay: 20, recipientsPerMessage: 60 } },
};

export function testConfig(overrides: Record<string, unknown> = {}): Config {
  return parseConfig({ ...CONFIG_JSON, ...overrides });
}

export interface EventOptions {
  source?: string;
  recipients?: string[];
  spf?: VerdictStatus;
  dkim?: VerdictStatus;
  dmarc?: VerdictStatus;
  spam?: VerdictStatus;
  virus?: VerdictStatus;
  messageId?: string;
}

/** An SES Lambda-action receipt event, as SES delivers it (no dmarcPolicy unless DMARC failed). */
export function sesEvent(o: EventOptions = {}): Record<string, unknown> {
  const recipients = o.recipients ?? ['alias@example.com'];
  const receipt: Record<string, unknown> = {
    timestamp: NOW.toISOString(),
    processingTimeMillis: 321,
    recipients,
    spamVerdict: { status: o.spam ?? 'PASS' },
    virusVerdict: { status: o.virus ?? 'PASS' },
    spfVerdict: { status: o.spf ?? 'PASS' },
    dkimVerdict: { status: o.dkim ?? 'GRAY' },
    dmarcVerdict: { status: o.dmarc ?? 'GRAY' },
    action: {
      type: 'Lambda',
      functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:router',
      invocationType: 'Event',
    },
  };
  if (o.dmarc === 'FAIL') receipt.dmarcPolicy = 'reject';
  const mail = {
    timestamp: NOW.toISOString(),
    source: o.source ?? 'alice@sender.test',
    messageId: o.messageId ?? 'msg-0001',
    destination: recipients,
    headersTruncated: false,
    headers: [],
    commonHeaders: { returnPath: o.source ?? 'alice@sender.test' },
  };
  return receiptEventOf(mail, receipt);
}

export function received(o: EventOptions = {}): ReceivedMail {
  return parseReceiptEvent(sesEvent(o));
}

export interface MessageOptions {
  from?: string | null;
  to?: string;
  subject?: string;
  headers?: string[];
  contentType?: string;
  body?: string;
}

/** A raw RFC 5322 message with CRLF line ends. `from: null` leaves the From field out. */
export function message(o: MessageOptions = {}): Buffer {
  const lines = [
    ...(o.headers ?? []),
    ...(o.from === null ? [] : [`From: ${o.from ?? 'Alice Sender <alice@sender.test>'}`]),
    `To: ${o.to ?? 'alias@example.com'}`,
    `Subject: ${o.subject ?? 'Hello'}`,
    'Message-ID: <fixture-1@sender.test>',
    'Date: Mon, 23 Nov 2026 10:00:00 +0000',
    'MIME-Version: 1.0',
    `Content-Type: ${o.contentType ?? 'text/plain; charset=utf-8'}`,
  ];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${o.body ?? 'Hello there.\r\n'}`);
}

export interface DkimKey {
  domain: string;
  selector: string;
  privateKey: string;
  /** The TXT record to publish at `selector._domainkey.domain`. */
  record: string;
}

/**
 * An RSA key of `modulusLength` bits for `selector._domainkey.domain`: a sender's DKIM key, or
 * (`dkimKey('fwd.example.com', 'arc1')`) the ARC key the test configuration names, which is
 * an `ArcSigningKey` too.
 */
export function dkimKey(domain: string, selector = 'sel1', modulusLength = 2048): DkimKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
  const der = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return {
    domain,
    selector,
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    record: `v=DKIM1; k=rsa; p=${der}`,
  };
}

/** Prepends a DKIM-Signature made with `key` (signing time = NOW). */
export async function sign(raw: Buffer, key: DkimKey): Promise<Buffer> {
  const result = await dkimSign(raw, {
    signTime: NOW,
    signatureData: [{ signingDomain: key.domain, selector: key.selector, privateKey: key.privateKey }],
  } as unknown as Parameters<typeof dkimSign>[1]);
  if (result.errors?.length) throw new Error(`signing failed: ${JSON.stringify(result.errors)}`);
  return Buffer.concat([Buffer.from(result.signatures), raw]);
}

/** A zone map where the usual test senders resolve, plus the given DKIM keys. */
export function zones(keys: DkimKey[] = [], extra: Zones = {}): Zones {
  const z: Zones = {
    'sender.test': { A: ['192.0.2.10'], MX: [{ exchange: 'mx.sender.test', priority: 10 }] },
    'mail.sender.test': { A: ['192.0.2.11'] },
    'example.com': { MX: [{ exchange: 'inbound-smtp.us-east-1.amazonaws.com', priority: 10 }] },
    'example.org': { A: ['192.0.2.20'] },
    'third-party.test': { A: ['192.0.2.30'] },
    'mx.remote.test': { A: ['192.0.2.40'] },
    'nullmx.test': { MX: [{ exchange: '', priority: 0 }] },
    'nowhere.test': { TXT: ['v=spf1 -all'] },
    'servfail.test': { SERVFAIL: true },
    ...extra,
  };
  for (const k of keys) z[`${k.selector}._domainkey.${k.domain}`] = { TXT: [k.record] };
  return z;
}

/**
 * The copy the router composes of `raw` for `send`, one of `decision`'s (message `m1`,
 * received at NOW for `recipients`, no ARC seal unless `deps` names a key): what a test that
 * replays our own copy back to us starts from.
 */
export function composeOurCopy(
  decision: Decision,
  send: PlannedSend,
  raw: Buffer,
  recipients: string[],
  deps: Pick<CopyDeps, 'config' | 'resolver'> & Partial<CopyDeps>,
): Promise<Buffer> {
  return composeCopy(
    send,
    raw,
    { messageId: 'm1', receivedAt: NOW.toISOString(), recipients, reasons: decision.reasons },
    decision.classification,
    { arcKey: null, ...deps },
    NOW,
  );
}
