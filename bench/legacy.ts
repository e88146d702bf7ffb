/**
 * `npm run bench:legacy`: the earlier bench (the in-process core path against
 * `authenticate()`, module-load cold start, requests counted by the emulators, throughput),
 * kept for its stage split, bundle analysis and throughput; writes
 * `bench/out/legacy-results.json`. `npm run bench` (`run.ts`) is the headline. See
 * bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lastJson, runTsChild } from './child.js';
import { type ColdStartResult, measureColdStart } from './cold-start.js';
import { buildCorpus, saveCorpus } from './corpus.js';
import { type MemorySample, measureMemory, type PerMessageResult } from './per-message.js';
import type { BucketSummary, RequestsResult } from './requests.js';
import { median, tidy } from './stats.js';
import type { ThroughputResult } from './throughput.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const OUT = join(BENCH_DIR, 'out');
const CORPUS_DIR = join(OUT, 'corpus');

/** List prices used (us-east-1, on-demand), see bench/README.md for sources and date. */
export const PRICES = {
  checked: '2026-11-23',
  region: 'us-east-1',
  dynamodbPerMillionWriteRequestUnits: 0.625,
  dynamodbPerMillionReadRequestUnits: 0.125,
  s3GetPerThousandRequests: 0.0004,
  sesPerThousandEmails: 0.1,
  sesPerGbAttachments: 0.12,
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
} as const;

/** Assumptions of the cost model (documented in bench/README.md). */
export const ASSUMPTIONS = {
  lambdaMemoryMb: 1024,
  /** Lambda gives one full vCPU at 1,769 MB; CPU time scales with the share below it. */
  vcpuAtMb: 1769,
  /** Round trips inside the region, per request. */
  latencyMs: { dynamodbWrite: 6, dynamodbRead: 4, s3Get: 15, sesSend: 40 },
  /** SES bills message data as "attachments" per GB: the whole message is counted (upper bound). */
  sesDataIsWholeMessage: true,
} as const;

const noise = [/No application metrics to publish/, /^npm warn/];
const log = (line: string) => {
  if (!noise.some((r) => r.test(line))) process.stderr.write(`${line}\n`);
};

interface CostLine {
  dynamodbWrites: number;
  dynamodbReads: number;
  s3: number;
  ses: number;
  sesData: number;
  lambdaDuration: number;
  lambdaRequests: number;
  total: number;
  /** Everything but SES sending and data: what the router adds to plain SES forwarding. */
  routerOnly: number;
  lambdaMs: number;
  messageBytes: number;
}

/** Cost of one million messages of `messageBytes`, with the request profile of `b`. */
function costPerMillion(b: BucketSummary, cpuMs: number, messageBytes: number): CostLine {
  const m = 1_000_000;
  const cpuShare = ASSUMPTIONS.lambdaMemoryMb / ASSUMPTIONS.vcpuAtMb;
  const l = ASSUMPTIONS.latencyMs;
  const lambdaMs = Math.ceil(
    cpuMs / cpuShare +
      b.dynamoWrites * l.dynamodbWrite +
      b.dynamoReads * l.dynamodbRead +
      b.s3Gets * l.s3Get +
      b.sesSends * l.sesSend,
  );
  const line = {
    dynamodbWrites: (b.wru * m * PRICES.dynamodbPerMillionWriteRequestUnits) / m,
    dynamodbReads: (b.rru * m * PRICES.dynamodbPerMillionReadRequestUnits) / m,
    s3: (b.s3Gets * m * PRICES.s3GetPerThousandRequests) / 1000,
    ses: (b.sesSends * m * PRICES.sesPerThousandEmails) / 1000,
    sesData: (b.sesSends * m * messageBytes * PRICES.sesPerGbAttachments) / 1024 ** 3,
    lambdaDuration: m * (ASSUMPTIONS.lambdaMemoryMb / 1024) * (lambdaMs / 1000) * PRICES.lambdaArmPerGbSecond,
    lambdaRequests: PRICES.lambdaPerMillionRequests,
  };
  const total = Object.values(line).reduce((s, v) => s + v, 0);
  return { ...line, total, routerOnly: total - line.ses - line.sesData, lambdaMs, messageBytes };
}

