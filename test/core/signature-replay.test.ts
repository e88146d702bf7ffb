/**
 * Replayed signatures (SPEC 2a, "only what signatures prove"). A DKIM signature proves its
 * `d=` domain signed the From field and the body — not the envelope, and not who wrote a
 * copy this platform sent (SES signs every copy for the From we wrote into it). Each case is
 * an attack: a signed message re-sent unchanged with an envelope of the attacker's choosing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { type Decision, decideMessage } from '../../functions/core/decide.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import type { SenderState } from '../../functions/core/limits.js';
import { composeOurCopy, dkimKey, message, NOW, received, sign, testConfig, zones } from '../helpers/mail.js';

// The accepted domain's key (its own servers', or SES Easy DKIM's, which signs our copies),
// and the SRS domain's (SES signs the reversed bounces and NDRs sent from its bounce sink).
const exampleKey = dkimKey('example.com');
const srsKey = dkimKey('fwd.example.com');
const senderKey = dkimKey('sender.test');
const orgKey = dkimKey('example.org');
const ZONES = zones([exampleKey, srsKey, senderKey, orgKey], { 'attacker.test': { A: ['198.51.100.66'] } });
const resolver = zoneResolver(ZONES);
const identities = (d: Decision) => d.classification.usage.map((u) => u.identity);

/** The decision on `raw` arriving with envelope `source`, SPF `spf` and DMARC PASS (SES's word). */
function decideAs(
  raw: Buffer,
  source: string,
  spf: 'PASS' | 'FAIL' | 'GRAY',
  opts: {
    recipients?: string[];
    config?: ReturnType<typeof testConfig>;
    senders?: Record<string, SenderState>;
  } = {},
) {
  return decideMessage({
    received: received({
      source,
      spf,
      dmarc: spf === 'GRAY' ? 'GRAY' : 'PASS',
      recipients: opts.recipients ?? ['alias@example.com'],
    }),
    raw,
    config: opts.config ?? testConfig(),
    resolver,
    now: NOW,
    senders: opts.senders ?? {},
  });
}

describe('a replayed own-domain signature counts under the signed From, not an envelope of the replayer', () => {
  const over: SenderState = { counters: { externalHour: 5, internalHour: 10, day: 20, rolling24h: 20 } };

  it('E = ceo@ (SPF FAIL) on a message ann@ signed: counted under ann@, ceo@ neither counted nor restricted', async () => {
    const raw = await sign(
      message({ from: 'Ann <ann@example.com>', to: 'someone@attacker.test' }),
      exampleKey,
    );
    const d = await decideAs(raw, 'ceo@example.com', 'FAIL', {
      recipients: ['team@example.com'],
      config: testConfig(),
      senders: { 'ceo@example.com': over },
    });
    // Still genuine (SPEC 2a: DKIM aligned with E and F) — but the address proved is ann@.
    assert.equal(d.classification.authentication.genuineAcceptedSender, true);
    assert.deepEqual(identities(d), ['ann@example.com']);
    assert.ok(!d.restrictions.some((r) => r.identity === 'ceo@example.com'));
  });

  it('control: with SPF PASS for E the envelope address is the identity', async () => {
    const raw = await sign(message({ from: 'Ann <ann@example.com>' }), exampleKey);
    const d = await decideAs(raw, 'ceo@example.com', 'PASS', {
      recipients: ['team@example.com'],
      config: testConfig(),
    });
    assert.deepEqual(identities(d), ['ceo@example.com']);
  });
});

