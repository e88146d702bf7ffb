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
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoTraceStore } from '../functions/adapters/dynamo-trace-store.js';
import { SqsDeadLetterQueue } from '../functions/adapters/sqs-dead-letter-queue.js';
import { createTables } from '../functions/adapters/tables.js';
import { DEFAULT_CONFIG_PATH, loadConfig, painter, readJsonFile } from '../functions/cli/io.js';
import type { Config } from '../functions/core/config.js';
import { cachedResolver } from '../functions/core/dns/cached-resolver.js';
import { nodeResolver } from '../functions/core/dns/node-resolver.js';
import type { Resolver } from '../functions/core/dns/resolver.js';
import { parseZones, type Zones, zoneResolver } from '../functions/core/dns/zone-resolver.js';
import { invocationRecord } from '../functions/dead-letter/record.js';
import { recordDeadLetter } from '../functions/dead-letter/recorder.js';
import type { PipelineResult } from '../functions/router/process.js';
import { settingsEnvironment } from '../functions/router/settings.js';
import { type SandboxArc, sandboxArc } from './arc-key.js';
import { readyText as bannerText } from './banner.js';
import { mountConsole, type SandboxConsole } from './console/mount.js';
import { type Emulators, startEmulators } from './emulators/index.js';
import { formatEvent } from './event-log.js';
import { assertPortFree } from './port-check.js';
import {
  type DeadLetter,
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
/** The router's name in the Lambda emulator (what `redrive` invokes). */
export const SANDBOX_ROUTER_FUNCTION = 'outbound-pools-router';
/** The router's dead-letter queue in the SQS emulator (issue 15). */
export const SANDBOX_DEAD_LETTER_QUEUE = 'outbound-pools-router-dead-letters';
// Importable from here as before the split into modules.
export { SANDBOX_ARC_SELECTOR, type SandboxArc } from './arc-key.js';
export { exportLine } from './banner.js';

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
  /** The SES emulator's API (`GET ${ses}/store` lists what was sent, as JSON; it serves no viewer page). */
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
  arc: SandboxArc;
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
  const { arc, routerArc } = await sandboxArc(config, scratch);
  if (routerArc) {
    // An ephemeral key: the router seals with it, and the zone map publishes it.
    configJson.arc = routerArc;
    if (zones) zones = { ...zones, [`${arc.selector}._domainkey.${arc.domain}`]: { TXT: [arc.record!] } };
  }
  // The sandbox has no SSM: its router gets the SRS secrets loadConfig resolved, literally.
  const { secretsParameter: _parameter, ...srs } = configJson.srs as Record<string, unknown>;
  configJson.srs = { ...srs, secrets: config.srs.secrets };
  // The effective configuration (ephemeral ARC key, literal SRS secrets) as a file: the export
  // line's OUTBOUND_POOLS_CONFIG names it, so `limits show`, `srs forward`… use the sandbox's
  // policy and secrets (issue 15 item 8). Owner-only: it holds the SRS secrets.
  const effectiveConfigPath = join(scratch, 'outbound-pools.json');
  await writeFile(effectiveConfigPath, `${JSON.stringify(configJson, null, 2)}\n`, { mode: 0o600 });
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
    // Issue 15: `outbound-pools redrive` invokes the router through the Lambda emulator, and
    // the router's on-failure destination is the dead-letter recorder, which marks the trace
    // and queues the invocation record in the SQS emulator (as deployed: docs/retries.md).
    emu.lambda.register(SANDBOX_ROUTER_FUNCTION, (event) => invoke(event as Record<string, unknown>));
    const deadLetterQueueUrl = emu.sqs.createQueue(SANDBOX_DEAD_LETTER_QUEUE);
    const recorderDeps = {
      trace: traces,
      queue: new SqsDeadLetterQueue({
        client: new SQSClient(emu.clientConfig('sqs')),
        queueUrl: deadLetterQueueUrl,
        waitSeconds: 0,
      }),
      clock: opts.clock ?? (() => new Date()),
    };
    const recording = new Map<string, Promise<unknown>>();
    const recordFailure = (d: DeadLetter) => {
      const colon = d.error.indexOf(': ');
      const record = invocationRecord({
        event: d.event,
        functionArn: SANDBOX_FUNCTION_ARN,
        requestId: randomUUID(),
        at: new Date(d.at),
        attempts: d.attempts,
        error:
          colon > 0
            ? { errorType: d.error.slice(0, colon), errorMessage: d.error.slice(colon + 2) }
            : { errorType: 'Error', errorMessage: d.error },
      });
      const done = recordDeadLetter(record, recorderDeps).catch((error: unknown) =>
        print(
          json
            ? JSON.stringify({ event: 'dead-letter-recorder-failed', error: (error as Error).message })
            : paint('red', `dead-letter recorder failed: ${(error as Error).message}`),
        ),
      );
      recording.set(d.messageId, done);
    };

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
        if (e.type === 'dead-letter') recordFailure(e.deadLetter);
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
      // Issue 15: `redrive` reads the dead-letter queue and invokes the router.
      AWS_ENDPOINT_URL_SQS: emu.env.AWS_ENDPOINT_URL_SQS!,
      AWS_ENDPOINT_URL_LAMBDA: emu.env.AWS_ENDPOINT_URL_LAMBDA!,
      DEAD_LETTER_QUEUE_URL: deadLetterQueueUrl,
      ROUTER_FUNCTION: SANDBOX_ROUTER_FUNCTION,
      NOTICE_TOPIC_ARN: emu.env.NOTICE_TOPIC_ARN!,
      AWS_REGION: emu.env.AWS_REGION!,
      AWS_ACCESS_KEY_ID: emu.env.AWS_ACCESS_KEY_ID!,
      AWS_SECRET_ACCESS_KEY: emu.env.AWS_SECRET_ACCESS_KEY!,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      LIMITS_TABLE: SANDBOX_TABLES.limits,
      TRACE_TABLE: SANDBOX_TABLES.trace,
      MAIL_BUCKET: SANDBOX_BUCKET,
      OUTBOUND_POOLS_CONFIG: effectiveConfigPath,
    };
    const endpoints: SandboxEndpoints = {
      smtp: `${ingress.host}:${ingress.port}`,
      ses: emu.ses.endpoint,
      dynamodb: emu.dynamodb.endpoint,
      s3: emu.s3.endpoint,
      traceApi: traceApi.url,
      console: consoleServer.url,
    };
    const shown = {
      smtp: { host: ingress.host, port: ingress.port },
      endpoints,
      env,
      config,
      configPath,
      tables: { ...SANDBOX_TABLES },
      bucket: SANDBOX_BUCKET,
      prefix: SANDBOX_PREFIX,
      arc,
      dns,
    };
    const readyText = bannerText(shown, opts.statePath, json, paint);
    print(readyText);

    const started = { emu, ingress, dynamo, traceApi, consoleServer, snapshots };
    let stopped: Promise<void> | undefined;
    return {
      ...shown,
      emulators: emu,
      ingress,
      readyText,
      waitFor: async (id, timeoutMs) => {
        const message = await started.ingress.waitFor(id, timeoutMs);
        await recording.get(id); // a dead letter is in the trace and the queue when this returns
        return message;
      },
      idle: async () => {
        await started.ingress.idle();
        await Promise.all(recording.values());
      },
      processed: () => started.ingress.processed(),
      deadLetters: () => started.ingress.deadLetters(),
      stop() {
        stopped ??= (async () => {
          await started.ingress.close();
          // Let messages already accepted finish (their retries included), but not forever.
          await Promise.race([
            started.ingress.idle().then(() => Promise.all(recording.values())),
            new Promise((r) => setTimeout(r, 10_000).unref()),
          ]);
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
