/**
 * Cold start: each function bundled with esbuild the way the CDK stack bundles it (the
 * options of `lib/function-bundle.ts`), its size and what dominates it (esbuild metafile), and the
 * time a fresh Node process takes to `await import()` it — against a baseline bundle, built
 * the same way, that only imports the AWS SDK clients the functions use.
 *
 * Each timing is a fresh `node` process (the Node running the bench, i.e. Node 22), measured
 * inside the process around `await import(bundle)`; the runs of the bundles are interleaved
 * and the median is reported. "As deployed" adds `--enable-source-maps`, which the stack sets
 * in `NODE_OPTIONS`: Node then reads and parses the bundle's source map at load.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { esbuildOptions } from '../lib/function-bundle.js';
import { median } from './stats.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = join(BENCH_DIR, '..');

export interface BundleSettings {
  /** Where the options came from. */
  source: 'lib/function-bundle.ts';
  options: esbuild.BuildOptions;
}

/** The esbuild options the stack bundles its functions with (`lib/function-bundle.ts`). */
export async function bundleSettings(): Promise<BundleSettings> {
  return { source: 'lib/function-bundle.ts', options: esbuildOptions() };
}

export interface BundleTarget {
  name: string;
  /** Entry, relative to the project root. */
  entry: string;
}

export const BASELINE_SDK_ENTRY = `// Only the AWS SDK clients the router uses, nothing else.
export { S3Client, GetObjectCommand } from '@aws-sdk/client-s3';
export { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
export { DynamoDBClient } from '@aws-sdk/client-dynamodb';
export { DynamoDBDocumentClient, UpdateCommand, GetCommand, BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
export { SSMClient, GetParameterCommand } from '@aws-sdk/client-ssm';
`;

export const BASELINE_FEEDBACK_ENTRY = `// Only the AWS SDK clients the feedback function (and the trace API) uses.
export { DynamoDBClient } from '@aws-sdk/client-dynamodb';
export { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
`;

export interface InputSize {
  path: string;
  bytes: number;
}

export interface BundleInfo {
  name: string;
  file: string;
  bytes: number;
  gzipBytes: number;
  sourceMapBytes: number;
  topInputs: InputSize[];
  topPackages: InputSize[];
  /** Packages bundled from more than one directory (duplicates). */
  duplicatePackages: string[];
  /** Notable heavy dependencies: present or not. */
  contains: Record<string, boolean>;
  /** For each of the top packages: the modules outside it that import it (why it is in). */
  importedBy: Record<string, string[]>;
}

function packageOf(input: string): string {
  const parts = input.split('node_modules/');
  if (parts.length < 2) return '(project)';
  const last = parts[parts.length - 1]!;
  const m = /^((?:@[^/]+\/)?[^/]+)/.exec(last);
  return m ? m[1]! : last;
}

/**
 * Builds the three functions and the two baselines into `outDir/<name>/index.mjs` (`only`:
 * a subset by name). The baselines are built from in-memory entries resolved from the project.
 */
