/**
 * Header shapes within every bound of docs/hostile-input.md that still cost more than 5
 * ordinary messages of their header size (review of December 2026, after the DNS review):
 *
 * - DKIM signatures whose `h=` lists thousands of names, over a block of ~2,000 fields:
 *   mailauth looks every name up by scanning the rows from the bottom (n × rows per
 *   signature verified, and the newest ARC-Message-Signature twice), ~25×;
 * - a Content-Type of thousands of RFC 2231 sections with unknown charsets, each decoded with
 *   a thrown exception, parsed three times (twice by classify, once for the body hashers),
 *   ~24×;
 * - display names of hundreds of encoded-words with unknown charsets, ~5.5×.
 *
 * Each is decided, and costs at most 5 times an ordinary signed message with a header block
 * of the same size (`assertHeaderShapeBounded`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { getSigningHeaderLines } from 'mailauth/lib/tools.js';
import { MAX_SIGNED_HEADER_BYTES } from '../../functions/core/dkim.js';
import { MAX_AUTHOR_ENCODED_WORDS, MAX_CONTENT_TYPE_MARKS } from '../../functions/core/header-bounds.js';
import { parseHeaderRows, signingRows } from '../../functions/core/header-rows.js';
import { formatMailbox } from '../../functions/core/message.js';
import {
  assertBounded,
  assertHeaderShapeBounded,
  decideWith,
  least,
  ordinaryHeaderOfSize,
  ordinaryOfSize,
  ratio,
  senderKey,
} from '../helpers/hostile.js';
import { message, NOW, sign } from '../helpers/mail.js';

/** A syntactically valid DKIM-Signature of sender.test over `h` (its bh= and b= are wrong). */
const fakeSignature = (selector: string, h: string) =>
  `DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=sender.test; s=${selector};\r\n h=from:${h};\r\n bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA`;

