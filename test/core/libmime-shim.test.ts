/**
 * The libmime stand-in (`functions/shims/libmime.ts`, issue 16): the same answers as the real
 * libmime — the oracle — on generated inputs of every function the bundle calls, errors
 * included; and no caller in the bundle (mailauth, `functions/`) uses a function it lacks.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import libmime from 'libmime';
import * as shim from '../../functions/shims/libmime.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUNS = { numRuns: 300 };

/** The outcome of a call: its value, or the error's message (both must throw alike). */
function outcome(call: () => unknown): unknown {
  try {
    const value = call();
    if (value && typeof value === 'object' && 'params' in value) {
      const v = value as { value: unknown; params: Record<string, unknown> };
      return {
        value: v.value,
        params: Object.entries(v.params),
        proto: Object.getPrototypeOf(v.params) === Object.prototype,
      };
    }
    return value;
  } catch (error) {
    return { threw: (error as Error).message };
  }
}

const charsets = fc.constantFrom(
  'utf-8',
  'UTF-8',
  'iso-8859-1',
  'ISO-8859-2',
  'windows-1252',
  'win-1257',
  'us-ascii',
  'iso-2022-jp',
  'utf-8*en',
  'x-unknown',
  'koi8-r',
);
const text = fc.string({ unit: 'binary', maxLength: 24 });
const ascii = fc.string({ unit: fc.constantFrom(...'aZ09 _=?*%;"\'\\\t\r\n.-éü€'.split('')), maxLength: 24 });
const qPayload = fc.oneof(
  ascii.map((s) => s.replace(/\?/g, '')),
  fc
    .array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 })
    .map((bytes) => bytes.map((b) => `=${b.toString(16).padStart(2, '0').toUpperCase()}`).join('')),
);
const bPayload = fc.oneof(
  fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).toString('base64')),
  ascii.map((s) => s.replace(/\?/g, '')),
);
const encodedWord = fc.oneof(
  fc.tuple(charsets, fc.constantFrom('Q', 'q'), qPayload).map(([c, e, p]) => `=?${c}?${e}?${p}?=`),
  fc.tuple(charsets, fc.constantFrom('B', 'b'), bPayload).map(([c, e, p]) => `=?${c}?${e}?${p}?=`),
  text.map((t) => libmime.encodeWord(t, 'Q', 20)),
  text.map((t) => libmime.encodeWord(t, 'B', 20)),
);
const headerText = fc
  .array(fc.oneof(encodedWord, ascii, fc.constantFrom(' ', '\r\n ', '  ')), { maxLength: 6 })
  .map((parts) => parts.join(''));

describe('libmime stand-in: the same answers as libmime', () => {
  it('decodeWords', () => {
    fc.assert(
      fc.property(fc.oneof(headerText, text), (s) => {
        assert.deepEqual(
          outcome(() => shim.decodeWords(s)),
          outcome(() => libmime.decodeWords(s)),
        );
      }),
      RUNS,
    );
    // Not a string: libmime takes `.toString()` of it.
    assert.equal(
      shim.decodeWords(Buffer.from('=?utf-8?q?x=C3=A9?=')),
      libmime.decodeWords(Buffer.from('=?utf-8?q?x=C3=A9?=') as never),
    );
  });

  it('encodeWord, Q and B, with and without a maximum length', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), text, ascii),
        fc.constantFrom<'Q' | 'B'>('Q', 'B'),
        fc.constantFrom(undefined, 0, 5, 12, 20, 52, 76),
        fc.boolean(),
        (s, kind, max, asBuffer) => {
          const data = asBuffer ? Buffer.from(s) : s;
          assert.equal(shim.encodeWord(data, kind, max), libmime.encodeWord(data, kind, max));
        },
      ),
      RUNS,
    );
    // What functions/core/message.ts asks: a display name in Q words of at most 52 characters.
    assert.equal(
      shim.encodeWord('Zoë Ünïcødé  trailing ', 'Q', 52),
      libmime.encodeWord('Zoë Ünïcødé  trailing ', 'Q', 52),
    );
  });

  it('parseHeaderValue, RFC 2231 continuations and hostile parameter names included', () => {
    const param = fc.oneof(
      fc
        .tuple(
          fc.constantFrom(
            'charset',
            'NAME',
            'filename*',
            'filename*0*',
            'filename*1*',
            'title*0',
            'title*1',
            'title',
            '__proto__',
            'toString',
            '',
          ),
          ascii,
        )
        .map(([k, v]) => `${k}=${v}`),
      fc.tuple(charsets, qPayload).map(([c, p]) => `filename*=${c}''${p.replace(/=/g, '%')}`),
      fc.constantFrom(
        'inline',
        '"quoted; value"',
        'a="b\\"c"',
        ' ; ',
        "filename*=''%C3%A9t%E9",
        "name*0*=''%C3%A9;name*1=x",
      ),
    );
    fc.assert(
      fc.property(ascii, fc.array(param, { maxLength: 5 }), (value, params) => {
        const header = [value, ...params].join(';');
        assert.deepEqual(
          outcome(() => shim.parseHeaderValue(header)),
          outcome(() => libmime.parseHeaderValue(header)),
        );
      }),
      RUNS,
    );
  });

  it('foldLines, header lines and flowed text', () => {
    const words = fc
      .array(
        fc.oneof(
          fc.string({ unit: fc.constantFrom('a', 'b', '=', ';'), minLength: 1, maxLength: 30 }),
          fc.constantFrom(' ', '  ', '\t', '\r\n', '\n', '\r'),
        ),
        {
          maxLength: 30,
        },
      )
      .map((p) => p.join(''));
    fc.assert(
      fc.property(
        words,
        fc.constantFrom(undefined, 10, 40, 76, 160),
        fc.boolean(),
        (s, width, afterSpace) => {
          assert.equal(shim.foldLines(s, width, afterSpace), libmime.foldLines(s, width, afterSpace));
        },
      ),
      RUNS,
    );
  });

  it('every libmime function the bundle’s callers use is in the stand-in', () => {
    const files = (dir: string, ext: string): string[] =>
      readdirSync(dir, { withFileTypes: true, recursive: true })
        .filter((e) => e.isFile() && e.name.endsWith(ext))
        .map((e) => join(e.parentPath, e.name));
    const callers = [
      ...files(join(ROOT, 'node_modules', 'mailauth', 'lib'), '.js'),
      ...files(join(ROOT, 'functions'), '.ts').filter((f) => !f.includes('/shims/')),
    ];
    const used = new Set<string>();
    for (const file of callers) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\blibmime\.(\w+)/g)) used.add(m[1]!);
    }
    assert.ok(used.has('foldLines') && used.has('parseHeaderValue'), [...used].join());
    for (const name of used) {
      assert.equal(typeof (shim.default as Record<string, unknown>)[name], 'function', name);
    }
  });
});
