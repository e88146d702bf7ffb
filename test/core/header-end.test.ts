/**
 * `header-end.ts` against mailauth's own message parser as the oracle: any bytes, cut into
 * chunks anywhere, are split into the same header block and body, with the same parser state.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MessageParser } from 'mailauth/lib/dkim/message-parser.js';
import { evaluateDkim } from '../../functions/core/dkim.js';
import { headerEnd, processChunk } from '../../functions/core/header-end.js';

/** A parser that records what it hands on; `fast` parses with `header-end.ts`. */
class Recording extends MessageParser {
  header: Buffer | null = null;
  body: Buffer[] = [];
  constructor(private readonly fast: boolean) {
    super();
  }
  override async emitHeaders(chunk?: Buffer): Promise<void> {
    this.header = Buffer.concat([...this.headerChunks, ...(chunk ? [chunk] : [])]);
    await super.emitHeaders(chunk);
  }
  override async nextChunk(chunk: Buffer): Promise<void> {
    this.body.push(Buffer.from(chunk));
  }
  override processChunk(chunk: Buffer): Promise<void> {
    return this.fast ? processChunk(this, chunk) : super.processChunk(chunk);
  }
}

async function split(bytes: Buffer, cuts: number[], fast: boolean) {
  const p = new Recording(fast);
  let from = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length), bytes.length]) {
    if (cut < from) continue;
    await p.processChunk(bytes.subarray(from, cut));
    from = cut;
  }
  return {
    header: p.header?.toString('latin1') ?? null,
    pending: Buffer.concat(p.headerChunks).toString('latin1'),
    body: Buffer.concat(p.body).toString('latin1'),
    state: p.state,
    headerBytes: p.headerBytes,
    stateBytes: p.stateBytes,
  };
}

// Messages made of the bytes that matter (LF, CR) and a few others, often with header lines.
const message = fc
  .array(
    fc.oneof(
      fc.constantFrom('\n', '\r', '\r\n', 'a', ':', ' ', 'X: y\r\n', 'Sub: z\n', '\r\n\r\n', '\n\n'),
      fc.string({ maxLength: 5 }),
    ),
    { maxLength: 30 },
  )
  .map((parts) => Buffer.from(parts.join(''), 'latin1'));
const cuts = fc.array(fc.nat({ max: 120 }), { maxLength: 6 }).map((c) => [...c].sort((a, b) => a - b));

describe('header-end: where the header block ends, as mailauth finds it', () => {
  it('splits any bytes cut anywhere exactly as mailauth does, leaving the same state', async () => {
    await fc.assert(
      fc.asyncProperty(message, cuts, async (bytes, at) => {
        assert.deepEqual(await split(bytes, at, true), await split(bytes, at, false));
      }),
      { numRuns: 2000 },
    );
  });

  it('the edge cases RFC 5322 2.1 names: an empty first line, CRLF and LF endings, none at all', async () => {
    const cases: [string, string | null, string][] = [
      ['\nbody', '\n', 'body'],
      ['\r\nbody', '\r\n', 'body'],
      ['A: b\r\n\r\nbody\r\n', 'A: b\r\n\r\n', 'body\r\n'],
      ['A: b\n\nbody', 'A: b\n\n', 'body'],
      ['A: b\r\n\nbody', 'A: b\r\n\n', 'body'],
      ['A: b\r\nC: d\r\n', null, ''],
      ['A: b\r\r\n\r\nx', 'A: b\r\r\n\r\n', 'x'],
    ];
    for (const [raw, header, body] of cases) {
      for (const at of [[], [1], [2], [3], [raw.length - 1]]) {
        const got = await split(Buffer.from(raw, 'latin1'), at, true);
        assert.equal(got.header, header, JSON.stringify({ raw, at }));
        assert.equal(got.body, body, JSON.stringify({ raw, at }));
      }
    }
  });

  it('consumes only up to the end it found', () => {
    const p = { state: 'header', stateBytes: [0x0a], headerBytes: 10, headerChunks: [] } as never;
    assert.equal(headerEnd(p, Buffer.from('\r\nrest')), 1);
    assert.deepEqual(p, {
      state: 'header',
      stateBytes: [0x0a, 0x0d, 0x0a],
      headerBytes: 12,
      headerChunks: [],
    });
  });

  it('the DKIM verifier still verifies through it (a body after a header block in two chunks)', async () => {
    // No signature: every verdict is "none", the header block is read, the body is reached.
    const raw = Buffer.from(`From: a@b.example\r\nTo: c@d.example\r\n\r\n${'x'.repeat(70_000)}\r\n`);
    const got = await evaluateDkim(raw, 'b.example', async () => [], new Date(), { bodyHash: true });
    assert.deepEqual(got.signatures, []);
    assert.equal(got.alignedPass, false);
    // Relaxed canonicalization leaves this body as it is (RFC 6376 3.4.4).
    const expected = createHash('sha256')
      .update(`${'x'.repeat(70_000)}\r\n`)
      .digest('base64');
    assert.equal(got.bodyHash, expected);
  });
});
