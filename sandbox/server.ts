/**
 * The local sandbox: the whole inbound → router → SES flow in one process on loopback, with
 * the router's real middy handler (`createHandler` / `createDeps` of
 * `functions/router/handler.ts`) against local emulators.
 *
 *   SMTP client ──► smtp-ingress (SES inbound: verdicts, S3 action) ──► router handler
 *                        │                                                 │
 *                   s3rver (raw mail)          dynalite (limits, trace) ◄──┤
 *                                                 ▲                        │
 *                   HTTP client ──► trace API ────┘   aws-ses-v2-local (+ recording layer) ◄── SendEmail
 *
 * One sandbox per process: the SDK clients the handler builds read their endpoints from the
 * environment, so `startSandbox` sets `AWS_ENDPOINT_URL_*`, the region and the emulators'
 * dummy credentials in `process.env` (as a Lambda's environment would hold them).
 *
 * Differences from AWS worth knowing:
 * - restrictions are not cached by the handler (`RESTRICTION_CACHE_SECONDS=0`), so an
 *   operator's `restrictions release` is seen by the next message at once;
 * - the router's own Powertools logs and EMF metrics are off (`POWERTOOLS_LOG_LEVEL=SILENT`,
 *   `POWERTOOLS_METRICS_DISABLED=true`) unless those variables are set: the sandbox prints
 *   one line per message instead;
 * - ARC: unless the configuration names a key file (`arc.privateKey.file`), copies are sealed
 *   with an ephemeral key (at `arc.selector`/`arc.domain` if configured, else
 *   `sandbox._domainkey.<srs domain>`), published in the zone map when `zones` is given;
 * - `statePath`: S3 objects live in `<statePath>/s3`; the DynamoDB tables (dynalite runs in
 *   memory) are snapshotted to `<statePath>/dynamodb.json` soon after each message, every
 *   30 s and on stop, and loaded when it starts (`state.ts`); sends recorded by the SES
 *   emulator are not kept.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoTraceStore } from '../functions/adapters/dynamo-trace-store.js';
import { createTables } from '../functions/adapters/tables.js';
import { DEFAULT_CONFIG_PATH, loadConfig, painter, readJsonFile } from '../functions/cli/io.js';
import type { Config } from '../functions/core/config.js';
import { cachedResolver } from '../functions/core/dns/cached-resolver.js';
import { nodeResolver } from '../functions/core/dns/node-resolver.js';
import type { Resolver } from '../functions/core/dns/resolver.js';
import { parseZones, type Zones, zoneResolver } from '../functions/core/dns/zone-resolver.js';
import type { PipelineResult } from '../functions/router/process.js';
import { settingsEnvironment } from '../functions/router/settings.js';
import { mountConsole, type SandboxConsole } from './console/mount.js';
import { type Emulators, startEmulators } from './emulators/index.js';
import {
  type DeadLetter,
  type IngressEvent,
  lambdaContext,
  type ProcessedMessage,
  type Scanner,
  type SmtpIngress,
  startSmtpIngress,
} from './smtp-ingress.js';
import { loadTables, TableSnapshots } from './state.js';
import { startTraceApiServer, type TraceApiServer } from './trace-api-server.js';

export const SANDBOX_TABLES = { limits: 'outbound-pools-limits', trace: 'outbound-pools-trace' } as const;
export const SANDBOX_BUCKET = 'outbound-pools-mail';
export const SANDBOX_PREFIX = 'inbound/';
export const SANDBOX_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:outbound-pools-router';
/** Selector of the ephemeral ARC key (published at `<selector>._domainkey.<srs domain>`). */
export const SANDBOX_ARC_SELECTOR = 'sandbox';

export interface SandboxOptions {
  /** Configuration file; default `config/outbound-pools.json`. */
  config?: string;
  /** Zone map (`--zones`) instead of real DNS. */
  zones?: string;
  /** Default 2525; 0 = any free port. */
  smtpPort?: number;
  /** SES emulator (and viewer) port; default any free port. */
  sesPort?: number;
  dynamoPort?: number;
  s3Port?: number;
  /** The trace API (`GET /messages…`, no authentication, loopback); default any free port. */
  traceApiPort?: number;
  /** The console, a web page to watch the pools work (`sandbox/console/`); default any free port. */
  consolePort?: number;
  /** Keep S3 objects and the tables here between runs (default: in memory / temp). */
  statePath?: string;
  /** JSON lines instead of text. */
  json?: boolean;
  /** Print nothing (the demo prints its own table). */
  quiet?: boolean;
  /** Where the log goes; default stdout. */
  out?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Replaces the DNS (tests); wins over `zones`. */
  resolver?: Resolver;
  /** Delays before the retries of a retryable failure; default [1000, 2000]. */
  retryDelaysMs?: number[];
  spamScanner?: Scanner;
  virusScanner?: Scanner;
  /** The clock of the ingress and the router (default the real one); the simulation's is virtual. */
  clock?: () => Date;
}

