import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { describe, it } from 'node:test';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { cachedResolver } from '../../functions/core/dns/cached-resolver.js';
import { nodeResolver } from '../../functions/core/dns/node-resolver.js';
import {
  asResolver,
  dnsError,
  errorCode,
  isNoRecord,
  isTemporary,
  type Resolver,
} from '../../functions/core/dns/resolver.js';
import { parseZones, type Zones, zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { DnsTemporaryError, InvalidInputError } from '../../functions/core/errors.js';
import { checkSourceDomain, type SourceDomainVerdict } from '../../functions/core/source-domain.js';

/** Awaits `promise` and returns its rejection (fails when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; hostname?: string }> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof Error, `expected an Error, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

/** A promise with its resolve/reject exposed. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Wraps a resolver, recording every query as `TYPE name`. */
function spy(inner: Resolver): { resolver: Resolver; calls: string[] } {
  const calls: string[] = [];
  const resolver = asResolver(async (name, rrtype) => {
    calls.push(`${rrtype} ${name}`);
    return inner(name, rrtype);
  });
  return { resolver, calls };
}

/** Wraps a resolver so the listed record types fail with the given error code. */
function failing(inner: Resolver, failures: Record<string, string>): Resolver {
  return asResolver(async (name, rrtype) => {
    const code = failures[rrtype];
    if (code !== undefined) throw dnsError(code, name, rrtype);
    return inner(name, rrtype);
  });
}

const ZONES: Zones = {
  'example.com': {
    A: ['192.0.2.1'],
    AAAA: ['2001:db8::1'],
    MX: [{ exchange: 'mx.example.com.', priority: 10 }],
    TXT: ['v=spf1 -all', ['chunk1', 'chunk2']],
    NS: ['ns1.example.com.'],
  },
  'Mixed.Case.Example.': { A: ['192.0.2.2'] },
  'txt-only.example': { TXT: ['hello'] },
  'empty-a.example': { A: [] },
  'broken.example': { SERVFAIL: true, A: ['192.0.2.3'] },
  'www.example.com': { CNAME: ['example.com.'] },
  'dangling.example': { CNAME: ['absent.example'] },
  'loop1.example': { CNAME: ['loop2.example'] },
  'loop2.example': { CNAME: ['loop1.example'] },
  'to-broken.example': { CNAME: ['broken.example'] },
  'nullmx.example': { MX: [{ exchange: '.', priority: 0 }] },
  '1.2.0.192.in-addr.arpa': { PTR: ['host.example.com.'] },
};

describe('resolver helpers', () => {
  const cases: { name: string; err: unknown; noRecord: boolean }[] = [
    { name: 'ENOTFOUND (NXDOMAIN)', err: dnsError('ENOTFOUND', 'x.example', 'A'), noRecord: true },
    { name: 'ENODATA (NODATA)', err: dnsError('ENODATA', 'x.example', 'MX'), noRecord: true },
    {
      name: 'EBADNAME (no query can carry the name)',
      err: dnsError('EBADNAME', 'a b.example', 'TXT'),
      noRecord: true,
    },
    { name: 'ESERVFAIL', err: dnsError('ESERVFAIL', 'x.example', 'A'), noRecord: false },
    { name: 'ETIMEOUT', err: dnsError('ETIMEOUT', 'x.example', 'A'), noRecord: false },
    { name: 'EREFUSED', err: dnsError('EREFUSED', 'x.example', 'A'), noRecord: false },
    { name: 'ECONNREFUSED', err: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), noRecord: false },
    { name: 'an error without a code', err: new Error('boom'), noRecord: false },
    { name: 'a non-string code', err: Object.assign(new Error('x'), { code: 3 }), noRecord: false },
    { name: 'a thrown string', err: 'ENOTFOUND', noRecord: false },
    { name: 'undefined', err: undefined, noRecord: false },
  ];
  for (const c of cases) {
    it(`${c.name}: isNoRecord ${c.noRecord}, isTemporary ${!c.noRecord}`, () => {
      assert.equal(isNoRecord(c.err), c.noRecord);
      assert.equal(isTemporary(c.err), !c.noRecord);
    });
  }

  it('dnsError looks like a Node resolver error', () => {
    const err = dnsError('ENOTFOUND', 'Name.Example', 'TXT');
    assert.ok(err instanceof Error);
    assert.equal(err.message, 'queryTxt ENOTFOUND Name.Example');
    assert.equal(err.code, 'ENOTFOUND');
    assert.equal(err.syscall, 'queryTxt');
    assert.equal(err.hostname, 'Name.Example');
    assert.equal(errorCode(err), 'ENOTFOUND');
    assert.equal(dnsError('ENODATA', 'x', 'AAAA').message, 'queryAaaa ENODATA x');
  });
});

