/**
 * In-process S3 emulator: s3rver (filesystem store) on loopback, with per-operation request counts.
 *
 * Client requirements (see `clientConfig('s3')` in index.ts):
 *  - `forcePathStyle: true` (an IP endpoint already implies path style in the SDK's endpoint rules);
 *  - `requestChecksumCalculation: 'WHEN_REQUIRED'` / `responseChecksumValidation: 'WHEN_REQUIRED'`: otherwise the SDK
 *    sends `aws-chunked` bodies with trailing checksums, which s3rver stores verbatim (corrupted objects);
 *  - credentials `S3RVER` / `S3RVER`: s3rver rejects every other access key id with InvalidAccessKeyId (it does not
 *    verify SigV4 signatures, only the key id).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refuseForeign } from '../loopback-guard.js';
import { closeServer, listen, urlHost } from './net.js';

interface S3rverInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  configureBuckets(): Promise<void>;
  logger: { close(): void };
}
type S3rverCtor = new (options: {
  silent?: boolean;
  directory?: string;
  address?: string;
  port?: number;
  vhostBuckets?: boolean;
  configureBuckets?: { name: string }[];
}) => S3rverInstance;

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as S3rverCtor;

/** Access key id / secret that s3rver accepts (its built-in dummy account). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3EmulatorOptions {
  /** 0 (default) = ephemeral port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Persist objects here (kept on stop). Default: a fresh temp dir, removed on stop. */
  dataDir?: string;
  /** Buckets created before the server starts (existing ones are kept). */
  buckets?: string[];
}

export interface S3Emulator {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  host: string;
  port: number;
  /** Directory holding the objects (temp dir unless `dataDir` was given). */
  dataDir: string;
  /** Request counts keyed by S3 operation name (`PutObject`, `GetObject`, `HeadObject`, `ListObjectsV2`, …). */
  requests(): Record<string, number>;
  resetCounts(): void;
  stop(): Promise<void>;
}

const SUBRESOURCES: Record<string, string> = {
  acl: 'Acl',
  cors: 'Cors',
  encryption: 'Encryption',
  lifecycle: 'Lifecycle',
  location: 'Location',
  notification: 'NotificationConfiguration',
  policy: 'Policy',
  tagging: 'Tagging',
  versioning: 'Versioning',
  website: 'Website',
};
const VERBS: Record<string, string> = {
  GET: 'Get',
  PUT: 'Put',
  DELETE: 'Delete',
  HEAD: 'Head',
  POST: 'Post',
};

/**
 * Best-effort S3 operation name of a path-style request. The SDK v3 tags most requests with `?x-id=<Operation>`,
 * which wins; otherwise it is derived from method, path depth and query.
 */
export function s3Operation(method: string, url: string, headers: IncomingHttpHeaders = {}): string {
  const u = new URL(url, 'http://s3.local');
  const q = u.searchParams;
  const xId = q.get('x-id');
  if (xId) return xId;
  const m = method.toUpperCase();
  const depth =
    u.pathname.split('/').filter(Boolean).length >= 2 ? 'object' : u.pathname === '/' ? 'root' : 'bucket';
  const subKey = Object.keys(SUBRESOURCES).find((k) => q.has(k));
  const sub = subKey ? SUBRESOURCES[subKey] : undefined;
  const copy = headers['x-amz-copy-source'] !== undefined;
  if (depth === 'root') return m === 'GET' ? 'ListBuckets' : `${m} /`;
  if (depth === 'bucket') {
    if (m === 'POST' && q.has('delete')) return 'DeleteObjects';
    if (sub) return `${VERBS[m] ?? m}Bucket${sub}`;
    if (m === 'GET' && q.has('uploads')) return 'ListMultipartUploads';
    if (m === 'GET') return q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    return (
      { PUT: 'CreateBucket', DELETE: 'DeleteBucket', HEAD: 'HeadBucket', POST: 'PostObject' }[m] ??
      `${m}Bucket`
    );
  }
  if (m === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
  if (q.has('uploadId')) {
    if (m === 'PUT') return copy ? 'UploadPartCopy' : 'UploadPart';
    return (
      { POST: 'CompleteMultipartUpload', DELETE: 'AbortMultipartUpload', GET: 'ListParts' }[m] ?? `${m}Upload`
    );
  }
  if (sub) return `${VERBS[m] ?? m}Object${sub}`;
  if (m === 'PUT') return copy ? 'CopyObject' : 'PutObject';
  return { GET: 'GetObject', HEAD: 'HeadObject', DELETE: 'DeleteObject' }[m] ?? `${m}Object`;
}

export async function startS3(opts: S3EmulatorOptions = {}): Promise<S3Emulator> {
  const host = opts.host ?? '127.0.0.1';
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 's3rver-')));
  await mkdir(dataDir, { recursive: true });
  const s3rver = new S3rver({
    silent: true,
    directory: dataDir,
    configureBuckets: (opts.buckets ?? []).map((name) => ({ name })),
  });
  let counts: Record<string, number> = {};
  // s3rver.run() would leave EADDRINUSE as an unhandled 'error' event; host its Koa handler ourselves instead.
  const handle = s3rver.callback();
  let port = 0;
  const server = createServer((req, res) => {
    // Not for web pages: a foreign Host (DNS rebinding), an Origin or a preflight is refused
    // before s3rver sees it (its form uploads, `PostObject`, need no preflight).
    if (refuseForeign(req, res, { port: () => port, host, service: 's3 emulator', browsers: false })) return;
    const op = s3Operation(req.method ?? 'GET', req.url ?? '/', req.headers);
    counts[op] = (counts[op] ?? 0) + 1;
    handle(req, res);
  });
  const cleanup = async () => {
    s3rver.logger.close();
    if (ownDir) await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await s3rver.configureBuckets();
    port = await listen(server, opts.port ?? 0, host, 's3');
  } catch (err) {
    await cleanup();
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://${urlHost(host)}:${port}`,
    host,
    port,
    dataDir,
    requests: () => ({ ...counts }),
    resetCounts: () => {
      counts = {};
    },
    stop: () => {
      stopped ??= closeServer(server).then(cleanup);
      return stopped;
    },
  };
}
