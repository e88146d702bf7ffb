/**
 * `npm run bench` (`-- --quick` for iteration): the router as deployed against two baselines
 * measured in the same run — `mailauth.authenticate()` and aws-lambda-ses-forwarder's handler —
 * per message shape, cold start, peak memory, DynamoDB units and cost per million all in;
 * prints the table and the targets (met or missed) and writes `bench/results.json`. See
 * bench/README.md for how each figure is measured. The earlier bench: `npm run bench:legacy`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ColdDeployedResult, measureColdDeployed } from './cold-deployed.js';
import { ASSUMPTIONS, costPerMillion, PRICES } from './cost.js';
import { measureDeployed, SHAPE_LABELS } from './deployed.js';
import { tidy } from './stats.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const OUT = join(BENCH_DIR, 'out', 'deployed');

const noise = [/No application metrics to publish/, /^npm warn/];
const log = (line: string) => {
  if (!noise.some((r) => r.test(line))) process.stderr.write(`${line}\n`);
};

/** The targets of issue 16. */
export const TARGETS = {
  plainVsPeer: 1.5,
  plainVsAuthenticate: 3,
  tenMbVsPeer: 1.1,
  peakMemoryPerMessage10mb: 2,
  coldStartVsPeer: 1,
  dynamoWruPerMessage: 4,
  overheadPerMillionUsd: 8,
} as const;

const f = (n: number | undefined, d = 2) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(d));

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(rows[0]!), w.map((n) => '-'.repeat(n)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const started = performance.now();
  mkdirSync(OUT, { recursive: true });
  const deployed = await measureDeployed(OUT, quick, log);
  log('cold start: fresh processes, --enable-source-maps, import + first invocation…');
  const cold: ColdDeployedResult = await measureColdDeployed(
    OUT,
    join(OUT, 'corpus'),
    deployed.bundles,
    quick ? 6 : 20,
    log,
  );
  const { cpu, logs, memory } = deployed;
  const shape = (name: string) => cpu.shapes.find((s) => s.message === name)!;
  const plain = shape('plain');
  const cost = costPerMillion(cpu, logs, plain.ms.ours!);
  const memoryOf = (runner: string) => memory.find((m) => m.runner === runner)!;

  const figures = {
    plainVsPeer: plain.ratio.peer!,
    plainVsAuthenticate: plain.ratio.authenticate!,
    tenMbVsPeer: shape('attach-10mb').ratio.peer!,
    peakMemoryPerMessage10mb: memoryOf('ours').ratio,
    coldStartVsPeer: cold.ratio,
    dynamoWruPerMessage: cost.wruPerMessage,
    overheadPerMillionUsd: cost.total,
  };
  const targets = Object.fromEntries(
    Object.entries(TARGETS).map(([k, target]) => {
      const value = figures[k as keyof typeof figures];
      return [k, { target, value, met: value <= target }];
    }),
  );

  const results = {
    quick,
    targets,
    perMessage: Object.fromEntries(
      cpu.shapes.map((s) => [
        s.message,
        {
          label: SHAPE_LABELS[s.message],
          bytes: s.bytes,
          cpuMs: s.ms,
          oursVs: s.ratio,
          rounds: s.rounds,
          block: s.block,
          samples: s.samples,
        },
      ]),
    ),
    memoryMachineDefaults: Object.fromEntries(
      deployed.memoryMachineDefaults.map((m) => [m.runner, { perMessage: m.ratio, samples: m.samples }]),
    ),
    memory: Object.fromEntries(
      memory.map((m) => [
        m.runner,
        {
          message: m.message,
          bytes: m.bytes,
          peakRssGrowth: m.peakRssGrowth,
          perMessage: m.ratio,
          samples: m.samples,
        },
      ]),
    ),
    coldStart: cold,
    requests: { router: cpu.router, feedbackPerEvent: cpu.feedback },
    logs,
    cost: { perMillionUsd: cost, prices: PRICES, assumptions: ASSUMPTIONS },
    bundles: deployed.bundles,
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryBytes: totalmem(),
      loadAverage: loadavg(),
      seconds: Math.round((performance.now() - started) / 1000),
    },
  };
  const resultsFile = join(BENCH_DIR, quick ? 'out/results-quick.json' : 'results.json');
  writeFileSync(resultsFile, `${JSON.stringify(tidy(results), null, 2)}\n`);
  // In the repository's own format, so `npm run lint` stays green after a run.
  spawnSync(join(BENCH_DIR, '..', 'node_modules', '.bin', 'biome'), ['format', '--write', resultsFile], {
    stdio: 'ignore',
  });

  const rows = [
    [
      'message',
      'bytes',
      'ours ms',
      'auth ms',
      '+seal ms',
      'peer ms',
      'reuse ms',
      '÷ auth',
      '÷ +seal',
      '÷ peer',
      '÷ reuse',
    ],
  ];
  for (const s of cpu.shapes) {
    rows.push([
      `${s.message} (${SHAPE_LABELS[s.message]})`,
      String(s.bytes),
      f(s.ms.ours),
      f(s.ms.authenticate),
      f(s.ms.authenticateSeal),
      f(s.ms.peer),
      f(s.ms.peerReuse),
      f(s.ratio.authenticate),
      f(s.ratio.authenticateSeal),
      f(s.ratio.peer),
      f(s.ratio.peerReuse),
    ]);
  }
  const out = process.stdout;
  out.write(
    `\nCPU per message (process CPU time, median of ${quick ? 'few' : 'interleaved'} rounds; ÷: ours ÷ baseline, paired per round; +seal: authenticate() with mailauth's own ARC seal)\n`,
  );
  out.write(`${table(rows)}\n\n`);
  out.write(
    `cold start (CPU to first invocation done): router ${f(cold.router.cpuMs, 0)} ms, peer ${f(cold.peer.cpuMs, 0)} ms; elapsed ${f(cold.router.firstInvocationMs, 0)} / ${f(cold.peer.firstInvocationMs, 0)} ms (÷ ${f(cold.ratioElapsed)})\n`,
  );
  out.write(
    `peak RSS growth on 10 MB: ${memory.map((m) => `${m.runner} ${f(m.ratio)}×`).join(', ')} the message (V8 limits of ${ASSUMPTIONS.routerMemoryMb} MB; at this machine's V8 defaults: ${deployed.memoryMachineDefaults.map((m) => `${m.runner} ${f(m.ratio)}×`).join(', ')})\n`,
  );
  out.write(
    `DynamoDB per message: router ${f(cpu.router.wru)} WRU (${f(cpu.router.gsiWru)} GSI), feedback ${f(cpu.feedback.wru)} WRU + ${f(cpu.feedback.rru)} RRU per filed failure × ${ASSUMPTIONS.feedbackEventsPerMessage} failures per message (delivered copies: none filed by default)\n`,
  );
  out.write(
    `cost per million (besides SES fees): router Lambda $${f(cost.routerLambda)}, feedback Lambda $${f(cost.feedbackLambda)}, DynamoDB $${f(cost.dynamodb)}, S3 $${f(cost.s3)}, logs $${f(cost.logs)} (${f(cost.logBytesPerMessage, 0)} B/message) = $${f(cost.total)}\n\n`,
  );
  const trows = [['target', 'value', 'limit', '']];
  for (const [k, t] of Object.entries(targets))
    trows.push([k, f(t.value), `≤ ${t.target}`, t.met ? 'met' : 'MISSED']);
  out.write(`${table(trows)}\n\nwrote ${resultsFile} in ${results.meta.seconds} s\n`);
}

await main();
