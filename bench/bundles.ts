/**
 * The handlers as deployed, bundled with the stack's esbuild options (`bundleSettings()`: the
 * options of `lib/lambda-bundling.ts`, minified, source maps, the AWS SDK bundled): `router`
 * (`entries/router.ts`: the router's middy handler and nothing else, as its Lambda loads it),
 * `feedback` (`entries/feedback.ts`, for the all-in figures) and `peer` (`entries/peer.ts`:
 * aws-lambda-ses-forwarder's handler); the router's and the peer's with the in-memory transport
 * in the same bundle. Written to `bench/out/deployed/<name>/index.mjs`.
 *
 * Ours also get the stack's module aliases (`BUNDLE_ALIASES`: the stand-ins of
 * `functions/shims/`, this project's code) and its SDK schema folding (`lib/sdk-schema-folding.ts`);
 * the peer's gets neither, as its users deploy it with the SDK's own modules (its default
 * credential chain included) and a stock bundler.
 */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { bundleSettings, PROJECT_ROOT } from './cold-start.js';

export interface DeployedBundle {
  name: 'router' | 'feedback' | 'peer';
  file: string;
  bytes: number;
  sourceMapBytes: number;
}

export interface DeployedBundles {
  optionsSource: string;
  router: DeployedBundle;
  feedback: DeployedBundle;
  peer: DeployedBundle;
}

export async function buildDeployedBundles(outDir: string): Promise<DeployedBundles> {
  const settings = await bundleSettings();
  const { alias: _standIns, plugins: _folding, ...withoutStandIns } = settings.options;
  const build = async (name: DeployedBundle['name']): Promise<DeployedBundle> => {
    const dir = join(outDir, name);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'index.mjs');
    await esbuild.build({
      ...(name === 'peer' ? withoutStandIns : settings.options),
      absWorkingDir: PROJECT_ROOT,
      entryPoints: [`bench/entries/${name}.ts`],
      bundle: true,
      outfile: file,
      logLevel: 'error',
    });
    return { name, file, bytes: statSync(file).size, sourceMapBytes: statSync(`${file}.map`).size };
  };
  return {
    optionsSource: settings.source,
    router: await build('router'),
    feedback: await build('feedback'),
    peer: await build('peer'),
  };
}
