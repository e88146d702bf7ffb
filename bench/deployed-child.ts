/**
 * The measuring process of the deployed bench (started by `deployed.ts`, one per mode):
 *
 * - `cpu`: for each message shape, after a warm-up, interleaved rounds (the order of the
 *   runners rotates each round); each sample is a block of back-to-back invocations of one
 *   runner timed with `process.cpuUsage()` (user + system, all threads); no forced GC. Also
 *   what our transport counted per message (requests, DynamoDB units), and the feedback
 *   function's units and CPU for a bounce event of each message's send.
 * - `logs`: bytes each handler writes to stdout/stderr per message (CloudWatch Logs ingests
 *   them: log lines and EMF documents).
 * - `memory`: one runner on one message after a warm-up; peak RSS (sampled every ms, and the
 *   kernel's high-water mark) over the baseline taken right before.
 *
 * Arguments: a JSON file of `ChildInput`; the result is written to `ChildInput.out`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { LIMITS_TABLE, TRACE_TABLE } from '../functions/adapters/tables.js';
import { loadCorpus } from './corpus.js';
import {
  authenticateRunner,
  type FeedbackModule,
  failureEvents,
  lambdaContext,
  oursRunner,
  type PeerModule,
  peerRunner,
  type RouterModule,
  type Runner,
  type RunnerName,
  routerEnvironment,
} from './runners.js';
import { median } from './stats.js';

export interface ShapePlan {
  message: string;
  rounds: number;
  block: number;
  runners: RunnerName[];
}

export interface ChildInput {
  mode: 'cpu' | 'logs' | 'memory';
  routerBundle: string;
  feedbackBundle: string;
  peerBundle: string;
  corpusDir: string;
  out: string;
  plans?: ShapePlan[];
  /** memory mode */
  runner?: RunnerName;
  message?: string;
}

export interface ShapeCpu {
  message: string;
  bytes: number;
  /** CPU ms per message, median over rounds, per runner. */
  ms: Partial<Record<RunnerName, number>>;
  /** Median over rounds of ours ÷ runner within the round. */
  ratio: Partial<Record<RunnerName, number>>;
  samples: Partial<Record<RunnerName, number[]>>;
  rounds: number;
  block: number;
}

export interface CpuResult {
  shapes: ShapeCpu[];
  /** Per message of ours, steady state (after the warm-up). */
  router: { messages: number; requests: Record<string, number>; wru: number; gsiWru: number; rru: number };
  feedback: {
    events: number;
    requests: Record<string, number>;
    wru: number;
    gsiWru: number;
    rru: number;
    cpuMsPerEvent: number;
  };
}

const TABLES = { 'bench-limits': LIMITS_TABLE, 'bench-trace': TRACE_TABLE };

/**
 * Loads the corpus (only the messages `only` keeps) and the bundles. `lean`: only the bundle
 * the one runner measured needs (memory mode: a process as Lambda would run it, holding one
 * function's code; a process that also held the other bundle would have heap to spare, in
 * which the garbage of one message hides).
 */
async function setup(input: ChildInput, only?: (name: string) => boolean, lean?: RunnerName) {
  const corpus = loadCorpus(input.corpusDir, only);
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    TRACE_TABLE: 'bench-trace',
    POWERTOOLS_SERVICE_NAME: 'outbound-pools',
  });
  const env = routerEnvironment(corpus.configJson);
  const needs = (bundle: 'router' | 'peer') =>
    lean === undefined || (bundle === 'router' ? lean === 'ours' : lean === 'peer' || lean === 'peerReuse');
  const router = (
    needs('router') ? await import(pathToFileURL(input.routerBundle).href) : undefined
  ) as RouterModule;
  const peer = (needs('peer') ? await import(pathToFileURL(input.peerBundle).href) : undefined) as PeerModule;
  // The feedback function's own bundle, loaded only where it runs (not in memory mode).
  const feedback = async () => (await import(pathToFileURL(input.feedbackBundle).href)) as FeedbackModule;
  const make = (name: RunnerName): Runner =>
    name === 'ours'
      ? oursRunner(router, corpus, env, TABLES)
      : name === 'authenticate' || name === 'authenticateSeal'
        ? authenticateRunner(corpus, name === 'authenticateSeal')
        : peerRunner(peer, name === 'peerReuse');
  const raw = (name: string) => {
    const m = corpus.messages.find((x) => x.name === name);
    if (!m) throw new Error(`no message ${name}`);
    return m.raw;
  };
  return { corpus, feedback, make, raw };
}

