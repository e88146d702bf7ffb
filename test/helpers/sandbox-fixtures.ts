/**
 * Shared by the sandbox's test files: the configuration and DNS zones of the sandbox tests,
 * and messages built as a sender would (plain, or DKIM-signed with mailauth).
 */
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import type { DkimKey } from './mail.js';

export const SWAKS = '/usr/bin/swaks';

export const CONFIG = {
  acceptedDomains: ['example.com', 'example.org'],
  routes: {
    'alias@example.com': ['dest@remote.test'],
    'team@example.com': ['ann@remote.test', 'bob@example.org'],
  },
  srs: { domain: 'fwd.example.com', secrets: ['sandbox-test-secret'] },
  // A tiny hourly limit for one sender; `block` so that a release is not undone the same day.
  limits: { senders: { 'bulk@example.com': { externalPerHour: 2, action: 'block' } } },
};

export function zonesFor(key: DkimKey) {
  return {
    'sender.test': {
      A: ['192.0.2.10'],
      MX: [{ exchange: 'mx.sender.test', priority: 10 }],
      TXT: ['v=spf1 ip4:192.0.2.0/24 -all'],
    },
    [`${key.selector}._domainkey.sender.test`]: { TXT: [key.record] },
    '_dmarc.sender.test': { TXT: ['v=DMARC1; p=reject'] },
    'example.com': {
      MX: [{ exchange: 'inbound-smtp.us-east-1.amazonaws.com', priority: 10 }],
      TXT: ['v=spf1 ip4:198.51.100.0/24 -all'],
    },
    'example.org': { MX: [{ exchange: 'inbound-smtp.us-east-1.amazonaws.com', priority: 10 }] },
    'unauth.test': { A: ['203.0.113.50'], TXT: ['v=spf1 ip4:203.0.113.0/24 -all'] },
    'remote.test': { MX: [{ exchange: 'mx.remote.test', priority: 10 }] },
    'mx.remote.test': { A: ['192.0.2.40'], TXT: ['v=spf1 a -all'] },
  };
}

export const eml = (headers: string[], body: string) => `${headers.join('\r\n')}\r\n\r\n${body}`;
export const plain = (from: string, to: string, subject: string, body = 'Hello from the sandbox test.\r\n') =>
  eml(
    [
      `From: ${from}`,
      `To: ${to}`,
      `Subject: ${subject}`,
      `Message-ID: <${subject.replace(/\W+/g, '-')}-${process.pid}@sandbox.test>`,
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
    ],
    body,
  );

export async function signed(text: string, key: DkimKey): Promise<string> {
  const raw = Buffer.from(text);
  const result = await dkimSign(raw, {
    signTime: new Date(Date.now() - 60_000),
    signatureData: [{ signingDomain: key.domain, selector: key.selector, privateKey: key.privateKey }],
  } as unknown as Parameters<typeof dkimSign>[1]);
  if (result.errors?.length) throw new Error(`signing failed: ${JSON.stringify(result.errors)}`);
  return result.signatures + text;
}

export interface SwaksResult {
  code: number;
  output: string;
  messageId: string | undefined;
}
