/**
 * Local AWS emulators (DynamoDB, S3, SESv2) started in-process on loopback, for integration tests and the sandbox.
 *
 *   const emu = await startEmulators({ buckets: ['inbound'] });
 *   const s3 = new S3Client(emu.clientConfig('s3'));
 *   Object.assign(process.env, emu.env); // or pass emu.env to a child process: code using default clients works
 *   ...
 *   await emu.stop();
 */
import { type DynamoDbEmulator, startDynamoDb } from './dynamodb.js';
import { type LambdaEmulator, startLambda } from './lambda.js';
import { type S3Emulator, S3RVER_CREDENTIALS, startS3 } from './s3.js';
import { type SesEmulator, startSes } from './ses.js';
import { type SnsEmulator, startSns } from './sns.js';
import { type SqsEmulator, startSqs } from './sqs.js';

export * from './dynamodb.js';
export * from './lambda.js';
export * from './s3.js';
export * from './ses.js';
export * from './sns.js';
export * from './sqs.js';

/** The sandbox's notice topic (issue 14), served by the SNS emulator. */
export const EMULATOR_NOTICE_TOPIC_ARN = 'arn:aws:sns:us-east-1:000000000000:outbound-pools-notices';

export const EMULATOR_REGION = 'us-east-1';
/** s3rver only accepts this key pair; dynalite and aws-ses-v2-local accept anything, so it is used everywhere. */
export const EMULATOR_CREDENTIALS = { ...S3RVER_CREDENTIALS };

export type EmulatedService = 'dynamodb' | 's3' | 'sesv2' | 'sqs' | 'lambda';

export interface EmulatorsOptions {
  /** S3 data directory (kept on stop); default: temp dir removed on stop. */
  dataDir?: string;
  /** Buckets to create in S3. */
  buckets?: string[];
  /** Fixed ports (default: ephemeral). Host is always 127.0.0.1. */
  ports?: { dynamodb?: number; s3?: number; ses?: number };
}

export interface ClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  forcePathStyle?: boolean;
  requestChecksumCalculation?: 'WHEN_REQUIRED';
  responseChecksumValidation?: 'WHEN_REQUIRED';
}

export interface Emulators {
  dynamodb: DynamoDbEmulator;
  s3: S3Emulator;
  ses: SesEmulator;
  /** SNS `Publish` only: the operators' notices (issue 14). */
  sns: SnsEmulator;
  /** The dead-letter queue (issue 15): SendMessage, ReceiveMessage, DeleteMessage, … */
  sqs: SqsEmulator;
  /** Lambda `Invoke` of functions the host registers (the sandbox's router, for redrive). */
  lambda: LambdaEmulator;
  /**
   * Environment for code that builds default SDK v3 clients: service-specific endpoints
   * (`AWS_ENDPOINT_URL_<SERVICE ID upper-cased, spaces→_>`: DYNAMODB, S3, SESV2), region, dummy credentials, and the
   * S3 checksum settings (`AWS_REQUEST_CHECKSUM_CALCULATION` / `AWS_RESPONSE_CHECKSUM_VALIDATION` = WHEN_REQUIRED).
   * Path-style S3 addressing is implied by the IP endpoint (the SDK has no env var for forcePathStyle).
   */
  env: Record<string, string>;
  /** Constructor config for `new DynamoDBClient(...)`, `new S3Client(...)`, `new SESv2Client(...)`. */
  clientConfig(service: EmulatedService): ClientConfig;
  stop(): Promise<void>;
}

export async function startEmulators(opts: EmulatorsOptions = {}): Promise<Emulators> {
  const host = '127.0.0.1';
  const started: { stop(): Promise<void> }[] = [];
  const track = async <T extends { stop(): Promise<void> }>(p: Promise<T>): Promise<T> => {
    const e = await p;
    started.push(e);
    return e;
  };
  let dynamodb: DynamoDbEmulator;
  let s3: S3Emulator;
  let ses: SesEmulator;
  let sns: SnsEmulator;
  let sqs: SqsEmulator;
  let lambda: LambdaEmulator;
  try {
    // Sequential so a failure leaves nothing half-started behind once cleaned up.
    dynamodb = await track(startDynamoDb({ host, port: opts.ports?.dynamodb ?? 0 }));
    s3 = await track(
      startS3({ host, port: opts.ports?.s3 ?? 0, dataDir: opts.dataDir, buckets: opts.buckets }),
    );
    ses = await track(startSes({ host, port: opts.ports?.ses ?? 0 }));
    sns = await track(startSns({ host }));
    sqs = await track(startSqs({ host }));
    lambda = await track(startLambda({ host }));
  } catch (err) {
    await Promise.allSettled(started.map((e) => e.stop()));
    throw err;
  }

  const env: Record<string, string> = {
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ENDPOINT_URL_SESV2: ses.endpoint,
    AWS_ENDPOINT_URL_SNS: sns.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
    NOTICE_TOPIC_ARN: EMULATOR_NOTICE_TOPIC_ARN,
    AWS_REGION: EMULATOR_REGION,
    AWS_DEFAULT_REGION: EMULATOR_REGION,
    AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
  };

  const endpoints: Record<EmulatedService, string> = {
    dynamodb: dynamodb.endpoint,
    s3: s3.endpoint,
    sesv2: ses.endpoint,
    sqs: sqs.endpoint,
    lambda: lambda.endpoint,
  };

  let stopped: Promise<void> | undefined;
  return {
    dynamodb,
    s3,
    ses,
    sns,
    sqs,
    lambda,
    env,
    clientConfig: (service) => {
      const base: ClientConfig = {
        endpoint: endpoints[service],
        region: EMULATOR_REGION,
        credentials: { ...EMULATOR_CREDENTIALS },
      };
      if (service !== 's3') return base;
      return {
        ...base,
        forcePathStyle: true,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      };
    },
    stop: () => {
      stopped ??= (async () => {
        const results = await Promise.allSettled([
          lambda.stop(),
          sqs.stop(),
          sns.stop(),
          ses.stop(),
          s3.stop(),
          dynamodb.stop(),
        ]);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      })();
      return stopped;
    },
  };
}
