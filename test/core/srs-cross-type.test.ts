/**
 * SRS0 and SRS1 hashes are one HMAC under one secret over the plain concatenation of their
 * fields (libsrs2's `srs_hash_create_v`): SRS0 hashes `TT + host + user`, SRS1 hashes
 * `host + opaque`. A hash we issue for one is therefore valid for the other whenever the
 * strings are equal. An SRS1 return path is what a proved sender with an `SRS0…`/`SRS1…`
 * local part used to get, and both its host (the sender's own domain) and its opaque part
 * (the rest of the local part) are the sender's to choose: a sender owning `<TT>victim.co`,
 * where `TT` is a current SRS timestamp, got `SRS1=H=<TT>victim.co=mceo@<srs domain>`, and
 * `SRS0=H=<TT>=victim.com=ceo@<srs domain>` carries the same hash over the same string —
 * a bounce to it was reversed, with any content, to `ceo@victim.com` (any mailbox of any
 * domain: a `.com` name starting with two given letters costs a registration). Found in a
 * review (December 2026). A proved sender's return path is now always SRS0 of its whole
 * address (it reverses to the same place, and expires), so no hash we issue is an SRS1's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideMessage } from '../../functions/core/decide.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { message, NOW, received, testConfig, zones } from '../helpers/mail.js';

const config = testConfig();
const TIME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const slot = Math.floor(NOW.getTime() / 86_400_000) % 1024;
/** Today's SRS timestamp, as the first two letters of the attacker's domain. */
const stamp = `${TIME_CHARS[slot >> 5]}${TIME_CHARS[slot & 31]}`.toLowerCase();
const attackerDomain = `${stamp}victim.co`;
const ZONES = zones([], {
  [attackerDomain]: { A: ['198.51.100.66'], MX: [{ exchange: `mx.${attackerDomain}`, priority: 10 }] },
  'victim.com': { A: ['198.51.100.69'], MX: [{ exchange: 'mx.victim.com', priority: 10 }] },
});
const resolver = zoneResolver(ZONES);

/** The return path of a copy of mail the attacker sent, proved by SPF (its own domain). */
async function returnPathFor(envelope: string): Promise<string> {
  const d = await decideMessage({
    received: received({ source: envelope, spf: 'PASS', recipients: ['alias@example.com'] }),
    raw: message({ from: `Mallory <mallory@${attackerDomain}>` }),
    config,
    resolver,
    now: NOW,
  });
  assert.equal(d.pool, 'normal');
  return d.sends[0]!.envelopeFrom;
}

/** Where a null-sender message to `recipient` is sent (the reversed bounces). */
async function bounceGoesTo(recipient: string): Promise<string[]> {
  const d = await decideMessage({
    received: received({ source: '', spf: 'GRAY', recipients: [recipient] }),
    raw: message({ from: `Anyone <spam@${attackerDomain}>`, subject: 'Buy now' }),
    config,
    resolver,
    now: new Date(NOW.getTime() + 86_400_000),
  });
  return d.sends.filter((s) => s.kind === 'srs-bounce').flatMap((s) => s.to);
}

/** The hash of `returnPath` written into an SRS0 address of today for `user@host`. */
function srs0Forgery(returnPath: string, host: string, user: string): string {
  const local = returnPath.slice(0, returnPath.lastIndexOf('@'));
  const hash = local.slice(5, local.indexOf('=', 5));
  return `SRS0=${hash}=${stamp}=${host}=${user}@${config.srs.domain}`;
}

describe('an SRS hash we issue is never valid for the other SRS type (cross-type forgery)', () => {
  // What the SRS1 it was given hashed, `<stamp>victim.co` + opaque, read as `<stamp>` + host + user.
  for (const [what, envelope, host, user] of [
    ['an SRS1-shaped sender', `SRS1=x=${attackerDomain}=mceo@${attackerDomain}`, 'victim.com', 'ceo'],
    ['an SRS0-shaped sender', `SRS0=x=y=z=w@${attackerDomain}`, 'victim.co', '=x=y=z=w'],
  ] as const) {
    it(`${what} at ${attackerDomain}: no bounce is reversed to ${user}@${host}`, async () => {
      const returnPath = await returnPathFor(envelope.toLowerCase());
      // The genuine return path still reverses, to the sender's own domain.
      const own = await bounceGoesTo(returnPath);
      assert.equal(own.length, 1);
      assert.ok(own[0]!.toLowerCase().endsWith(`@${attackerDomain}`), own[0]);
      const forged = srs0Forgery(returnPath, host, user);
      assert.deepEqual(await bounceGoesTo(forged), [], `${returnPath} forged as ${forged}`);
    });
  }

  it('a return path we issue is always SRS0, with a timestamp', async () => {
    for (const envelope of [
      `SRS1=x=${attackerDomain}=mceo@${attackerDomain}`,
      `SRS0=x=y=z=w@${attackerDomain}`,
      `mallory@${attackerDomain}`,
    ]) {
      assert.match(await returnPathFor(envelope.toLowerCase()), /^SRS0=[^=]+=[A-Z2-7]{2}=/);
    }
  });
});
