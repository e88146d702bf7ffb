/**
 * DKIM body canonicalization costs what the body's size warrants, whatever its shape (review
 * K finding 1): mailauth's own hashers were quadratic in the line length (4 MB without a line
 * break: 134 MB copied by `Buffer.concat`) and hashed every line they changed on its own
 * (1 MB of `a SP CRLF`: 524,289 hash updates), and its message parser handed each bare LF line
 * on as a chunk of its own. Machine-independent criteria: bytes copied by `Buffer.concat`, hash
 * updates and bytes allocated; plus CPU against an ordinary body of the same size, with a wide
 * margin.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { evaluateDkim } from '../../functions/core/dkim.js';
import { RelaxedBody, SimpleBody } from '../../functions/core/dkim-canonical-body.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { message, NOW, zones } from '../helpers/mail.js';

const resolver = zoneResolver(zones());
const MB = 1024 * 1024;
/** Any sender can add these: no valid key is needed for the body to be canonicalized. */
const fake = (c: string) =>
  `DKIM-Signature: v=1; a=rsa-sha256; c=${c}; d=attacker.test; s=sel; h=from; bh=AAAA; b=AAAA`;

type Mode = 'relaxed' | 'simple' | 'seal';
const withBody = (body: Buffer | string, mode: Mode) =>
  Buffer.concat([
    message({ headers: mode === 'seal' ? [] : [fake(`${mode}/${mode}`)], body: '' }),
    Buffer.from(body),
  ]);
const ordinary = (size: number) =>
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit. xx\r\n'
    .repeat(Math.ceil(size / 62))
    .slice(0, size);
const verify = (raw: Buffer, mode: Mode) =>
  evaluateDkim(raw, 'sender.test', resolver, NOW, { bodyHash: mode === 'seal', maxSignatures: 5 });

/** Runs `fn`, counting the bytes `Buffer.concat` makes and the updates of hashes created meanwhile. */
async function counted(fn: () => Promise<unknown>) {
  const concat = Buffer.concat;
  const createHash = crypto.createHash;
  let concatBytes = 0;
  let updates = 0;
  Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
    const out = concat(list, total);
    concatBytes += out.length;
    return out;
  }) as typeof Buffer.concat;
  crypto.createHash = ((...args: Parameters<typeof createHash>) => {
    const h = createHash(...args);
    const update = h.update.bind(h);
    h.update = ((...a: Parameters<typeof update>) => {
      updates++;
      return update(...a);
    }) as typeof h.update;
    return h;
  }) as typeof createHash;
  try {
    await fn();
  } finally {
    Buffer.concat = concat;
    crypto.createHash = createHash;
  }
  return { concatBytes, updates };
}

async function cpuMs(fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const s = process.cpuUsage();
    await fn();
    const u = process.cpuUsage(s);
    best = Math.min(best, (u.user + u.system) / 1000);
  }
  return best;
}

const cases: [string, () => Buffer | string, Mode][] = [
  ['4 MB without a line break, forged relaxed signature', () => Buffer.alloc(4 * MB, 'a'), 'relaxed'],
  ['4 MB without a line break, seal body hash only', () => Buffer.alloc(4 * MB, 'a'), 'seal'],
  ['4 MB of bare CRs, forged simple signature', () => 'a\r'.repeat(2 * MB), 'simple'],
  ['1 MB of "a SP CRLF" lines', () => 'a \r\n'.repeat(MB / 4), 'relaxed'],
  ['1 MB of "a TAB b CRLF" lines', () => 'a\tb\r\n'.repeat(MB / 5), 'relaxed'],
  ['1 MB of bare-LF lines, relaxed', () => 'a\n'.repeat(MB / 2), 'relaxed'],
  ['1 MB of bare-LF lines, simple', () => 'a\n'.repeat(MB / 2), 'simple'],
  ['1 MB of WSP runs', () => ' \t'.repeat(MB / 2), 'relaxed'],
];

describe('DKIM body canonicalization: linear, with a small constant', () => {
  for (const [name, body, mode] of cases) {
    it(`${name}: no copies beyond the body, one hash update per chunk, CPU within 5x ordinary text`, async () => {
      const raw = withBody(body(), mode);
      const plain = withBody(ordinary(raw.length - withBody('', mode).length), mode);
      const { concatBytes, updates } = await counted(() => verify(raw, mode));
      const { updates: plainUpdates } = await counted(() => verify(plain, mode));
      // mailauth copied the unfinished line again per 64 KB chunk (x33 at 4 MB) and made one
      // buffer per bare LF; the header block is all that is joined now.
      assert.ok(concatBytes <= raw.length / 4, `Buffer.concat made ${concatBytes} bytes for ${raw.length}`);
      // 64 KB chunks: about one update per chunk, as for ordinary text (mailauth: one per line).
      assert.ok(
        updates <= plainUpdates + 8 && updates <= raw.length / 16384 + 16,
        `${updates} hash updates (ordinary body: ${plainUpdates})`,
      );
      const h = await cpuMs(() => verify(raw, mode));
      const o = await cpuMs(() => verify(plain, mode));
      assert.ok(h <= 5 * Math.max(o, 10), `CPU ${h.toFixed(0)} ms vs ${o.toFixed(0)} ms for ordinary text`);
    });
  }

  it('the canonicalizers allocate at most twice the input and hand on no piece per line', () => {
    for (const [make, body] of [
      [(s: (c: Buffer) => void) => new RelaxedBody(s), Buffer.alloc(4 * MB, 'a')],
      [(s: (c: Buffer) => void) => new RelaxedBody(s), Buffer.from('a \r\n'.repeat(MB / 4))],
      [(s: (c: Buffer) => void) => new RelaxedBody(s), Buffer.from('a\n'.repeat(MB / 2))],
      [(s: (c: Buffer) => void) => new SimpleBody(s), Buffer.from('a\r'.repeat(MB / 2))],
      [(s: (c: Buffer) => void) => new SimpleBody(s), Buffer.from('\r\n'.repeat(MB / 2))],
    ] as const) {
      const allocUnsafe = Buffer.allocUnsafe;
      let allocated = 0;
      let pieces = 0;
      Buffer.allocUnsafe = (size: number) => {
        allocated += size;
        return allocUnsafe(size);
      };
      try {
        const c = make(() => pieces++);
        const chunks = Math.ceil(body.length / 65536);
        for (let at = 0; at < body.length; at += 65536) c.update(body.subarray(at, at + 65536));
        c.end();
        assert.ok(
          allocated <= 2 * body.length + 8 * chunks,
          `${allocated} bytes allocated for ${body.length}`,
        );
        // Two at most: line ends held from the chunk before, then the chunk's own output.
        assert.ok(pieces <= 2 * chunks + 2, `${pieces} pieces for ${chunks} chunks`);
      } finally {
        Buffer.allocUnsafe = allocUnsafe;
      }
    }
  });
});
