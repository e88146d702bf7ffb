/**
 * The bundles hold one of nodemailer's two builds of its address parser (`lib/lambda-bundling.ts`
 * aliases `nodemailer/lib/addressparser` to the CommonJS one, which mailauth requires): it must
 * parse as the ES module build `functions/core/message.ts` imports outside the bundle — the
 * oracle — on generated address fields, with and without `flatten`.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import esm from 'nodemailer/lib/addressparser';

type Parser = typeof esm;
const cjs = createRequire(import.meta.url)('nodemailer/lib/addressparser') as Parser;

const word = fc.stringMatching(/^[A-Za-z0-9._%+-]{1,10}$/);
const address = fc.tuple(word, word).map(([l, d]) => `${l}@${d}.test`);
const special = fc.constantFrom(
  '"',
  '\\',
  '<',
  '>',
  '(',
  ')',
  ',',
  ';',
  ':',
  '@',
  ' ',
  '\r\n ',
  '=?utf-8?q?x?=',
  'é',
);
const field = fc.oneof(
  fc
    .array(
      fc.oneof(
        address,
        fc.tuple(word, address).map(([n, a]) => `${n} <${a}>`),
        fc.tuple(word, address).map(([n, a]) => `"${n}, x" <${a}>`),
        fc.tuple(word, fc.array(address, { maxLength: 3 })).map(([g, as]) => `${g}: ${as.join(', ')};`),
        fc.tuple(address, word).map(([a, c]) => `${a} (${c})`),
      ),
      { maxLength: 4 },
    )
    .map((parts) => parts.join(', ')),
  fc.array(fc.oneof(word, special, address), { maxLength: 12 }).map((parts) => parts.join('')),
  fc.string({ maxLength: 40 }),
);

describe("nodemailer's address parser builds", () => {
  it('the CommonJS build is the parser itself, as mailauth calls it', () => {
    assert.equal(typeof cjs, 'function');
    assert.notEqual(cjs, esm);
  });

  it('parses every generated field as the ES module build does', () => {
    fc.assert(
      fc.property(field, fc.boolean(), (value, flatten) => {
        assert.deepEqual(cjs(value, { flatten }), esm(value, { flatten }));
      }),
      { numRuns: 2000 },
    );
  });
});