describe('a copy we sent, replayed to us, earns nothing from our own signature', () => {
  const config = testConfig({
    routes: {
      'team@example.com': ['me@attacker.test', 'bob@example.org'],
      'alias@example.com': ['dest@remote.test'],
      '@example.org': ['catchall@remote.test'],
    },
  });

  /** Unauthenticated spam to a list the attacker is on: relay, From rewritten to team@. */
  async function relayCopyAsDelivered(): Promise<Buffer> {
    const spam = message({
      from: 'Spammer <x@attacker.test>',
      to: 'team@example.com',
      body: 'Cheap pills\r\n',
    });
    const first = await decideAs(spam, 'x@attacker.test', 'GRAY', {
      recipients: ['team@example.com'],
      config,
    });
    assert.equal(first.pool, 'relay');
    const send = first.sends.find((s) => s.to.includes('me@attacker.test'))!;
    const copy = await composeOurCopy(first, send, spam, ['team@example.com'], { config, resolver });
    // SES signs the copy for its From (team@example.com) as it sends it; the loop marker,
    // unsigned, is stripped by the replayer.
    const unmarked = Buffer.from(
      copy.toString('latin1').replace(/^X-Outbound-Pools-Loop:.*\r\n/gim, ''),
      'latin1',
    );
    return sign(unmarked, exampleKey);
  }

  for (const [label, envelope, spf] of [
    ['an envelope of the accepted domain (SPF FAIL)', 'ceo@example.com', 'FAIL'],
    ["the replayer's own envelope (SPF PASS)", 'bulk@attacker.test', 'PASS'],
  ] as const) {
    it(`a relay copy replayed with ${label} stays out of normal and is counted under the route`, async () => {
      const delivered = await relayCopyAsDelivered();
      assert.match(delivered.toString('latin1'), /^From: .*<team@example\.com>/m);
      const d = await decideMessage({
        received: received({ source: envelope, spf, dmarc: 'PASS', recipients: ['alias@example.com'] }),
        raw: delivered,
        config,
        resolver,
        now: NOW,
        senders: {},
      });
      // The signature verifies: it is only not believed.
      assert.ok(
        d.classification.dkim.signatures.some((s) => s.domain === 'example.com' && s.result === 'pass'),
      );
      assert.equal(d.classification.authentication.genuineAcceptedSender, false);
      assert.equal(d.classification.authentication.dkimAuthorAligned, false);
      assert.equal(d.pool, 'relay');
      assert.ok(d.reasons.includes('spoofed-accepted-domain'), String(d.reasons));
      assert.deepEqual(identities(d), ['alias@example.com']);
    });
  }

  it('a From in a catch-all domain is ours too (the copy is sent from the address it arrived for)', async () => {
    const raw = await sign(message({ from: 'Anyone <whoever@example.org>' }), orgKey);
    const d = await decideAs(raw, 'bulk@attacker.test', 'PASS', { config });
    assert.equal(d.classification.authentication.dkimAuthorAligned, false);
    assert.equal(d.pool, 'relay', String(d.reasons));
  });

  it('a From of the SRS domain (our reversed bounces, NDRs) earns no alignment', async () => {
    const bounceCopy = await sign(
      message({ from: 'Mail Delivery System <mailer-daemon@fwd.example.com>', body: 'Anything at all\r\n' }),
      srsKey,
    );
    const d = await decideAs(bounceCopy, 'bulk@attacker.test', 'PASS', { config });
    assert.equal(d.classification.authentication.authorAuthenticated, false);
    assert.equal(d.pool, 'relay');
  });

  it('control: a sender of its own address in the accepted domain, not a route, stays genuine', async () => {
    const raw = await sign(message({ from: 'Ann <ann@example.com>' }), exampleKey);
    const d = await decideAs(raw, 'bulk@attacker.test', 'PASS', { config });
    assert.equal(d.classification.authentication.genuineAcceptedSender, true);
    assert.equal(d.pool, 'normal');
  });
});

describe('a DKIM signature with l= proves nothing about what follows its prefix', () => {
  async function signWithLength(raw: Buffer, length: number): Promise<Buffer> {
    const result = await dkimSign(raw, {
      signTime: NOW,
      signatureData: [
        {
          signingDomain: senderKey.domain,
          selector: senderKey.selector,
          privateKey: senderKey.privateKey,
          maxBodyLength: length,
        },
      ],
    } as unknown as Parameters<typeof dkimSign>[1]);
    assert.deepEqual(result.errors ?? [], []);
    return Buffer.concat([Buffer.from(result.signatures), raw]);
  }

  for (const [label, appended, pool] of [
    [
      'content appended after the signed prefix: no alignment, relay',
      'Cheap pills at http://attacker.test/\r\n',
      'relay',
    ],
    ['nothing appended: the signature covers the body, normal', '', 'normal'],
  ] as const) {
    it(label, async () => {
      const body = 'Hello there.\r\n';
      const signed = await signWithLength(
        message({ from: 'alice@sender.test', body }),
        Buffer.byteLength(body),
      );
      const d = await decideMessage({
        received: received({ source: 'bulk@attacker.test', spf: 'PASS', dmarc: 'PASS' }),
        raw: Buffer.concat([signed, Buffer.from(appended)]),
        config: testConfig(),
        resolver,
        now: NOW,
        senders: {},
      });
      assert.equal(d.pool, pool, String(d.reasons));
      assert.equal(d.classification.dkim.signatures[0]!.result, appended ? 'policy' : 'pass');
    });
  }
});
