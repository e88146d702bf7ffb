/**
 * End-to-end throughput at 1, 2, 4 and 8 concurrent senders, and whether the limit counters
 * stay exact under that load (each identity's DynamoDB `day` counter against the recipients
 * of the copies the SES emulator recorded for it).
 *
 * Two modes, both run when they can:
 * - `sandbox-smtp`: through the sandbox (`sandbox/server.ts` `startSandbox`), N concurrent
 *   SMTP clients (nodemailer, one connection each) sending to its SMTP ingress, which plays
 *   SES inbound (verdicts, S3 action, asynchronous Lambda invocation of the real middy
 *   handler). Everything — emulators, ingress, router — shares this one Node process.
 * - `processReceipt`: N concurrent invocations of `processReceipt` (real adapters) against
 *   the emulators running in a child process, so router and emulators each have a core.
 * The figure is messages fully processed (copy sent and traced) per second of wall time.
 *
 * Run directly: `node --import tsx bench/throughput.ts <corpusDir>` prints JSON.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import nodemailer from 'nodemailer';
import { DynamoLimitsStore } from '../functions/adapters/dynamo-limits-store.js';
import { createTables } from '../functions/adapters/tables.js';
import type { PipelineDeps } from '../functions/router/process.js';
import { type Corpus, IDENTITIES, loadCorpus, receiptEvent, routerEnvironment, SENDER } from './corpus.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const BUCKET = 'bench-throughput';
const PREFIX = 'raw/';
export const CONCURRENCY = [1, 2, 4, 8] as const;

export interface LevelResult {
  concurrency: number;
  messages: number;
  seconds: number;
  msgsPerSec: number;
  /** msgs/s over msgs/s at 1 sender. */
  scaling: number;
}

export interface CounterCheck {
  identities: number;
  /** Recipients counted in DynamoDB (sum of `day`). */
  counted: number;
  /** Recipients of the copies SES recorded. */
  sent: number;
  /** Messages submitted. */
  submitted: number;
  exact: boolean;
  mismatches: { identity: string; counted: number; sent: number }[];
}

export interface ModeResult {
  mode: 'sandbox-smtp' | 'processReceipt';
  note: string;
  levels: LevelResult[];
  counters: CounterCheck;
}

export interface ThroughputResult {
  /** The mode the headline figures come from. */
  headline: ModeResult['mode'];
  modes: ModeResult[];
  /** Why a mode did not run. */
  skipped: Record<string, string>;
}

/** Runs `total` jobs with at most `concurrency` in flight; returns the wall time in s. */
async function pool(total: number, concurrency: number, job: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        await job(i);
      }
    }),
  );
  return (performance.now() - t) / 1000;
}

function levels(results: { concurrency: number; messages: number; seconds: number }[]): LevelResult[] {
  const base = results[0]!.messages / results[0]!.seconds;
  return results.map((r) => ({
    ...r,
    msgsPerSec: r.messages / r.seconds,
    scaling: r.messages / r.seconds / base,
  }));
}

async function checkCounters(
  limits: DynamoLimitsStore,
  sends: { from: string | undefined; to: string[] }[],
  submitted: number,
  now: Date,
): Promise<CounterCheck> {
  const sentBy = new Map<string, number>();
  for (const s of sends) sentBy.set(s.from ?? '', (sentBy.get(s.from ?? '') ?? 0) + s.to.length);
  const mismatches: CounterCheck['mismatches'] = [];
  let counted = 0;
  let sent = 0;
  for (let i = 0; i < IDENTITIES; i++) {
    const identity = `user${i}@example.com`;
    const state = await limits.peek(identity, now);
    const c = state?.counters.day ?? 0;
    const s = sentBy.get(identity) ?? 0;
    counted += c;
    sent += s;
    if (c !== s) mismatches.push({ identity, counted: c, sent: s });
  }
  return {
    identities: IDENTITIES,
    counted,
    sent,
    submitted,
    exact: mismatches.length === 0 && sent === submitted,
    mismatches,
  };
}

// --- mode processReceipt: emulators in a child process ------------------------------------------

interface EmulatorChild {
  env: Record<string, string>;
  sends(): Promise<{ from: string | undefined; to: string[] }[]>;
  stop(): Promise<void>;
}

