/**
 * The header pre-check (SPEC 2a, issue 13 item 1): measured against independent readings of
 * the same bytes (the rewrite's `splitMessage`/`headerFields`, and plain line counting), the
 * decision it leads to, the NDR excerpt and the configuration of the bounds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseHeaders } from 'mailauth/lib/tools.js';
import { headerFields, splitMessage } from '../../functions/core/compose/rewrite.js';
import { parseConfig } from '../../functions/core/config.js';
import { decideMessage } from '../../functions/core/decide.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { ConfigError } from '../../functions/core/errors.js';
import {
  MAX_BLANK_RUN,
  MAX_SIGNATURE_BLANK_RUN,
  measureHeaderBlock,
  NDR_HEADER_EXCERPT_BYTES,
  ndrHeaderExcerpt,
} from '../../functions/core/header-bounds.js';
import { parseReceiptEvent } from '../../functions/core/ses-event.js';
import { CONFIG_JSON, message, NOW, sesEvent, testConfig, zones } from '../helpers/mail.js';

const line = fc.oneof(
  fc.constantFrom(
    'From: a@b.test',
    'from : x',
    'Reply-To: r@b.test',
    'SENDER:s',
    ' folded',
    '\tfolded',
    'X: y',
    'Fromage: no',
  ),
  fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, '')),
);
const eol = fc.constantFrom('\r\n', '\n', '\r\n', '\r\n');
const raw = fc
  .tuple(
    fc.array(fc.tuple(line, eol), { maxLength: 40 }),
    fc.constantFrom('', '\r\n', '\n'),
    fc.constantFrom('', 'body\r\n', 'From: in-body@x.test\r\n'),
  )
  .map(([lines, end, body]) => Buffer.from(lines.map(([l, e]) => l + e).join('') + end + body, 'latin1'));

/** Lines of a header block, counted plainly: its LFs, plus an unterminated last line. */
function countLines(header: Buffer): number {
  let n = 0;
  for (const b of header) if (b === 0x0a) n++;
  return n + (header.length > 0 && header[header.length - 1] !== 0x0a ? 1 : 0);
}

