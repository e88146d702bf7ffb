/**
 * The container's DNS cache is bounded in bytes, not only in entries. A sender controls the
 * DNS of its own domains and chooses the names we look up (a selector per DKIM signature, a
 * fresh subdomain per envelope): a TXT answer of 64 KB made of two-octet character-strings is
 * ~21 000 JavaScript strings, ~650 KB of heap once cached. 10 000 such entries (the entry
 * bound) are ~6 GB; 400 of them, a few dozen messages, exhaust a 256 MB router.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cachedResolver, DEFAULT_CACHE_BYTES } from '../../functions/core/dns/cached-resolver.js';
import { asResolver } from '../../functions/core/dns/resolver.js';

/** A hostile name server: every TXT answer is one record of `strings` two-octet strings. */
function hostile(strings: number) {
  const calls: string[] = [];
  const resolver = asResolver(async (name) => {
    calls.push(name);
    return [
      Array.from({ length: strings }, (_, i) => String.fromCharCode(97 + (i % 26), 97 + ((i / 26) % 26))),
    ];
  });
  return { resolver, count: () => calls.length };
}

describe('cachedResolver: a byte bound', () => {
  it('huge answers from an attacker`s name server evict each other, not the heap', async () => {
    const inner = hostile(21_000);
    const r = cachedResolver(inner.resolver);
    const names = Array.from({ length: 60 }, (_, i) => `s${i}._domainkey.attacker.test`);
    for (const name of names) assert.equal((await r(name, 'TXT'))[0]!.length, 21_000);
    assert.equal(inner.count(), 60);
    await r(names[0]!, 'TXT');
    assert.equal(inner.count(), 61, 'the oldest huge answer was evicted');
    await r(names.at(-1)!, 'TXT');
    assert.equal(inner.count(), 61, 'the newest is still cached');
  });

  it('an answer larger than the whole budget is answered, not cached', async () => {
    const inner = hostile(2_000);
    const r = cachedResolver(inner.resolver, { maxBytes: 10_000 });
    assert.equal((await r('big.attacker.test', 'TXT'))[0]!.length, 2_000);
    await r('big.attacker.test', 'TXT');
    assert.equal(inner.count(), 2);
  });

  it('ordinary answers fill the entry bound well within the byte bound', async () => {
    const calls: string[] = [];
    const key = `v=DKIM1; k=rsa; p=${'A'.repeat(392)}`; // a 2048-bit key record
    const r = cachedResolver(
      asResolver(async (name) => {
        calls.push(name);
        return [[key.slice(0, 255), key.slice(255)]];
      }),
    );
    for (let i = 0; i < 10_000; i++) await r(`s${i}._domainkey.example.com`, 'TXT');
    await r('s0._domainkey.example.com', 'TXT');
    assert.equal(calls.length, 10_000, '10 000 key records fit');
    assert.ok(DEFAULT_CACHE_BYTES <= 32 * 2 ** 20);
  });

  it('rejects a negative maxBytes', () => {
    assert.throws(() => cachedResolver(hostile(1).resolver, { maxBytes: -1 }), RangeError);
  });
});
