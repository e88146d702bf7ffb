/**
 * SPEC 2a, issue 13 item 3: a DNS temporary failure is retried, but not forever. On the last
 * attempt (`finalAttempt`) every temporary failure the pool depends on — the source domain's
 * A/AAAA/MX, an aligned DKIM key, the SPF recomputed behind a trusted gateway — counts as "not
 * passed" and adds `dns-temperror`; the message is decided instead of throwing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type Decision, decideMessage } from '../../functions/core/decide.js';
import { asResolver, dnsError } from '../../functions/core/dns/resolver.js';
import { type Zones, zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { DnsTemporaryError } from '../../functions/core/errors.js';
import type { VerdictStatus } from '../../functions/core/ses-event.js';
import { checkSourceDomain } from '../../functions/core/source-domain.js';
import { dkimKey, message, NOW, received, sign, testConfig, zones } from '../helpers/mail.js';

const eveKey = dkimKey('attacker.test');
const KEY_NAME = 'sel1._domainkey.attacker.test';
const ZONES: Zones = zones([eveKey], {
  'attacker.test': {
    A: ['198.51.100.66'],
    MX: [{ exchange: 'mx.attacker.test', priority: 10 }],
    TXT: ['v=spf1 include:_spf.attacker.test -all'],
  },
});
const config = testConfig();

/** The zone answers, with SERVFAIL for every `name/type` in `failing` (`*` = any type). */
function failingResolver(failing: ReadonlySet<string>) {
  const real = zoneResolver(ZONES);
  return asResolver(async (name, type) => {
    if (failing.has(`${name}/${type}`) || failing.has(`${name}/*`)) throw dnsError('ESERVFAIL', name, type);
    return real(name, type);
  });
}

const signed = sign(message({ from: 'Eve <eve@attacker.test>' }), eveKey);

async function decideEve(failing: string[], finalAttempt: boolean, spf: VerdictStatus = 'GRAY') {
  return decideMessage({
    received: received({ source: 'eve@attacker.test', spf }),
    raw: await signed,
    config,
    resolver: failingResolver(new Set(failing)),
    now: NOW,
    finalAttempt,
  });
}

/** Decides, or says which error was thrown. */
async function outcome(p: Promise<Decision>): Promise<Decision | DnsTemporaryError> {
  try {
    return await p;
  } catch (error) {
    if (error instanceof DnsTemporaryError) return error;
    throw error;
  }
}

describe('the last attempt: the source domain (A/MX)', () => {
  it('every lookup SERVFAILs: earlier attempts throw; the last one is high-risk with dns-temperror, not no-a-mx', async () => {
    await assert.rejects(decideEve(['attacker.test/*'], false), DnsTemporaryError);
    const d = await decideEve(['attacker.test/*'], true);
    assert.equal(d.pool, 'high-risk');
    assert.ok(d.reasons.includes('dns-temperror'));
    assert.ok(!d.reasons.includes('no-a-mx'));
    assert.deepEqual(d.classification.sourceDomainVerdict, {
      hasAddress: false,
      hasMx: false,
      nullMx: false,
      ok: false,
      temperror: true,
    });
  });

  it('one lookup proved the domain (A answered), MX SERVFAILs: ok on any attempt, no dns-temperror', async () => {
    for (const finalAttempt of [false, true]) {
      const d = await decideEve(['attacker.test/MX'], finalAttempt, 'PASS');
      assert.equal(d.classification.sourceDomainVerdict?.ok, true);
      assert.ok(!d.reasons.includes('dns-temperror'));
      assert.equal(d.pool, 'normal');
    }
  });

  it('a proven "no record" (NXDOMAIN) stays no-a-mx on the last attempt', async () => {
    const verdict = await checkSourceDomain('nowhere.test', zoneResolver(ZONES), 'not-passed');
    assert.deepEqual(verdict, { hasAddress: false, hasMx: false, nullMx: false, ok: false });
  });

  it('checkSourceDomain: "throw" (the default) throws, "not-passed" answers', async () => {
    const resolver = failingResolver(new Set(['attacker.test/*']));
    await assert.rejects(checkSourceDomain('attacker.test', resolver), DnsTemporaryError);
    await assert.rejects(checkSourceDomain('attacker.test', resolver, 'throw'), DnsTemporaryError);
    assert.equal((await checkSourceDomain('attacker.test', resolver, 'not-passed')).temperror, true);
  });
});