describe('parseZones', () => {
  it('accepts the documented format', () => {
    const zones = parseZones(JSON.parse(JSON.stringify(ZONES)));
    assert.deepEqual(zones, ZONES);
  });

  const invalid: { name: string; json: unknown; mentions: string[] }[] = [
    {
      name: 'not an object',
      json: ['example.com'],
      mentions: ['zones: Invalid type: Expected Object but received Array'],
    },
    { name: 'null', json: null, mentions: ['zones: Invalid type: Expected Object but received null'] },
    { name: 'an entry that is not an object', json: { 'a.example': 'A' }, mentions: ['"a.example"'] },
    {
      name: 'an unknown record type',
      json: { 'a.example': { SOA: ['x'] } },
      mentions: ['"a.example"', 'SOA'],
    },
    {
      name: 'a lower-case record type',
      json: { 'a.example': { a: ['192.0.2.1'] } },
      mentions: ['"a.example" a: unknown field'],
    },
    {
      name: 'a bad IPv4 address',
      json: { 'a.example': { A: ['192.0.2.300'] } },
      mentions: ['"a.example" A[0]', 'IPv4'],
    },
    {
      name: 'an IPv4 address in AAAA',
      json: { 'a.example': { AAAA: ['192.0.2.1'] } },
      mentions: ['"a.example" AAAA[0]', 'IPv6'],
    },
    { name: 'A not a list', json: { 'a.example': { A: '192.0.2.1' } }, mentions: ['"a.example" A:'] },
    {
      name: 'an MX priority that is a string',
      json: { 'a.example': { MX: [{ exchange: 'mx.example', priority: '10' }] } },
      mentions: ['"a.example" MX[0].priority'],
    },
    {
      name: 'an MX priority out of range',
      json: { 'a.example': { MX: [{ exchange: 'mx.example', priority: 70000 }] } },
      mentions: ['"a.example" MX[0].priority'],
    },
    {
      name: 'an MX without exchange',
      json: { 'a.example': { MX: [{ priority: 10 }] } },
      mentions: ['"a.example" MX[0].exchange'],
    },
    {
      name: 'an MX with an unknown field',
      json: { 'a.example': { MX: [{ exchange: 'mx.example', priority: 10, ttl: 5 }] } },
      mentions: ['"a.example" MX[0]', 'ttl'],
    },
    {
      name: 'a TXT record without character-strings',
      json: { 'a.example': { TXT: [[]] } },
      mentions: ['"a.example" TXT[0]'],
    },
    { name: 'a TXT number', json: { 'a.example': { TXT: [42] } }, mentions: ['"a.example" TXT[0]'] },
    {
      name: 'two CNAMEs',
      json: { 'a.example': { CNAME: ['b.example', 'c.example'] } },
      mentions: ['"a.example" CNAME', 'exactly one CNAME'],
    },
    {
      name: 'a CNAME with other data',
      json: { 'a.example': { CNAME: ['b.example'], A: ['192.0.2.1'] } },
      mentions: ['"a.example" CNAME', 'A'],
    },
    { name: 'SERVFAIL not a boolean', json: { 'a.example': { SERVFAIL: 'yes' } }, mentions: ['SERVFAIL'] },
    {
      name: 'the same name twice, differing in case and trailing dot',
      json: { 'A.example': { A: ['192.0.2.1'] }, 'a.example.': { A: ['192.0.2.2'] } },
      mentions: ['"a.example."', 'same name as "A.example"'],
    },
    { name: 'an empty label', json: { 'a..example': {} }, mentions: ['"a..example"', 'not a domain name'] },
    { name: 'an empty name', json: { '': {} }, mentions: ['""', 'not a domain name'] },
    {
      name: 'a label of 64 characters',
      json: { [`${'x'.repeat(64)}.example`]: {} },
      mentions: ['x'.repeat(64)],
    },
    {
      name: 'a bad NS target',
      json: { 'a.example': { NS: ['bad name.example'] } },
      mentions: ['"a.example" NS[0]', 'not a domain name'],
    },
  ];
  for (const c of invalid) {
    it(`rejects ${c.name}`, () => {
      assert.throws(
        () => parseZones(c.json),
        (err: unknown) => {
          assert.ok(err instanceof InvalidInputError);
          assert.equal(err.input, 'zones');
          assert.equal(err.retryable, false);
          for (const m of c.mentions) assert.ok(err.message.includes(m), `${err.message} mentions ${m}`);
          return true;
        },
      );
    });
  }

  it('zoneResolver validates a hand-built zone map too', () => {
    assert.throws(() => zoneResolver({ 'a.example': { A: ['nope'] } }), InvalidInputError);
  });
});