describe('measureHeaderBlock', () => {
  it('agrees with splitMessage, plain line counting and headerFields on any block (property)', () => {
    fc.assert(
      fc.property(
        raw,
        fc.integer({ min: 16, max: 600 }),
        fc.integer({ min: 1, max: 50 }),
        (bytes, maxBytes, maxLines) => {
          const header = splitMessage(bytes).header;
          const lines = countLines(header);
          const m = measureHeaderBlock(bytes, {
            headerBytes: maxBytes,
            headerLines: maxLines,
            signatureFieldBytes: 1_000_000,
            authorFieldBytes: 1_000_000,
          });
          const over = header.length > maxBytes || lines > maxLines;
          assert.equal(m.exceeded !== null, over);
          if (!over) {
            assert.equal(m.headerBytes, header.length);
            assert.equal(m.headerLines, lines);
            const author = headerFields(header)
              .filter((f) => ['from', 'sender', 'reply-to'].includes(f.name))
              .reduce((n, f) => n + f.bytes.length, 0);
            // At least what the rewrite reads as author fields (the copy's size bound); also the
            // lines mailauth appends to them, which the rewrite drops (review K, below).
            assert.ok(m.authorFieldBytes >= author, `${m.authorFieldBytes} < ${author}`);
          } else if (header.length <= maxBytes) {
            assert.equal(m.exceeded, 'lines');
          } else if (lines <= maxLines) {
            assert.equal(m.exceeded, 'bytes');
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a header block with a run of more than MAX_BLANK_RUN blanks is over its bound, and only then (property)', () => {
    const blanks = fc
      .array(fc.constantFrom(' ', '\t', '\r', '\r\n ', '\n\t'), {
        minLength: 1,
        maxLength: 2 * MAX_BLANK_RUN,
      })
      .map((parts) => parts.join(''));
    const block = fc
      .array(fc.tuple(fc.constantFrom('Subject: a', 'X-Y: b', 'Zzz'), blanks), { minLength: 1, maxLength: 6 })
      .map((fields) =>
        // A first line that opens no field is measured against the tighter bound of DKIM and
        // ARC fields (below): the block starts with a field.
        Buffer.from(
          `X-First: 1\r\n${fields.map(([f, b]) => `${f}${b}z\r\n`).join('')}\r\nbody ${' '.repeat(300)}\r\n`,
        ),
      );
    fc.assert(
      fc.property(block, (bytes) => {
        const header = splitMessage(bytes).header;
        // The oracle: the longest run of blanks in the header block as splitMessage cuts it.
        const longest = Math.max(
          0,
          ...(header.toString('latin1').match(/[ \t\r\n]+/g) ?? []).map((r) => r.length),
        );
        const m = measureHeaderBlock(bytes, {
          headerBytes: 1_000_000,
          headerLines: 1_000_000,
          signatureFieldBytes: 1_000_000,
          authorFieldBytes: 1_000_000,
        });
        assert.equal(m.exceeded, longest > MAX_BLANK_RUN ? 'blank-run' : null, `longest run ${longest}`);
      }),
      { numRuns: 500 },
    );
  });

  it('DKIM and ARC fields as mailauth reads them: over signatureFieldBytes or a run of MAX_SIGNATURE_BLANK_RUN, over the bound (property)', () => {
    // The oracle: mailauth's own header parser says which rows are DKIM-Signature and ARC
    // fields (whatever the case, blanks or folds between name and colon, lines it appends to
    // the row above); their bytes and longest blank run decide. CRLF line ends only, so a row's
    // bytes are its line plus the CRLF that ends it.
    const SIGNATURE = ['dkim-signature', 'arc-seal', 'arc-message-signature', 'arc-authentication-results'];
    const name = fc.constantFrom(
      'DKIM-Signature',
      'dkim-signature',
      'ARC-Seal',
      'Arc-Message-Signature',
      'ARC-Authentication-Results',
      'DKIM-Signatures',
      'X-DKIM-Signature',
      'Subject',
      'From',
    );
    const colon = fc.constantFrom(':', ' :', '\t:', '\r\n :', '\r\n:');
    const value = fc
      .array(fc.constantFrom('v=1;', ' ', '  ', '\t', 'd=x', '\r\n ', '\r\n\t', 'b=abc', 'y'), {
        maxLength: 30,
      })
      .map((parts) => parts.join(''));
    const stray = fc.constantFrom('junk without colon', ':leading colon', 'x y: z');
    const row = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(name, colon, value).map(([n, c, v]) => `${n}${c}${v}`) },
      { weight: 1, arbitrary: stray },
    );
    const block = fc
      .tuple(fc.tuple(name, colon, value), fc.array(row, { maxLength: 10 }))
      .map(([[n, c, v], rest]) => Buffer.from(`${[`${n}${c}${v}`, ...rest].join('\r\n')}\r\n\r\nbody\r\n`));
    fc.assert(
      fc.property(block, fc.integer({ min: 20, max: 600 }), (bytes, maxSignatureBytes) => {
        const header = splitMessage(bytes).header;
        const rows = parseHeaders(header).parsed.filter((r) => SIGNATURE.includes(r.key ?? ''));
        const rowBytes = rows.reduce((n, r) => n + r.line.length + 2, 0);
        const runIn = (text: string) =>
          Math.max(0, ...(text.match(/[ \t\r\n]+/g) ?? []).map((r) => r.length));
        const sigRun = Math.max(0, ...rows.map((r) => runIn(`${r.line.toString('latin1')}\r\n`)));
        const anyRun = runIn(header.toString('latin1'));
        // Counting stops at the first bound crossed: over both, either may be the one reported
        // (review K: the run may end after the field bytes are already over, ~1 run in 10).
        const overRun = anyRun > MAX_BLANK_RUN || sigRun > MAX_SIGNATURE_BLANK_RUN;
        const overBytes = rowBytes > maxSignatureBytes;
        const expected = overRun ? 'blank-run' : overBytes ? 'signature-fields' : null;
        const m = measureHeaderBlock(bytes, {
          headerBytes: 1_000_000,
          headerLines: 1_000_000,
          signatureFieldBytes: maxSignatureBytes,
          authorFieldBytes: 1_000_000,
        });
        const reported = overRun && overBytes && m.exceeded === 'signature-fields' ? 'blank-run' : m.exceeded;
        assert.equal(reported, expected, `rows ${rowBytes} bytes, longest run ${sigRun}`);
      }),
      { numRuns: 2_000 },
    );
  });

  it('a first line that opens no field is measured as a DKIM or ARC field (mailauth may read it as one)', () => {
    const limits = { headerBytes: 1e6, headerLines: 1e6, signatureFieldBytes: 1e6, authorFieldBytes: 1e6 };
    const run = ' '.repeat(MAX_SIGNATURE_BLANK_RUN + 1);
    for (const first of [' DKIM-Signature: v=1;', ' \r\n ARC-Seal: i=1;']) {
      const bytes = Buffer.from(`${first}${run}d=x\r\nSubject: s\r\n\r\nbody\r\n`);
      const key = parseHeaders(splitMessage(bytes).header).parsed[0]?.key;
      assert.ok(key === 'dkim-signature' || key === 'arc-seal', `mailauth reads ${key}`);
      assert.equal(measureHeaderBlock(bytes, limits).exceeded, 'blank-run');
    }
    // The same run in an ordinary first field is within the bound.
    const ordinary = Buffer.from(`Subject: a${run}b\r\n\r\nbody\r\n`);
    assert.equal(measureHeaderBlock(ordinary, limits).exceeded, null);
  });

  it('From, Sender and Reply-To over authorFieldBytes together: over the bound', () => {
    const limits = testConfig().bounds;
    const mailboxes = (n: number) => Array.from({ length: n }, (_, i) => `a${i}@x.test`).join(',\r\n ');
    const within = Buffer.from(`From: ${mailboxes(500)}\r\nSubject: s\r\n\r\nbody\r\n`);
    const m = measureHeaderBlock(within, limits);
    assert.ok(
      m.authorFieldBytes < limits.authorFieldBytes && m.exceeded === null,
      `${m.authorFieldBytes} bytes`,
    );
    const over = Buffer.from(`Reply-To: ${mailboxes(500)}\r\nFrom: ${mailboxes(500)}\r\n\r\nbody\r\n`);
    assert.equal(measureHeaderBlock(over, limits).exceeded, 'author-fields');
  });

  it('author fields as mailauth reads them: the lines it appends to a From row count, a first row it names From too (review K)', () => {
    // mailauth appends every line that opens no field to the row above, and its DKIM verifier
    // hands each From row whole to its address parser: `From: a` followed by lines that start
    // with neither a blank nor a field name (a control byte, a latin1 byte, a colon) is one From
    // of ~80 KB there; 1,300 lines of `g: a@b;` groups cost ~10x an ordinary message.
    const limits = testConfig().bounds;
    const groups = Array.from({ length: 200 }, () => `\x0b${'g: a@b; '.repeat(8)}`).join('\r\n');
    for (const head of [
      `From: a@x.test\r\n${groups}`,
      ` From: a@x.test\r\n${groups}`,
      `From: a\r\n:${groups}`,
    ]) {
      const bytes = Buffer.from(`${head}\r\nSubject: s\r\n\r\nbody\r\n`, 'latin1');
      const rows = parseHeaders(splitMessage(bytes).header).parsed;
      assert.equal(rows[0]?.key, 'from');
      assert.ok(rows[0]!.line.length > limits.authorFieldBytes, `${rows[0]!.line.length} bytes`);
      assert.equal(
        measureHeaderBlock(bytes, limits).exceeded,
        'author-fields',
        JSON.stringify(head.slice(0, 20)),
      );
    }
  });

  it('author field bytes are those of the rows mailauth keys From, Sender or Reply-To (property)', () => {
    const AUTHOR = ['from', 'sender', 'reply-to'];
    const name = fc.constantFrom('From', 'from', 'Sender', 'Reply-To', 'Subject', 'X-From', 'To');
    const colon = fc.constantFrom(':', ' :', '\t:', '\r\n :', '\r\n:');
    const value = fc
      .array(fc.constantFrom('a@b', ' ', ',', '\r\n ', '\r\n\t', '\r\n\x0b', '\r\n:', '\r\n\xe9', 'g: x;'), {
        maxLength: 20,
      })
      .map((parts) => parts.join(''));
    const first = fc.constantFrom('', ' ', '\t', ' \r\n ');
    const row = fc.tuple(name, colon, value).map(([n, c, v]) => `${n}${c}${v}`);
    const block = fc
      .tuple(first, fc.array(row, { minLength: 1, maxLength: 8 }))
      .map(([f, rows]) => Buffer.from(`${f}${rows.join('\r\n')}\r\n\r\nbody\r\n`, 'latin1'));
    fc.assert(
      fc.property(block, (bytes) => {
        const header = splitMessage(bytes).header;
        const rows = parseHeaders(header).parsed.filter((r) => AUTHOR.includes(r.key ?? ''));
        const rowBytes = rows.reduce((n, r) => n + r.line.length + 2, 0);
        const m = measureHeaderBlock(bytes, {
          headerBytes: 1e6,
          headerLines: 1e6,
          signatureFieldBytes: 1e6,
          authorFieldBytes: 1e6,
        });
        assert.equal(m.exceeded, null);
        assert.equal(m.authorFieldBytes, rowBytes);
      }),
      { numRuns: 2_000 },
    );
  });

  it('reads no further than the byte bound (a 1 MB message without an empty line)', () => {
    // A proxy records the highest index read.
    let highest = -1;
    const big = new Proxy(new Uint8Array(1024 * 1024).fill(0x61), {
      get(target, key) {
        if (typeof key === 'string' && /^\d+$/.test(key)) highest = Math.max(highest, Number(key));
        const value = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const m = measureHeaderBlock(big, {
      headerBytes: 102_400,
      headerLines: 2000,
      signatureFieldBytes: 32_768,
      authorFieldBytes: 8_192,
    });
    assert.deepEqual([m.exceeded, m.headerBytes], ['bytes', 102_400]);
    assert.ok(highest < 102_400 + 3, `read up to byte ${highest}`);
  });

  it('a message that starts with an empty line has an empty header block', () => {
    for (const start of ['\r\n', '\n']) {
      const m = measureHeaderBlock(Buffer.from(`${start}From: x@y.test\r\n`), {
        headerBytes: 1024,
        headerLines: 10,
        signatureFieldBytes: 1024,
        authorFieldBytes: 1024,
      });
      assert.deepEqual(m, { headerBytes: 0, headerLines: 0, exceeded: null, authorFieldBytes: 0 });
    }
  });
});

describe('a message over the header bound is decided on its envelope', () => {
  const decideOver = (source: string, opts: Parameters<typeof sesEvent>[0] = {}) => {
    const raw = message({ headers: Array.from({ length: 2_100 }, (_, i) => `X-${i}: y`) });
    const received = parseReceiptEvent(sesEvent({ source, ...opts }));
    return decideMessage({ received, raw, config: testConfig(), resolver: zoneResolver(zones()), now: NOW });
  };

  it('a bounce (null reverse path) gets no NDR, even with SPF PASS', async () => {
    const d = await decideOver('<>', { spf: 'PASS' });
    assert.equal(d.pool, 'blocked');
    assert.deepEqual(d.sends, []);
  });

  it('mail to the SRS domain (an NDR itself, SPEC 2a) gets no NDR, as under the bound', async () => {
    // Found in a review (December 2026): only the parsed path knew the SRS recipient.
    for (const recipients of [
      ['mailer-daemon@fwd.example.com'],
      ['alias@example.com', 'X@FWD.example.com'],
    ]) {
      const d = await decideOver('alice@sender.test', { spf: 'PASS', recipients });
      assert.equal(d.pool, 'blocked');
      assert.ok(d.reasons.includes('hard-limit-headers'));
      assert.deepEqual(d.sends, [], recipients.join());
    }
    // The control: the same sender, to an ordinary route, is answered.
    const answered = await decideOver('alice@sender.test', { spf: 'PASS' });
    assert.deepEqual(
      answered.sends.map((s) => [s.kind, s.to]),
      [['ndr', ['alice@sender.test']]],
    );
  });

  it('a virus verdict is recorded too, and nothing is counted against anyone', async () => {
    const d = await decideOver('alice@sender.test', { spf: 'PASS', virus: 'FAIL' });
    assert.deepEqual(d.reasons, ['virus', 'hard-limit-headers']);
    assert.deepEqual([d.limits, d.restrictions, d.classification.usage], [[], [], []]);
    assert.deepEqual(d.unrouted, []);
  });
});

describe('ndrHeaderExcerpt', () => {
  const header = Buffer.from(Array.from({ length: 2_000 }, (_, i) => `X-Field-${i}: value\r\n`).join(''));

  it('over the header bound: at most 16 KB, cut after a line end, a prefix of the header', () => {
    const cut = ndrHeaderExcerpt(header, ['hard-limit-headers']);
    assert.ok(cut.length <= NDR_HEADER_EXCERPT_BYTES && cut.length > NDR_HEADER_EXCERPT_BYTES - 100);
    assert.equal(cut[cut.length - 1], 0x0a);
    assert.ok(header.subarray(0, cut.length).equals(cut));
  });

  it('for other reasons the header is left whole (the NDR builder applies its own cap)', () => {
    assert.equal(ndrHeaderExcerpt(header, ['virus']), header);
  });
});

describe('bounds configuration', () => {
  it('defaults: 100 KB, 2,000 lines, 24 KB of DKIM and ARC fields, 8 KB of author fields, 5 signatures, 10 s of DNS', () => {
    assert.deepEqual(testConfig().bounds, {
      headerBytes: 102_400,
      headerLines: 2_000,
      signatureFieldBytes: 24_576,
      authorFieldBytes: 8_192,
      dkimSignatures: 5,
      dnsDeadlineMs: 10_000,
    });
  });

  for (const [field, value] of [
    ['headerBytes', 100],
    ['headerLines', 100_000],
    ['signatureFieldBytes', 1023],
    ['signatureFieldBytes', 2 * 1024 * 1024],
    ['authorFieldBytes', 100],
    ['dkimSignatures', 0],
    ['dnsDeadlineMs', 1.5],
    ['dnsDeadlineMs', '10s'],
  ] as const) {
    it(`bounds.${field} = ${JSON.stringify(value)} is refused, naming the field`, () => {
      assert.throws(
        () => parseConfig({ ...CONFIG_JSON, bounds: { [field]: value } }),
        (e: unknown) =>
          e instanceof ConfigError && e.field === `bounds.${field}` && e.message.includes(`bounds.${field}`),
      );
    });
  }

  it('an unknown bound is refused, naming it', () => {
    assert.throws(
      () => parseConfig({ ...CONFIG_JSON, bounds: { headerSize: 1 } }),
      (e: unknown) => e instanceof ConfigError && /bounds/.test(e.message) && /headerSize/.test(e.message),
    );
  });
});
