import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Zones, zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { checkSenderProof } from '../../functions/core/doctor/sender-proof.js';

const check = (z: Zones, domain = 'example.com') => checkSenderProof(domain, zoneResolver(z));
const GOOD: Zones = {
  'example.com': { TXT: ['v=spf1 include:amazonses.com -all'] },
  '_dmarc.example.com': { TXT: ['v=DMARC1; p=reject'] },
};

describe('doctor sender-proof (issue 12): SPF -all/~all and DMARC quarantine/reject', () => {
  it('passes with SPF -all and DMARC p=reject', async () => {
    const r = await check(GOOD);
    assert.deepEqual([r.ok, r.detail], [true, 'SPF -all, DMARC p=reject']);
  });

  it("follows one SPF redirect and inherits the organizational domain's sp=", async () => {
    const r = await check(
      {
        'news.example.com': { TXT: ['v=spf1 redirect=_spf.example.com'] },
        '_spf.example.com': { TXT: ['v=spf1 ip4:192.0.2.0/24 ~all'] },
        '_dmarc.example.com': { TXT: ['v=DMARC1; p=none; sp=quarantine'] },
      },
      'news.example.com',
    );
    assert.deepEqual([r.ok, r.detail], [true, 'SPF ~all, DMARC p=quarantine']);
  });

  const warnings: [string, Zones, RegExp][] = [
    ['no SPF record', { ...GOOD, 'example.com': {} }, /warning: no SPF record at example\.com/],
    ['SPF ?all', { ...GOOD, 'example.com': { TXT: ['v=spf1 mx ?all'] } }, /SPF ends in "\?all"/],
    ['SPF all (= +all)', { ...GOOD, 'example.com': { TXT: ['v=spf1 all'] } }, /SPF ends in "\+all"/],
    ['SPF without all', { ...GOOD, 'example.com': { TXT: ['v=spf1 mx'] } }, /has no "all" term/],
    ['DMARC p=none', { ...GOOD, '_dmarc.example.com': { TXT: ['v=DMARC1; p=none'] } }, /DMARC p=none/],
    ['no DMARC', { 'example.com': GOOD['example.com']! }, /no DMARC policy for example\.com/],
  ];
  for (const [name, zones, detail] of warnings) {
    it(`warns (? with a fix, never ✗): ${name}`, async () => {
      const r = await check(zones);
      assert.equal(r.ok, null);
      assert.match(r.detail, detail);
      assert.match(r.detail, /only by DKIM/);
      assert.ok(r.fix.length > 0);
    });
  }

  it('a temporary DNS failure is unknown, not a warning', async () => {
    const r = await check({ ...GOOD, 'example.com': { SERVFAIL: true } });
    assert.equal(r.ok, null);
    assert.doesNotMatch(r.detail, /warning/);
  });
});