const fmt = (n: number, d = 2) => n.toFixed(d);
const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;

async function main(): Promise<void> {
  const started = performance.now();
  mkdirSync(OUT, { recursive: true });

  log('corpus: generating keys and messages…');
  const corpus = await buildCorpus({ dir: CORPUS_DIR });
  saveCorpus(corpus, CORPUS_DIR);
  for (const m of corpus.messages) log(`  ${m.name.padEnd(20)} ${m.raw.length} bytes`);

  log('per-message: ours (classify + decide + rewrite + sealArc) vs mailauth.authenticate()…');
  const perMessage = lastJson<PerMessageResult>(
    await runTsChild(join(BENCH_DIR, 'per-message.ts'), [CORPUS_DIR], ['--expose-gc'], log),
  );

  log('memory: one child process per message shape and path…');
  const memory: MemorySample[] = await measureMemory(
    CORPUS_DIR,
    corpus.messages.filter((m) => m.signatures === 1).map((m) => m.name),
  );
  for (const s of memory) {
    log(
      `  ${s.message.padEnd(20)} ${s.path.padEnd(5)} peak RSS +${mb(s.peakRssGrowth)} (${fmt(s.rssPerMessage)}× msg), buffers +${fmt(s.buffersPerMessage)}× msg`,
    );
  }

  log('cold start: esbuild bundles and module load in fresh processes…');
  const coldStart: ColdStartResult = await measureColdStart(join(OUT, 'bundles'), { runs: 40, log });

  log('requests: processReceipt against the emulators, counted per message…');
  const requests = lastJson<RequestsResult>(
    await runTsChild(join(BENCH_DIR, 'requests.ts'), [CORPUS_DIR], [], log),
  );

  log('throughput: 1, 2, 4, 8 concurrent senders…');
  const throughput = lastJson<ThroughputResult>(
    await runTsChild(join(BENCH_DIR, 'throughput.ts'), [CORPUS_DIR], [], log),
  );

  // --- cost -----------------------------------------------------------------------------------
  const typical = perMessage.messages.find((m) => m.name === 'plain/1sig')!;
  const cpuMs = Math.max(typical.oursMs, requests.steady.medianMs);
  const cost = costPerMillion(requests.steady, cpuMs, requests.messageBytes);
  const costBySize: Record<string, CostLine> = {};
  for (const m of perMessage.messages.filter((x) => x.signatures === 1)) {
    costBySize[m.shape] = costPerMillion(requests.steady, m.oursMs + (cpuMs - typical.oursMs), m.bytes);
  }

  // --- headline figures ---------------------------------------------------------------------------
  const router = coldStart.bundles.find((b) => b.name === 'router')!;
  const routerLoad = coldStart.loads.find((l) => l.name === 'router' && !l.sourceMaps)!;
  const headlineMode = throughput.modes.find((m) => m.mode === throughput.headline)!;
  const peak = headlineMode.levels[headlineMode.levels.length - 1]!;
  const memoryOf = (path: string) =>
    Object.fromEntries(memory.filter((s) => s.path === path).map((s) => [s.message, s.rssPerMessage]));

  const results = {
    perMessageRatio: perMessage.medianRatio,
    perMessageMs: perMessage.perMessageMs,
    coldStartRatio: coldStart.routerRatio,
    coldStartMs: routerLoad.importMs,
    bundleBytes: router.bytes,
    dynamoWritesPerMessage: requests.steady.dynamoWrites,
    dynamoReadsPerMessage: requests.steady.dynamoReads,
    s3GetsPerMessage: requests.steady.s3Gets,
    costPerMillionUsd: cost.total,
    throughputMsgsPerSec: peak.msgsPerSec,
    targets: {
      perMessageRatio: 1.5,
      memoryGrowthPerMessage: 2,
      coldStartRatio: 1.5,
      bundleBytes: 1_500_000,
      dynamoWritesPerMessage: 3,
      dynamoReadsPerMessage: 0,
      s3GetsPerMessage: 1,
    },
    summary: {
      perMessageRatioByShape: perMessage.perShapeRatio,
      perMessageMsByShape: perMessage.perShapeOursMs,
      memoryRssGrowthPerMessageOurs: memoryOf('ours'),
      memoryRssGrowthPerMessageFull: memoryOf('full'),
      memoryRssGrowthPerMessageFloor: memoryOf('floor'),
      coldStartRatioFeedback: coldStart.feedbackRatio,
      coldStartRatioTraceApi: coldStart.traceApiRatio,
      coldStartRatioAsDeployed: coldStart.routerRatioAsDeployed,
      coldStartRatioOfMinima: coldStart.routerRatioOfMinima,
      coldStartRatioPaired: coldStart.routerRatioPaired,
      feedbackBundleBytes: coldStart.bundles.find((b) => b.name === 'feedback')!.bytes,
      traceApiBundleBytes: coldStart.bundles.find((b) => b.name === 'trace-api')!.bytes,
      dynamoWruPerMessage: requests.steady.wru,
      dynamoWritesFirstMessage: requests.first.dynamoWrites,
      costPerMillionRouterOnlyUsd: cost.routerOnly,
      throughputMode: throughput.headline,
      throughputScalingAt8: peak.scaling,
      countersExact: throughput.modes.every((m) => m.counters.exact),
    },
    perMessage,
    memory,
    // The raw samples stay out of the file: the medians, minima and maxima describe them.
    coldStart: { ...coldStart, loads: coldStart.loads.map(({ samplesMs: _samples, ...l }) => l) },
    requests,
    cost: {
      prices: PRICES,
      assumptions: ASSUMPTIONS,
      cpuMsTypical: cpuMs,
      typical: cost,
      bySize: costBySize,
    },
    throughput,
    meta: {
      node: process.version,
      platform: `${process.platform}/${process.arch}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryBytes: totalmem(),
      corpus: corpus.messages.map((m) => ({ name: m.name, bytes: m.raw.length })),
    },
  };
  const resultsFile = join(OUT, 'legacy-results.json');
  writeFileSync(resultsFile, `${JSON.stringify(tidy(results), null, 2)}\n`);
  // In the repository's own format, so `npm run lint` stays green after a run.
  spawnSync(join(BENCH_DIR, '..', 'node_modules', '.bin', 'biome'), ['format', '--write', resultsFile], {
    stdio: 'ignore',
  });

  // --- table ----------------------------------------------------------------------------------
  const ok = (pass: boolean) => (pass ? 'met' : 'MISSED');
  // Growth as a multiple of the message only means something for large messages: for a
  // 3 KB message it is the fixed working set of the code (reported in results.json).
  const large = (path: string) => memory.filter((s) => s.path === path && s.bytes > 1_000_000);
  const maxMem = Math.max(...large('ours').map((s) => s.rssPerMessage));
  const maxMemFull = Math.max(...large('full').map((s) => s.rssPerMessage));
  const maxMemFloor = Math.max(...large('floor').map((s) => s.rssPerMessage));
  const rows: [string, string, string, string][] = [
    [
      'per-message ratio (median, ours / authenticate)',
      `${fmt(perMessage.medianRatio)}×`,
      '≤ 1.5×',
      ok(perMessage.medianRatio <= 1.5),
    ],
    ...Object.entries(perMessage.perShapeRatio).map(([s, r]): [string, string, string, string] => [
      `  ${s} (${fmt(perMessage.perShapeOursMs[s]!)} ms)`,
      `${fmt(r)}×`,
      '≤ 1.5×',
      ok(r <= 1.5),
    ]),
    ['per-message time (median over corpus)', `${fmt(perMessage.perMessageMs)} ms`, '', ''],
    [
      '  vs authenticate() + its own ARC seal (median)',
      `${fmt(median(perMessage.messages.map((m) => m.ratioVsFloorSeal)))}×`,
      '',
      '',
    ],
    [
      'memory: peak RSS growth, in-process path (≥ 1 MB msgs)',
      `${fmt(maxMem)}× msg`,
      '≤ ~2×',
      ok(maxMem <= 2.2),
    ],
    ['  whole path incl. S3 read + SESv2 request', `${fmt(maxMemFull)}× msg`, '≤ ~2×', ok(maxMemFull <= 2.2)],
    ['  mailauth.authenticate() alone', `${fmt(maxMemFloor)}× msg`, '', ''],
    [
      'cold start ratio (router / SDK-only baseline)',
      `${fmt(coldStart.routerRatio)}×`,
      '≤ 1.5×',
      ok(coldStart.routerRatio <= 1.5),
    ],
    ['  router module load', `${fmt(routerLoad.importMs, 1)} ms`, '', ''],
    ['  median of the per-round ratios (paired)', `${fmt(coldStart.routerRatioPaired)}×`, '', ''],
    ['  ratio of the fastest loads', `${fmt(coldStart.routerRatioOfMinima)}×`, '', ''],
    [
      '  with --enable-source-maps (as deployed)',
      `${fmt(coldStart.routerRatioAsDeployed)}×`,
      '≤ 1.5×',
      ok(coldStart.routerRatioAsDeployed <= 1.5),
    ],
    [
      '  feedback / its SDK-only baseline',
      `${fmt(coldStart.feedbackRatio)}×`,
      '≤ 1.5×',
      ok(coldStart.feedbackRatio <= 1.5),
    ],
    [
      '  trace API / the same baseline',
      `${fmt(coldStart.traceApiRatio)}×`,
      '≤ 1.5×',
      ok(coldStart.traceApiRatio <= 1.5),
    ],
    [
      'router bundle',
      `${mb(router.bytes)} (gzip ${kib(router.gzipBytes)})`,
      '≤ 1.5 MB',
      ok(router.bytes <= 1_500_000),
    ],
    [
      'DynamoDB writes / message (steady)',
      fmt(requests.steady.dynamoWrites),
      '≤ 3',
      ok(requests.steady.dynamoWrites <= 3),
    ],
    ['  write units incl. GSI entries', fmt(requests.steady.wru), '', ''],
    ['  first message of an identity', fmt(requests.first.dynamoWrites), '', ''],
    [
      'DynamoDB reads / message (steady)',
      fmt(requests.steady.dynamoReads),
      '0',
      ok(requests.steady.dynamoReads === 0),
    ],
    ['S3 GETs / message', fmt(requests.steady.s3Gets), '1', ok(requests.steady.s3Gets === 1)],
    ['SES sends / message', fmt(requests.steady.sesSends), '', ''],
    ['cost per million messages (3 KB, incl. SES)', `$${fmt(cost.total)}`, '', ''],
    ['  of which router (excl. SES send + data)', `$${fmt(cost.routerOnly)}`, '', ''],
    ...throughput.modes.flatMap((m) =>
      m.levels.map((l): [string, string, string, string] => [
        `throughput ${m.mode} ×${l.concurrency}`,
        `${fmt(l.msgsPerSec, 1)} msg/s (${fmt(l.scaling)}×)`,
        '',
        '',
      ]),
    ),
    [
      'limit counters exact under load',
      throughput.modes.map((m) => `${m.mode}: ${m.counters.counted}/${m.counters.sent}`).join(', '),
      'exact',
      ok(results.summary.countersExact),
    ],
  ];
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ');
  process.stdout.write(
    `\n${line(['figure', 'value', 'target', ''])}\n${w.map((n) => '-'.repeat(n)).join('  ')}\n`,
  );
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`\nwrote bench/out/legacy-results.json in ${seconds.toFixed(0)} s\n`);
  if (Object.keys(throughput.skipped).length > 0) {
    process.stdout.write(`throughput modes skipped: ${JSON.stringify(throughput.skipped)}\n`);
  }
}

await main();