async function startEmulatorChild(): Promise<EmulatorChild> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(BENCH_DIR, 'throughput.ts'), '--emulators-child'],
    { cwd: join(BENCH_DIR, '..'), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const pending = new Map<number, (value: unknown) => void>();
  let seq = 0;
  const ready = new Promise<Record<string, string>>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`emulator child exited (${code})`)));
    child.on('message', (m: { ready?: Record<string, string>; id?: number; value?: unknown }) => {
      if (m.ready) resolve(m.ready);
      else if (m.id !== undefined) pending.get(m.id)?.(m.value);
    });
  });
  const env = await ready;
  const call = (op: string) =>
    new Promise<unknown>((resolve) => {
      const id = ++seq;
      pending.set(id, resolve);
      child.send({ op, id });
    });
  return {
    env,
    sends: async () => (await call('sends')) as { from: string | undefined; to: string[] }[],
    stop: async () => {
      child.removeAllListeners('exit');
      await call('stop');
    },
  };
}

async function emulatorChildMain(): Promise<void> {
  const { startEmulators } = await import('../sandbox/emulators/index.js');
  const emu = await startEmulators({ buckets: [BUCKET] });
  process.on('message', (m: { op: string; id: number }) => {
    if (m.op === 'sends') {
      const value = emu.ses.sent().map((s) => ({ from: s.fromEmailAddress, to: s.destination.ToAddresses }));
      process.send?.({ id: m.id, value });
    } else if (m.op === 'stop') {
      void emu.stop().then(() => {
        process.send?.({ id: m.id, value: true }, () => process.exit(0));
      });
    }
  });
  process.send?.({ ready: emu.env });
}