let ids = 0;
async function block(runner: Runner, raw: Buffer, n: number): Promise<number> {
  const batch = Array.from({ length: n }, () => `bench-${process.pid}-${++ids}`);
  for (const id of batch) await runner.prepare(id, raw);
  await new Promise((r) => setImmediate(r));
  const start = process.cpuUsage();
  for (const id of batch) await runner.run(id, raw);
  const used = process.cpuUsage(start);
  for (const id of batch) runner.cleanup(id);
  return (used.user + used.system) / 1000 / n;
}

async function cpuMode(input: ChildInput): Promise<CpuResult> {
  const { corpus, feedback: feedbackModule, make, raw } = await setup(input);
  const all = new Map<RunnerName, Runner>();
  const get = (name: RunnerName) => all.get(name) ?? all.set(name, make(name)).get(name)!;
  const shapes: ShapeCpu[] = [];
  const ours = get('ours');
  // The first message of an identity creates its limits item: not the steady state.
  await block(ours, raw('plain'), 1);
  ours.transport!.resetTally();
  for (const plan of input.plans ?? []) {
    const bytes = raw(plan.message);
    const runners = plan.runners.map(get);
    for (const r of runners) await block(r, bytes, Math.min(plan.block, 3)); // warm-up
    const samples: Partial<Record<RunnerName, number[]>> = {};
    const ratios: Partial<Record<RunnerName, number[]>> = {};
    for (let round = 0; round < plan.rounds; round++) {
      const order = runners.map((_, i) => runners[(i + round) % runners.length]!);
      if (round % 2) order.reverse();
      const got: Partial<Record<RunnerName, number>> = {};
      for (const r of order) got[r.name] = await block(r, bytes, plan.block);
      for (const r of runners) {
        samples[r.name] = [...(samples[r.name] ?? []), got[r.name]!];
        if (r.name !== 'ours') ratios[r.name] = [...(ratios[r.name] ?? []), got.ours! / got[r.name]!];
      }
      process.stderr.write(`  ${plan.message} round ${round + 1}/${plan.rounds}\n`);
    }
    shapes.push({
      message: plan.message,
      bytes: bytes.length,
      ms: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])),
      ratio: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, median(v)])),
      samples,
      rounds: plan.rounds,
      block: plan.block,
    });
  }
  // What the router asked of AWS per message, every shape (the limits item exists).
  const t = ours.transport!.tally;
  const oursMessages = t.requests['ses:SendEmail'] ?? 0;
  const per = (x: number) => x / oursMessages;
  const routerTally = {
    messages: oursMessages,
    requests: Object.fromEntries(Object.entries(t.requests).map(([k, v]) => [k, per(v)])),
    wru: per(t.dynamo.wru),
    gsiWru: per(t.dynamo.gsiWru),
    rru: per(t.dynamo.rru),
  };
  // The feedback path of the same messages, over the same tables.
  const feedback = (await feedbackModule()).makeFeedback(ours.transport!);
  const sent = ours.transport!.sent.slice(-Math.min(oursMessages, 50));
  const events = sent.flatMap((s) => failureEvents(s, corpus.now));
  ours.transport!.resetTally();
  for (const e of events.slice(0, 4)) await feedback(e, lambdaContext('feedback')); // warm-up
  ours.transport!.resetTally();
  const start = process.cpuUsage();
  for (const e of events.slice(4)) await feedback(e, lambdaContext('feedback'));
  const used = process.cpuUsage(start);
  const n = events.length - 4;
  const ft = ours.transport!.tally.dynamo;
  return {
    shapes,
    router: routerTally,
    feedback: {
      events: n,
      requests: Object.fromEntries(
        Object.entries(ours.transport!.tally.requests).map(([k, v]) => [k, v / n]),
      ),
      wru: ft.wru / n,
      gsiWru: ft.gsiWru / n,
      rru: ft.rru / n,
      cpuMsPerEvent: (used.user + used.system) / 1000 / n,
    },
  };
}