describe('zoneResolver', () => {
  const resolver = zoneResolver(ZONES);
  type Case = { name: string; query: [string, string]; answer?: unknown; code?: string };
  const cases: Case[] = [
    { name: 'A', query: ['example.com', 'A'], answer: ['192.0.2.1'] },
    { name: 'AAAA', query: ['example.com', 'AAAA'], answer: ['2001:db8::1'] },
    {
      name: 'MX (trailing dot removed)',
      query: ['example.com', 'MX'],
      answer: [{ exchange: 'mx.example.com', priority: 10 }],
    },
    {
      name: 'TXT: a string is one chunk, a list is chunks',
      query: ['example.com', 'TXT'],
      answer: [['v=spf1 -all'], ['chunk1', 'chunk2']],
    },
    { name: 'NS', query: ['example.com', 'NS'], answer: ['ns1.example.com'] },
    { name: 'PTR', query: ['1.2.0.192.in-addr.arpa', 'PTR'], answer: ['host.example.com'] },
    {
      name: 'null MX answers exchange ""',
      query: ['nullmx.example', 'MX'],
      answer: [{ exchange: '', priority: 0 }],
    },
    { name: 'query name case-insensitive', query: ['EXAMPLE.Com', 'A'], answer: ['192.0.2.1'] },
    { name: 'query trailing dot ignored', query: ['example.com.', 'A'], answer: ['192.0.2.1'] },
    {
      name: 'zone name case and trailing dot ignored',
      query: ['mixed.case.example', 'A'],
      answer: ['192.0.2.2'],
    },
    {
      name: 'rrtype case-insensitive',
      query: ['example.com', 'mx'],
      answer: [{ exchange: 'mx.example.com', priority: 10 }],
    },
    { name: 'CNAME query', query: ['www.example.com', 'CNAME'], answer: ['example.com'] },
    { name: 'CNAME followed for A', query: ['www.example.com', 'A'], answer: ['192.0.2.1'] },
    {
      name: 'CNAME followed for TXT',
      query: ['www.example.com', 'TXT'],
      answer: [['v=spf1 -all'], ['chunk1', 'chunk2']],
    },
    { name: 'absent name is NXDOMAIN', query: ['absent.example', 'A'], code: 'ENOTFOUND' },
    { name: 'absent subdomain is NXDOMAIN', query: ['sub.example.com', 'TXT'], code: 'ENOTFOUND' },
    { name: 'missing type is NODATA', query: ['txt-only.example', 'A'], code: 'ENODATA' },
    { name: 'missing MX is NODATA', query: ['txt-only.example', 'MX'], code: 'ENODATA' },
    { name: 'empty list is NODATA', query: ['empty-a.example', 'A'], code: 'ENODATA' },
    { name: 'unsupported type is NODATA', query: ['example.com', 'SRV'], code: 'ENODATA' },
    { name: 'CNAME asked of a name without one is NODATA', query: ['example.com', 'CNAME'], code: 'ENODATA' },
    { name: 'SERVFAIL on A', query: ['broken.example', 'A'], code: 'ESERVFAIL' },
    { name: 'SERVFAIL on TXT', query: ['broken.example', 'TXT'], code: 'ESERVFAIL' },
    { name: 'SERVFAIL through a CNAME', query: ['to-broken.example', 'A'], code: 'ESERVFAIL' },
    { name: 'dangling CNAME is NXDOMAIN', query: ['dangling.example', 'A'], code: 'ENOTFOUND' },
    { name: 'CNAME loop is SERVFAIL', query: ['loop1.example', 'A'], code: 'ESERVFAIL' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const [name, rrtype] = c.query;
      if (c.code === undefined) {
        assert.deepEqual(await resolver(name, rrtype), c.answer);
        return;
      }
      const err = await rejection(resolver(name, rrtype));
      assert.equal(err.code, c.code);
      assert.equal(err.hostname, name);
      assert.equal(
        err.message,
        `query${rrtype.charAt(0).toUpperCase()}${rrtype.slice(1).toLowerCase()} ${c.code} ${name}`,
      );
      assert.equal(isNoRecord(err), c.code !== 'ESERVFAIL');
    });
  }

  it('answers are copies: mutating one changes neither the zone nor later answers', async () => {
    const zones: Zones = {
      'a.example': { A: ['192.0.2.1'], TXT: [['x', 'y']], MX: [{ exchange: 'mx', priority: 1 }] },
    };
    const r = zoneResolver(zones);
    const txt = await r('a.example', 'TXT');
    txt[0]?.push('z');
    txt.push(['w']);
    const mx = await r('a.example', 'MX');
    if (mx[0]) mx[0].exchange = 'evil';
    (await r('a.example', 'A')).push('203.0.113.1');
    zones['a.example']?.A?.push('198.51.100.1');
    assert.deepEqual(await r('a.example', 'TXT'), [['x', 'y']]);
    assert.deepEqual(await r('a.example', 'MX'), [{ exchange: 'mx', priority: 1 }]);
    assert.deepEqual(await r('a.example', 'A'), ['192.0.2.1']);
  });
});

