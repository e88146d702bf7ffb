/**
 * `wellDelimited` (`functions/core/message.ts`): an address field whose quotes, comments or
 * angle brackets are left open is read differently by different parsers, so it cannot name
 * the author (SPEC 2a, F). The oracle for the property: fields we write ourselves
 * (`formatMailbox`, RFC 5322 quoting) are closed, and removing the closing `>` opens them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatMailbox, wellDelimited } from '../../functions/core/message.js';

describe('wellDelimited', () => {
  for (const [value, closed] of [
    ['me@example.com', true],
    ['"Boss, Inc." <boss@example.org>', true],
    ['"a \\" b" <x@y.test>', true],
    ['Bob (a (nested) "comment) <b@c.test>', true],
    ['A <a@b.test>, B <b@c.test>', true],
    ['"boss@example.org', false],
    ['"boss@example.org, me@example.com', false],
    ['<a@b.test', false],
    ['a@b.test>', false],
    ['Bob (open <b@c.test>', false],
    ['x) <b@c.test>', false],
    ['<a@b.test, c@d.test>', false],
    ['<<a@b.test>>', false],
    // One address to every parser (review of December 2026: nodemailer read the attacker's,
    // Python's email.headerregistry the accepted domain's).
    ['ceo@example.com <x@attacker.test>', false],
    ['a <x@attacker.test> <ceo@example.com>', false],
    ['ceo@example.com\\@attacker.test', false],
    ['a@b@c.test', false],
    ['x@y.test <x@y.test>', true],
    ['X@Y.test <x@y.test>', true],
    ['"ceo@example.com" <x@attacker.test>', true],
    ['x@attacker.test (ceo@example.com)', true],
    ['Team: a@b.test, B <c@d.test>;', true],
    ['ceo@example.com: a@b.test;', false],
  ] as const) {
    it(`${JSON.stringify(value)} is ${closed ? 'closed' : 'open'}`, () =>
      assert.equal(wellDelimited(value), closed));
  }

  it('what formatMailbox writes is closed; without its closing bracket it is open (property)', () => {
    const name = fc.string({ maxLength: 20 });
    const local = fc.stringMatching(/^[a-z0-9._+-]{1,12}$/);
    fc.assert(
      fc.property(name, local, (n, l) => {
        const field = formatMailbox(n, `${l}@example.com`);
        assert.equal(wellDelimited(field), true, field);
        const cut = field.slice(0, -1); // drops the closing `>`
        assert.equal(wellDelimited(cut), false, cut);
      }),
      { numRuns: 1000 },
    );
  });
});
