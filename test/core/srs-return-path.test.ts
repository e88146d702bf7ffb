/**
 * The return path of a proved sender's copy (`Srs.forwardProved`, SPEC 2a and 5): always an
 * address of our SRS domain, whose bounce reverses to the sender's own domain and nowhere
 * else. postsrsd's `forward` (kept byte for byte for interop, `srs.test.ts`) keeps two things
 * the sender wrote and nobody proved; found in a review (December 2026):
 *
 * - an `SRS1…` local part's first-hop host: `SRS1=x=victim.test=zz@attacker.test` was
 *   re-signed with our secret, and a bounce to it — SRS1 has no timestamp — was reversed,
 *   any time later and with any content, to `SRS0zz@victim.test` through `high-risk`;
 * - an address that already is a valid SRS address of ours, on another domain (or an `SRS1`
 *   tag without its parts): kept as the copy's Return-Path, which SES refuses as an
 *   unverified identity on every attempt — a message dead-lettered on purpose.
 *
 * And an `SRS0…` sender is no longer written as SRS1 either (srs-cross-type.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decideMessage } from '../../functions/core/decide.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { Srs } from '../../functions/core/srs.js';
import { message, NOW, received, testConfig, zones } from '../helpers/mail.js';

const ZONES = zones([], {
  'attacker.test': { A: ['198.51.100.66'], MX: [{ exchange: 'mx.attacker.test', priority: 10 }] },
  'victim.test': { A: ['198.51.100.69'], MX: [{ exchange: 'mx.victim.test', priority: 10 }] },
});
const config = testConfig();
const srs = new Srs(config.srs);
const hostOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/** The copy's return path for a proved (SPF PASS, aligned From) sender at attacker.test. */
async function returnPathFor(envelope: string): Promise<string> {
  const d = await decideMessage({
    received: received({ source: envelope, spf: 'PASS', recipients: ['alias@example.com'] }),
    raw: message({ from: 'Mallory <mallory@attacker.test>' }),
    config,
    resolver: zoneResolver(ZONES),
    now: NOW,
  });
  assert.equal(d.pool, 'normal');
  return d.sends[0]!.envelopeFrom;
}

/** Where a bounce to `returnPath`, `days` later, is sent (the reversed addresses). */
async function bounceGoesTo(returnPath: string, days: number): Promise<string[]> {
  const d = await decideMessage({
    received: received({ source: '', spf: 'GRAY', recipients: [returnPath] }),
    raw: message({ from: 'Anyone <spam@attacker.test>', subject: 'Buy now' }),
    config,
    resolver: zoneResolver(ZONES),
    now: new Date(NOW.getTime() + days * 86_400_000),
  });
  return d.sends.filter((s) => s.kind === 'srs-bounce').flatMap((s) => s.to);
}

describe('the return path of a proved sender', () => {
  it('an SRS1 sender naming another host: the bounce goes to the proved domain, and expires', async () => {
    const returnPath = await returnPathFor('SRS1=xxxx=victim.test=zz@attacker.test');
    assert.equal(hostOf(returnPath), config.srs.domain);
    assert.match(returnPath, /^SRS0=/, 'wrapped whole, with a timestamp');
    assert.deepEqual(await bounceGoesTo(returnPath, 1), ['srs1=xxxx=victim.test=zz@attacker.test']);
    assert.deepEqual(await bounceGoesTo(returnPath, 300), [], 'expired, as any SRS0');
  });

  for (const [what, envelope] of [
    ['an SRS1 tag without host and opaque parts', 'SRS1=foo@attacker.test'],
    [
      'a valid SRS0 address of ours, on the sender’s domain',
      `${srs.forward('mallory@attacker.test', NOW).split('@')[0]}@attacker.test`,
    ],
  ] as const) {
    it(`${what}: a return path of our SRS domain (SES sends from nothing else)`, async () => {
      const returnPath = await returnPathFor(envelope);
      assert.equal(hostOf(returnPath), config.srs.domain);
      assert.deepEqual(await bounceGoesTo(returnPath, 1), [envelope.toLowerCase()]);
    });
  }

  it('an SRS0 sender (another forwarder) becomes SRS0 of its whole address, reversing to that forwarder as SRS1 did', async () => {
    const envelope = 'srs0=abcd=tt=orig.test=user@attacker.test'; // (the envelope is read in lower case)
    const returnPath = await returnPathFor(envelope);
    // Not postsrsd's SRS1: its hash would be valid for an SRS0 of the same string
    // (srs-cross-type.test.ts). The bounce reaches the same address, and now expires.
    assert.notEqual(returnPath, srs.forward(envelope, NOW));
    assert.match(returnPath, /^SRS0=/);
    assert.deepEqual(await bounceGoesTo(returnPath, 1), [envelope]);
    assert.deepEqual(await bounceGoesTo(returnPath, 300), [], 'expired, as any SRS0');
  });

  it('whatever the sender writes, its return path is ours and reverses to its own domain (property)', () => {
    const label = fc.stringMatching(/^[a-z0-9]{1,8}$/);
    const domain = fc.tuple(label, fc.constantFrom('test', 'example', 'co.uk')).map(([l, t]) => `${l}.${t}`);
    const local = fc.oneof(
      fc.stringMatching(/^[a-zA-Z0-9.+_=-]{1,20}$/),
      fc
        .tuple(fc.stringMatching(/^[a-z0-9]{0,6}$/), domain, fc.stringMatching(/^[a-z0-9=]{0,10}$/))
        .map(([h, host, opaque]) => `SRS1=${h}=${host}=${opaque}`),
      fc
        .tuple(domain, fc.stringMatching(/^[a-z0-9]{1,8}$/))
        .map(([d, u]) => srs.forward(`${u}@${d}`, NOW).split('@')[0]!),
      fc
        .tuple(domain, fc.stringMatching(/^[a-z0-9]{1,8}$/))
        .map(([d, u]) => srs.forward(`SRS0=x=y=${d}=${u}@${d}`, NOW).split('@')[0]!),
    );
    fc.assert(
      fc.property(local, domain, (l, d) => {
        const sender = `${l}@${d}`;
        const returnPath = srs.forwardProved(sender, NOW);
        assert.equal(hostOf(returnPath), config.srs.domain, returnPath);
        const back = srs.reverse(returnPath, NOW);
        assert.ok(back.ok, returnPath);
        assert.equal(hostOf(back.address), d, `${sender} → ${returnPath} → ${back.address}`);
      }),
      { numRuns: 1000 },
    );
  });
});
