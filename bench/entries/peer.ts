/**
 * Bench entry of the peer, aws-lambda-ses-forwarder, as its README deploys it: its handler
 * with a `config` override (bucket, prefix, forward mapping), building its S3 and SESv2
 * clients on every invocation (`new S3Client({ signatureVersion: 'v4' })`, `new SESv2Client()`
 * in its index.js) — here with the in-memory transport as their request handler, passed the
 * way its `overrides.s3` / `overrides.ses` allow. `reuse: true` builds them once instead.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
// @ts-expect-error: a CommonJS package without types
import * as forwarder from 'aws-lambda-ses-forwarder';
import { InMemoryAws } from '../transport.js';

export { InMemoryAws };

export interface PeerOptions {
  transport: InMemoryAws;
  bucket: string;
  prefix: string;
  forwardMapping: Record<string, string[]>;
  reuse?: boolean;
}

type Handler = (
  event: unknown,
  context: unknown,
  callback: (error?: Error) => void,
  overrides: unknown,
) => void;

export function makePeer(o: PeerOptions): (event: unknown) => Promise<void> {
  const handler = ((forwarder as { handler?: Handler }).handler ??
    (forwarder as { default: { handler: Handler } }).default.handler) as Handler;
  const base = {
    requestHandler: o.transport,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' },
  };
  const build = () => ({
    s3: new S3Client({ ...base, signatureVersion: 'v4' } as never),
    ses: new SESv2Client(base),
  });
  let clients: ReturnType<typeof build> | undefined;
  const config = {
    fromEmail: 'noreply@example.com',
    subjectPrefix: '',
    emailBucket: o.bucket,
    emailKeyPrefix: o.prefix,
    allowPlusSign: true,
    forwardMapping: o.forwardMapping,
  };
  return (event) =>
    new Promise((resolve, reject) => {
      if (o.reuse) clients ??= build();
      const c = clients ?? build();
      handler(event, {}, (error) => (error ? reject(error) : resolve()), { config, ...c });
    });
}
