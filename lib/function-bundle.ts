/**
 * How a handler of `functions/` becomes the `index.mjs` its Lambda runs: esbuild's JS API with
 * the project's options ({@link esbuildOptions}). One definition serves the stack (its
 * functions' local bundling runs `bin/bundle-function.ts`, see `lambda-bundling.ts`), the bench
 * and the bundle tests, so what is measured and tested is what is deployed.
 *
 * The JS API rather than the esbuild command line that CDK's `NodejsFunction` runs: a plugin
 * ({@link sdkSchemaFolding}) lets esbuild drop the SDK schemas a handler never uses, and the
 * command line takes no plugins. Kept free of `aws-cdk-lib`, which the bundling process would
 * otherwise load for nothing.
 */
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { sdkSchemaFolding } from './sdk-schema-folding.js';

/** The repository root (`lib/..`): esbuild's working directory and where the lock file is. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The bundle's file name: an ES module, so the handler is `index.handler`. */
export const BUNDLE_FILE = 'index.mjs';

/**
 * Modules replaced at bundle time by small stand-ins in `functions/shims/` (bundle size and
 * cold start: libmime's legacy charset tables are ~0.7 MB, and `TextDecoder` decodes the same
 * charsets; joi and its `@hapi/*` dependencies are ~0.2 MB, built at load time for the two
 * string checks mailauth makes with them; the SDK's default credential chain is ~0.1 MB of
 * SSO, INI, process and STS code, where Lambda gives the credentials in the environment;
 * libmime's MIME type table, ~70 KB built at load time, serves only lookups by file extension,
 * which nothing bundled makes: its stand-in has the four functions the bundle calls; tldts'
 * Public Suffix List is ~140 KB of numeric array literals whose labels are all hashed at load
 * time: its stand-in has the same tables deflated, and hashes a node's labels when a lookup
 * reaches it). Tested against the real modules in `test/core/shims.test.ts`,
 * `test/core/libmime-shim.test.ts` and `test/core/tldts-shim.test.ts`.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  'iconv-lite': join(PROJECT_ROOT, 'functions/shims/iconv-lite.ts'),
  'encoding-japanese': join(PROJECT_ROOT, 'functions/shims/encoding-japanese.ts'),
  joi: join(PROJECT_ROOT, 'functions/shims/joi.ts'),
  '@aws-sdk/credential-provider-node': join(PROJECT_ROOT, 'functions/shims/credential-provider-node.ts'),
  libmime: join(PROJECT_ROOT, 'functions/shims/libmime.ts'),
  tldts: join(PROJECT_ROOT, 'functions/shims/tldts.ts'),
  // The stand-in decodes charsets with libmime's own module: an exact alias to the real file,
  // which esbuild prefers to the `libmime` prefix above.
  'libmime/lib/charset.js': createRequire(import.meta.url).resolve('libmime/lib/charset.js'),
  // One address parser, not two: `functions/` imports nodemailer's ES module build and mailauth
  // requires its CommonJS build of the same source (17 KB twice). Both get the CommonJS one,
  // whose export is the function itself (`test/core/addressparser-builds.test.ts`).
  'nodemailer/lib/addressparser': createRequire(import.meta.url).resolve('nodemailer/lib/addressparser'),
};

/**
 * ES modules have no `require`; CommonJS dependencies bundled into one (esbuild's
 * `__require` shim) need it, so the bundle defines one from `import.meta.url`.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __outboundPoolsCreateRequire } from 'node:module'; " +
  'const require = __outboundPoolsCreateRequire(import.meta.url);';

/**
 * ESM for Node.js 22 (`module` before `main`, so dependencies' ES builds tree-shake) with a
 * `require` banner, minified, every module bundled — the AWS SDK too, so the function runs the
 * SDK version the repository tests — with the stand-ins ({@link BUNDLE_ALIASES}) and the SDK
 * schema folding. Entry and output are the caller's.
 *
 * The source maps carry mappings only (`sourcesContent: false`): a stack trace needs file,
 * line and column, not the sources, and Node reads the whole map when the bundle loads with
 * source maps on (the functions set `--enable-source-maps`) — without the sources the
 * router's map is about a third of the size.
 */
export function esbuildOptions(): esbuild.BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    external: [],
    alias: { ...BUNDLE_ALIASES },
    plugins: [sdkSchemaFolding],
    absWorkingDir: PROJECT_ROOT,
    logLevel: 'error',
  };
}

export interface FunctionBundle {
  /** The handler module, absolute or relative to the project root. */
  entry: string;
  /** Where `index.mjs`, its map and the extra files go. */
  outdir: string;
  /** Files to place next to the handler: bundle file name → absolute source path. */
  extraFiles?: Readonly<Record<string, string>>;
}

/** Bundles one handler as its Lambda function runs it. */
export async function bundleFunction(bundle: FunctionBundle): Promise<void> {
  mkdirSync(bundle.outdir, { recursive: true });
  await esbuild.build({
    ...esbuildOptions(),
    entryPoints: [bundle.entry],
    outfile: join(bundle.outdir, BUNDLE_FILE),
  });
  for (const [name, source] of Object.entries(bundle.extraFiles ?? {})) {
    const target = join(bundle.outdir, name);
    copyFileSync(source, target);
    // Lambda runs the code as another user: the copy must be world-readable.
    chmodSync(target, 0o644);
  }
}