export async function buildBundles(
  outDir: string,
  settings?: BundleSettings,
  only?: readonly string[],
): Promise<BundleInfo[]> {
  const s = settings ?? (await bundleSettings());
  mkdirSync(outDir, { recursive: true });
  const targets: (BundleTarget & { contents?: string })[] = [
    { name: 'router', entry: 'functions/router/handler.ts' },
    { name: 'feedback', entry: 'functions/feedback/handler.ts' },
    { name: 'trace-api', entry: 'functions/trace-api/handler.ts' },
    { name: 'baseline-sdk', entry: 'baseline-sdk.entry.mjs', contents: BASELINE_SDK_ENTRY },
    {
      name: 'baseline-feedback-sdk',
      entry: 'baseline-feedback-sdk.entry.mjs',
      contents: BASELINE_FEEDBACK_ENTRY,
    },
  ];
  const infos: BundleInfo[] = [];
  for (const t of targets.filter((x) => !only || only.includes(x.name))) {
    const dir = join(outDir, t.name);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'index.mjs');
    const result = await esbuild.build({
      ...s.options,
      absWorkingDir: PROJECT_ROOT,
      ...(t.contents === undefined
        ? { entryPoints: [t.entry] }
        : {
            stdin: {
              contents: t.contents,
              resolveDir: PROJECT_ROOT,
              sourcefile: t.entry,
              loader: 'js' as const,
            },
          }),
      bundle: true,
      outfile: file,
      metafile: true,
      logLevel: 'error',
    });
    const meta = result.metafile!;
    writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
    const output = Object.entries(meta.outputs).find(([k]) => k.endsWith('index.mjs'))![1];
    const inputs = Object.entries(output.inputs)
      .map(([path, v]) => ({ path, bytes: v.bytesInOutput }))
      .sort((a, b) => b.bytes - a.bytes || a.path.localeCompare(b.path));
    const byPackage = new Map<string, number>();
    const dirsOfPackage = new Map<string, Set<string>>();
    for (const i of inputs) {
      const p = packageOf(i.path);
      byPackage.set(p, (byPackage.get(p) ?? 0) + i.bytes);
      if (p !== '(project)') {
        const root = i.path.slice(0, i.path.lastIndexOf(`node_modules/${p}`) + `node_modules/${p}`.length);
        const set = dirsOfPackage.get(p) ?? new Set<string>();
        set.add(root);
        dirsOfPackage.set(p, set);
      }
    }
    const code = readFileSync(file);
    const mapFile = `${file}.map`;
    let sourceMapBytes = 0;
    try {
      sourceMapBytes = statSync(mapFile).size;
    } catch {
      sourceMapBytes = 0;
    }
    const has = (name: string) => inputs.some((i) => i.path.includes(`node_modules/${name}/`));
    const topPackages = [...byPackage]
      .map(([path, bytes]) => ({ path, bytes }))
      .sort((a, b) => b.bytes - a.bytes || a.path.localeCompare(b.path))
      .slice(0, 12);
    const importers = new Map<string, Set<string>>();
    for (const [path, input] of Object.entries(meta.inputs)) {
      for (const imp of input.imports) {
        const target = packageOf(imp.path);
        if (target === '(project)' || packageOf(path) === target) continue;
        const set = importers.get(target) ?? new Set<string>();
        set.add(path);
        importers.set(target, set);
      }
    }
    const importedBy: Record<string, string[]> = {};
    for (const p of topPackages) {
      if (p.path === '(project)') continue;
      // Our own modules first, then the others; at most 6 listed.
      const all = [...(importers.get(p.path) ?? [])].sort(
        (a, b) =>
          Number(a.includes('node_modules/')) - Number(b.includes('node_modules/')) || a.localeCompare(b),
      );
      importedBy[p.path] = all.length > 6 ? [...all.slice(0, 6), `… and ${all.length - 6} more`] : all;
    }
    infos.push({
      name: t.name,
      file: relative(PROJECT_ROOT, file),
      bytes: code.length,
      gzipBytes: gzipSync(code).length,
      sourceMapBytes,
      topInputs: inputs.slice(0, 10),
      topPackages,
      duplicatePackages: [...dirsOfPackage]
        .filter(([, dirs]) => dirs.size > 1)
        .map(([p]) => p)
        .sort(),
      contains: {
        undici: has('undici'),
        'mailauth/lib/bimi': inputs.some((i) => i.path.includes('mailauth/lib/bimi/')),
        joi: has('joi'),
        'iconv-lite': has('iconv-lite'),
        'encoding-japanese': has('encoding-japanese'),
        zod: has('zod'),
        'aws-cdk-lib': has('aws-cdk-lib'),
      },
      importedBy,
    });
  }
  return infos;
}

const LOAD_SCRIPT = `const t0 = performance.now();
await import(process.argv[1]);
const t1 = performance.now();
process.stdout.write(JSON.stringify({ importMs: t1 - t0, sinceStartMs: t1 }) + '\\n');`;

interface LoadSample {
  importMs: number;
  sinceStartMs: number;
}

function loadOnce(file: string, sourceMaps: boolean): Promise<LoadSample> {
  return new Promise((resolve, reject) => {
    const args = [
      ...(sourceMaps ? ['--enable-source-maps'] : []),
      '--input-type=module',
      '-e',
      LOAD_SCRIPT,
      pathToFileURL(file).href,
    ];
    const child = spawn(process.execPath, args, {
      cwd: dirname(file),
      // What a Lambda container has before the handler runs; no NODE_OPTIONS from npm.
      env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', AWS_LAMBDA_FUNCTION_NAME: 'bench' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`loading ${file} failed (${code}): ${err.slice(-1000)}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadSample);
    });
  });
}

export interface LoadTiming {
  name: string;
  sourceMaps: boolean;
  runs: number;
  importMs: number;
  /** Process start to module loaded (Node's own start-up included). */
  sinceStartMs: number;
  minImportMs: number;
  maxImportMs: number;
  /** Every measured load, in round order (round i of every bundle ran back to back). */
  samplesMs: number[];
}

