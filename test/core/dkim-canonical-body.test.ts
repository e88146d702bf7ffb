/**
 * Our DKIM body canonicalization (`dkim-canonical-body.ts`, installed by `dkim-body-hashes.ts`)
 * against mailauth's own hashers, the oracle: signatures are verified against what mailauth
 * and the signers it interoperates with compute, so every canonical byte, body hash and length
 * it reports must come out the same, for any body and any split of it into chunks.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { evaluateDkim } from '../../functions/core/dkim.js';
import { shareBodyHashes } from '../../functions/core/dkim-body-hashes.js';
import { crlfBareLineFeeds, RelaxedBody, SimpleBody } from '../../functions/core/dkim-canonical-body.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { dkimKey, message, NOW, zones } from '../helpers/mail.js';

const require = createRequire(import.meta.url);
/** mailauth's hasher factory and message parser (untyped CommonJS). */
const { dkimBody } = require('mailauth/lib/dkim/body/index.js') as {
  dkimBody(canon: string, algo: string, maxBodyLength: number | '' | false): MailauthHasher;
};
const { MessageParser } = require('mailauth/lib/dkim/message-parser.js') as {
  MessageParser: new () => { ensureLinebreaks(chunk: Buffer): Iterable<Buffer> };
};

interface MailauthHasher {
  update(chunk: Buffer): void;
  digest(encoding: 'base64'): string;
  setContentType(ct: unknown): void;
  getMimeStructureStart(): number | undefined;
  bodyHashedBytes: number;
  canonicalizedLength: number;
  byteLength: number;
  _updateBodyHash(chunk: Buffer): void;
}

/** The pieces bodies are made of: whitespace, every kind of line end, long lines, 8-bit bytes. */
const piece = fc.constantFrom(
  ' ',
  '  ',
  '\t',
  ' \t ',
  '\r',
  '\n',
  '\r\n',
  '\r\r\n',
  '\n\r',
  ' \r\n',
  '\t\r\n',
  '\r\n\r\n',
  'a',
  'word',
  'x'.repeat(300),
  '\xe9\xff\x00\x80',
  '--b1',
  '--b1\r\n',
);
const bodyArb = fc.array(piece, { maxLength: 40 }).map((ps) => Buffer.from(ps.join(''), 'latin1'));
/**
 * Bodies mostly without SP or TAB, as base64 and quoted-printable parts are: their chunks take
 * the verbatim path of `RelaxedBody` (every line end a CRLF before content), unless a bare LF,
 * a CR or whitespace at a chunk's edge, or a rare space sends them through the byte loop.
 */
const noWspBodyArb = fc
  .array(
    fc.oneof(
      {
        weight: 12,
        arbitrary: fc.constantFrom('QUJD', 'x'.repeat(76), 'a', '\r\n', '\r\n\r\n', '=\r\n', '\xe9\x00'),
      },
      { weight: 2, arbitrary: fc.constantFrom('\r', '\n', '\r\r\n', '\n\r') },
      { weight: 1, arbitrary: fc.constantFrom(' ', '\t', ' \r\n') },
    ),
    { maxLength: 60 },
  )
  .map((ps) => Buffer.from(ps.join(''), 'latin1'));
/** With long stretches too, so that chunks both go through the hashers' stage and skip it. */
const longBodyArb = fc
  .array(
    fc.oneof({ arbitrary: piece, weight: 8 }, { arbitrary: fc.constant('y'.repeat(20_000)), weight: 1 }),
    {
      maxLength: 40,
    },
  )
  .map((ps) => Buffer.from(ps.join(''), 'latin1'));
/** How a body is cut: 1-byte chunks, random sizes (cutting CRLFs and WSP runs), or whole. */
const cutsArb = fc.oneof(
  fc.constant([1]),
  fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }),
  fc.constant([1 << 30]),
);