async function runProcessReceiptMode(
  corpus: Corpus,
  perLevel: number,
  log: (s: string) => void,
): Promise<ModeResult> {
  const emu = await startEmulatorChild();
  try {
    const credentials = {
      accessKeyId: emu.env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: emu.env.AWS_SECRET_ACCESS_KEY!,
    };
    const region = emu.env.AWS_REGION!;
    const dynamo = new DynamoDBClient({ endpoint: emu.env.AWS_ENDPOINT_URL_DYNAMODB!, region, credentials });
    const tables = { limits: 'tp-limits', trace: 'tp-trace' };
    await createTables(dynamo, tables);
    const s3 = new S3Client({
      endpoint: emu.env.AWS_ENDPOINT_URL_S3!,
      region,
      credentials,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const env = routerEnvironment(corpus, emu.env, { bucket: BUCKET, prefix: PREFIX, tables });
    // Imported after the environment is set (Powertools reads it at load).
    const { createDeps } = await import('../functions/router/handler.js');
    const { processReceipt } = await import('../functions/router/process.js');
    const deps: PipelineDeps = await createDeps(env, {
      resolver: corpus.resolver,
      clock: () => corpus.now,
      observer: {},
    });
    const raw = corpus.messages.find((m) => m.name === 'plain/1sig')!.raw;
    let seq = 0;
    let submitted = 0;
    const batch = async (n: number) => {
      const ids = Array.from({ length: n }, () => `tp-${++seq}`);
      await pool(ids.length, 8, async (i) => {
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}${ids[i]}`, Body: raw }));
      });
      return ids;
    };
    const process1 = (id: string, k: number) =>
      processReceipt(
        receiptEvent({ messageId: id, recipients: [`user${k % IDENTITIES}@example.com`] }),
        deps,
      );
    // Warm-up (also creates every identity's limits item).
    const warm = await batch(IDENTITIES * 2);
    await pool(warm.length, 4, async (i) => {
      await process1(warm[i]!, i);
    });
    submitted += warm.length;
    const raw_: { concurrency: number; messages: number; seconds: number }[] = [];
    for (const c of CONCURRENCY) {
      const ids = await batch(perLevel);
      const seconds = await pool(ids.length, c, async (i) => {
        await process1(ids[i]!, i);
      });
      submitted += ids.length;
      raw_.push({ concurrency: c, messages: ids.length, seconds });
      log(`  processReceipt ×${c}: ${(ids.length / seconds).toFixed(1)} msgs/s`);
    }
    const counters = await checkCounters(
      new DynamoLimitsStore({ client: dynamo, tableName: tables.limits }),
      await emu.sends(),
      submitted,
      corpus.now,
    );
    s3.destroy();
    dynamo.destroy();
    return {
      mode: 'processReceipt',
      note: 'concurrent processReceipt invocations (real adapters, zone DNS, ARC sealing) in one Node process; emulators in a second process',
      levels: levels(raw_),
      counters,
    };
  } finally {
    await emu.stop();
  }
}

// --- mode sandbox-smtp ----------------------------------------------------------------------------

async function runSandboxMode(
  corpus: Corpus,
  corpusDir: string,
  perLevel: number,
  log: (s: string) => void,
): Promise<ModeResult> {
  const { startSandbox } = (await import('../sandbox/server.js')) as typeof import('../sandbox/server.js');
  const configPath = join(corpusDir, 'sandbox-config.json');
  writeFileSync(configPath, JSON.stringify(corpus.configJson), { mode: 0o600 });
  const sandbox = await startSandbox({
    config: configPath,
    resolver: corpus.resolver,
    smtpPort: 0,
    quiet: true,
    retryDelaysMs: [200, 400],
  });
  try {
    const raw = corpus.messages.find((m) => m.name === 'plain/1sig')!.raw;
    let submitted = 0;
    const transports = Array.from({ length: Math.max(...CONCURRENCY) }, () =>
      nodemailer.createTransport({
        host: sandbox.smtp.host,
        port: sandbox.smtp.port,
        secure: false,
        ignoreTLS: true,
        pool: true,
        maxConnections: 1,
        maxMessages: Number.POSITIVE_INFINITY,
      }),
    );
    const send = async (transport: (typeof transports)[number], k: number): Promise<string> => {
      const info = await transport.sendMail({
        envelope: { from: SENDER, to: [`user${k % IDENTITIES}@example.com`] },
        raw,
      });
      const id = /Ok (\S+)/.exec(String(info.response))?.[1];
      if (!id) throw new Error(`unexpected SMTP response: ${info.response}`);
      return id;
    };
    // One sender = one SMTP connection sending its share one after the other.
    const level = async (senders: number, total: number) => {
      const ids: string[] = [];
      let next = 0;
      const t = performance.now();
      await Promise.all(
        transports.slice(0, senders).map(async (tr) => {
          for (;;) {
            const k = next++;
            if (k >= total) return;
            ids.push(await send(tr, k));
          }
        }),
      );
      const processed = await Promise.all(ids.map((id) => sandbox.waitFor(id, 120_000)));
      const seconds = (performance.now() - t) / 1000;
      submitted += total;
      const failed = processed.filter((p) => p.outcome !== 'processed' || p.sends.length !== 1);
      if (failed.length > 0)
        throw new Error(`${failed.length} messages not sent: ${JSON.stringify(failed[0])}`);
      return seconds;
    };
    await level(4, IDENTITIES * 2); // warm-up
    const raw_: { concurrency: number; messages: number; seconds: number }[] = [];
    for (const c of CONCURRENCY) {
      const seconds = await level(c, perLevel);
      raw_.push({ concurrency: c, messages: perLevel, seconds });
      log(`  sandbox SMTP ×${c}: ${(perLevel / seconds).toFixed(1)} msgs/s`);
    }
    for (const t of transports) t.close();
    await sandbox.idle();
    const dynamo = new DynamoDBClient(sandbox.emulators.clientConfig('dynamodb'));
    const counters = await checkCounters(
      new DynamoLimitsStore({ client: dynamo, tableName: sandbox.tables.limits }),
      sandbox.emulators.ses.sent().map((s) => ({ from: s.fromEmailAddress, to: s.destination.ToAddresses })),
      submitted,
      new Date(),
    );
    dynamo.destroy();
    return {
      mode: 'sandbox-smtp',
      note: 'N SMTP clients → sandbox SMTP ingress (SES inbound played locally: verdicts, S3, async invoke) → real middy handler; all in one Node process',
      levels: levels(raw_),
      counters,
    };
  } finally {
    await sandbox.stop();
  }
}

export async function measureThroughput(
  corpus: Corpus,
  corpusDir: string,
  opts: { perLevel?: number; log?: (s: string) => void } = {},
): Promise<ThroughputResult> {
  const perLevel = opts.perLevel ?? 96;
  const log = opts.log ?? (() => {});
  const modes: ModeResult[] = [];
  const skipped: Record<string, string> = {};
  try {
    modes.push(await runSandboxMode(corpus, corpusDir, perLevel, log));
  } catch (error) {
    skipped['sandbox-smtp'] = (error as Error).message.split('\n')[0] ?? 'failed';
    log(`  sandbox mode skipped: ${skipped['sandbox-smtp']}`);
  }
  modes.push(await runProcessReceiptMode(corpus, perLevel, log));
  return { headline: modes[0]!.mode, modes, skipped };
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  if (process.argv[2] === '--emulators-child') {
    await emulatorChildMain();
  } else {
    const dir = process.argv[2];
    if (!dir) throw new Error('usage: throughput.ts <corpusDir> [perLevel]');
    const result = await measureThroughput(
      loadCorpus(dir, (n) => n === 'plain/1sig'),
      dir,
      {
        perLevel: process.argv[3] ? Number(process.argv[3]) : undefined,
        log: (s) => process.stderr.write(`${s}\n`),
      },
    );
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  }
}