/** Median module-load time of each bundle, `runs` fresh processes each, interleaved. */
export async function measureLoad(
  bundles: { name: string; file: string; sourceMaps: boolean }[],
  runs: number,
): Promise<LoadTiming[]> {
  const samples = new Map<string, LoadSample[]>();
  const key = (b: { name: string; sourceMaps: boolean }) => `${b.name}${b.sourceMaps ? '+sm' : ''}`;
  // One unmeasured load each: the file cache is warm for every measured run.
  for (const b of bundles) await loadOnce(join(PROJECT_ROOT, b.file), b.sourceMaps);
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? bundles : [...bundles].reverse();
    for (const b of order) {
      const s = await loadOnce(join(PROJECT_ROOT, b.file), b.sourceMaps);
      const list = samples.get(key(b)) ?? [];
      list.push(s);
      samples.set(key(b), list);
    }
  }
  return bundles.map((b) => {
    const list = samples.get(key(b))!;
    const imports = list.map((s) => s.importMs);
    return {
      name: b.name,
      sourceMaps: b.sourceMaps,
      runs: list.length,
      importMs: median(imports),
      sinceStartMs: median(list.map((s) => s.sinceStartMs)),
      minImportMs: Math.min(...imports),
      maxImportMs: Math.max(...imports),
      samplesMs: imports,
    };
  });
}

export interface ColdStartResult {
  optionsSource: BundleSettings['source'];
  bundles: BundleInfo[];
  loads: LoadTiming[];
  /** router / baseline-sdk, `await import` without source maps. */
  routerRatio: number;
  /** feedback / baseline-feedback-sdk (DynamoDB only). */
  feedbackRatio: number;
  /** trace-api / baseline-feedback-sdk: it uses the same DynamoDB clients. */
  traceApiRatio: number;
  /** Same, with `--enable-source-maps` as the stack's NODE_OPTIONS sets it. */
  routerRatioAsDeployed: number;
  /**
   * router / baseline-sdk of the fastest load of each: interference from other work on the
   * machine only ever adds time, so the minima move less between runs than the medians.
   */
  routerRatioOfMinima: number;
  /**
   * The median over the rounds of router / baseline-sdk within a round: a round takes about a
   * second, so a slow spell of the machine slows both loads and cancels out.
   */
  routerRatioPaired: number;
}

export async function measureColdStart(
  outDir: string,
  opts: { runs?: number; log?: (s: string) => void } = {},
): Promise<ColdStartResult> {
  const settings = await bundleSettings();
  opts.log?.(`  bundling with ${settings.source} options`);
  const bundles = await buildBundles(outDir, settings);
  for (const b of bundles) {
    opts.log?.(
      `  ${b.name.padEnd(22)} ${(b.bytes / 1024).toFixed(0).padStart(6)} KiB (gzip ${(b.gzipBytes / 1024).toFixed(0)} KiB, map ${(b.sourceMapBytes / 1024).toFixed(0)} KiB)`,
    );
  }
  const file = (name: string) => bundles.find((b) => b.name === name)!.file;
  const loads = await measureLoad(
    [
      { name: 'router', file: file('router'), sourceMaps: false },
      { name: 'feedback', file: file('feedback'), sourceMaps: false },
      { name: 'trace-api', file: file('trace-api'), sourceMaps: false },
      { name: 'baseline-sdk', file: file('baseline-sdk'), sourceMaps: false },
      { name: 'baseline-feedback-sdk', file: file('baseline-feedback-sdk'), sourceMaps: false },
      { name: 'router', file: file('router'), sourceMaps: true },
      { name: 'baseline-sdk', file: file('baseline-sdk'), sourceMaps: true },
    ],
    opts.runs ?? 40,
  );
  const load = (name: string, sm = false) => loads.find((l) => l.name === name && l.sourceMaps === sm)!;
  const ms = (name: string, sm = false) => load(name, sm).importMs;
  const min = (name: string) => load(name).minImportMs;
  const paired = (a: string, b: string) => {
    const base = load(b).samplesMs;
    return median(load(a).samplesMs.map((x, i) => x / base[i]!));
  };
  for (const l of loads) {
    opts.log?.(
      `  load ${`${l.name}${l.sourceMaps ? ' +source maps' : ''}`.padEnd(32)} ${l.importMs.toFixed(1)} ms (median of ${l.runs}; ${l.minImportMs.toFixed(1)}–${l.maxImportMs.toFixed(1)})`,
    );
  }
  return {
    optionsSource: settings.source,
    bundles,
    loads,
    routerRatio: ms('router') / ms('baseline-sdk'),
    feedbackRatio: ms('feedback') / ms('baseline-feedback-sdk'),
    traceApiRatio: ms('trace-api') / ms('baseline-feedback-sdk'),
    routerRatioAsDeployed: ms('router', true) / ms('baseline-sdk', true),
    routerRatioOfMinima: min('router') / min('baseline-sdk'),
    routerRatioPaired: paired('router', 'baseline-sdk'),
  };
}