export interface SandboxEndpoints {
  smtp: string;
  sesViewer: string;
  ses: string;
  dynamodb: string;
  s3: string;
  /** The trace API's base URL (`${traceApi}/messages/{id}`, `${traceApi}/messages?sender=`). */
  traceApi: string;
  /** The console's page, `http://127.0.0.1:PORT/`. */
  console: string;
}

export interface Sandbox {
  smtp: { host: string; port: number };
  endpoints: SandboxEndpoints;
  /** What a shell (or a child process: the operator CLI) needs to reach the sandbox. */
  env: Record<string, string>;
  emulators: Emulators;
  config: Config;
  configPath: string;
  tables: { limits: string; trace: string };
  bucket: string;
  prefix: string;
  /** The ARC key the router seals with: from the configuration, or ephemeral. */
  arc: { domain: string; selector: string; ephemeral: boolean; record?: string };
  dns: string;
  ingress: SmtpIngress;
  /** The ready line(s) as printed. */
  readyText: string;
  waitFor(messageId: string, timeoutMs?: number): Promise<ProcessedMessage>;
  idle(): Promise<void>;
  processed(): ProcessedMessage[];
  deadLetters(): DeadLetter[];
  stop(): Promise<void>;
}

const POOL_STYLE = { normal: 'green', relay: 'yellow', 'high-risk': 'red', blocked: 'magenta' } as const;