describe('cachedResolver', () => {
  /** A zone resolver counting the queries that reach it. */
  function counted(zones: Zones = ZONES) {
    const inner = spy(zoneResolver(zones));
    return { ...inner, count: () => inner.calls.length };
  }

  it('caches positive answers by type and case-insensitive name', async () => {
    const inner = counted();
    const r = cachedResolver(inner.resolver);
    assert.deepEqual(await r('example.com', 'A'), ['192.0.2.1']);
    assert.deepEqual(await r('EXAMPLE.com.', 'A'), ['192.0.2.1']);
    assert.deepEqual(await r('example.com', 'a'), ['192.0.2.1']);
    assert.equal(inner.count(), 1);
    assert.deepEqual(await r('example.com', 'AAAA'), ['2001:db8::1']);
    assert.equal(inner.count(), 2);
  });

  it('returns copies of cached answers', async () => {
    const r = cachedResolver(counted().resolver);
    const first = await r('example.com', 'TXT');
    first[1]?.push('tampered');
    assert.deepEqual(await r('example.com', 'TXT'), [['v=spf1 -all'], ['chunk1', 'chunk2']]);
  });

  for (const [label, query, code] of [
    ['NXDOMAIN', ['absent.example', 'A'], 'ENOTFOUND'],
    ['NODATA', ['txt-only.example', 'MX'], 'ENODATA'],
  ] as const) {
    it(`caches ${label} and re-throws it as a fresh ${code} error`, async () => {
      const inner = counted();
      const r = cachedResolver(inner.resolver);
      const first = await rejection(r(query[0], query[1]));
      const second = await rejection(r(query[0], query[1]));
      assert.equal(inner.count(), 1);
      for (const err of [first, second]) {
        assert.equal(err.code, code);
        assert.equal(err.hostname, query[0]);
        assert.ok(isNoRecord(err));
      }
      assert.notEqual(first, second);
      assert.equal(second.message, first.message);
    });
  }

  for (const code of ['ESERVFAIL', 'ETIMEOUT', 'EREFUSED', 'ECONNREFUSED']) {
    it(`never caches a temporary failure (${code})`, async () => {
      const inner = spy(failing(zoneResolver(ZONES), { A: code }));
      const r = cachedResolver(inner.resolver);
      assert.equal((await rejection(r('example.com', 'A'))).code, code);
      assert.equal((await rejection(r('example.com', 'A'))).code, code);
      assert.equal(inner.calls.length, 2);
    });
  }

  it('retries after a temporary failure and then caches the answer', async () => {
    let calls = 0;
    const inner = asResolver(async (name, rrtype) => {
      calls++;
      if (calls === 1) throw dnsError('ESERVFAIL', name, rrtype);
      return ['192.0.2.9'];
    });
    const r = cachedResolver(inner);
    assert.equal((await rejection(r('flaky.example', 'A'))).code, 'ESERVFAIL');
    assert.deepEqual(await r('flaky.example', 'A'), ['192.0.2.9']);
    assert.deepEqual(await r('flaky.example', 'A'), ['192.0.2.9']);
    assert.equal(calls, 2);
  });

  for (const [label, query] of [
    ['an answer', ['example.com', 'A']],
    ['a negative answer', ['absent.example', 'A']],
  ] as const) {
    it(`expires ${label} after ttlMs (injected clock)`, async () => {
      let clock = 1_000;
      const inner = counted();
      const r = cachedResolver(inner.resolver, { ttlMs: 500, now: () => clock });
      const ask = () => r(query[0], query[1]).catch(() => undefined);
      await ask();
      clock += 499;
      await ask();
      assert.equal(inner.count(), 1, 'still fresh 1 ms before expiry');
      clock += 1;
      await ask();
      assert.equal(inner.count(), 2, 'expired at ttlMs');
      await ask();
      assert.equal(inner.count(), 2, 'cached again');
    });
  }

  it('default TTL is 5 minutes', async () => {
    let clock = 0;
    const inner = counted();
    const r = cachedResolver(inner.resolver, { now: () => clock });
    await r('example.com', 'A');
    clock = 299_999;
    await r('example.com', 'A');
    assert.equal(inner.count(), 1);
    clock = 300_000;
    await r('example.com', 'A');
    assert.equal(inner.count(), 2);
  });

  it('concurrent identical lookups share one in-flight query, each getting its own copy', async () => {
    const gate = deferred<string[]>();
    let calls = 0;
    const r = cachedResolver(
      asResolver(() => {
        calls++;
        return gate.promise;
      }),
    );
    const pending = [r('slow.example', 'A'), r('SLOW.example.', 'A'), r('slow.example', 'A')];
    const other = r('slow.example', 'AAAA');
    await Promise.resolve();
    gate.resolve(['192.0.2.7']);
    const answers = await Promise.all(pending);
    await other;
    assert.equal(calls, 2, 'one query for A, one for AAAA');
    for (const a of answers) assert.deepEqual(a, ['192.0.2.7']);
    assert.notEqual(answers[0], answers[1]);
  });

  it('concurrent lookups share an in-flight temporary failure, and the next lookup retries', async () => {
    const gates = [deferred<string[]>(), deferred<string[]>()];
    let calls = 0;
    const r = cachedResolver(asResolver(() => gates[calls++]!.promise));
    const pending = [r('slow.example', 'A'), r('slow.example', 'A')].map(rejection);
    gates[0]!.reject(dnsError('ETIMEOUT', 'slow.example', 'A'));
    for (const err of await Promise.all(pending)) assert.equal(err.code, 'ETIMEOUT');
    assert.equal(calls, 1);
    const retry = r('slow.example', 'A');
    gates[1]!.resolve(['192.0.2.8']);
    assert.deepEqual(await retry, ['192.0.2.8']);
    assert.equal(calls, 2);
  });

  it('a synchronously throwing resolver is a rejection and is not stuck in flight', async () => {
    let calls = 0;
    const r = cachedResolver(
      asResolver((name, rrtype) => {
        calls++;
        throw dnsError('ESERVFAIL', name, rrtype);
      }),
    );
    assert.equal((await rejection(r('sync.example', 'A'))).code, 'ESERVFAIL');
    assert.equal((await rejection(r('sync.example', 'A'))).code, 'ESERVFAIL');
    assert.equal(calls, 2);
  });

  it('evicts the oldest entry beyond maxEntries', async () => {
    const zones: Zones = {
      'a.example': { A: ['192.0.2.1'] },
      'b.example': { A: ['192.0.2.2'] },
      'c.example': { A: ['192.0.2.3'] },
    };
    const inner = counted(zones);
    const r = cachedResolver(inner.resolver, { maxEntries: 2 });
    for (const n of ['a', 'b', 'c']) await r(`${n}.example`, 'A');
    assert.equal(inner.count(), 3);
    await r('c.example', 'A');
    await r('b.example', 'A');
    assert.equal(inner.count(), 3, 'b and c are still cached');
    await r('a.example', 'A');
    assert.equal(inner.count(), 4, 'a was evicted');
    await r('c.example', 'A');
    assert.equal(inner.count(), 4, 'c is still cached');
    await r('b.example', 'A');
    assert.equal(inner.count(), 5, 'b was evicted when a came back');
  });

  it('maxEntries 0 disables caching', async () => {
    const inner = counted();
    const r = cachedResolver(inner.resolver, { maxEntries: 0 });
    await r('example.com', 'A');
    await r('example.com', 'A');
    assert.equal(inner.count(), 2);
  });

  for (const opts of [{ ttlMs: -1 }, { ttlMs: Number.NaN }, { maxEntries: -1 }, { maxEntries: 1.5 }]) {
    it(`rejects options ${JSON.stringify(opts)}`, () => {
      assert.throws(() => cachedResolver(zoneResolver(ZONES), opts), RangeError);
    });
  }
});

