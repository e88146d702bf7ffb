/**
 * The header pre-check (SPEC 2a, issue 13 item 1): measured against independent readings of
 * the same bytes (the rewrite's `splitMessage`/`headerFields`, and plain line counting), the
 * decision it leads to, the NDR excerpt and the configuration of the bounds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { headerFields, splitMessage } from '../../functions/core/compose/rewrite.js';
import { parseConfig } from '../../functions/core/config.js';
import { decideMessage } from '../../functions/core/decide.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { ConfigError } from '../../functions/core/errors.js';
import {
  MAX_BLANK_RUN,
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
          const m = measureHeaderBlock(bytes, { headerBytes: maxBytes, headerLines: maxLines });
          const over = header.length > maxBytes || lines > maxLines;
          assert.equal(m.exceeded !== null, over);
          if (!over) {
            assert.equal(m.headerBytes, header.length);
            assert.equal(m.headerLines, lines);
            const author = headerFields(header)
              .filter((f) => ['from', 'sender', 'reply-to'].includes(f.name))
              .reduce((n, f) => n + f.bytes.length, 0);
            assert.equal(m.authorFieldBytes, author);
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
        Buffer.from(`${fields.map(([f, b]) => `${f}${b}z\r\n`).join('')}\r\nbody ${' '.repeat(300)}\r\n`),
      );
    fc.assert(
      fc.property(block, (bytes) => {
        const header = splitMessage(bytes).header;
        // The oracle: the longest run of blanks in the header block as splitMessage cuts it.
        const longest = Math.max(
          0,
          ...(header.toString('latin1').match(/[ \t\r\n]+/g) ?? []).map((r) => r.length),
        );
        const m = measureHeaderBlock(bytes, { headerBytes: 1_000_000, headerLines: 1_000_000 });
        assert.equal(m.exceeded, longest > MAX_BLANK_RUN ? 'blank-run' : null, `longest run ${longest}`);
      }),
      { numRuns: 500 },
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
    const m = measureHeaderBlock(big, { headerBytes: 102_400, headerLines: 2000 });
    assert.deepEqual([m.exceeded, m.headerBytes], ['bytes', 102_400]);
    assert.ok(highest < 102_400 + 3, `read up to byte ${highest}`);
  });

  it('a message that starts with an empty line has an empty header block', () => {
    for (const start of ['\r\n', '\n']) {
      const m = measureHeaderBlock(Buffer.from(`${start}From: x@y.test\r\n`), {
        headerBytes: 1024,
        headerLines: 10,
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
  it('defaults: 100 KB, 2,000 lines, 5 signatures, 10 s of DNS', () => {
    assert.deepEqual(testConfig().bounds, {
      headerBytes: 102_400,
      headerLines: 2_000,
      dkimSignatures: 5,
      dnsDeadlineMs: 10_000,
    });
  });

  for (const [field, value] of [
    ['headerBytes', 100],
    ['headerLines', 100_000],
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
