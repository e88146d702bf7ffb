/**
 * In-process DynamoDB emulator: dynalite (in-memory LevelDB) on loopback, with per-operation request counts.
 *
 * Known gaps of dynalite (do not rely on them in tests): no TTL API (UpdateTimeToLive is missing, items never
 * expire), no transactions (TransactWriteItems / TransactGetItems), no PartiQL, no streams.
 */

import type { IncomingMessage, Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

interface DynaliteOptions {
  /** ms a table stays CREATING after CreateTable (dynalite default 500). */
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
  /** LevelDB directory; in-memory when omitted. */
  path?: string;
}

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options?: DynaliteOptions) => Server;

export interface DynamoDbEmulatorOptions {
  /** 0 (default) = ephemeral port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * How long (ms) a new table stays CREATING (data-plane calls answer ResourceNotFoundException meanwhile).
   * Default 0 here (dynalite's own default is 500), so tables are ACTIVE almost immediately.
   */
  createTableMs?: number;
}

export interface DynamoDbEmulator {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  host: string;
  port: number;
  /** Request counts keyed by operation name taken from X-Amz-Target (e.g. `UpdateItem`, `GetItem`). */
  requests(): Record<string, number>;
  resetCounts(): void;
  stop(): Promise<void>;
}

/** Operation name of a DynamoDB request: `DynamoDB_20120810.UpdateItem` → `UpdateItem`. */
export function dynamoDbOperation(req: Pick<IncomingMessage, 'headers' | 'method' | 'url'>): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string' && target.includes('.')) return target.slice(target.lastIndexOf('.') + 1);
  return `${req.method ?? 'GET'} ${(req.url ?? '/').split('?')[0]}`;
}

export async function startDynamoDb(opts: DynamoDbEmulatorOptions = {}): Promise<DynamoDbEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const server = dynalite({ createTableMs: opts.createTableMs ?? 0, deleteTableMs: 0, updateTableMs: 0 });
  let counts: Record<string, number> = {};
  // dynalite registers its handler via http.createServer(handler); count before it runs.
  server.prependListener('request', (req: IncomingMessage) => {
    const op = dynamoDbOperation(req);
    counts[op] = (counts[op] ?? 0) + 1;
  });
  const port = await listen(server, opts.port ?? 0, host, 'dynamodb');
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://${urlHost(host)}:${port}`,
    host,
    port,
    requests: () => ({ ...counts }),
    resetCounts: () => {
      counts = {};
    },
    stop: () => {
      stopped ??= closeServer(server);
      return stopped;
    },
  };
}

// --- small net helpers (duplicated in s3.ts / ses.ts to keep each emulator module self-contained) ---

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function listen(server: Server, port: number, host: string, service: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const what =
        err.code === 'EADDRINUSE'
          ? `port ${port} on ${host} is already in use (EADDRINUSE)`
          : `cannot listen on ${host}:${port}: ${err.message}`;
      reject(
        Object.assign(new Error(`${service} emulator: ${what}`, { cause: err }), {
          code: err.code,
          service,
          port,
        }),
      );
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    // Drop keep-alive sockets of SDK clients so close() completes immediately and the port is freed.
    server.closeAllConnections();
  });
}
