/**
 * Which strings take part in DMARC-style alignment (`functions/core/dkim.ts`): a DKIM `d=`,
 * a From and an envelope domain are sender-controlled, and only domain names may align. The
 * oracle is Node's WHATWG URL parser: a string accepted as a domain name comes back from it
 * unchanged as the whole host of `http://<string>/`, and a string with a character that
 * splits a URL (path, query, fragment, port, user) is refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isDomainName, organizationalDomain, relaxedAligned } from '../../functions/core/dkim.js';

describe('domain names and alignment', () => {
  it('aligns subdomains of one organizational domain, case and a trailing dot aside', () => {
    assert.equal(relaxedAligned('mail.example.com', 'Example.COM.'), true);
    assert.equal(relaxedAligned('a.b.co.uk', 'c.b.co.uk'), true);
    assert.equal(relaxedAligned('b.co.uk', 'c.co.uk'), false);
  });

  it('never aligns a string a URL parser reads as a host and something more, nor anything with itself', () => {
    for (const bad of [
      'example.com/.attacker.test',
      'example.com?.x.test',
      'example.com#.x.test',
      'example.com:25',
      'exa mple.com',
      'example..com',
      '-a.example.com',
      'a_b.example.com',
      'localhost',
      '',
    ]) {
      assert.equal(isDomainName(bad), false, bad);
      assert.equal(relaxedAligned(bad, 'example.com'), false, bad);
      assert.equal(relaxedAligned(bad, bad), false, bad);
      // The organizational domain of a non-name is the string itself, never a parsed part.
      assert.equal(organizationalDomain(bad), bad.toLowerCase().replace(/\.$/, ''), bad);
    }
  });

  it('whatever it accepts, the URL host parser reads as that whole host; whatever splits a URL, it refuses (property)', () => {
    const label = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}[a-z0-9]$|^[a-z0-9]$/);
    const name = fc.array(label, { minLength: 2, maxLength: 5 }).map((l) => l.join('.'));
    const noise = fc.string({ maxLength: 12 });
    const candidate = fc.oneof(
      name,
      fc.tuple(name, noise, name).map(([a, n, b]) => `${a}${n}${b}`),
    );
    fc.assert(
      fc.property(candidate, (s) => {
        // A name whose last label is a number — decimal, or hexadecimal as `0x…`, even `0x`
        // alone (WHATWG URL, "ends in a number") — is an IPv4 address to the URL parser, and an
        // `xn--` label is Punycode it decodes (refusing `xn--a`); DNS and alignment read neither so.
        if (isDomainName(s) && !/\.([0-9]+|0x[0-9a-f]*)$/i.test(s) && !/(^|\.)xn--/.test(s)) {
          const url = new URL(`http://${s}/`);
          assert.equal(url.hostname, s);
          assert.equal(url.pathname, '/');
          assert.equal(url.search + url.hash + url.port + url.username, '');
        }
        if (/[/?#:@\\\s%]/.test(s)) assert.equal(isDomainName(s), false, s);
      }),
      { numRuns: 2000 },
    );
  });
});
