/**
 * Lets esbuild drop the AWS SDK schemas a bundle never uses (issue 16: cold start).
 *
 * An SDK v3 client describes every operation and shape of its service in one module,
 * `dist-es/schemas/schemas_0.js`: `export var SendEmail$ = [9, n0, _SE, { [_h]: ["POST", …] }, …]`,
 * where `_h` is a module constant (`const _h = "http";`). esbuild removes an unused `export var`
 * only when its initializer cannot have side effects, and it treats a computed property key
 * as one (a key's `toString()` may run code), even when the key is a constant string. So every
 * schema of the service stays in the bundle — S3's and SESv2's are ~115 KB of the router's
 * ~820 KB, parsed and run at every cold start — though the router calls three operations.
 *
 * {@link foldSchemaKeys} writes those keys as the string literals they stand for
 * (`{ [_h]: x }` → `{ "http": x }`, the same object), and esbuild then tree-shakes the
 * schemas as it does any pure declaration. Only a key naming a top-level `const` initialised
 * with a plain string literal is folded; anything else is left as written. The folded module
 * evaluates to the same values as the original: `test/infra/sdk-schema-folding.test.ts`
 * compares every export of every installed client's schemas, folded and not.
 */
import { readFile } from 'node:fs/promises';
import type { Plugin } from 'esbuild';

/** The schema modules of SDK clients (`client-*`, and the clients inside `nested-clients`). */
export const SCHEMA_MODULE = /[\\/]@aws-sdk[\\/].+[\\/]dist-es[\\/](?:.+[\\/])?schemas[\\/]schemas_\d+\.js$/;

/** `const _h = "http";` at the top level: a name and a string literal without escapes. */
const STRING_CONSTANT = /^const ([A-Za-z_$][\w$]*) = ("[^"\\\n]*");$/gm;

/** `[name]:` as an object literal's key: right after `{` or `,` (not a member access `a[b]`). */
const COMPUTED_KEY = /(?<=[{,]\s*)\[([A-Za-z_$][\w$]*)\]\s*:/g;

export interface FoldResult {
  source: string;
  /** Keys written as literals. */
  folded: number;
}

/** `source` with its computed keys that name top-level string constants written as literals. */
export function foldSchemaKeys(source: string): FoldResult {
  const constants = new Map<string, string>();
  for (const [, name, literal] of source.matchAll(STRING_CONSTANT)) constants.set(name!, literal!);
  let folded = 0;
  const text = source.replace(COMPUTED_KEY, (key, name: string) => {
    const literal = constants.get(name);
    if (literal === undefined) return key;
    folded++;
    return `${literal}:`;
  });
  return { source: text, folded };
}

/** The esbuild plugin that folds the keys of every SDK schema module it loads. */
export const sdkSchemaFolding: Plugin = {
  name: 'sdk-schema-folding',
  setup(build) {
    build.onLoad({ filter: SCHEMA_MODULE }, async (args) => ({
      contents: foldSchemaKeys(await readFile(args.path, 'utf8')).source,
      loader: 'js',
    }));
  },
};
