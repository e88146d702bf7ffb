/**
 * The router's real dependencies against local emulators (dynalite, s3rver, aws-ses-v2-local
 * behind the recording layer), started on loopback by the test itself.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoTraceStore } from '../../functions/adapters/dynamo-trace-store.js';
import { createTables } from '../../functions/adapters/tables.js';
import { type Config, parseConfig } from '../../functions/core/config.js';
import type { Zones } from '../../functions/core/dns/zone-resolver.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { createDeps } from '../../functions/router/handler.js';
import type { PipelineDeps } from '../../functions/router/process.js';
import { settingsEnvironment } from '../../functions/router/settings.js';
import { type Emulators, startEmulators } from '../../sandbox/emulators/index.js';
import { CONFIG_JSON, type DkimKey, NOW, zones } from './mail.js';

export const BUCKET = 'inbound-mail';
export const PREFIX = 'raw/';
export const ARC = { domain: 'fwd.example.com', selector: 'arc1' };

/**
 * The zones of a harness (`startHarness`' second argument): the test's DKIM `keys` and `extra`
 * names (`zones` of `mail.ts`), plus the harness's own ARC key published where its
 * configuration names it (`arc1._domainkey.fwd.example.com`), so the seals it makes verify.
 */
export const withArcKey =
  (keys: DkimKey[] = [], extra: Zones = {}) =>
  (arcRecord: string): Zones =>
    zones(keys, { ...extra, [`${ARC.selector}._domainkey.${ARC.domain}`]: { TXT: [arcRecord] } });

export interface Harness {
  emu: Emulators;
  config: Config;
  env: Record<string, string>;
  /** The ARC public key record to publish at `arc1._domainkey.fwd.example.com`. */
  arcRecord: string;
  s3: S3Client;
  dynamo: DynamoDBDocumentClient;
  trace: DynamoTraceStore;
  put(messageId: string, raw: Buffer): Promise<void>;
  /** Real adapters, a zone resolver and a settable clock. */
  deps(overrides?: Partial<PipelineDeps>): Promise<PipelineDeps>;
  clock: { now: Date };
  stop(): Promise<void>;
}

/**
 * Limits under which every identity may send one external recipient an hour (10 internal, 20 a
 * day): the tests of what crossing a limit, counting twice or giving a count back does.
 * `action` absent: the configuration's default.
 */
export function oneExternalAnHour(action?: 'block' | 'block-for-today'): Record<string, unknown> {
  return {
    limits: {
      default: {
        externalPerHour: 1,
        internalPerHour: 10,
        perDay: 20,
        recipientsPerMessage: 60,
        ...(action ? { action } : {}),
      },
    },
  };
}

let tableSeq = 0;

export async function startHarness(
  configOverrides: Record<string, unknown> = {},
  zones: (arcRecord: string) => Zones = () => ({}),
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'op-pipeline-'));
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = join(dir, 'arc.pem');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const arcRecord = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;

  const emu = await startEmulators({ buckets: [BUCKET] });
  // The SDK clients built by createDeps read endpoints and credentials from the environment.
  Object.assign(process.env, emu.env);
  const configJson = { ...CONFIG_JSON, arc: { ...ARC, privateKey: { file: keyFile } }, ...configOverrides };
  const config = parseConfig(configJson);
  tableSeq++;
  const env: Record<string, string> = {
    ...emu.env,
    ...settingsEnvironment({
      config: configJson,
      mailBucket: BUCKET,
      mailPrefix: PREFIX,
      limitsTable: `limits-${tableSeq}`,
      traceTable: `trace-${tableSeq}`,
      leaseSeconds: 60,
      restrictionCacheSeconds: 0,
    }),
  };
  const raw = new DynamoDBClient(emu.clientConfig('dynamodb'));
  await createTables(raw, { limits: env.LIMITS_TABLE, trace: env.TRACE_TABLE });
  const dynamo = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const s3 = new S3Client(emu.clientConfig('s3'));
  const clock = { now: NOW };
  const resolver = zoneResolver(zones(arcRecord));
  return {
    emu,
    config,
    env,
    arcRecord,
    s3,
    dynamo,
    trace: new DynamoTraceStore({ client: dynamo, tableName: env.TRACE_TABLE!, retentionDays: 30 }),
    clock,
    async put(messageId, body) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}${messageId}`, Body: body }));
    },
    deps: (overrides = {}) =>
      createDeps(env, { resolver, clock: () => clock.now, observer: {}, ...overrides }),
    async stop() {
      await emu.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
