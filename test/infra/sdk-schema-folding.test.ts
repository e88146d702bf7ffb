/**
 * The SDK schema folding of the bundles (`lib/sdk-schema-folding.ts`) changes how esbuild sees
 * the schema modules, never what they evaluate to. The oracle is the modules themselves: every
 * installed client's schema module is bundled whole (`export *`, nothing tree-shaken) with and
 * without the plugin, both bundles are imported, and every export is compared, thunks followed
 * to the export they return and classes by name.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { PROJECT_ROOT } from '../../lib/function-bundle.js';
import { foldSchemaKeys, SCHEMA_MODULE, sdkSchemaFolding } from '../../lib/sdk-schema-folding.js';

/** Every `schemas_N.js` of the installed `@aws-sdk` packages' ES builds. */
function schemaModules(): string[] {
  const root = join(PROJECT_ROOT, 'node_modules/@aws-sdk');
  return (readdirSync(root, { recursive: true }) as string[])
    .map((p) => join(root, p))
    .filter((p) => /dist-es[\\/](.+[\\/])?schemas[\\/]schemas_\d+\.js$/.test(p));
}

type Exports = Record<string, unknown>;

/** A value as a JSON-comparable tree: key order kept, thunks named by the export they return. */
function canonical(value: unknown, exports: Exports, depth = 0): unknown {
  if (depth > 50) throw new Error('too deep: a cycle not through an export');
  const names = new Map(Object.entries(exports).map(([k, v]) => [v, k] as const));
  const walk = (v: unknown): unknown => {
    if (typeof v === 'function') {
      if (/^class\b/.test(Function.prototype.toString.call(v))) return { class: v.name };
      const target = (v as () => unknown)();
      return { thunk: names.get(target) ?? canonical(target, exports, depth + 1) };
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v instanceof Map) return { map: [...v].map(([k, x]) => [walk(k), walk(x)]) };
    if (v !== null && typeof v === 'object')
      return { object: Object.keys(v).map((k) => [k, walk((v as Record<string, unknown>)[k])]) };
    return v;
  };
  return walk(value);
}

describe('SDK schema folding', () => {
  let dir = '';
  const modules = schemaModules();
  const bundles = new Map<string, { plain: Exports; folded: Exports }>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'schema-folding-'));
    for (const [i, file] of modules.entries()) {
      const load = async (name: string, plugins: esbuild.Plugin[]) => {
        const outfile = join(dir, `${i}-${name}.mjs`);
        await esbuild.build({
          stdin: {
            contents: `export * from ${JSON.stringify(file)};`,
            resolveDir: PROJECT_ROOT,
            loader: 'js',
          },
          bundle: true,
          format: 'esm',
          platform: 'node',
          mainFields: ['module', 'main'],
          plugins,
          outfile,
          logLevel: 'error',
        });
        return (await import(pathToFileURL(outfile).href)) as Exports;
      };
      bundles.set(file, { plain: await load('plain', []), folded: await load('folded', [sdkSchemaFolding]) });
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the schema modules of the clients the functions use', () => {
    for (const client of ['client-s3', 'client-sesv2', 'client-dynamodb'])
      assert.ok(
        modules.some((m) => m.includes(`${client}/dist-es/schemas/`)),
        client,
      );
    for (const m of modules) assert.match(m, SCHEMA_MODULE);
  });

  it('folds keys in every schema module, and each evaluates to the same exports as before', () => {
    for (const [file, { plain, folded }] of bundles) {
      const { folded: count } = foldSchemaKeys(readFileSync(file, 'utf8'));
      assert.ok(count > 0, `${file}: nothing folded`);
      assert.deepEqual(Object.keys(folded).sort(), Object.keys(plain).sort(), file);
      for (const name of Object.keys(plain))
        assert.equal(
          JSON.stringify(canonical(folded[name], folded)),
          JSON.stringify(canonical(plain[name], plain)),
          `${file}: ${name}`,
        );
    }
  });

  it('lets esbuild drop the schemas an entry does not import', async () => {
    const sesv2 = modules.find((m) => m.includes('client-sesv2/dist-es/schemas/'))!;
    const size = async (plugins: esbuild.Plugin[]) =>
      (
        await esbuild.build({
          stdin: {
            contents: `export { SendEmail$ } from ${JSON.stringify(sesv2)};`,
            resolveDir: PROJECT_ROOT,
          },
          bundle: true,
          format: 'esm',
          platform: 'node',
          minify: true,
          plugins,
          write: false,
          logLevel: 'error',
        })
      ).outputFiles[0]!.contents.length;
    const [plain, folded] = [await size([]), await size([sdkSchemaFolding])];
    assert.ok(folded < plain / 3, `${folded} bytes folded, ${plain} not`);
  });

  it('folds only object keys that name top-level string constants', () => {
    const source = [
      'const _h = "http";',
      'const _e = "a\\"b";',
      'let _l = "let";',
      'export var A = [{ [_h]: 1 }, { a: 2, [_h]: 3 }, { [_e]: 4 }, { [_l]: 5 }, { [_u]: 6 }];',
      'export var B = c ? d[_h]: e;',
    ].join('\n');
    const { source: out, folded } = foldSchemaKeys(source);
    assert.equal(folded, 2);
    assert.match(out, /\[\{ "http": 1 \}, \{ a: 2, "http": 3 \}/);
    // An escaped literal, a `let`, an unknown name and a member access are left as written.
    assert.match(out, /\{ \[_e\]: 4 \}, \{ \[_l\]: 5 \}, \{ \[_u\]: 6 \}/);
    assert.match(out, /d\[_h\]: e/);
  });
});