describe('checkSourceDomain', () => {
  const NONE: SourceDomainVerdict = { hasAddress: false, hasMx: false, nullMx: false, ok: false };
  type Case = {
    name: string;
    domain: string;
    zones: Zones;
    fail?: Record<string, string>;
    verdict?: SourceDomainVerdict;
    throws?: { rrtype: string; code: string };
  };
  const cases: Case[] = [
    {
      name: 'A only',
      domain: 'a.example',
      zones: { 'a.example': { A: ['192.0.2.1'] } },
      verdict: { hasAddress: true, hasMx: false, nullMx: false, ok: true },
    },
    {
      name: 'AAAA only',
      domain: 'a.example',
      zones: { 'a.example': { AAAA: ['2001:db8::1'] } },
      verdict: { hasAddress: true, hasMx: false, nullMx: false, ok: true },
    },
    {
      name: 'MX only',
      domain: 'a.example',
      zones: { 'a.example': { MX: [{ exchange: 'mx.example', priority: 10 }] } },
      verdict: { hasAddress: false, hasMx: true, nullMx: false, ok: true },
    },
    {
      name: 'A and MX',
      domain: 'a.example',
      zones: { 'a.example': { A: ['192.0.2.1'], MX: [{ exchange: 'mx.example', priority: 10 }] } },
      verdict: { hasAddress: true, hasMx: true, nullMx: false, ok: true },
    },
    {
      name: 'null MX with A: ok through the address',
      domain: 'a.example',
      zones: { 'a.example': { A: ['192.0.2.1'], MX: [{ exchange: '.', priority: 0 }] } },
      verdict: { hasAddress: true, hasMx: false, nullMx: true, ok: true },
    },
    {
      name: 'null MX without A: not ok',
      domain: 'a.example',
      zones: { 'a.example': { MX: [{ exchange: '.', priority: 0 }] } },
      verdict: { hasAddress: false, hasMx: false, nullMx: true, ok: false },
    },
    {
      name: 'null MX written "" (as Node answers it)',
      domain: 'a.example',
      zones: { 'a.example': { MX: [{ exchange: '', priority: 0 }] } },
      verdict: { hasAddress: false, hasMx: false, nullMx: true, ok: false },
    },
    {
      name: 'root exchange with priority 10: no usable MX, not a null MX',
      domain: 'a.example',
      zones: { 'a.example': { MX: [{ exchange: '.', priority: 10 }] } },
      verdict: NONE,
    },
    {
      name: 'root exchange next to a real MX: has MX, not a null MX',
      domain: 'a.example',
      zones: {
        'a.example': {
          MX: [
            { exchange: '.', priority: 0 },
            { exchange: 'mx.example', priority: 10 },
          ],
        },
      },
      verdict: { hasAddress: false, hasMx: true, nullMx: false, ok: true },
    },
    { name: 'nothing (NXDOMAIN): not ok', domain: 'absent.example', zones: {}, verdict: NONE },
    {
      name: 'only TXT (NODATA for A, AAAA, MX): not ok',
      domain: 'a.example',
      zones: { 'a.example': { TXT: ['v=spf1 -all'] } },
      verdict: NONE,
    },
    {
      name: 'A through a CNAME',
      domain: 'alias.example',
      zones: { 'alias.example': { CNAME: ['a.example'] }, 'a.example': { A: ['192.0.2.1'] } },
      verdict: { hasAddress: true, hasMx: false, nullMx: false, ok: true },
    },
    {
      name: 'SERVFAIL on MX with A present: ok',
      domain: 'a.example',
      zones: { 'a.example': { A: ['192.0.2.1'] } },
      fail: { MX: 'ESERVFAIL' },
      verdict: { hasAddress: true, hasMx: false, nullMx: false, ok: true },
    },
    {
      name: 'timeout on A and AAAA with MX present: ok',
      domain: 'a.example',
      zones: { 'a.example': { MX: [{ exchange: 'mx.example', priority: 10 }] } },
      fail: { A: 'ETIMEOUT', AAAA: 'ETIMEOUT' },
      verdict: { hasAddress: false, hasMx: true, nullMx: false, ok: true },
    },
    {
      name: 'SERVFAIL on A with AAAA present: ok',
      domain: 'a.example',
      zones: { 'a.example': { AAAA: ['2001:db8::1'] } },
      fail: { A: 'ESERVFAIL' },
      verdict: { hasAddress: true, hasMx: false, nullMx: false, ok: true },
    },
    {
      name: 'SERVFAIL with nothing else: throws',
      domain: 'a.example',
      zones: { 'a.example': { SERVFAIL: true } },
      throws: { rrtype: 'A', code: 'ESERVFAIL' },
    },
    {
      name: 'SERVFAIL on MX, NODATA for A and AAAA: throws',
      domain: 'a.example',
      zones: { 'a.example': { TXT: ['x'] } },
      fail: { MX: 'ESERVFAIL' },
      throws: { rrtype: 'MX', code: 'ESERVFAIL' },
    },
    {
      name: 'timeout on MX, NXDOMAIN for A and AAAA: throws',
      domain: 'absent.example',
      zones: {},
      fail: { MX: 'ETIMEOUT' },
      throws: { rrtype: 'MX', code: 'ETIMEOUT' },
    },
    {
      name: 'SERVFAIL on A with a null MX: throws (the null MX proves no MX, not no A)',
      domain: 'a.example',
      zones: { 'a.example': { MX: [{ exchange: '.', priority: 0 }] } },
      fail: { A: 'ESERVFAIL' },
      throws: { rrtype: 'A', code: 'ESERVFAIL' },
    },
    {
      name: 'refused on AAAA only, nothing else: throws',
      domain: 'absent.example',
      zones: {},
      fail: { AAAA: 'EREFUSED' },
      throws: { rrtype: 'AAAA', code: 'EREFUSED' },
    },
    {
      name: 'upper case and trailing dot',
      domain: 'A.Example.',
      zones: { 'a.example': { A: ['192.0.2.1'] } },
      verdict: { hasAddress: true, hasMx: false, nullMx: false, ok: true },
    },
    {
      name: 'IDN: U-label looked up as A-label (RFC 5890)',
      domain: 'bücher.example',
      zones: { 'xn--bcher-kva.example': { A: ['192.0.2.1'] } },
      verdict: { hasAddress: true, hasMx: false, nullMx: false, ok: true },
    },
    {
      name: 'underscore is allowed',
      domain: 'mail_out.example',
      zones: { 'mail_out.example': { A: ['192.0.2.1'] } },
      verdict: { hasAddress: true, hasMx: false, nullMx: false, ok: true },
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const resolver = failing(zoneResolver(c.zones), c.fail ?? {});
      if (c.verdict !== undefined) {
        assert.deepEqual(await checkSourceDomain(c.domain, resolver), c.verdict);
        return;
      }
      const err = await rejection(checkSourceDomain(c.domain, resolver));
      assert.ok(err instanceof DnsTemporaryError, `got ${err.name}: ${err.message}`);
      assert.equal(err.retryable, true);
      assert.equal(err.rrtype, c.throws?.rrtype);
      assert.equal(err.domain, c.domain.toLowerCase());
      assert.equal(errorCode(err.cause), c.throws?.code);
    });
  }

  const invalid: { name: string; domain: string }[] = [
    { name: 'empty', domain: '' },
    { name: 'only a dot', domain: '.' },
    { name: 'empty label', domain: 'a..example' },
    { name: 'leading dot', domain: '.a.example' },
    { name: 'label of 64 characters', domain: `${'x'.repeat(64)}.example` },
    { name: 'longer than 253 characters', domain: `${'abcdefghi.'.repeat(25)}example` },
    { name: 'a space', domain: 'exa mple.com' },
    { name: 'a bang', domain: 'ex!ample.com' },
    { name: 'an @', domain: 'user@example.com' },
    { name: 'IPv4 literal', domain: '192.0.2.1' },
    { name: 'bracketed address literal', domain: '[192.0.2.1]' },
    { name: 'IPv6 literal', domain: '2001:db8::1' },
    { name: 'invalid IDN', domain: 'xn--ü.example' },
  ];
  for (const c of invalid) {
    it(`invalid syntax (${c.name}): no record, without any query`, async () => {
      const { resolver, calls } = spy(zoneResolver({ 'a.example': { A: ['192.0.2.1'] } }));
      assert.deepEqual(await checkSourceDomain(c.domain, resolver), NONE);
      assert.deepEqual(calls, []);
    });
  }

  it('a 63-character label and a 253-character name are valid', async () => {
    const long = `${'x'.repeat(63)}.${'y'.repeat(63)}.${'z'.repeat(63)}.${'w'.repeat(61)}`;
    assert.equal(long.length, 253);
    const r = zoneResolver({ [long]: { A: ['192.0.2.1'] } });
    assert.equal((await checkSourceDomain(long, r)).ok, true);
  });

  it('queries A, AAAA and MX in parallel, with the normalised name', async () => {
    const gate = deferred<void>();
    const calls: string[] = [];
    const inner = zoneResolver({ 'a.example': { A: ['192.0.2.1'] } });
    const resolver = asResolver(async (name, rrtype) => {
      calls.push(`${rrtype} ${name}`);
      await gate.promise;
      return inner(name, rrtype);
    });
    const verdict = checkSourceDomain('A.EXAMPLE.', resolver);
    await Promise.resolve();
    assert.deepEqual(calls.sort(), ['A a.example', 'AAAA a.example', 'MX a.example']);
    gate.resolve();
    assert.equal((await verdict).ok, true);
  });
});

