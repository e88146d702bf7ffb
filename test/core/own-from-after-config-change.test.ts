/**
 * A From of ours is recognised by what we wrote, not only by today's configuration (SPEC 2a).
 * SES signs every copy for its From; `isOwnFromAddress` disbelieves that signature when the
 * From is a routed address, an address of a catch-all domain, the SRS or the bounce sink's
 * domain — as configured *now*. A relay copy sent from `team@example.com` last week, replayed
 * after the operator removed (or renamed) the `team@` route, carried a valid `d=example.com`
 * signature over a From that no longer looked like ours: a genuine accepted-domain sender,
 * `normal`, its From kept, counted under `team@` (found in a review, December 2026). Every
 * From the router rewrites names its author "… via <the address's domain>" in the signed
 * display name, so such a From in a domain we send from is ours whatever the routes say.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideMessage } from '../../functions/core/decide.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { composeOurCopy, dkimKey, message, NOW, received, sign, testConfig, zones } from '../helpers/mail.js';

const exampleKey = dkimKey('example.com');
const resolver = zoneResolver(zones([exampleKey], { 'attacker.test': { A: ['198.51.100.66'] } }));
const before = testConfig({
  routes: {
    'team@example.com': ['me@attacker.test', 'bob@example.org'],
    'alias@example.com': ['dest@remote.test'],
    '@example.org': ['catchall@remote.test'],
  },
});
/** The same configuration once `team@` is gone. */
const after = testConfig({
  routes: { 'alias@example.com': ['dest@remote.test'], '@example.org': ['catchall@remote.test'] },
});

/** Unauthenticated spam to `team@` while it was a route, as its member me@attacker.test got it (SES-signed). */
async function relayCopyAsDelivered(): Promise<Buffer> {
  const spam = message({
    from: 'Spammer <x@attacker.test>',
    to: 'team@example.com',
    body: 'Cheap pills\r\n',
  });
  const first = await decideMessage({
    received: received({ source: 'x@attacker.test', spf: 'GRAY', recipients: ['team@example.com'] }),
    raw: spam,
    config: before,
    resolver,
    now: NOW,
  });
  assert.equal(first.pool, 'relay');
  const send = first.sends.find((s) => s.to.includes('me@attacker.test'))!;
  const copy = await composeOurCopy(first, send, spam, ['team@example.com'], { config: before, resolver });
  // The loop marker is unsigned: the replayer strips it.
  const unmarked = copy.toString('latin1').replace(/^X-Outbound-Pools-Loop:.*\r\n/gim, '');
  return sign(Buffer.from(unmarked, 'latin1'), exampleKey);
}

describe('a copy we sent stays ours after its route is removed', () => {
  for (const [label, envelope, spf] of [
    ["the replayer's own envelope (SPF PASS)", 'bulk@attacker.test', 'PASS'],
    ['an envelope of the accepted domain (SPF FAIL)', 'ceo@example.com', 'FAIL'],
  ] as const) {
    it(`replayed with ${label} to alias@: not genuine, not normal, the From rewritten`, async () => {
      const delivered = await relayCopyAsDelivered();
      assert.match(delivered.toString('latin1'), /^From: "Spammer via example\.com" <team@example\.com>/m);
      const d = await decideMessage({
        received: received({ source: envelope, spf, dmarc: 'PASS', recipients: ['alias@example.com'] }),
        raw: delivered,
        config: after,
        resolver,
        now: NOW,
      });
      assert.ok(
        d.classification.dkim.signatures.some((s) => s.domain === 'example.com' && s.result === 'pass'),
      );
      assert.equal(d.classification.authentication.genuineAcceptedSender, false);
      assert.notEqual(d.pool, 'normal');
      assert.ok(d.reasons.includes('spoofed-accepted-domain'), String(d.reasons));
      assert.ok(d.sends.every((s) => s.fromRewritten && s.identity === 'alias@example.com'));
    });
  }

  it('control: a sender whose display name merely mentions a domain stays genuine', async () => {
    for (const from of ['"Ann via phone" <ann@example.com>', '"Ann via example.org" <ann@example.com>']) {
      const raw = await sign(message({ from }), exampleKey);
      const d = await decideMessage({
        received: received({ source: 'bulk@attacker.test', spf: 'PASS', dmarc: 'PASS' }),
        raw,
        config: after,
        resolver,
        now: NOW,
      });
      assert.equal(d.classification.authentication.genuineAcceptedSender, true, from);
      assert.equal(d.pool, 'normal', from);
    }
  });
});
