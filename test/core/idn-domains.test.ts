/**
 * Internationalized domain names (RFC 8616): an internationalized mail may write its From or
 * envelope domain as U-labels (`bücher.test`) where its DKIM signature says
 * `d=xn--bcher-kva.test`, or the other way round. Both are one name, the A-label form DNS
 * holds and mailauth looks the key up under; alignment, accepted domains and identities all
 * compare that form (`canonicalDomain`). The oracle is Node's WHATWG URL host parser
 * (`domainToASCII`, UTS 46 over ICU), an implementation independent of mailauth's Punycode.
 * What UTS 46 would *map* (full-width letters, ideographic dots) is a different name here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { domainToASCII } from 'node:url';
import fc from 'fast-check';
import { decideMessage } from '../../functions/core/decide.js';
import { relaxedAligned } from '../../functions/core/dkim.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { normalizeIdentity } from '../../functions/core/identity.js';
import { canonicalDomain, domainOf } from '../../functions/core/message.js';
import { dkimKey, message, NOW, received, sign, testConfig, zones } from '../helpers/mail.js';

const BUECHER = domainToASCII('bücher.test');

describe('internationalized domain names', () => {
  it('writes U-labels as the A-labels the URL host parser gives, case, NFC and a root dot aside', () => {
    assert.equal(BUECHER, 'xn--bcher-kva.test');
    for (const written of [
      'bücher.test',
      'BÜCHER.test',
      'bu\u0308cher.test',
      'Bücher.Test.',
      BUECHER,
      BUECHER.toUpperCase(),
    ]) {
      assert.equal(canonicalDomain(written), BUECHER, written);
      assert.equal(domainOf(`Ana@${written}`), BUECHER, written);
      assert.equal(relaxedAligned(written, BUECHER), true, written);
      assert.equal(relaxedAligned(`mail.${written}`, 'bücher.test'), true, written);
    }
    assert.equal(
      normalizeIdentity('Ana+tag@Bücher.test.', { subaddressSeparator: '+', identities: {} }),
      `ana@${BUECHER}`,
    );
  });

  it('does not fold what UTS 46 maps (full-width letters); ideographic dots separate labels (RFC 3490 3.1)', () => {
    assert.equal(domainToASCII('ｅxample.com'), 'example.com', 'the URL parser maps it');
    assert.equal(relaxedAligned('ｅxample.com', 'example.com'), false);
    // The dots IDNA reads as label separators are dots to mailauth's key lookup too: the key
    // of `d=example\u3002com` is example.com's, so that name is example.com here as well.
    assert.equal(domainToASCII('example\u3002com'), 'example.com');
    assert.equal(canonicalDomain('example\u3002com'), 'example.com');
    // A label Punycode cannot take stays as written, and is no domain name.
    assert.equal(relaxedAligned(`${'ü'.repeat(80)}.test`, `${'ü'.repeat(80)}.test`), false);
  });

  it('any lower-case NFC U-label name aligns with its A-label form, and with nothing else (property)', () => {
    const letter = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789éüñøåçßłž');
    const label = fc.array(letter, { minLength: 1, maxLength: 12 }).map((l) => l.join(''));
    const name = fc
      .tuple(label, fc.constantFrom('test', 'example', 'co.uk'))
      .map(([l, tld]) => `${l}.${tld}`);
    fc.assert(
      fc.property(name, name, (u, other) => {
        const ascii = domainToASCII(u);
        fc.pre(ascii !== '' && !/ß/.test(u)); // ß: UTS 46 transitional processing differs by ICU build
        assert.equal(canonicalDomain(u), ascii);
        assert.equal(relaxedAligned(u, ascii), true);
        assert.equal(relaxedAligned(ascii, u.toUpperCase()), domainToASCII(u.toUpperCase()) === ascii);
        if (domainToASCII(other) !== ascii) assert.equal(relaxedAligned(u, other), false);
      }),
      { numRuns: 500 },
    );
  });
});

describe('internationalized senders in the decision', () => {
  const key = dkimKey('bücher.test');
  const ZONES = zones([], {
    [BUECHER]: { A: ['192.0.2.50'], MX: [{ exchange: `mx.${BUECHER}`, priority: 10 }] },
    [`${key.selector}._domainkey.${BUECHER}`]: { TXT: [key.record] },
  });
  /** The decision for a message from `from`, signed by bücher.test, its envelope proved by nothing else. */
  const decideSigned = async (from: string) => {
    const raw = await sign(message({ from }), key);
    const d = await decideMessage({
      received: received({ spf: 'FAIL', source: `ana@${BUECHER}` }),
      raw,
      config: testConfig(),
      resolver: zoneResolver(ZONES),
      now: NOW,
      senders: {},
    });
    return { raw, d };
  };

  for (const [fromDomain, what] of [
    ['bücher.test', 'a U-label From'],
    [BUECHER, 'an A-label From'],
  ] as const) {
    it(`${what} with a passing DKIM signature of bücher.test is author-authenticated → normal`, async () => {
      const { raw, d } = await decideSigned(`Ana <ana@${fromDomain}>`);
      // mailauth's signer writes `d=` as A-labels (the U-label `d=` is the property above).
      assert.match(raw.toString(), /d=xn--bcher-kva\.test;/);
      assert.equal(d.pool, 'normal');
      assert.deepEqual(d.reasons, ['dkim-aligned-pass', 'srs-rewritten']);
    });
  }

  it('a From of a full-width look-alike of that name is not authenticated by its signature → relay', async () => {
    const { d } = await decideSigned('Ana <ana@bｕcher.test>');
    assert.notEqual(d.pool, 'normal');
  });
});