describe('mailauth dkimVerify with zoneResolver', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const record = `v=DKIM1; k=rsa; p=${p}`;
  const keyName = 's1._domainkey.example.com';
  const message = [
    'From: Alice <alice@example.com>',
    'To: bob@example.net',
    'Subject: hello',
    'Date: Mon, 01 Jan 2024 00:00:00 +0000',
    'Message-ID: <1@example.com>',
    '',
    'Hello Bob.',
    '',
  ].join('\r\n');

  const chunks: string[] = [];
  for (let i = 0; i < record.length; i += 255) chunks.push(record.slice(i, i + 255));

  const cases: { name: string; zones: Zones; cache?: boolean; result: string }[] = [
    { name: 'key as one string: pass', zones: { [keyName]: { TXT: [record] } }, result: 'pass' },
    { name: 'key split in 255-octet chunks: pass', zones: { [keyName]: { TXT: [chunks] } }, result: 'pass' },
    {
      name: 'through cachedResolver: pass',
      zones: { [keyName]: { TXT: [record] } },
      cache: true,
      result: 'pass',
    },
    {
      name: 'key name is SERVFAIL: temperror',
      zones: { [keyName]: { SERVFAIL: true } },
      result: 'temperror',
    },
    { name: 'no key (NXDOMAIN): neutral', zones: {}, result: 'neutral' },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      // mailauth signs what `signatureData` lists; its typings also require the top-level fields.
      const key = { signingDomain: 'example.com', selector: 's1', privateKey: pem };
      const { signatures, errors } = await dkimSign(message, { ...key, signatureData: [key] });
      assert.deepEqual(errors, []);
      assert.ok(signatures.startsWith('DKIM-Signature:'));
      const zone = zoneResolver(c.zones);
      const resolver: Resolver = c.cache ? cachedResolver(zone) : zone;
      const verified = await dkimVerify(signatures + message, { resolver });
      assert.equal(verified.results.length, 1);
      assert.equal(verified.results[0]?.status.result, c.result);
      assert.equal(verified.results[0]?.signingDomain, 'example.com');
    });
  }
});

