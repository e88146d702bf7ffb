/**
 * Per-message cost of the in-process path — `classify` (parse, DKIM verify, DNS from an
 * in-memory zone), `decide`, `rewriteHeader` and `sealArc` for every planned copy, exactly as
 * `functions/router/process.ts` composes a copy — against the floor, `mailauth.authenticate()`
 * alone on the same bytes with the same resolver (we must at least parse and verify).
 *
 * Timing: after a warm-up, the two are measured alternately (ABBA order, a forced GC before
 * each run when `--expose-gc` is on), the median per message is taken for each, and the
 * ratio is ours / floor per message; the summary is the median ratio over the corpus and per
 * shape. Stage timings (classify / decide / rewrite / seal) show where the time goes.
 *
 * Memory: one fresh child process per (shape, path), which loads the code, warms up on the
 * plain message, collects garbage, then runs the path once on the message while sampling
 * `process.memoryUsage()` every millisecond (plus the process's `maxRSS` high-water mark).
 * Growth beyond the pre-run baseline is reported in bytes and as a multiple of the message.
 *
 * Run directly (`node --expose-gc --import tsx bench/per-message.ts <corpusDir>`) it prints
 * JSON; `bench/run.ts` calls it that way.
 */
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { S3MailStore } from '../functions/adapters/s3-mail-store.js';
import { SesMailer } from '../functions/adapters/ses-mailer.js';
import { copySealOptions, sealArc } from '../functions/core/compose/arc.js';
import { rewriteHeader } from '../functions/core/compose/rewrite.js';
import { classify, decide } from '../functions/core/decide.js';
import type { LimitsStore, TraceStore } from '../functions/core/ports.js';
import type { ReceivedMail } from '../functions/core/ses-event.js';
import { type PipelineDeps, processReceipt } from '../functions/router/process.js';
import { lastJson, runTsChild } from './child.js';
import { type Corpus, type CorpusMessage, loadCorpus, receiptEvent, receivedMail } from './corpus.js';
import { authenticateOnce } from './runners.js';
import { median } from './stats.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

export interface StageTimes {
  classify: number;
  decide: number;
  rewrite: number;
  seal: number;
}

/** One run of our path; returns the stage times (ms) and the bytes of the copies. */
export async function runOurs(
  raw: Buffer,
  received: ReceivedMail,
  corpus: Corpus,
): Promise<{ stages: StageTimes; outBytes: number }> {
  const { config, resolver, now, arcKey } = corpus;
  const t0 = performance.now();
  const c = await classify({ received, raw, config, resolver, now });
  const t1 = performance.now();
  const d = decide(c, {}, config, now);
  const t2 = performance.now();
  let rewriteMs = 0;
  let sealMs = 0;
  let outBytes = 0;
  for (const send of d.sends) {
    if (send.kind === 'ndr') continue;
    const r0 = performance.now();
    const rewritten = rewriteHeader(raw, {
      send,
      reasons: d.reasons,
      inboundMessageId: received.mail.messageId,
      dkim: c.dkim,
    });
    const r1 = performance.now();
    // As process.ts `compose` seals a copy.
    const sealed = await sealArc(rewritten, copySealOptions(c, raw, { config, key: arcKey, resolver, now }));
    const r2 = performance.now();
    if (!sealed.sealed) throw new Error(`bench message was not sealed: ${sealed.skipped}`);
    rewriteMs += r1 - r0;
    sealMs += r2 - r1;
    outBytes += sealed.message.length;
  }
  if (outBytes === 0) throw new Error(`bench message produced no copy (pool ${d.pool})`);
  return { stages: { classify: t1 - t0, decide: t2 - t1, rewrite: rewriteMs, seal: sealMs }, outBytes };
}

/** The floor: mailauth's own parse + DKIM + SPF + ARC + DMARC (+ BIMI lookup) of the message. */
export const runFloor = authenticateOnce;

const gc = (globalThis as { gc?: () => void }).gc;

export interface MessageTiming {
  name: string;
  shape: string;
  signatures: number;
  bytes: number;
  rounds: number;
  oursMs: number;
  floorMs: number;
  /** mailauth.authenticate() with its own ARC seal (one pass), for reference. */
  floorSealMs: number;
  ratio: number;
  /** ours / floorSealMs: against verify + seal done in one pass by mailauth. */
  ratioVsFloorSeal: number;
  stagesMs: StageTimes;
}