describe('the last attempt: an aligned DKIM key (the attack of issue 13)', () => {
  it('key SERVFAIL, SPF not passing: earlier attempts throw; the last one is relay with dns-temperror', async () => {
    const early = await outcome(decideEve([`${KEY_NAME}/*`], false));
    assert.ok(
      early instanceof DnsTemporaryError && early.domain === 'attacker.test' && early.rrtype === 'TXT',
    );
    const d = await decideEve([`${KEY_NAME}/*`], true);
    assert.equal(d.pool, 'relay');
    assert.deepEqual(
      d.reasons.filter((r) => ['dns-temperror', 'unauthenticated-relay', 'dkim-aligned-pass'].includes(r)),
      ['dns-temperror', 'unauthenticated-relay'],
    );
    // The signature is not trusted: the copy is rewritten, as for any relay.
    assert.equal(d.sends[0]?.fromRewritten, true);
    assert.equal(d.classification.dkim.alignedPass, false);
  });

  it('the same SERVFAIL when SPF passed does not matter: normal on every attempt, no dns-temperror', async () => {
    for (const finalAttempt of [false, true]) {
      const d = await decideEve([`${KEY_NAME}/*`], finalAttempt, 'PASS');
      assert.equal(d.pool, 'normal');
      assert.ok(!d.reasons.includes('dns-temperror'));
    }
  });

  it('with relay.dkimAvoidsRelay off the key never decides: relay without dns-temperror', async () => {
    const d = await decideMessage({
      received: received({ source: 'eve@attacker.test', spf: 'GRAY' }),
      raw: await signed,
      config: testConfig({ relay: { dkimAvoidsRelay: false } }),
      resolver: failingResolver(new Set([`${KEY_NAME}/*`])),
      now: NOW,
      finalAttempt: false,
    });
    assert.equal(d.pool, 'relay');
    assert.ok(!d.reasons.includes('dns-temperror'));
  });

  it('the key answers: the signature passes on the last attempt like on any other', async () => {
    const d = await decideEve([], true);
    assert.equal(d.pool, 'normal');
    assert.ok(d.reasons.includes('dkim-aligned-pass'));
    assert.ok(!d.reasons.includes('dns-temperror'));
  });
});

describe('the last attempt: SPF recomputed behind a trusted gateway', () => {
  const DATE = 'Mon, 23 Nov 2026 10:00:00 +0000';
  const gatewayConfig = testConfig({ trustedGateways: [{ name: 'filter', cidrs: ['198.51.100.0/24'] }] });
  const raw = message({
    from: 'x@attacker.test',
    headers: [
      `Received: from mx1.filter.test (mx1.filter.test [198.51.100.7]) by inbound-smtp.us-east-1.amazonaws.com with SMTP id m1 for alias@example.com; ${DATE} (UTC)`,
      `Received: from mail.attacker.test (mail.attacker.test [192.0.2.99]) by mx1.filter.test (Postfix) with ESMTPS id 4Xy7 for <alias@example.com>; ${DATE}`,
    ],
  });
  const run = (finalAttempt: boolean) =>
    decideMessage({
      received: received({ source: 'x@attacker.test', spf: 'FAIL' }),
      raw,
      config: gatewayConfig,
      resolver: failingResolver(new Set(['_spf.attacker.test/*'])),
      now: NOW,
      finalAttempt,
    });

  it('SPF temperror: earlier attempts throw; the last one counts it as PROCESSING_FAILED (not a pass), dns-temperror', async () => {
    await assert.rejects(run(false), DnsTemporaryError);
    const d = await run(true);
    assert.equal(d.classification.spf, 'PROCESSING_FAILED');
    assert.equal(d.classification.gateway?.applied, true);
    assert.ok(d.reasons.includes('dns-temperror'));
    assert.ok(d.reasons.includes('enhanced-filtering'));
    assert.ok(!d.reasons.includes('spf-pass'));
    assert.equal(d.pool, 'relay');
  });
});

describe('the last attempt, for any set of failing lookups (property)', () => {
  const LOOKUPS = ['attacker.test/A', 'attacker.test/AAAA', 'attacker.test/MX', `${KEY_NAME}/TXT`];

  it('never throws; an earlier attempt either throws or decides exactly the same; normal only with proof', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(LOOKUPS),
        fc.constantFrom<VerdictStatus>('PASS', 'FAIL', 'GRAY', 'PROCESSING_FAILED'),
        async (failing, spf) => {
          const last = await decideEve(failing, true, spf);
          const early = await outcome(decideEve(failing, false, spf));
          if (!(early instanceof DnsTemporaryError)) {
            // Nothing the decision depends on failed: the last attempt changes nothing.
            assert.deepEqual([early.pool, early.reasons], [last.pool, last.reasons]);
            assert.ok(!last.reasons.includes('dns-temperror'));
          } else {
            assert.ok(last.reasons.includes('dns-temperror'), 'a decided failure is named');
          }
          if (last.pool === 'normal') {
            // Independent of the code: which lookups could have proved anything.
            const domainProved = ['A', 'MX'].some((t) => !failing.includes(`attacker.test/${t}`));
            const authenticated = spf === 'PASS' || !failing.includes(`${KEY_NAME}/TXT`);
            assert.ok(domainProved && authenticated, `normal without proof: ${failing.join(' ')} spf=${spf}`);
          }
        },
      ),
      { numRuns: 64 },
    );
  });
});
