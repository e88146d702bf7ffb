/**
 * Cold start as deployed: a fresh `node --enable-source-maps` (the stack sets it in
 * `NODE_OPTIONS`) per sample that imports a handler bundle, builds the handler and invokes it
 * once on the plain message over the in-memory transport, then exits. Router bundle and the
 * peer's bundle alternate round by round (ABBA). Two readings per process:
 *
 * - `firstInvocationMs`: `performance.now()` inside the process when the first invocation
 *   returned — from process start (Node's time origin) through module load, handler set-up
 *   (configuration, clients) and the whole first message;
 * - `cpuMs`: the process's CPU time (user + system, all threads) at the same point — the
 *   headline ratio: on a shared machine, elapsed time mostly measures the other tenants;
 * - `wallMs`: spawn to exit, seen from the parent (adds Node's boot and exit, equal for both).
 *
 * The router's configuration names its secrets as a deployment's does (docs/deploying.md): the
 * SRS secrets and the ARC key are SSM SecureString parameters, read at cold start through the
 * transport (`ssm:GetParameter`, which the router signs itself: no SSM client in its bundle), not
 * a literal and a file.
 *
 * The ratio is the median of router ÷ peer within each round (a slow spell of the shared
 * machine slows both loads of a round). Lambda's own init (runtime bootstrap, downloading the
 * package) is not included.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeployedBundles } from './bundles.js';
import { BUCKET, PREFIX, ROUTES, routerEnvironment } from './runners.js';
import { median } from './stats.js';

/** Plain JavaScript (no tsx: its loader would dwarf what is measured). */
const RUNNER = `
const [bundle, kind, setupFile] = process.argv.slice(2);
const { readFileSync } = await import('node:fs');
const setup = JSON.parse(readFileSync(setupFile, 'utf8'));
const mod = await import(bundle);
const raw = readFileSync(setup.messageFile);
const transport = new mod.InMemoryAws({ tables: setup.tables, parameters: setup.parameters });
await transport.putObject(setup.bucket, setup.prefix + 'cold-1', raw);
const event = JSON.parse(setup.event);
const context = { functionName: kind, awsRequestId: 'cold-1', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:' + kind, memoryLimitInMB: '1024', getRemainingTimeInMillis: () => 60000 };
if (kind === 'router') {
  const handler = mod.makeRouter({ env: setup.env, zones: setup.zones, transport, now: setup.now });
  await handler(event, context);
} else {
  const handler = mod.makePeer({ transport, bucket: setup.bucket, prefix: setup.prefix, forwardMapping: setup.routes });
  await handler(event);
}
if ((transport.tally.requests['ses:SendEmail'] ?? 0) !== 1) throw new Error(kind + ': no message sent');
if (kind === 'router' && (transport.tally.requests['ssm:GetParameter'] ?? 0) !== 2) throw new Error('router: secrets not read from SSM');
const cpu = process.cpuUsage();
process.stderr.write(JSON.stringify({ firstInvocationMs: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000 }) + '\\n');
`;

export interface ColdSample {
  firstInvocationMs: number;
  /** Process CPU time (all threads) at that point: what a busy machine disturbs least. */
  cpuMs: number;
  wallMs: number;
}

export interface ColdDeployedResult {
  rounds: number;
  router: { firstInvocationMs: number; cpuMs: number; wallMs: number };
  peer: { firstInvocationMs: number; cpuMs: number; wallMs: number };
  /** Median of the per-round router ÷ peer: process CPU time until the first invocation returned. */
  ratio: number;
  /** The same for the elapsed time from process start (`performance.now()`). */
  ratioElapsed: number;
  ratioWall: number;
  samples: { router: ColdSample[]; peer: ColdSample[] };
}

/** SSM parameter names the cold start reads its secrets from (as docs/deploying.md's example). */
export const COLD_PARAMETERS = { srs: '/outbound-pools/srs-secrets', arc: '/outbound-pools/arc-key' };

/**
 * The bench configuration as a deployment writes it: `srs.secretsParameter` and
 * `arc.privateKey.ssmParameter` instead of literal secrets and a key file, and the parameters'
 * values for the transport.
 */
