/**
 * `header-rows.ts` against mailauth's own `parseHeaders` as the oracle: any header block gives
 * the same rows (name, cased name, bytes), whatever its lines, folds, colons, blanks, bare CRs
 * and latin1 bytes. What it costs on the shapes mailauth is slow on is measured by
 * `test/hardening/hostile-input.test.ts` (the worst header block within the bounds).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseHeaders } from 'mailauth/lib/tools.js';
import { parseHeaderRows } from '../../functions/core/header-rows.js';
import { dkimKey, message, sign } from '../helpers/mail.js';

/** The rows as plain data, bytes as hex, so a difference shows where it is. */
const plain = (h: ReturnType<typeof parseHeaders>) => ({
  original: h.original.toString('hex'),
  rows: h.parsed.map((r) => ({ key: r.key, casedKey: r.casedKey, line: r.line.toString('binary') })),
});

const same = (block: Buffer) => assert.deepEqual(plain(parseHeaderRows(block)), plain(parseHeaders(block)));

/** The pieces a header block is made of, the awkward ones many times over. */
const piece = fc.constantFrom(
  'Subject',
  'From',
  'x',
  'X-A',
  'É',
  '\xe4',
  '\xa0',
  '\u00c0',
  ':',
  ': ',
  ' ',
  '  ',
  '\t',
  '\r\n',
  '\r\n',
  '\r\n ',
  '\r\n\t',
  '\n',
  '\r',
  ' :',
  'a b',
  '=?utf-8?q?x?=',
  '\x00',
  '\x7f',
);
const block = fc.array(piece, { maxLength: 60 }).map((ps) => Buffer.from(ps.join(''), 'latin1'));

describe('parseHeaderRows: mailauth parseHeaders, linear', () => {
  it('gives mailauth’s rows for random header blocks (property, 3,000 runs)', () => {
    fc.assert(
      fc.property(block, (b) => same(b)),
      { numRuns: 3_000 },
    );
  });

  it('gives mailauth’s rows for blocks of whole fields, folded and not (property)', () => {
    const name = fc.stringMatching(/^[!-9;-~]{1,12}$/);
    const fold = fc.constantFrom('', '\r\n ', '\r\n\t', '\r\n', '\n ', ' ');
    const field = fc
      .tuple(name, fold, fc.constantFrom(':', ' :', '\r\n:', '\r\n :'), fc.string({ maxLength: 20 }), fold)
      .map(([n, f1, colon, value, f2]) => `${n}${colon}${f1}${value}${f2}x`);
    fc.assert(
      fc.property(
        fc.array(field, { maxLength: 12 }),
        fc.constantFrom('', '\r\n', '\r\n\r\n', '\n'),
        (fields, end) => same(Buffer.from(fields.join('\r\n') + end, 'latin1')),
      ),
      { numRuns: 1_500 },
    );
  });

  it('gives mailauth’s rows for real messages: a signed one, empty and blank-only blocks', async () => {
    const signed = await sign(message(), dkimKey('sender.test'));
    const header = signed.subarray(0, signed.indexOf('\r\n\r\n') + 2);
    for (const b of [
      header,
      Buffer.alloc(0),
      Buffer.from('\r\n'),
      Buffer.from('\r\n\r\n'),
      Buffer.from(' \r\n'),
    ]) {
      same(b);
    }
    assert.ok(parseHeaderRows(header).parsed.some((r) => r.key === 'dkim-signature'));
  });
});
