/**
 * A sender's identity never reads as a route's (SPEC 4). A catch-all route counts under its
 * key `@example.org`, an identity with no local part; a quoted empty local part (`""@`, a
 * mailbox RFC 5321 4.1.2 allows, distinct from every other) was unquoted to nothing, so a
 * genuine sender writing `MAIL FROM:<""@example.org>` was counted, restricted and given the
 * policy of the catch-all route `@example.org` (found in a review, December 2026).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideMessage } from '../../functions/core/decide.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { normalizeIdentity } from '../../functions/core/identity.js';
import { message, NOW, received, testConfig, zones } from '../helpers/mail.js';

const config = testConfig();

describe('no sender identity is a route key', () => {
  for (const address of ['""@example.org', '""@EXAMPLE.org.', '"+tag"@example.org', '+@example.org']) {
    it(`${address} keeps a local part`, () => {
      const identity = normalizeIdentity(address, config);
      assert.ok(!identity.startsWith('@'), identity);
      assert.ok(!Object.hasOwn(config.routes, identity), identity);
    });
  }

  it('a genuine sender ""@example.org is not counted under the catch-all route @example.org', async () => {
    const d = await decideMessage({
      received: received({ source: '""@example.org', spf: 'PASS', dmarc: 'PASS' }),
      raw: message({ from: '""@example.org' }),
      config,
      resolver: zoneResolver(zones()),
      now: NOW,
    });
    assert.equal(d.classification.authentication.genuineAcceptedSender, true);
    assert.deepEqual(
      d.classification.usage.map((u) => u.identity),
      ['""@example.org'],
    );
  });

  it('control: "bob"@ is still bob@, and a route key stays itself', () => {
    assert.equal(normalizeIdentity('"bob"@example.org', config), 'bob@example.org');
    assert.equal(normalizeIdentity('@Example.org', config), '@example.org');
  });
});
