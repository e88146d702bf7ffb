/**
 * `tsx bin/bundle-function.ts <entry> <outdir> [<name>=<source> …]`: bundles one handler as its
 * Lambda function runs it (`lib/function-bundle.ts`), with extra files copied next to it. The
 * stack's functions run it as their local bundling step (`lib/lambda-bundling.ts`): CDK's
 * bundling hook is synchronous and esbuild's plugins need its asynchronous API, so the build
 * runs in this process of its own.
 *
 * Exit codes: 0 bundled, 1 the build failed (esbuild's message on stderr), 2 bad arguments.
 */
import { bundleFunction } from '../lib/function-bundle.js';

const USAGE =
  'usage: bundle-function <entry> <outdir> [<name>=<source> ...]\n' +
  '  Bundles a handler of functions/ into <outdir>/index.mjs (with its source map), as the\n' +
  '  stack deploys it, and copies each <source> file to <outdir>/<name>.\n';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const [entry, outdir, ...copies] = args;
const extraFiles: Record<string, string> = {};
for (const copy of copies) {
  const at = copy.indexOf('=');
  if (at <= 0 || at === copy.length - 1) {
    process.stderr.write(`bundle-function: expected <name>=<source>, got ${JSON.stringify(copy)}\n${USAGE}`);
    process.exit(2);
  }
  extraFiles[copy.slice(0, at)] = copy.slice(at + 1);
}
if (!entry || !outdir) {
  process.stderr.write(USAGE);
  process.exit(2);
}
try {
  await bundleFunction({ entry, outdir, extraFiles });
} catch (error) {
  // esbuild has already printed its diagnostics (logLevel `error`); one line for the caller:
  // the first of them (a BuildFailure's `errors`), else the error's first line.
  const first = (error as { errors?: { text: string; location?: { file: string; line: number } | null }[] })
    .errors?.[0];
  const where = first?.location ? ` (${first.location.file}:${first.location.line})` : '';
  const why = first ? `${first.text}${where}` : (error as Error).message.split('\n')[0];
  process.stderr.write(`bundle-function: ${entry}: ${why}\n`);
  process.exit(1);
}