export function asDeployed(configJson: Record<string, unknown>): {
  config: Record<string, unknown>;
  parameters: Record<string, string>;
} {
  const srs = configJson.srs as { secrets: string[] } & Record<string, unknown>;
  const arc = configJson.arc as { privateKey: { file: string } } & Record<string, unknown>;
  const { secrets, ...srsRest } = srs;
  return {
    config: {
      ...configJson,
      srs: { ...srsRest, secretsParameter: COLD_PARAMETERS.srs },
      arc: { ...arc, privateKey: { ssmParameter: COLD_PARAMETERS.arc } },
    },
    parameters: {
      [COLD_PARAMETERS.srs]: secrets.join('\n'),
      [COLD_PARAMETERS.arc]: readFileSync(arc.privateKey.file, 'utf8'),
    },
  };
}

function once(file: string, kind: string, setupFile: string): Promise<ColdSample> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const runner = join(setupFile, '..', 'runner.mjs');
    const child = spawn(process.execPath, ['--enable-source-maps', runner, file, kind, setupFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - start;
      const line = err
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{"firstInvocationMs"'));
      if (code !== 0 || !line)
        return reject(new Error(`cold start of ${kind} failed (${code}): ${err.slice(-1500)}`));
      resolve({ ...(JSON.parse(line) as { firstInvocationMs: number; cpuMs: number }), wallMs });
    });
  });
}

export async function measureColdDeployed(
  outDir: string,
  corpusDir: string,
  bundles: DeployedBundles,
  rounds: number,
  log: (line: string) => void = () => {},
): Promise<ColdDeployedResult> {
  const saved = JSON.parse(readFileSync(join(corpusDir, 'corpus.json'), 'utf8')) as {
    configJson: Record<string, unknown>;
    zones: unknown;
    now: string;
    messages: { name: string; file: string }[];
  };
  const { LIMITS_TABLE, TRACE_TABLE } = await import('../functions/adapters/tables.js');
  const { receiptEvent } = await import('./corpus.js');
  const { config, parameters } = asDeployed(saved.configJson);
  const setupFile = join(outDir, 'cold-setup.json');
  writeFileSync(join(outDir, 'runner.mjs'), RUNNER);
  writeFileSync(
    setupFile,
    JSON.stringify({
      env: routerEnvironment(config),
      tables: { 'bench-limits': LIMITS_TABLE, 'bench-trace': TRACE_TABLE },
      parameters,
      zones: saved.zones,
      now: saved.now,
      bucket: BUCKET,
      prefix: PREFIX,
      routes: ROUTES,
      messageFile: join(corpusDir, saved.messages.find((m) => m.name === 'plain')!.file),
      event: JSON.stringify(receiptEvent({ messageId: 'cold-1' })),
    }),
  );
  const samples = { router: [] as ColdSample[], peer: [] as ColdSample[] };
  const ratios: number[] = [];
  const ratiosElapsed: number[] = [];
  const ratiosWall: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? (['peer', 'router'] as const) : (['router', 'peer'] as const);
    const got: Partial<Record<'router' | 'peer', ColdSample>> = {};
    for (const kind of order) got[kind] = await once(bundles[kind].file, kind, setupFile);
    samples.router.push(got.router!);
    samples.peer.push(got.peer!);
    ratios.push(got.router!.cpuMs / got.peer!.cpuMs);
    ratiosElapsed.push(got.router!.firstInvocationMs / got.peer!.firstInvocationMs);
    ratiosWall.push(got.router!.wallMs / got.peer!.wallMs);
    if ((round + 1) % 5 === 0) log(`  cold start round ${round + 1}/${rounds}`);
  }
  const med = (xs: ColdSample[]) => ({
    firstInvocationMs: median(xs.map((x) => x.firstInvocationMs)),
    cpuMs: median(xs.map((x) => x.cpuMs)),
    wallMs: median(xs.map((x) => x.wallMs)),
  });
  return {
    rounds,
    router: med(samples.router),
    peer: med(samples.peer),
    ratio: median(ratios),
    ratioElapsed: median(ratiosElapsed),
    ratioWall: median(ratiosWall),
    samples,
  };
}
