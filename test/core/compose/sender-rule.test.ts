/**
 * One rule for `Sender` (issue 15 item 1; SES checks Sender as an identity, like From and
 * Return-Path): it reaches SES only beside a kept From and naming one address in a sending
 * domain; otherwise it is carried in `X-Original-Sender`. Checked with mailparser, another
 * parser than ours, on the composed bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type HeaderValue, simpleParser } from 'mailparser';
import { type RewriteOptions, rewriteMessage } from '../../../functions/core/compose/rewrite.js';
import type { DkimEvaluation } from '../../../functions/core/dkim.js';
import { sendingDomains } from '../../../functions/core/sending-domains.js';
import { message } from '../../helpers/mail.js';

const NO_DKIM: DkimEvaluation = { signatures: [], alignedPass: false, temperror: false };
const DOMAINS = sendingDomains({
  acceptedDomains: ['example.com', 'Example.ORG'],
  srs: { domain: 'fwd.example.com' } as never,
  bounceSink: 'mailer-daemon@bounces.example.net',
});

const KEPT: RewriteOptions['send'] = {
  from: '"Bob" <bob@example.com>',
  fromRewritten: false,
  replyTo: null,
  envelopeFrom: 'bob@example.com',
  pool: 'normal',
};
const REWRITTEN: RewriteOptions['send'] = {
  from: '"Alice via example.com" <alias@example.com>',
  fromRewritten: true,
  replyTo: 'alice@sender.test',
  envelopeFrom: 'bounce@fwd.example.com',
  pool: 'relay',
};

function compose(
  send: RewriteOptions['send'],
  headers: string[],
  sendingDomainsOpt: readonly string[] | null = DOMAINS,
) {
  return rewriteMessage(message({ from: 'Bob <bob@example.com>', headers }), {
    send,
    reasons: ['accepted-domain'],
    inboundMessageId: 'inbound-1',
    dkim: NO_DKIM,
    ...(sendingDomainsOpt === null ? {} : { sendingDomains: sendingDomainsOpt }),
  });
}

const addressesOf = (v: HeaderValue | undefined) =>
  (v as { value?: { address?: string }[] } | undefined)?.value?.map((m) => m.address ?? '') ?? [];

describe('sendingDomains', () => {
  it('the accepted domains, the SRS domain and the bounce sink domain, lower-cased, once each', () => {
    assert.deepEqual(DOMAINS, ['example.com', 'example.org', 'fwd.example.com', 'bounces.example.net']);
  });
});

describe('the Sender rule', () => {
  const cases = [
    {
      name: 'kept From, Sender in an accepted domain: kept',
      headers: ['Sender: Sec <sec@example.com>'],
      kept: 'sec@example.com',
    },
    {
      name: 'kept From, Sender in another case of a sending domain: kept',
      headers: ['Sender: sec@EXAMPLE.org'],
      kept: 'sec@EXAMPLE.org',
    },
    {
      name: 'kept From, Sender of the SRS domain: kept',
      headers: ['Sender: x@fwd.example.com'],
      kept: 'x@fwd.example.com',
    },
    {
      name: 'kept From, Sender elsewhere: moved',
      headers: ['Sender: bounces@esp.test'],
      moved: 'bounces@esp.test',
    },
    {
      name: 'kept From, Sender in a subdomain: moved (exact identities only)',
      headers: ['Sender: a@mail.example.com'],
      moved: 'a@mail.example.com',
    },
    {
      name: 'kept From, two addresses: moved',
      headers: ['Sender: a@example.com, b@esp.test'],
      moved: 'a@example.com, b@esp.test',
    },
    {
      name: 'kept From, an address hidden in a comment: moved',
      headers: ['Sender: a@example.com (b@esp.test)'],
      moved: 'a@example.com (b@esp.test)',
    },
    { name: 'kept From, an empty Sender: dropped', headers: ['Sender: '], moved: null },
    {
      name: 'kept From, a forged X-Original-Sender beside an unverified Sender: ours only',
      headers: ['X-Original-Sender: liar@example.com', 'Sender: bounces@esp.test'],
      moved: 'bounces@esp.test',
    },
    {
      name: 'kept From, two Sender fields, the first verified: the first kept only',
      headers: ['Sender: sec@example.com', 'Sender: bounces@esp.test'],
      kept: 'sec@example.com',
    },
    {
      name: 'rewritten From, even a verified Sender: moved',
      headers: ['Sender: sec@example.com'],
      send: REWRITTEN,
      moved: 'sec@example.com',
    },
    {
      name: 'no sending domains given: moved',
      headers: ['Sender: sec@example.com'],
      domains: null,
      moved: 'sec@example.com',
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      // Act
      const out = compose(c.send ?? KEPT, c.headers, c.domains === null ? null : DOMAINS);
      const parsed = await simpleParser(out);
      // Assess
      const senders = out.toString('latin1').match(/^sender:/gim) ?? [];
      if ('kept' in c) {
        assert.equal(senders.length, 1);
        assert.deepEqual(addressesOf(parsed.headers.get('sender')), [c.kept]);
        assert.equal(parsed.headers.get('x-original-sender'), undefined);
      } else {
        assert.equal(senders.length, 0);
        assert.equal(parsed.headers.get('sender'), undefined);
        const original = out.toString('latin1').match(/^x-original-sender:/gim) ?? [];
        assert.equal(original.length, c.moved ? 1 : 0);
        if (c.moved) assert.equal(parsed.headers.get('x-original-sender'), c.moved);
      }
    });
  }

  it('property: whatever the Sender, what reaches SES names one address of a sending domain (mailparser)', async () => {
    const local = fc.stringMatching(/^[a-z0-9.+-]{1,8}$/);
    const domain = fc.constantFrom('example.com', 'example.org', 'esp.test', 'mail.example.com', 'evil.test');
    const mailbox = fc.tuple(local, domain).map(([l, d]) => `${l}@${d}`);
    const value = fc.oneof(
      mailbox,
      fc.tuple(fc.string({ maxLength: 8 }), mailbox).map(([n, m]) => `"${n}" <${m}>`),
      fc.array(mailbox, { minLength: 2, maxLength: 3 }).map((a) => a.join(', ')),
      fc.tuple(mailbox, mailbox).map(([a, b]) => `${a} (${b})`),
      fc.tuple(mailbox, mailbox).map(([a, b]) => `${a} <${b}>`),
      fc.string({ maxLength: 20 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(value, { minLength: 1, maxLength: 2 }),
        fc.boolean(),
        async (values, kept) => {
          const out = compose(
            kept ? KEPT : REWRITTEN,
            values.map((v) => `Sender: ${v}`),
          );
          const parsed = await simpleParser(out);
          const sender = parsed.headers.get('sender');
          if (sender === undefined) return;
          assert.ok(kept, 'a rewritten From never keeps a Sender');
          const addresses = addressesOf(sender);
          assert.equal(addresses.length, 1);
          const d = addresses[0]!.slice(addresses[0]!.lastIndexOf('@') + 1).toLowerCase();
          assert.ok(DOMAINS.includes(d), `Sender domain ${d}`);
        },
      ),
      { numRuns: 150 },
    );
  });
});
