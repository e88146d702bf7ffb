/**
 * The tldts stand-in (`functions/shims/tldts.ts`, issue 16): its tables are the installed
 * tldts' (else `npm run shims` regenerates them), and `getDomain` answers as the real tldts —
 * the oracle — for every rule of the Public Suffix List, and for generated names and inputs
 * that are not host names, with and without private domains.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import * as tldts from 'tldts';
import * as installed from 'tldts/dist/es6/src/data/trie.js';
import * as shim from '../../functions/shims/tldts.js';
import * as committed from '../../functions/shims/tldts-trie.js';

// mailauth's (DMARC alignment), `organizationalDomain`'s, the defaults, and ICANN rules off.
const OPTIONS = [
  { allowIcannDomains: true, allowPrivateDomains: true },
  { allowPrivateDomains: true },
  undefined,
  {},
  { allowIcannDomains: false },
] as const;

/** Every rule of the list as tldts compiled it: the labels from each root down to each node. */
function rules(): string[] {
  const out: string[] = [];
  const offsets: number[] = [];
  for (let e = 0, o = 0; e < installed.edgeLength.length; e++) {
    offsets.push(o);
    o += installed.edgeLength[e]!;
  }
  const walk = (node: number, suffix: string, depth: number) => {
    for (let e = installed.edgeStart[node]!; e < installed.edgeStart[node + 1]!; e++) {
      const label = installed.labelText.slice(offsets[e], offsets[e]! + installed.edgeLength[e]!);
      const name = suffix ? `${label}.${suffix}` : label;
      out.push(name);
      if (depth < 8) walk(installed.edgeChild[e]!, name, depth + 1);
    }
  };
  walk(installed.rulesRoot, '', 0);
  walk(installed.exceptionsRoot, '', 0);
  return out;
}

function agree(name: string): void {
  for (const options of OPTIONS) {
    assert.equal(
      shim.getDomain(name, options),
      tldts.getDomain(name, options),
      `${JSON.stringify(name)} ${JSON.stringify(options)}`,
    );
  }
}

describe('tldts stand-in', () => {
  it('carries the installed tldts’ tables (run `npm run shims` after updating tldts)', () => {
    const { version } = createRequire(import.meta.url)('tldts/package.json') as { version: string };
    const stale = `functions/shims/tldts-trie.ts is from tldts ${committed.TLDTS_VERSION}, tldts ${version} is installed: run \`npm run shims\``;
    assert.equal(committed.TLDTS_VERSION, version, stale);
    // The stand-in parses with tldts-core; tldts' CommonJS build (what mailauth requires outside
    // the bundle, and this test's oracle) inlines the tldts-core it was released with.
    const core = createRequire(import.meta.url)('tldts-core/package.json') as { version: string };
    assert.equal(core.version, version, 'pin tldts-core to the version of tldts in package.json');
    const tables = shim.unpackTrie();
    const bytes = (a: Uint8Array | Uint16Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const pairs: Record<string, [Uint8Array | Uint16Array, Uint8Array | Uint16Array]> = {
      nodeFlags: [tables.nodeFlags, installed.nodeFlags],
      edgeStart: [tables.edgeStart, installed.edgeStart],
      edgeLength: [tables.edgeLength, installed.edgeLength],
      edgeChild: [tables.edgeChild, installed.edgeChild],
    };
    for (const [name, [ours, theirs]] of Object.entries(pairs)) {
      assert.ok(bytes(ours).equals(bytes(theirs)), `${name}: ${stale}`);
    }
    assert.equal(tables.labelText, installed.labelText, stale);
    assert.deepEqual(
      [committed.nodes, committed.edges, committed.rulesRoot, committed.exceptionsRoot],
      [
        installed.nodeFlags.length,
        installed.edgeLength.length,
        installed.rulesRoot,
        installed.exceptionsRoot,
      ],
      stale,
    );
  });

  it('answers as tldts for every rule of the list, under it, and for its wildcards and exceptions', () => {
    const all = rules();
    assert.ok(all.length > 9000, `${all.length} rules`);
    for (const rule of all) {
      const name = rule.replaceAll('*', 'w');
      agree(name);
      agree(`mail.${name}`);
      agree(`a.b.${name}`);
      agree(`A.B.${name.toUpperCase()}.`);
    }
  });

  it('answers as tldts for generated names, addresses and URLs', () => {
    const all = rules();
    const known = fc.constantFrom(...all.slice(0, 2000), ...all.slice(-500));
    const label = fc.oneof(
      fc.stringMatching(/^[a-z0-9-]{1,12}$/),
      fc.constantFrom('www', 'mail', 'co', 'uk', 'jp', 'com', 'xn--80ak6aa92e', 'bücher', '*', ''),
    );
    const host = fc.oneof(
      fc.tuple(fc.array(label, { maxLength: 4 }), known).map(([ls, k]) => [...ls, k].join('.')),
      fc.array(label, { minLength: 1, maxLength: 6 }).map((ls) => ls.join('.')),
    );
    const input = fc.oneof(
      host,
      host.map((h) => `${h}.`),
      host.map((h) => h.toUpperCase()),
      fc
        .tuple(fc.constantFrom('https://', 'mailto:x@', '//'), host, fc.constantFrom('', ':25', '/path?q=1'))
        .map(([a, h, b]) => `${a}${h}${b}`),
      fc.ipV4(),
      fc.ipV6(),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(input, (name) => agree(name)),
      { numRuns: 3000 },
    );
  });
});