describe('hostile headers within the bounds, review of December 2026', () => {
  it('5 DKIM signatures whose h= names 2,300 fields the message lacks, over 1,900 fields: 5 verified, none passes, in ≤ 5× an ordinary message', async () => {
    // mailauth's getSigningHeaderLines scans every row from the bottom for every name of h=.
    const h = Array.from({ length: 2_300 }, () => 'a').join(':');
    const raw = message({
      headers: [
        ...Array.from({ length: 5 }, (_, i) => fakeSignature(`s${i}`, h)),
        ...Array.from({ length: 1_900 }, (_, i) => `X-F${i}: y`),
      ],
    });
    const d = await assertHeaderShapeBounded(raw, () => 'h= of 2,300 absent names');
    assert.equal(d.classification.dkim.signatures.length, 5);
    assert.equal(d.classification.dkim.alignedPass, false);
  });

  it('5 DKIM signatures whose h= names each of 1,850 fields: one verified within MAX_SIGNED_HEADER_BYTES, none passes, in ≤ 5× an ordinary message', async () => {
    // Every signature canonicalizes the whole block; mailauth splices each row it takes out of
    // a copy of the rows (n² moves).
    const h = Array.from({ length: 1_850 }, () => 'x').join(':');
    const raw = message({
      headers: [
        ...Array.from({ length: 5 }, (_, i) => fakeSignature(`s${i}`, h)),
        ...Array.from({ length: 1_850 }, () => 'X: lorem ipsum dolor sit amet '),
      ],
    });
    const d = await assertHeaderShapeBounded(raw, () => 'h= naming 1,850 fields');
    // Within MAX_SIGNED_HEADER_BYTES (~60 KB each): the first verified, the others not.
    const { dkim } = d.classification;
    assert.deepEqual([dkim.signatures.length, dkim.unverified], [1, 4]);
    assert.equal(dkim.alignedPass, false);
  });

  it('a Content-Type of 6,000 RFC 2231 sections with unknown charsets: blocked unread; the worst within MAX_CONTENT_TYPE_MARKS: decided, in ≤ 5× an ordinary message', async () => {
    // libmime decodes each section that names a charset; one it does not know costs a thrown
    // exception (~20 µs for ~10 bytes of header), and the field was parsed three times.
    const sections = (n: number, charset = (i: number) => `x${i}`) =>
      Array.from({ length: n }, (_, i) => `n${i}*0*=${charset(i)}''a`).join('; ');
    const over = await sign(
      message({ contentType: `multipart/mixed; boundary=b; ${sections(6_000, () => 'x')}` }),
      senderKey,
    );
    const blocked = await decideWith(over);
    assert.deepEqual([blocked.pool, blocked.reasons], ['blocked', ['hard-limit-headers']]);
    assert.equal(blocked.classification.bounds.exceeded, 'content-type');
    assertBounded(
      await ratio(
        () => decideWith(over),
        async () => decideWith(await sign(ordinaryOfSize(over.length), senderKey)),
      ),
      '6,000 RFC 2231 sections',
    );
    // Within: MAX_CONTENT_TYPE_MARKS (an RFC 2231 section `n*0*=` two, an encoded-word two),
    // each section and word with an unknown charset (signed, so that the body hashers are given
    // the Content-Type too); a multipart/report whose report-type libmime alone decodes is still
    // a DSN.
    const words = Array.from({ length: 20 }, (_, i) => `=?y${i}?q?a?=`).join(' ');
    const within = await sign(
      message({
        contentType: `multipart/report; report-type*=utf-8''delivery-status; boundary=b; r*0="${words}"; ${sections((MAX_CONTENT_TYPE_MARKS - 42) / 2)}`,
      }),
      senderKey,
    );
    const d = await assertHeaderShapeBounded(within, () => `${MAX_CONTENT_TYPE_MARKS} Content-Type parts`);
    assert.equal(d.classification.ndr.deliveryReport, true);
    // A 255-character CJK file name in RFC 2231 sections of 70 octets, as mail programs write it.
    const encoded = encodeURIComponent('\u6587'.repeat(255)).replace(/%/g, '%');
    const named = Array.from({ length: Math.ceil(encoded.length / 70) }, (_, i) => {
      const part = encoded.slice(i * 70, i * 70 + 70);
      return `name*${i}*=${i === 0 ? "UTF-8''" : ''}${part}`;
    });
    const legit = await decideWith(message({ contentType: `application/pdf;\r\n ${named.join(';\r\n ')}` }));
    assert.equal(legit.classification.bounds.exceeded, null);
    assert.equal(legit.pool, 'normal');
  });

  it('a From of 700 encoded-words with unknown charsets: blocked unread (author-fields); the worst within MAX_AUTHOR_ENCODED_WORDS: decided, in ≤ 5× an ordinary message', async () => {
    // Each display name is decoded; a charset libmime does not know costs a thrown exception.
    // Neighbours of different charsets are decoded one by one (within authorFieldBytes: ~5.5×).
    const words = (n: number) => Array.from({ length: n }, (_, i) => `=?x${i % 2}?q?a?=`).join(' ');
    const over = message({ from: `${words(700)} <alice@sender.test>` });
    const blocked = await decideWith(over);
    assert.deepEqual([blocked.pool, blocked.classification.bounds.exceeded], ['blocked', 'author-fields']);
    const ordinary = await sign(ordinaryHeaderOfSize(over.indexOf('\r\n\r\n')), senderKey);
    assertBounded(
      await ratio(
        () => decideWith(over),
        () => decideWith(ordinary),
        9,
        20,
        least,
      ),
      '700 encoded-words in From',
    );
    const within = message({
      from: `${words(MAX_AUTHOR_ENCODED_WORDS - 2)} <alice@sender.test>`,
      headers: ['Reply-To: =?x7?q?b?= <r@sender.test>, =?x8?q?c?= <s@sender.test>'],
    });
    const d = await assertHeaderShapeBounded(within, () => `${MAX_AUTHOR_ENCODED_WORDS} encoded-words`);
    assert.equal(d.classification.from[0]!.name, 'a'.repeat(MAX_AUTHOR_ENCODED_WORDS - 2));
    assert.deepEqual(
      d.classification.replyTo.map((m) => m.name),
      ['b', 'c'],
    );
    // UTF-8 words are not counted: they decode without an exception (as many as 8 KB holds,
    // within 5×), and they are what our copies write — a copy of ours coming back, its From of
    // 100 emoji (34 words) and four Reply-To names of 100 CJK characters (6.7 KB), is not
    // blocked.
    const utf8 = Array.from({ length: 560 }, (_, i) => `=?UTF-8?Q?${String.fromCharCode(97 + (i % 26))}?=`);
    const cheap = message({ from: `${utf8.join(' ')} <alice@sender.test>` });
    const c = await assertHeaderShapeBounded(cheap, () => '560 UTF-8 encoded-words in From');
    assert.equal(c.classification.from[0]!.name.length, 560);
    const cjk = '\u6f22'.repeat(100);
    const ours = message({
      from: formatMailbox(`${'\u{1f600}'.repeat(100)} via example.com`, 'alias@example.com'),
      headers: [
        `Reply-To: ${Array.from({ length: 4 }, (_, i) => formatMailbox(cjk, `r${i}@sender.test`)).join(', ')}`,
      ],
    });
    const written = ours.toString('latin1').split('=?').length - 1;
    assert.ok(written > MAX_AUTHOR_ENCODED_WORDS, `${written} encoded-words`);
    assert.equal((await decideWith(ours)).classification.bounds.exceeded, null);
  });

  it("signingRows picks the rows mailauth's getSigningHeaderLines picks, in its order", () => {
    const name = fc.constantFrom('from', 'From', ' to ', 'x', 'X-A', 'subject', 'b\u00e9', '', 'cc');
    fc.assert(
      fc.property(fc.array(name, { maxLength: 30 }), fc.array(name, { maxLength: 30 }), (fields, h) => {
        const block = Buffer.from(fields.map((f, i) => `${f.trim() || 'y'}: ${i}\r\n`).join(''), 'latin1');
        const rows = parseHeaderRows(block).parsed;
        const names = h.join(':');
        const theirs = getSigningHeaderLines(rows, names, true).headers;
        assert.deepEqual(signingRows(rows, names).rows, theirs);
      }),
    );
  });

  it('a genuine signature over a 40 KB To list (within MAX_SIGNED_HEADER_BYTES) still passes', async () => {
    const to = Array.from({ length: 2_300 }, (_, i) => `r${i}@remote.test`).join(', ');
    const raw = message({ to });
    const signed = await dkimSign(raw, {
      signTime: NOW,
      signatureData: [
        {
          signingDomain: senderKey.domain,
          selector: senderKey.selector,
          privateKey: senderKey.privateKey,
          headerList: 'from:from:to:to:subject:date:message-id:content-type',
        },
      ],
    } as unknown as Parameters<typeof dkimSign>[1]);
    assert.ok(to.length > 32 * 1024 && to.length < MAX_SIGNED_HEADER_BYTES);
    const d = await decideWith(
      Buffer.concat([Buffer.from((signed as { signatures: string }).signatures), raw]),
    );
    assert.equal(d.classification.dkim.alignedPass, true);
  });
});