describe('nodeResolver (no network: local UDP sockets only)', () => {
  /** Binds a UDP socket on a free local port. */
  async function bound(): Promise<Socket> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return socket;
  }

  const cases: { name: string; code: string; server: () => Promise<{ port: number; close: () => void }> }[] =
    [
      {
        name: 'closed port (ICMP unreachable)',
        code: 'ECONNREFUSED',
        server: async () => {
          const socket = await bound();
          const { port } = socket.address();
          socket.close();
          return { port, close: () => {} };
        },
      },
      {
        name: 'server that never answers (timeout)',
        code: 'ETIMEOUT',
        server: async () => {
          const socket = await bound();
          return { port: socket.address().port, close: () => socket.close() };
        },
      },
    ];
  for (const c of cases) {
    it(`${c.name} is a temporary failure, never a no-record`, async () => {
      const server = await c.server();
      try {
        const resolver = nodeResolver({ servers: [`127.0.0.1:${server.port}`], timeoutMs: 200, tries: 1 });
        const err = await rejection(resolver('nonexistent.invalid', 'A'));
        assert.equal(err.code, c.code);
        assert.ok(isTemporary(err));
        assert.equal(isNoRecord(err), false);
        const verdict = await rejection(checkSourceDomain('example.com', resolver));
        assert.ok(verdict instanceof DnsTemporaryError);
        assert.equal(verdict.retryable, true);
      } finally {
        server.close();
      }
    });
  }

  it('an unknown record type is a rejection, not a synchronous throw', async () => {
    const resolver = nodeResolver({ servers: ['127.0.0.1:9'], timeoutMs: 200, tries: 1 });
    const promise = resolver('example.com', 'NOPE');
    assert.ok(promise instanceof Promise);
    await rejection(promise);
  });
});
