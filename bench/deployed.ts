/**
 * The deployed bench's orchestration: the corpus of five shapes, the bundles, and one child
 * process per measurement (`deployed-child.ts`): CPU per message (all runners interleaved in
 * one process), log bytes, and peak memory (one process per runner on the 10 MB message).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDeployedBundles, type DeployedBundles } from './bundles.js';
import { runTsChild } from './child.js';
import { buildCorpus, type Shape, saveCorpus, signMessage, unsignedMessage } from './corpus.js';
import { ASSUMPTIONS } from './cost.js';
import type { ChildInput, CpuResult, LogsResult, MemoryResult, ShapePlan } from './deployed-child.js';
import { lambdaNodeFlags } from './lambda-node.js';
import type { RunnerName } from './runners.js';

/** The table's rows: name → what it is. */
export const SHAPE_LABELS: Record<string, string> = {
  plain: 'plain text',
  html: 'HTML + 2 inline images',
  'attach-1mb': '1 MiB attachment',
  'attach-10mb': '10 MiB attachment',
  'dkim-3': 'plain, 3 DKIM signatures',
};

/**
 * Builds and saves the corpus. Every message carries its sender's DKIM signature (aligned,
 * relaxed/relaxed), as nearly all mail does and as the messages of issue 16's figures did;
 * `dkim-3` adds an ESP's and a mailing list's (simple/simple), as mail that crossed both.
 */
export async function buildDeployedCorpus(dir: string): Promise<Record<string, number>> {
  const corpus = await buildCorpus({ dir, shapes: ['plain'], signatureCounts: [1] });
  const signed = (shape: Shape, count = 1, id: string = shape) =>
    signMessage(unsignedMessage(shape, id), corpus.dkimKeys, count, corpus.now);
  corpus.messages = [
    { name: 'plain', shape: 'plain', signatures: 1, raw: await signed('plain') },
    { name: 'html', shape: 'html', signatures: 1, raw: await signed('html') },
    { name: 'attach-1mb', shape: 'attach-1mb', signatures: 1, raw: await signed('attach-1mb') },
    { name: 'attach-10mb', shape: 'attach-10mb', signatures: 1, raw: await signed('attach-10mb') },
    { name: 'dkim-3', shape: 'plain', signatures: 3, raw: await signed('plain', 3, 'dkim-3') },
  ];
  saveCorpus(corpus, dir);
  return Object.fromEntries(corpus.messages.map((m) => [m.name, m.raw.length]));
}

const SMALL: RunnerName[] = ['ours', 'authenticate', 'authenticateSeal', 'peer', 'peerReuse'];
const LARGE: RunnerName[] = ['ours', 'authenticate', 'authenticateSeal', 'peer'];

/** Rounds × block size per shape: about 5–10 s of CPU each on this machine (`quick`: ~1 s). */
export function plans(quick: boolean): ShapePlan[] {
  const q = (full: number, fast: number) => (quick ? fast : full);
  return [
    { message: 'plain', rounds: q(14, 4), block: q(16, 6), runners: SMALL },
    { message: 'dkim-3', rounds: q(10, 3), block: q(10, 5), runners: LARGE },
    { message: 'html', rounds: q(12, 3), block: q(8, 4), runners: SMALL },
    { message: 'attach-1mb', rounds: q(10, 3), block: q(3, 1), runners: LARGE },
    { message: 'attach-10mb', rounds: q(8, 2), block: 1, runners: LARGE },
  ];
}

export interface DeployedResult {
  bundles: DeployedBundles;
  messageBytes: Record<string, number>;
  cpu: CpuResult;
  logs: LogsResult;
  /** Per runner, the median sample with every sample's ratio (V8 limits of the router's memory size). */
  memory: (MemoryResult & { samples: number[] })[];
  /** The same at this machine's V8 defaults (fewer samples). */
  memoryMachineDefaults: (MemoryResult & { samples: number[] })[];
}

const CHILD = 'bench/deployed-child.ts';

/** The sample of median ratio (an odd count: the middle one), with every sample's ratio. */
export function medianSample(samples: MemoryResult[]): MemoryResult & { samples: number[] } {
  const sorted = [...samples].sort((a, b) => a.ratio - b.ratio);
  return { ...sorted[Math.floor((sorted.length - 1) / 2)]!, samples: samples.map((s) => s.ratio) };
}

async function child<T>(input: ChildInput, flags: string[] = [], log?: (l: string) => void): Promise<T> {
  const file = `${input.out}.input.json`;
  writeFileSync(file, JSON.stringify(input));
  await runTsChild(CHILD, [file], flags, log);
  return JSON.parse(readFileSync(input.out, 'utf8')) as T;
}

export async function measureDeployed(
  outDir: string,
  quick: boolean,
  log: (line: string) => void = () => {},
): Promise<DeployedResult> {
  const corpusDir = join(outDir, 'corpus');
  mkdirSync(corpusDir, { recursive: true });
  log('deployed: corpus and bundles');
  const messageBytes = await buildDeployedCorpus(corpusDir);
  const bundles = await buildDeployedBundles(join(outDir, 'bundles'));
  const base = {
    routerBundle: bundles.router.file,
    feedbackBundle: bundles.feedback.file,
    peerBundle: bundles.peer.file,
    corpusDir,
  };
  log('deployed: CPU per message (interleaved rounds)');
  const cpu = await child<CpuResult>(
    { ...base, mode: 'cpu', out: join(outDir, 'cpu.json'), plans: plans(quick) },
    [],
    (l) => {
      if (l.includes('round')) log(l);
    },
  );
  log('deployed: log bytes per message');
  const logs = await child<LogsResult>({
    ...base,
    mode: 'logs',
    out: join(outDir, 'logs.json'),
    message: 'plain',
  });
  // Peak memory: one fresh process per sample, the runners interleaved; the median of the
  // samples, as one sample is mostly when V8 happened to collect (runs minutes apart differed
  // by 1.35-2.0x the message for the same code). Every runner's process gets the V8 limits
  // Lambda's runtime sets for the router's memory size; a second, shorter series at this
  // machine's V8 defaults shows how much of the figure is the young generation's size.
  const measureMemory = async (rounds: number, flags: string[], what: string) => {
    const samples = new Map<RunnerName, MemoryResult[]>();
    for (let round = 0; round < rounds; round++) {
      for (const runner of LARGE) {
        log(`deployed: peak memory on the 10 MB message, ${what}, ${runner} (${round + 1}/${rounds})`);
        const sample = await child<MemoryResult>(
          {
            ...base,
            mode: 'memory',
            out: join(outDir, `memory-${runner}.json`),
            runner,
            message: 'attach-10mb',
          },
          ['--expose-gc', ...flags],
        );
        samples.set(runner, [...(samples.get(runner) ?? []), sample]);
      }
    }
    return [...samples.values()].map((s) => medianSample(s));
  };
  const memory = await measureMemory(
    quick ? 1 : 5,
    lambdaNodeFlags(ASSUMPTIONS.routerMemoryMb),
    `V8 limits of ${ASSUMPTIONS.routerMemoryMb} MB`,
  );
  const memoryMachineDefaults = await measureMemory(quick ? 1 : 3, [], 'V8 defaults');
  return { bundles, messageBytes, cpu, logs, memory, memoryMachineDefaults };
}
