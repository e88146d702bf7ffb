/**
 * One DNS deadline per message (SPEC 2a): lookups within it pass through unchanged (answers
 * and NXDOMAIN alike), a lookup still pending at it, or started after it, is a temporary
 * failure (`ETIMEOUT`), never "no record".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadlineResolver } from '../../functions/core/dns/deadline-resolver.js';
import { asResolver, isNoRecord, isTemporary } from '../../functions/core/dns/resolver.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';

const zone = zoneResolver({ 'a.test': { A: ['192.0.2.1'] } });
const never = asResolver(() => new Promise(() => {}));

describe('deadlineResolver', () => {
  it('within the deadline: the inner answer, and NXDOMAIN stays NXDOMAIN', async () => {
    const r = deadlineResolver(zone, 1000);
    assert.deepEqual(await r('a.test', 'A'), ['192.0.2.1']);
    await assert.rejects(r('missing.test', 'A'), (e: unknown) => isNoRecord(e));
  });

  it('a lookup that never answers fails at the deadline as a temporary error', async () => {
    const r = deadlineResolver(never, 50);
    await assert.rejects(r('slow.test', 'TXT'), (e: unknown) => {
      const err = e as { code?: string; hostname?: string };
      return err.code === 'ETIMEOUT' && err.hostname === 'slow.test' && isTemporary(e);
    });
  });

  it('the deadline is one for all lookups: after it, every lookup fails at once, the inner one is not asked', async () => {
    let clock = 0;
    let asked = 0;
    const inner = asResolver(async (name, rrtype) => {
      asked++;
      return zone(name, rrtype);
    });
    const r = deadlineResolver(inner, 100, () => clock);
    assert.deepEqual(await r('a.test', 'A'), ['192.0.2.1']);
    clock = 100;
    await assert.rejects(r('a.test', 'A'), { code: 'ETIMEOUT' });
    assert.equal(asked, 1);
  });

  it('parallel lookups share the deadline instead of adding up', async () => {
    const r = deadlineResolver(never, 80);
    const t0 = performance.now();
    const all = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => r(`k${i}.test`, 'TXT')));
    assert.ok(all.every((x) => x.status === 'rejected'));
    // Ten lookups of 80 ms one after the other would take 800 ms.
    assert.ok(performance.now() - t0 < 600);
  });

  for (const bad of [0, -1, Number.NaN]) {
    it(`deadlineMs ${bad} is refused`, () => {
      assert.throws(() => deadlineResolver(zone, bad), RangeError);
    });
  }
});