export interface PerMessageResult {
  gcForced: boolean;
  messages: MessageTiming[];
  medianRatio: number;
  perShapeRatio: Record<string, number>;
  perShapeOursMs: Record<string, number>;
  /** Median over the corpus of the per-message medians of our path. */
  perMessageMs: number;
  floorMs: number;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  gc?.();
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/**
 * Measures every corpus message. `budgetMs` is the time aimed at per message and path (the
 * rounds adapt to the message's cost, between `minRounds` and `maxRounds`).
 */
export async function measurePerMessage(
  corpus: Corpus,
  opts: { budgetMs?: number; minRounds?: number; maxRounds?: number; log?: (s: string) => void } = {},
): Promise<PerMessageResult> {
  const budget = opts.budgetMs ?? 3000;
  const minRounds = opts.minRounds ?? 5;
  const maxRounds = opts.maxRounds ?? 100;
  const received = (m: CorpusMessage) => receivedMail({ messageId: `bench-${m.name}` });
  // Global warm-up: load every lazy module and let the JIT settle on the small message.
  const first = corpus.messages[0]!;
  for (let i = 0; i < 10; i++) {
    await runOurs(first.raw, received(first), corpus);
    await runFloor(first.raw, corpus);
    await runFloor(first.raw, corpus, true);
  }

  const messages: MessageTiming[] = [];
  for (const m of corpus.messages) {
    const r = received(m);
    // Warm-up on this message, which also sizes the number of rounds.
    const probe = await timed(() => runOurs(m.raw, r, corpus));
    await timed(() => runFloor(m.raw, corpus));
    const rounds = Math.max(minRounds, Math.min(maxRounds, Math.round(budget / Math.max(probe, 0.1))));
    const ours: number[] = [];
    const floor: number[] = [];
    const floorSeal: number[] = [];
    const stages: StageTimes[] = [];
    for (let i = 0; i < rounds; i++) {
      const runA = async () => {
        gc?.();
        const t = performance.now();
        const out = await runOurs(m.raw, r, corpus);
        ours.push(performance.now() - t);
        stages.push(out.stages);
      };
      const runB = async () => floor.push(await timed(() => runFloor(m.raw, corpus)));
      // ABBA: neither side always runs right after the other's garbage.
      if (i % 2 === 0) {
        await runA();
        await runB();
      } else {
        await runB();
        await runA();
      }
      if (i % 2 === 0) floorSeal.push(await timed(() => runFloor(m.raw, corpus, true)));
    }
    const t: MessageTiming = {
      name: m.name,
      shape: m.shape,
      signatures: m.signatures,
      bytes: m.raw.length,
      rounds,
      oursMs: median(ours),
      floorMs: median(floor),
      floorSealMs: median(floorSeal),
      ratio: median(ours) / median(floor),
      ratioVsFloorSeal: median(ours) / median(floorSeal),
      stagesMs: {
        classify: median(stages.map((s) => s.classify)),
        decide: median(stages.map((s) => s.decide)),
        rewrite: median(stages.map((s) => s.rewrite)),
        seal: median(stages.map((s) => s.seal)),
      },
    };
    opts.log?.(
      `  ${m.name.padEnd(20)} ours ${t.oursMs.toFixed(2)} ms  floor ${t.floorMs.toFixed(2)} ms  ratio ${t.ratio.toFixed(2)}  (${rounds} rounds)`,
    );
    messages.push(t);
  }
  const shapes = [...new Set(messages.map((m) => m.shape))];
  const perShapeRatio: Record<string, number> = {};
  const perShapeOursMs: Record<string, number> = {};
  for (const s of shapes) {
    const of = messages.filter((m) => m.shape === s);
    perShapeRatio[s] = median(of.map((m) => m.ratio));
    perShapeOursMs[s] = median(of.map((m) => m.oursMs));
  }
  return {
    gcForced: gc !== undefined,
    messages,
    medianRatio: median(messages.map((m) => m.ratio)),
    perShapeRatio,
    perShapeOursMs,
    perMessageMs: median(messages.map((m) => m.oursMs)),
    floorMs: median(messages.map((m) => m.floorMs)),
  };
}

// --- memory -----------------------------------------------------------------------------------

export type MemoryPath = 'ours' | 'floor' | 'full';

/**
 * The whole production path without I/O: `processReceipt` with the real S3 and SES adapters
 * over SDK clients whose HTTP handler is in memory (S3 answers the message in fresh 64 KB
 * chunks, as a socket would; SES swallows the request), and in-memory trace and limits stores.
 * It adds to `ours` what the adapters cost: the S3 read and the SESv2 JSON/base64 request.
 */
export function offlineDeps(corpus: Corpus, raw: Buffer, sink: { sesRequestBytes: number }): PipelineDeps {
  const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
  const s3 = new S3Client({
    region: 'us-east-1',
    credentials,
    requestHandler: {
      handle: async () => {
        async function* chunks() {
          for (let i = 0; i < raw.length; i += 65_536) yield Buffer.from(raw.subarray(i, i + 65_536));
        }
        return {
          response: {
            statusCode: 200,
            headers: { 'content-length': String(raw.length), 'content-type': 'application/octet-stream' },
            body: Readable.from(chunks()),
          },
        };
      },
    } as never,
  });
  const ses = new SESv2Client({
    region: 'us-east-1',
    credentials,
    requestHandler: {
      handle: async (request: { headers: Record<string, string> }) => {
        sink.sesRequestBytes += Number(request.headers['content-length'] ?? 0);
        return {
          response: {
            statusCode: 200,
            headers: { 'content-type': 'application/json' },
            body: Readable.from([Buffer.from('{"MessageId":"bench-0001"}')]),
          },
        };
      },
    } as never,
  });
  const limits: LimitsStore = {
    count: async () => ({ counters: { externalHour: 0, internalHour: 0, day: 0, rolling24h: 0 } }),
    restrict: async () => true,
    refund: async () => {},
    countNdr: async () => 1,
    refundNdr: async () => {},
    release: async () => false,
    listRestricted: async () => [],
    peek: async () => null,
  };
  const trace: TraceStore = {
    claim: async () => ({ state: 'claimed', attempt: 1, resumed: null }),
    recordSend: async () => {},
    recorded: async () => null,
    release: async () => true,
    appendEvent: async () => true,
  };
  return {
    config: corpus.config,
    mailStore: new S3MailStore({ client: s3, bucket: 'bench' }),
    limits,
    trace,
    mailer: new SesMailer(ses),
    resolver: corpus.resolver,
    arcKey: corpus.arcKey,
    clock: () => corpus.now,
    leaseMs: 150_000,
  };
}

export interface MemorySample {
  message: string;
  path: MemoryPath;
  bytes: number;
  /** Peak growth beyond the baseline taken right before the run, bytes. */
  peakRssGrowth: number;
  peakHeapGrowth: number;
  /** `external` (Buffers live there, not on the V8 heap). */
  peakExternalGrowth: number;
  /** peakRssGrowth / message bytes. */
  rssPerMessage: number;
  /** max(heap, external) growth / message bytes: the copies the code makes. */
  buffersPerMessage: number;
  /** `full` only: bytes of the SESv2 SendEmail request body (JSON, raw message in base64). */
  sesRequestBytes?: number;
}

/** Child side: one path over one message, memory sampled. */
async function memoryChild(corpusDir: string, name: string, path: MemoryPath): Promise<MemorySample> {
  const corpus = loadCorpus(corpusDir, (n) => n === name || n === 'plain/1sig');
  const m = corpus.messages.find((x) => x.name === name)!;
  const warm = corpus.messages.find((x) => x.name === 'plain/1sig')!;
  const sink = { sesRequestBytes: 0 };
  const run = async (raw: Buffer) => {
    if (path === 'ours') await runOurs(raw, receivedMail({ messageId: 'mem' }), corpus);
    else if (path === 'floor') await runFloor(raw, corpus);
    else {
      sink.sesRequestBytes = 0;
      const result = await processReceipt(receiptEvent({ messageId: 'mem' }), offlineDeps(corpus, raw, sink));
      if (result.sends.length !== 1) throw new Error(`expected one send, got ${result.sends.length}`);
    }
  };
  for (let i = 0; i < 5; i++) await run(warm.raw);
  gc?.();
  gc?.();
  await new Promise((r) => setTimeout(r, 20));
  const base = process.memoryUsage();
  const baseMaxRss = process.resourceUsage().maxRSS * 1024;
  const peak = { rss: base.rss, heap: base.heapUsed, external: base.external };
  const sample = () => {
    const u = process.memoryUsage();
    if (u.rss > peak.rss) peak.rss = u.rss;
    if (u.heapUsed > peak.heap) peak.heap = u.heapUsed;
    if (u.external > peak.external) peak.external = u.external;
  };
  const timer = setInterval(sample, 1);
  await run(m.raw);
  sample();
  clearInterval(timer);
  const maxRss = process.resourceUsage().maxRSS * 1024;
  const rssGrowth = Math.max(peak.rss - base.rss, maxRss - Math.max(baseMaxRss, base.rss));
  const heapGrowth = peak.heap - base.heapUsed;
  const externalGrowth = peak.external - base.external;
  return {
    message: name,
    path,
    bytes: m.raw.length,
    peakRssGrowth: rssGrowth,
    peakHeapGrowth: heapGrowth,
    peakExternalGrowth: externalGrowth,
    rssPerMessage: rssGrowth / m.raw.length,
    buffersPerMessage: Math.max(heapGrowth, externalGrowth) / m.raw.length,
    ...(path === 'full' ? { sesRequestBytes: sink.sesRequestBytes } : {}),
  };
}

/** Memory of each named message through both paths, one child process each. */
export async function measureMemory(corpusDir: string, names: string[]): Promise<MemorySample[]> {
  const out: MemorySample[] = [];
  for (const name of names) {
    for (const path of ['ours', 'full', 'floor'] as const) {
      const stdout = await runTsChild(
        join(BENCH_DIR, 'per-message.ts'),
        ['--memory-child', corpusDir, name, path],
        ['--expose-gc'],
      );
      out.push(lastJson<MemorySample>(stdout));
    }
  }
  return out;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const args = process.argv.slice(2);
  if (args[0] === '--memory-child') {
    const [, dir, name, path] = args;
    const sample = await memoryChild(dir!, name!, path as MemoryPath);
    process.stdout.write(`${JSON.stringify(sample)}\n`);
  } else {
    const dir = args[0];
    if (!dir) throw new Error('usage: per-message.ts <corpusDir> [budgetMs]');
    const corpus = loadCorpus(dir);
    const result = await measurePerMessage(corpus, {
      budgetMs: args[1] ? Number(args[1]) : undefined,
      log: (s) => process.stderr.write(`${s}\n`),
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
}
