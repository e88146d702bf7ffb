/**
 * Runs a simulation: builds the labelled stream, starts the sandbox (SMTP ingress with SES's
 * verdicts, the router's real handler, local DynamoDB, S3 and SES) on free ports with the
 * simulated world's DNS, sends every message through SMTP in stream order, and measures.
 *
 * Messages go one at a time, each waited for, under a virtual clock set to the message's
 * time: limit counters and restrictions then see the same order and the same clock hours on
 * every run, which is what makes a seed reproducible (a real clock would let a run that
 * crosses an hour boundary reset the hourly counters half-way). One at a time is also what
 * the router's process sees in Lambda: one invocation per container at a time (concurrent
 * invocations in one process share the handler's module state, e.g. its metrics buffer).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJsonFile } from '../../functions/cli/io.js';
import { parseConfig } from '../../functions/core/config.js';
import { ConfigError } from '../../functions/core/errors.js';
import { smtpSend } from '../demo.js';
import { type Sandbox, startSandbox } from '../server.js';
import { buildReport, type ObservedSend, type Outcome, type SimulationReport } from './report.js';
import { buildStream, type SimMessage } from './stream.js';
import {
  buildWorld,
  buildZones,
  loadSimulationKey,
  withActorPolicies,
  withLiteralSrsSecrets,
} from './world.js';

export const DEFAULT_SIMULATION_CONFIG = fileURLToPath(
  new URL('../../examples/simulate/config.json', import.meta.url),
);

export interface SimulationOptions {
  seed: number;
  messages: number;
  /** The configuration under test; default `examples/simulate/config.json`. */
  config?: string;
  /** Called after each message with (done, total). */
  onProgress?: (done: number, total: number) => void;
  /** How long to wait for the router to decide one message before calling it lost. */
  decideTimeoutMs?: number;
}

/** Sends one message through SMTP and waits for the router's decision. */
async function deliver(
  m: SimMessage,
  sandbox: Sandbox,
  seqOf: Map<string, number>,
  timeoutMs: number,
): Promise<Outcome> {
  const sent = await smtpSend({
    host: sandbox.smtp.host,
    port: sandbox.smtp.port,
    clientIp: m.clientIp,
    helo: m.helo,
    mailFrom: m.mailFrom,
    rcptTo: m.rcptTo,
    data: m.raw,
  });
  if (sent.messageId) {
    seqOf.set(sent.messageId, m.seq);
    try {
      const processed = await sandbox.waitFor(sent.messageId, timeoutMs);
      return { seq: m.seq, column: processed.pool ?? 'lost', reasons: processed.reasons };
    } catch {
      return { seq: m.seq, column: 'lost', reasons: [] };
    }
  }
  const replies = sent.data ? [sent.data] : sent.rcpt.map((r) => r.reply);
  return { seq: m.seq, column: 'refused', reasons: replies.map((r) => `${r.code} ${r.text}`) };
}

async function readConfig(path: string): Promise<Record<string, unknown>> {
  const json = await readJsonFile(path, '--config');
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(`${path}: invalid configuration: expected a JSON object`, { field: '' });
  }
  return withLiteralSrsSecrets(json as Record<string, unknown>);
}

export async function runSimulation(opts: SimulationOptions): Promise<SimulationReport> {
  const configPath = opts.config ?? DEFAULT_SIMULATION_CONFIG;
  const json = await readConfig(configPath);
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(json);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError(`${configPath}: ${error.message}`, { cause: error, field: error.field ?? '' });
    }
    throw error;
  }
  const world = buildWorld(config, await loadSimulationKey());
  const stream = await buildStream(config, world, opts.seed, opts.messages);

  const scratch = await mkdtemp(join(tmpdir(), 'outbound-pools-simulate-'));
  try {
    const configFile = join(scratch, 'config.json');
    const zonesFile = join(scratch, 'zones.json');
    await writeFile(configFile, JSON.stringify(withActorPolicies(json, stream.policies), null, 2));
    await writeFile(zonesFile, JSON.stringify(buildZones(config, world.key), null, 2));

    let now = stream.messages[0]?.at.getTime() ?? Date.now();
    const sandbox = await startSandbox({
      config: configFile,
      zones: zonesFile,
      smtpPort: 0,
      quiet: true,
      clock: () => new Date(now),
      retryDelaysMs: [100, 200],
    });
    const outcomes: Outcome[] = [];
    const seqOf = new Map<string, number>();
    let recorded: ReturnType<typeof sandbox.emulators.ses.sent> = [];
    try {
      for (const [i, m] of stream.messages.entries()) {
        now = m.at.getTime();
        outcomes.push(await deliver(m, sandbox, seqOf, opts.decideTimeoutMs ?? 30_000));
        opts.onProgress?.(i + 1, stream.messages.length);
      }
      await sandbox.idle();
      recorded = sandbox.emulators.ses.sent();
    } finally {
      await sandbox.stop();
    }
    const sends: ObservedSend[] = recorded.map((s) => {
      const tag = (name: string) => s.emailTags.find((t) => t.Name === name)?.Value;
      const inbound = tag('inbound_id');
      return {
        seq: inbound === undefined ? null : (seqOf.get(inbound) ?? null),
        kind: tag('kind') ?? 'unknown',
        to: [...s.destination.ToAddresses, ...s.destination.CcAddresses, ...s.destination.BccAddresses],
      };
    });
    return buildReport({
      seed: opts.seed,
      config: opts.config ?? 'examples/simulate/config.json',
      streamSha256: stream.digest,
      simulatedSenders: Object.fromEntries(
        Object.entries(stream.policies).map(([k, p]) => [
          k,
          { identity: p.identity, externalPerHour: p.policy.externalPerHour, action: p.policy.action },
        ]),
      ),
      messages: stream.messages,
      outcomes,
      sends,
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