function split(body: Buffer, cuts: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0, k = 0; at < body.length; k++) {
    const size = cuts[k % cuts.length]!;
    chunks.push(body.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

const contentType = { value: 'multipart/mixed', params: { boundary: 'b1' } };

describe('DKIM body canonicalization: byte for byte what mailauth computes', () => {
  it('canonical stream of relaxed and simple, any body and chunking (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(bodyArb, noWspBodyArb),
        cutsArb,
        fc.constantFrom('relaxed', 'simple'),
        (body, cuts, canon) => {
          const want: Buffer[] = [];
          const ref = dkimBody(canon, 'sha256', '');
          const own = ref._updateBodyHash.bind(ref);
          ref._updateBodyHash = (c) => {
            want.push(Buffer.from(c));
            own(c);
          };
          const got: Buffer[] = [];
          const ours = new (canon === 'relaxed' ? RelaxedBody : SimpleBody)((c) => got.push(Buffer.from(c)));
          for (const chunk of split(body, cuts)) {
            ref.update(chunk);
            ours.update(chunk);
          }
          ref.digest('base64');
          ours.end();
          assert.deepEqual(Buffer.concat(got).toString('latin1'), Buffer.concat(want).toString('latin1'));
        },
      ),
      { numRuns: 4000 },
    );
  });

  it('edge bodies: empty (relaxed: empty, simple: CRLF), no final CRLF, only line ends', () => {
    const canonical = (canon: 'relaxed' | 'simple', body: string) => {
      const out: Buffer[] = [];
      const c = new (canon === 'relaxed' ? RelaxedBody : SimpleBody)((b) => out.push(Buffer.from(b)));
      c.update(Buffer.from(body, 'latin1'));
      c.end();
      return Buffer.concat(out).toString('latin1');
    };
    assert.equal(canonical('relaxed', ''), '');
    assert.equal(canonical('simple', ''), '\r\n');
    assert.equal(canonical('relaxed', '\r\n\r\n'), '');
    assert.equal(canonical('simple', '\r\n\r\n'), '\r\n');
    assert.equal(canonical('relaxed', ' a \t b \r\n\r\n'), ' a b\r\n');
    assert.equal(canonical('relaxed', 'a \r'), 'a \r\r\n');
    assert.equal(canonical('simple', 'a\n\n'), 'a\r\n');
    assert.equal(canonical('simple', 'a\nb'), 'a\nb\r\n');
    assert.equal(canonical('simple', 'a\r\r\n'), 'a\r\r\n');
    // Without whitespace (the verbatim path), every shape of line end.
    assert.equal(canonical('relaxed', 'a\r\nb\r\n\r\n'), 'a\r\nb\r\n');
    assert.equal(canonical('relaxed', '\r\n\r\na\rb\r\r\n'), '\r\n\r\na\rb\r\r\n');
    assert.equal(canonical('relaxed', 'a\nb'), 'a\r\nb\r\n');
    assert.equal(canonical('relaxed', 'a\r'), 'a\r\r\n');
  });

  it('installed hashers: hash, l= bytes, lengths and MIME start equal mailauth per key (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(bodyArb, cutsArb),
          // Big chunks (mailauth's hashers are slow on long lines cut small).
          fc.tuple(
            longBodyArb,
            fc.array(fc.integer({ min: 1000, max: 30_000 }), { minLength: 1, maxLength: 8 }),
          ),
        ),
        fc.array(fc.integer({ min: 0, max: 30_000 }), { maxLength: 3 }),
        fc.boolean(),
        ([body, cuts], lengths, typedFirst) => {
          const keys = [
            ...new Set([
              'relaxed:sha256:',
              'simple:sha256:',
              'simple:sha1:',
              'relaxed:sha1:7',
              ...lengths.flatMap((l) => [`relaxed:sha256:${l}`, `simple:sha256:${l}`]),
            ]),
          ];
          const make = () =>
            new Map(
              keys.map((k) => {
                const [canon, algo, l] = k.split(':');
                // As mailauth's verifier: '' for no l=, and the seal's hasher gets `false`.
                return [
                  k,
                  dkimBody(canon!, algo!, l === '' ? (canon === 'relaxed' ? false : '') : Number(l)),
                ];
              }),
            );
          const ref = make();
          const ours = make() as Map<string, unknown>;
          if (typedFirst) for (const h of ours.values()) (h as MailauthHasher).setContentType(contentType);
          shareBodyHashes(ours, (a) => createHash(a));
          for (const [key, h] of ours) {
            if (!typedFirst) (h as MailauthHasher).setContentType(contentType);
            ref.get(key)!.setContentType(contentType);
          }
          for (const chunk of split(body, cuts)) {
            for (const h of ref.values()) h.update(chunk);
            for (const h of ours.values()) (h as MailauthHasher).update(chunk);
          }
          for (const key of keys) {
            const [r, o] = [ref.get(key)!, ours.get(key) as MailauthHasher];
            assert.equal(o.digest('base64'), r.digest('base64'), key);
            assert.deepEqual(
              [o.bodyHashedBytes, o.canonicalizedLength, o.byteLength, o.getMimeStructureStart()],
              [r.bodyHashedBytes, r.canonicalizedLength, r.byteLength, r.getMimeStructureStart()],
              key,
            );
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('bare LFs become CRLF as mailauth’s message parser makes them, any chunking (property)', () => {
    /**
     * Hundreds of lines, short (line ends closer than the dense threshold: the plain loop) and
     * long (found with indexOf), mostly CRLF with a bare LF here and there, cut in big chunks.
     */
    const linesArb = fc
      .array(
        fc.tuple(
          fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 40, max: 120 })),
          fc.constantFrom('\r\n', '\r\n', '\r\n', '\r\n', '\n', '\r'),
        ),
        { minLength: 100, maxLength: 400 },
      )
      .map((lines) => Buffer.from(lines.map(([len, end]) => 'q'.repeat(len) + end).join(''), 'latin1'));
    const bigCutsArb = fc.array(fc.integer({ min: 200, max: 20_000 }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(fc.oneof(fc.tuple(bodyArb, cutsArb), fc.tuple(linesArb, bigCutsArb)), ([body, cuts]) => {
        const parser = new MessageParser();
        const want = split(body, cuts).flatMap((c) => [...parser.ensureLinebreaks(c)]);
        let previous: number | undefined;
        const got = split(body, cuts).map((c) => {
          const out = crlfBareLineFeeds(c, previous);
          previous = c[c.length - 1];
          return out;
        });
        assert.deepEqual(Buffer.concat(got).toString('latin1'), Buffer.concat(want).toString('latin1'));
      }),
      { numRuns: 1000 },
    );
    // Where the search turns from indexOf to the plain loop (after 64 line ends closer than 32
    // bytes): a bare LF right there, and one far after it.
    for (const body of [
      `${'a\r\n'.repeat(64)}\nz`,
      `${'a\r\n'.repeat(64)}${'b'.repeat(5000)}\nz`,
      `${'a\r\n'.repeat(63)}\n`,
    ]) {
      const parser = new MessageParser();
      const want = Buffer.concat([...parser.ensureLinebreaks(Buffer.from(body))]).toString('latin1');
      assert.equal(crlfBareLineFeeds(Buffer.from(body), undefined).toString('latin1'), want);
    }
  });

  it('signed nasty bodies: every verdict and the seal body hash equal mailauth dkimVerify (property)', async () => {
    const key = dkimKey('sender.test', 'k1');
    const resolver = zoneResolver(zones([key]));
    await fc.assert(
      fc.asyncProperty(
        bodyArb,
        fc.array(
          fc.record({
            canonicalization: fc.constantFrom('relaxed/relaxed', 'simple/simple'),
            length: fc.option(fc.integer({ min: 0, max: 300 }), { nil: null }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        async (body, specs) => {
          const unsigned = Buffer.concat([message({ body: '' }), body]);
          const signed = await dkimSign(unsigned, {
            signTime: NOW,
            signatureData: specs.map((s) => ({
              signingDomain: key.domain,
              selector: key.selector,
              privateKey: key.privateKey,
              canonicalization: s.canonicalization,
              ...(s.length === null ? {} : { maxBodyLength: s.length }),
            })),
          } as unknown as Parameters<typeof dkimSign>[1]);
          const raw = Buffer.concat([Buffer.from(signed.signatures), unsigned]);
          const seal = {} as { bodyHash?: string };
          const want = await dkimVerify(raw, { resolver, curTime: NOW, seal } as unknown as Parameters<
            typeof dkimVerify
          >[1]);
          const got = await evaluateDkim(raw, 'sender.test', resolver, NOW, { bodyHash: true });
          assert.deepEqual(
            got.signatures.map((s) => (s.result === 'policy' ? 'pass' : s.result)),
            want.results.filter((r) => r.signingDomain).map((r) => r.status.result),
          );
          assert.equal(got.bodyHash, seal.bodyHash);
        },
      ),
      { numRuns: 40 },
    );
  });
});
