/**
 * Hostile input, the DNS answers a sender writes, continued (`hostile-dns.test.ts`; review of
 * December 2026): shapes that stayed within every earlier bound yet cost more than five
 * ordinary messages. Each is decided as its bound says, in ≤ 5× an ordinary message of its
 * kind, measured as the other hostile-input tests measure (`test/helpers/hostile.ts`).
 *
 * - SPF answers (behind a trusted gateway) holding thousands of TXT records that are not SPF
 *   records: mailauth splits every record of every answer into terms;
 * - SPF macros: mailauth expands every modifier up front, lookups or not, and an `exp=`
 *   explanation whole; an upper-case macro URL-escapes a byte at a time;
 * - DKIM key answers with a large record after the key: the parsed-key cache serialized the
 *   whole answer for its key;
 * - key records of hundreds of tags within 4 KB: mailauth parses every tag, for every seal of
 *   an ARC chain.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Decision } from '../../functions/core/decide.js';
import { MAX_ARC_SETS } from '../../functions/core/dkim.js';
import {
  forgetParsedKeys,
  MAX_KEY_RECORD_OCTETS,
  MAX_KEY_RECORD_TAGS,
} from '../../functions/core/dkim-keys.js';
import { MAX_SPF_MACROS, withDashLast } from '../../functions/core/dns/spf-resolver.js';
import { type Zones, zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import {
  arcSealedChain,
  assertBounded,
  decideViaGateway,
  decideWith,
  least,
  ordinaryHeaderOfSize,
  ratio,
  senderKey,
} from '../helpers/hostile.js';
import { type DkimKey, dkimKey, message, sign, zones } from '../helpers/mail.js';

describe('hostile input: DNS answers the sender writes, continued (TXT records, SPF macros, key answers)', () => {
  const fresh = (run: () => Promise<Decision>) => () => {
    forgetParsedKeys();
    return run();
  };

  // SPF recomputed behind a trusted gateway (gateways.ts), as in hostile-dns.test.ts.
  const decideVia = decideViaGateway;
  const ordinary = decideVia('alice@sender.test', {});
  const gatewayResult = async (run: () => Promise<Decision>) => {
    const g = (await run()).classification.gateway;
    return g?.applied ? [g.mailauthResult, g.spf] : [];
  };
  // A sender of 255 octets (RFC 5321 4.5.3.1: 64 for the local part, a path of 256), in the
  // zone of the attacker, whose records are looked up at its domain.
  const longDomain = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(50)}.spf.attacker.test`;
  const longSender = `${'x'.repeat(64)}@${longDomain}`;

  it('SPF behind a gateway, 11 chained records each answered beside 5,000 TXT records that are not SPF: evaluated as without them, in ≤ 5× an ordinary message', async () => {
    // mailauth splits every record of an answer into terms, SPF record or not: ~14-20 ordinary
    // messages of CPU here before they were left out (December 2026).
    const chainBeside = (others: string[]): Zones => {
      const z: Zones = {};
      for (let i = 0; i < 11; i++) {
        const next = i < 10 ? ` include:s${i + 1}.attacker.test` : '';
        z[i === 0 ? 'spf.attacker.test' : `s${i}.attacker.test`] = {
          TXT: [`v=spf1${next} -all`, ...others],
        };
      }
      return z;
    };
    for (const [what, others] of [
      ['5,000 records of one octet', Array.from({ length: 5000 }, (_, i) => `${i % 10}`)],
      ['15 records of 4 KB of "a "', Array.from({ length: 15 }, () => 'a '.repeat(2048))],
    ] as const) {
      const hostile = decideVia('m@spf.attacker.test', chainBeside([...others]));
      assert.deepEqual(await gatewayResult(hostile), ['fail', 'FAIL'], what);
      assertBounded(await ratio(hostile, ordinary, 9, 20, least), `11 SPF answers beside ${what}`);
    }
    // Those records select no SPF record: beside a pass, still a pass; with two SPF records,
    // still a permerror.
    const pass = (others: string[]) =>
      decideVia('m@spf.attacker.test', {
        'spf.attacker.test': { TXT: ['v=spf1 ip4:192.0.2.11 -all', ...others] },
      });
    assert.deepEqual(await gatewayResult(pass(['a', 'b', 'c'])), ['pass', 'PASS']);
    assert.deepEqual(await gatewayResult(pass(['v=spf1 -all', 'a', 'b'])), [
      'permerror',
      'PROCESSING_FAILED',
    ]);
  });

  it(`SPF behind a gateway, macros: over ${MAX_SPF_MACROS} in one evaluation's records is permerror, an explanation holding more is not read; in ≤ 5× an ordinary message`, async () => {
    // mailauth expands every modifier up front (`x=%{S}` costs no lookup) and URL-escapes an
    // upper-case macro a byte at a time: 8 KB of such terms with a sender of 255 octets cost
    // ~20-29 ordinary messages, a 4 KB explanation of `%{S}` ~15 (December 2026).
    const modifiers = (unit: string, octets: number) => unit.repeat(Math.floor(octets / unit.length));
    const over = decideVia(longSender, {
      [longDomain]: { TXT: [`v=spf1 include:s1.attacker.test ${modifiers('x=%{S}%{S}%{S} ', 4000)} -all`] },
      's1.attacker.test': { TXT: [`v=spf1 ${modifiers('x=%{S}%{S}%{S} ', 4000)} -all`] },
    });
    assert.deepEqual(await gatewayResult(over), ['permerror', 'PROCESSING_FAILED']);
    assertBounded(await ratio(over, ordinary, 9, 20, least), '8 KB of modifiers of upper-case macros');
    // Over by one, across two records: permerror; at the bound, evaluated.
    const split = (n: number, m: number) =>
      decideVia(longSender, {
        [longDomain]: { TXT: [`v=spf1 include:s1.attacker.test x=${'%{S}'.repeat(n)} -all`] },
        's1.attacker.test': { TXT: [`v=spf1 y=${'%{S}'.repeat(m)} -all`] },
      });
    const half = MAX_SPF_MACROS / 2;
    assert.deepEqual(await gatewayResult(split(half, half + 1)), ['permerror', 'PROCESSING_FAILED']);
    assert.deepEqual(await gatewayResult(split(half, half)), ['fail', 'FAIL']);
    // An explanation of 1,024 upper-case macros: the `-all` still fails, with no explanation.
    const explained = decideVia(longSender, {
      [longDomain]: { TXT: ['v=spf1 -all exp=e.attacker.test'] },
      'e.attacker.test': { TXT: ['%{S}'.repeat(1024)] },
    });
    assert.deepEqual(await gatewayResult(explained), ['fail', 'FAIL']);
    assertBounded(
      await ratio(explained, ordinary, 9, 20, least),
      'an explanation of 1,024 upper-case macros',
    );
    // The worst within: the budget of macros, all upper case, each of the long sender, half in
    // the record and half in its explanation (which counts with it).
    const macros = '%{S}'.repeat(half);
    const within = decideVia(longSender, {
      [longDomain]: { TXT: [`v=spf1 x=${macros} -all exp=e.attacker.test`] },
      'e.attacker.test': { TXT: [macros] },
    });
    assert.deepEqual(await gatewayResult(within), ['fail', 'FAIL']);
    assertBounded(
      await ratio(within, ordinary, 9, 20, least),
      `${MAX_SPF_MACROS} upper-case macros, half in an explanation`,
      3,
    );
    // Macros as records use them still pass.
    const macroPass = decideVia('m@spf.attacker.test', {
      'spf.attacker.test': {
        TXT: ['v=spf1 exists:%{i}._spf.attacker.test include:%{ir}.%{v}.%{d}.x.test -all'],
      },
      '192.0.2.11._spf.attacker.test': { A: ['127.0.0.2'] },
    });
    assert.deepEqual(await gatewayResult(macroPass), ['pass', 'PASS']);
  });

  it('SPF behind a gateway, a macro whose delimiters read as a reversed range (%{l.-+}): evaluated, never a temporary error to retry', async () => {
    // mailauth splits a value on a character class of the delimiters as written, escaping all
    // but `-`: `%{l.-+}` became `/[\.-\+]/`, "Range out of order", which it reports as a
    // temperror: every such message was retried by Lambda twice, then decided as not passed.
    // RFC 7208 7.3 on the local part `a.b-c+d`: split on the delimiters, reversed with `r`,
    // the rightmost n parts kept, joined with dots.
    for (const [macro, passes] of [
      ['%{l.-+}', true], // a.b.c.d
      ['%{lr-.}', true], // c+d.b.a
      ['%{l1r+-=}', true], // a.b
      ['%{l.-+}x', false], // a.b.c.dx
    ] as const) {
      const d = decideVia('a.b-c+d@spf.attacker.test', {
        'spf.attacker.test': { TXT: [`v=spf1 exists:${macro}.e.attacker.test -all`] },
        'a.b.c.d.e.attacker.test': { A: ['127.0.0.2'] },
        'c+d.b.a.e.attacker.test': { A: ['127.0.0.2'] },
        'a.b.e.attacker.test': { A: ['127.0.0.2'] },
      });
      const g = (await d()).classification.gateway;
      assert.equal(g?.applied && g.mailauthResult, passes ? 'pass' : 'fail', macro);
    }
    // Only macros are reordered: `%%` is a literal percent sign, and what follows it is text.
    assert.equal(withDashLast('%%{l-.} %{l-.} %{L2R+_-}'), '%%{l-.} %{l.-} %{L2R+_-}');
  });

  it('5 DKIM signatures whose key answers hold a record of 32,000 control octets after the key: pass, in ≤ 5× an ordinary message', async () => {
    // The parsed-key cache serialized the whole answer for its key: ~5-6 ordinary messages of
    // CPU here (December 2026); getPublicKey reads only the first record.
    const keys = Array.from({ length: 5 }, (_, i) => dkimKey('sender.test', `k${i}`));
    let raw = message();
    for (const k of keys) raw = await sign(raw, k);
    const z = zones([senderKey], { 'attacker.test': { A: ['192.0.2.66'] } });
    for (const k of keys) {
      z[`${k.selector}._domainkey.sender.test`] = {
        TXT: [k.record, Array.from({ length: 32_000 }, () => '\x01')],
      };
    }
    const resolver = zoneResolver(z);
    const hostile = fresh(() => decideWith(raw, { resolver }));
    const d = await hostile();
    assert.deepEqual(
      d.classification.dkim.signatures.map((s) => s.result),
      Array(5).fill('pass'),
    );
    // A changed key record is parsed afresh, whatever else the answer holds.
    const other = dkimKey('sender.test', 'k0');
    const changed = zoneResolver({
      ...z,
      'k0._domainkey.sender.test': { TXT: [other.record, Array.from({ length: 32_000 }, () => '\x01')] },
    });
    const results = (await decideWith(raw, { resolver: changed })).classification.dkim.signatures;
    assert.equal(results.filter((s) => s.result === 'pass').length, 4);
    const ordinary = await sign(message(), senderKey);
    assertBounded(
      await ratio(
        hostile,
        fresh(() => decideWith(ordinary)),
        9,
        20,
        least,
      ),
      '5 key answers of 32,000 strings of a control octet',
    );
  });
  it(`an ARC chain of ${MAX_ARC_SETS} sets whose seal key records hold hundreds of tags: no usable key (fail); at ${MAX_KEY_RECORD_TAGS} tags, pass; in ≤ 5× an ordinary message`, async () => {
    // mailauth parses every tag-spec of a key record: ten seal keys of 4 KB of `a=b;` (~800
    // tags each) cost ~6.5-8.4 ordinary messages of the same header size (December 2026).
    const keys: DkimKey[] = Array.from({ length: MAX_ARC_SETS }, (_, i) => {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const raw = publicKey.export({ type: 'spki', format: 'der' }).subarray(12).toString('base64');
      return {
        domain: 'relay.test',
        selector: `arc${i}`,
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        record: `v=DKIM1; k=ed25519; p=${raw}`,
      };
    });
    const plain = zoneResolver(zones([senderKey, ...keys]));
    const chain = (await arcSealedChain(await sign(message(), senderKey), keys, plain)).at(-1)!;
    // Each record as one-octet strings, its tags padded with `a=b;` (unknown tags, ignored).
    const padded = (tags: (k: DkimKey) => number) => {
      const z = zones([senderKey]);
      for (const k of keys) {
        const record = k.record.replace('k=ed25519; ', `k=ed25519; ${'a=b;'.repeat(tags(k))} `);
        z[`${k.selector}._domainkey.relay.test`] = { TXT: [record.split('')] };
      }
      return zoneResolver(z);
    };
    const over = padded((k) => Math.floor((MAX_KEY_RECORD_OCTETS - k.record.length - 2) / 4));
    const atBound = padded(() => MAX_KEY_RECORD_TAGS - 2);
    const arcChain = async (resolver: typeof plain) =>
      (await decideWith(chain, { resolver })).classification.dkim.arcChain;
    assert.equal(await arcChain(over), 'fail');
    assert.equal(await arcChain(atBound), 'pass');
    const ordinary = await sign(ordinaryHeaderOfSize(chain.indexOf('\r\n\r\n')), senderKey);
    const base = fresh(() => decideWith(ordinary, { resolver: plain }));
    for (const [what, resolver] of [
      ['~800 tags', over],
      [`${MAX_KEY_RECORD_TAGS} tags`, atBound],
    ] as const) {
      assertBounded(
        await ratio(
          fresh(() => decideWith(chain, { resolver })),
          base,
          9,
          20,
          least,
        ),
        `${MAX_ARC_SETS} ARC seal keys of ${what}`,
      );
    }
  });
});