/** `export A=1 B=2` for a POSIX shell (values quoted only when they need it). */
export function exportLine(env: Record<string, string>): string {
  const q = (v: string) => (/^[A-Za-z0-9_./:@=+-]*$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
  return `export ${Object.entries(env)
    .map(([k, v]) => `${k}=${q(v)}`)
    .join(' ')}`;
}

/**
 * Fails fast, before any emulator starts, when a fixed port is taken (the listen that follows
 * still reports a port lost in between).
 */
async function assertPortFree(port: number | undefined, service: string): Promise<void> {
  if (!port) return;
  const host = '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const what =
        err.code === 'EADDRINUSE'
          ? `port ${port} on ${host} is already in use (EADDRINUSE)`
          : `cannot listen on ${host}:${port}: ${err.message}`;
      reject(
        Object.assign(new Error(`${service}: ${what}`, { cause: err }), { code: err.code, service, port }),
      );
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

function timeOf(iso: string): string {
  return iso.slice(11, 19);
}

/** One log line per message (or refusal, retry, dead letter), text or JSON. */
function formatEvent(e: IngressEvent, json: boolean, paint: ReturnType<typeof painter>): string | null {
  if (json) {
    switch (e.type) {
      case 'accepted':
        return null;
      case 'processed':
      case 'dead-letter': {
        const m = e.message;
        return JSON.stringify({
          event: e.type === 'processed' ? 'message' : 'dead-letter',
          at: e.at,
          messageId: m.messageId,
          receivedAt: m.receivedAt,
          sender: m.sender,
          recipients: m.recipients,
          clientIp: m.clientIp,
          helo: m.helo,
          verdicts: m.verdicts,
          outcome: m.outcome,
          pool: m.pool,
          reasons: m.reasons,
          sends: m.sends.map((s) => ({
            kind: s.kind,
            to: s.to,
            pool: s.pool,
            configurationSet: s.configurationSet,
            envelopeFrom: s.envelopeFrom,
            status: s.status,
            sesMessageId: s.sesMessageId,
          })),
          attempts: m.attempts,
          ...(m.error ? { error: m.error } : {}),
        });
      }
      default:
        return JSON.stringify({ event: e.type, ...e, type: undefined });
    }
  }
  const who = (sender: string, recipients: string[]) => `${sender || '<>'} → ${recipients.join(', ')}`;
  switch (e.type) {
    case 'accepted':
      return null;
    case 'refused':
      return `${paint('dim', timeOf(e.at))}  ${who(e.sender, [e.recipient])}  ${paint('yellow', `refused at RCPT: ${e.code} ${e.response}`)}`;
    case 'rejected':
      return `${paint('dim', timeOf(e.at))}  ${who(e.sender, e.recipients)}  ${paint('yellow', `rejected: ${e.code} ${e.response}`)}`;
    case 'retry':
      return `${paint('dim', timeOf(e.at))}  ${paint('dim', e.messageId)}  ${paint('yellow', `attempt ${e.attempt} failed, retry in ${e.delayMs} ms: ${e.error}`)}`;
    case 'dead-letter':
      return `${paint('dim', timeOf(e.at))}  ${who(e.message.sender, e.message.recipients)}  ${paint('red', `dead letter after ${e.deadLetter.attempts} attempt(s): ${e.deadLetter.error}`)}  ${paint('dim', e.message.messageId)}`;
    case 'processed': {
      const m = e.message;
      const pool = m.pool ? paint(POOL_STYLE[m.pool], m.pool) : paint('dim', m.outcome);
      const sends =
        m.sends.length === 0
          ? paint('dim', 'nothing sent')
          : m.sends
              .map(
                (s) =>
                  `${s.kind} ${s.to.join(', ')} [${s.configurationSet}]${s.status === 'failed' ? ' FAILED' : ''}`,
              )
              .join('; ');
      return `${paint('dim', timeOf(e.at))}  ${who(m.sender, m.recipients)}  ${pool}  ${m.reasons.join(', ') || '-'}  ⇒ ${sends}  ${paint('dim', m.messageId)}`;
    }
  }
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const out = opts.out ?? process.stdout;
  const json = opts.json === true;
  const paint = painter(out as NodeJS.WriteStream);
  const print = (line: string | null) => {
    if (line !== null && !opts.quiet) out.write(`${line}\n`);
  };

  // Configuration and DNS first: bad input fails before anything listens.
  const configPath = opts.config ?? DEFAULT_CONFIG_PATH;
  const config = await loadConfig(configPath);
  const configJson = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
  let zones: Zones | undefined;
  if (opts.zones) zones = parseZones(await readJsonFile(opts.zones, '--zones'));

  const scratch = await mkdtemp(join(tmpdir(), 'outbound-pools-sandbox-'));
  let arc: Sandbox['arc'];
  if (config.arc && 'file' in config.arc.privateKey) {
    arc = { domain: config.arc.domain, selector: config.arc.selector, ephemeral: false };
  } else {
    // No ARC key configured, or one in SSM (which the sandbox has no emulator for): an
    // ephemeral key, so copies are sealed as in production.
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyFile = join(scratch, 'arc-ephemeral.pem');
    await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
    const record = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
    arc = {
      domain: config.arc?.domain ?? config.srs.domain,
      selector: config.arc?.selector ?? SANDBOX_ARC_SELECTOR,
      ephemeral: true,
      record,
    };
    configJson.arc = {
      ...(config.arc?.authservId ? { authservId: config.arc.authservId } : {}),
      domain: arc.domain,
      selector: arc.selector,
      privateKey: { file: keyFile },
    };
    if (zones) zones = { ...zones, [`${arc.selector}._domainkey.${arc.domain}`]: { TXT: [record] } };
  }
  // The sandbox has no SSM: its router gets the SRS secrets loadConfig resolved, literally.
  const { secretsParameter: _parameter, ...srs } = configJson.srs as Record<string, unknown>;
  configJson.srs = { ...srs, secrets: config.srs.secrets };
  const resolver = opts.resolver ?? (zones ? zoneResolver(zones) : cachedResolver(nodeResolver()));
  const dns = opts.resolver ? 'injected resolver' : opts.zones ? `zones from ${opts.zones}` : 'real DNS';

  const smtpPort = opts.smtpPort ?? 2525;
  let emu: Emulators | undefined;
  let ingress: SmtpIngress | undefined;
  let traceApi: TraceApiServer | undefined;
  let consoleServer: SandboxConsole | undefined;
  let snapshots: TableSnapshots | undefined;
  try {
    await assertPortFree(smtpPort, 'smtp');
    await assertPortFree(opts.sesPort, 'ses');
    await assertPortFree(opts.dynamoPort, 'dynamodb');
    await assertPortFree(opts.s3Port, 's3');
    await assertPortFree(opts.traceApiPort, 'trace-api');
    await assertPortFree(opts.consolePort, 'console');
    if (opts.statePath) await mkdir(opts.statePath, { recursive: true });
    emu = await startEmulators({
      dataDir: opts.statePath ? join(opts.statePath, 's3') : undefined,
      buckets: [SANDBOX_BUCKET],
      ports: { dynamodb: opts.dynamoPort ?? 0, s3: opts.s3Port ?? 0, ses: opts.sesPort ?? 0 },
    });
    // The handler's SDK clients (createDeps) take endpoints, region and credentials from here.
    Object.assign(process.env, emu.env);
    // Issue 14: the operators' notices (SNS emulator) print as they are published.
    emu.sns.onPublish((n) =>
      print(
        json
          ? JSON.stringify({ event: 'notice', subject: n.subject, message: JSON.parse(n.message) as unknown })
          : paint('yellow', `notice: ${n.subject ?? '(no subject)'}`),
      ),
    );
    process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

    const dynamo = new DynamoDBClient(emu.clientConfig('dynamodb'));
    await createTables(dynamo, SANDBOX_TABLES);
    if (opts.statePath) {
      const file = join(opts.statePath, 'dynamodb.json');
      await loadTables(dynamo, file);
      snapshots = new TableSnapshots(dynamo, Object.values(SANDBOX_TABLES), file, {
        onError: (error) =>
          print(
            json
              ? JSON.stringify({ event: 'snapshot-failed', error: (error as Error).message })
              : paint('red', `state snapshot failed: ${(error as Error).message}`),
          ),
      });
    }
    const traces = new DynamoTraceStore({
      client: dynamo,
      tableName: SANDBOX_TABLES.trace,
      retentionDays: config.trace.retentionDays,
    });
    traceApi = await startTraceApiServer(traces, opts.traceApiPort ?? 0);
    consoleServer = await mountConsole({
      dynamo,
      limitsTable: SANDBOX_TABLES.limits,
      traces,
      ses: emu.ses,
      port: opts.consolePort,
    });

    const routerEnv = settingsEnvironment({
      config: configJson,
      mailBucket: SANDBOX_BUCKET,
      mailPrefix: SANDBOX_PREFIX,
      limitsTable: SANDBOX_TABLES.limits,
      traceTable: SANDBOX_TABLES.trace,
      leaseSeconds: 60,
      restrictionCacheSeconds: 0,
      // `outbound-pools pools pause|resume` takes effect with the next message.
      poolStatusCacheSeconds: 0,
      noticeTopicArn: emu.env.NOTICE_TOPIC_ARN,
    });
    // Imported here, after the environment is set: Powertools reads it when the module loads.
    const { createDeps, createHandler } = await import('../functions/router/handler.js');
    const handler = createHandler(() =>
      createDeps(routerEnv, { resolver, ...(opts.clock ? { clock: opts.clock } : {}) }),
    );
    const invoke = async (event: Record<string, unknown>) =>
      (await handler(event, lambdaContext(SANDBOX_FUNCTION_ARN) as never)) as PipelineResult;

    ingress = await startSmtpIngress({
      config,
      resolver,
      s3: new S3Client(emu.clientConfig('s3')),
      bucket: SANDBOX_BUCKET,
      prefix: SANDBOX_PREFIX,
      invoke,
      port: smtpPort,
      functionArn: SANDBOX_FUNCTION_ARN,
      ...(opts.retryDelaysMs ? { retryDelaysMs: opts.retryDelaysMs } : {}),
      ...(opts.spamScanner ? { spamScanner: opts.spamScanner } : {}),
      ...(opts.virusScanner ? { virusScanner: opts.virusScanner } : {}),
      ...(opts.clock ? { clock: opts.clock } : {}),
      onEvent: (e) => {
        if (e.type === 'processed' || e.type === 'dead-letter') snapshots?.changed();
        consoleServer?.onEvent(e);
        print(formatEvent(e, json, paint));
      },
    });

    const env: Record<string, string> = {
      AWS_ENDPOINT_URL_DYNAMODB: emu.env.AWS_ENDPOINT_URL_DYNAMODB!,
      AWS_ENDPOINT_URL_S3: emu.env.AWS_ENDPOINT_URL_S3!,
      AWS_ENDPOINT_URL_SESV2: emu.env.AWS_ENDPOINT_URL_SESV2!,
      // Issue 14: `pools pause|resume` publish their notices to the sandbox's topic.
      AWS_ENDPOINT_URL_SNS: emu.env.AWS_ENDPOINT_URL_SNS!,
      NOTICE_TOPIC_ARN: emu.env.NOTICE_TOPIC_ARN!,
      AWS_REGION: emu.env.AWS_REGION!,
      AWS_ACCESS_KEY_ID: emu.env.AWS_ACCESS_KEY_ID!,
      AWS_SECRET_ACCESS_KEY: emu.env.AWS_SECRET_ACCESS_KEY!,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      LIMITS_TABLE: SANDBOX_TABLES.limits,
      TRACE_TABLE: SANDBOX_TABLES.trace,
      MAIL_BUCKET: SANDBOX_BUCKET,
    };
    const endpoints: SandboxEndpoints = {
      smtp: `${ingress.host}:${ingress.port}`,
      sesViewer: emu.ses.viewerUrl,
      ses: emu.ses.endpoint,
      dynamodb: emu.dynamodb.endpoint,
      s3: emu.s3.endpoint,
      traceApi: traceApi.url,
      console: consoleServer.url,
    };
    const state = opts.statePath ? `kept in ${opts.statePath}` : 'in memory (gone when the sandbox stops)';
    const arcText = `${arc.selector}._domainkey.${arc.domain}${arc.ephemeral ? ' (ephemeral key)' : ''}`;
    const readyText = json
      ? JSON.stringify({
          event: 'ready',
          smtp: { host: ingress.host, port: ingress.port },
          endpoints,
          tables: { ...SANDBOX_TABLES },
          bucket: SANDBOX_BUCKET,
          prefix: SANDBOX_PREFIX,
          config: configPath,
          dns,
          arc: arcText,
          state,
          env,
        })
      : [
          `${paint('bold', 'outbound-pools sandbox ready')}: console ${endpoints.console} · SMTP ${endpoints.smtp} · SES viewer ${endpoints.sesViewer} · DynamoDB ${endpoints.dynamodb} · S3 ${endpoints.s3} · trace API ${endpoints.traceApi}/messages`,
          exportLine(env),
          paint(
            'dim',
            `config ${configPath} · DNS: ${dns} · ARC: ${arcText} · tables ${SANDBOX_TABLES.limits}, ${SANDBOX_TABLES.trace} · bucket ${SANDBOX_BUCKET}/${SANDBOX_PREFIX} · state ${state}`,
          ),
          paint(
            'dim',
            `try: swaks --server ${endpoints.smtp} --xclient-addr 192.0.2.10 --helo mx.sender.test --from alice@sender.test --to ${Object.keys(config.routes).find((r) => !r.startsWith('@')) ?? 'alias@example.com'}   ·   Ctrl-C stops the sandbox`,
          ),
        ].join('\n');
    print(readyText);

    const started = { emu, ingress, dynamo, traceApi, consoleServer, snapshots };
    let stopped: Promise<void> | undefined;
    return {
      smtp: { host: ingress.host, port: ingress.port },
      endpoints,
      env,
      emulators: emu,
      config,
      configPath,
      tables: { ...SANDBOX_TABLES },
      bucket: SANDBOX_BUCKET,
      prefix: SANDBOX_PREFIX,
      arc,
      dns,
      ingress,
      readyText,
      waitFor: (id, timeoutMs) => started.ingress.waitFor(id, timeoutMs),
      idle: () => started.ingress.idle(),
      processed: () => started.ingress.processed(),
      deadLetters: () => started.ingress.deadLetters(),
      stop() {
        stopped ??= (async () => {
          await started.ingress.close();
          // Let messages already accepted finish (their retries included), but not forever.
          await Promise.race([started.ingress.idle(), new Promise((r) => setTimeout(r, 10_000).unref())]);
          try {
            await started.snapshots?.close();
          } finally {
            await started.traceApi.close();
            await started.consoleServer.close();
            started.dynamo.destroy();
            await started.emu.stop();
            await rm(scratch, { recursive: true, force: true });
          }
          if (json) print(JSON.stringify({ event: 'stopped', at: new Date().toISOString() }));
        })();
        return stopped;
      },
    };
  } catch (error) {
    await ingress?.close().catch(() => undefined);
    snapshots?.cancel();
    await traceApi?.close().catch(() => undefined);
    await consoleServer?.close().catch(() => undefined);
    await emu?.stop().catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
}