/** Bytes written to stdout and stderr while `fn` runs (still written through). */
async function capture(fn: () => Promise<void>): Promise<number> {
  let bytes = 0;
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((s) => s.write.bind(s));
  streams.forEach((s, i) => {
    s.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      return (writes[i] as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof s.write;
  });
  try {
    await fn();
  } finally {
    streams.forEach((s, i) => {
      s.write = writes[i]!;
    });
  }
  return bytes;
}

export interface LogsResult {
  /** Bytes per message (router), per feedback event, per message (peer). */
  routerBytes: number;
  feedbackBytes: number;
  peerBytes: number;
  messages: number;
}

async function logsMode(input: ChildInput): Promise<LogsResult> {
  const { corpus, feedback: feedbackModule, make, raw } = await setup(input, (n) => n === input.message);
  const bytes = raw(input.message!);
  const ours = make('ours');
  const peer = make('peer');
  await block(ours, bytes, 2);
  await block(peer, bytes, 2);
  const n = 10;
  const routerBytes = await capture(() => block(ours, bytes, n).then(() => {}));
  const peerBytes = await capture(() => block(peer, bytes, n).then(() => {}));
  const feedback = (await feedbackModule()).makeFeedback(ours.transport!);
  const events = ours.transport!.sent.slice(-n).flatMap((s) => failureEvents(s, corpus.now));
  const feedbackBytes = await capture(async () => {
    for (const e of events) await feedback(e, lambdaContext('feedback'));
  });
  return {
    routerBytes: routerBytes / n,
    feedbackBytes: feedbackBytes / events.length,
    peerBytes: peerBytes / n,
    messages: n,
  };
}

export interface MemoryResult {
  runner: RunnerName;
  message: string;
  bytes: number;
  baselineRss: number;
  peakRssGrowth: number;
  ratio: number;
}

/** Resets `VmHWM` (Linux `/proc/self/clear_refs`); false where that is not available. */
function resetHighWaterMark(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return highWaterMark() !== undefined;
  } catch {
    return false;
  }
}

/** `VmHWM` of `/proc/self/status`, bytes. */
function highWaterMark(): number | undefined {
  try {
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

async function memoryMode(input: ChildInput): Promise<MemoryResult> {
  const { make, raw } = await setup(input, (n) => n === input.message || n === 'plain', input.runner);
  const runner = make(input.runner!);
  await block(runner, raw('plain'), 3);
  const bytes = raw(input.message!);
  const id = `bench-mem-${process.pid}`;
  await runner.prepare(id, bytes);
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 20));
  const baselineRss = process.memoryUsage.rss();
  const baselineMax = process.resourceUsage().maxRSS * 1024;
  // Linux: reset the kernel's high-water mark of this process (`clear_refs` 5, proc(5)), so
  // `VmHWM` afterwards is the true peak of the run, however short (1 ms sampling can miss it).
  const hwmReset = resetHighWaterMark();
  let peak = baselineRss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 1);
  await runner.run(id, bytes);
  clearInterval(timer);
  // maxRSS only grows: it says something only where it passed the pre-run RSS high-water.
  const maxRss = process.resourceUsage().maxRSS * 1024;
  if (maxRss > baselineMax) peak = Math.max(peak, maxRss);
  if (hwmReset) peak = Math.max(peak, highWaterMark() ?? 0);
  const growth = peak - baselineRss;
  return {
    runner: input.runner!,
    message: input.message!,
    bytes: bytes.length,
    baselineRss,
    peakRssGrowth: growth,
    ratio: growth / bytes.length,
  };
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ChildInput;
  const result =
    input.mode === 'cpu'
      ? await cpuMode(input)
      : input.mode === 'logs'
        ? await logsMode(input)
        : await memoryMode(input);
  writeFileSync(input.out, JSON.stringify(result));
}
