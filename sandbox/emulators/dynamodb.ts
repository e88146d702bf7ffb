/**
 * In-process DynamoDB emulator: dynalite (in-memory LevelDB) on loopback, with per-operation request counts.
 *
 * Known gaps of dynalite (do not rely on them in tests): no TTL API (UpdateTimeToLive is missing, items never
 * expire), no transactions (TransactWriteItems / TransactGetItems), no PartiQL, no streams.
 */

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { refuseForeign } from '../loopback-guard.js';
import { closeServer, listen, urlHost } from './net.js';

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
  let port = 0;
  // dynalite registers its handler via http.createServer(handler): take it over, so that a
  // request is checked, then counted, before dynalite sees it. dynalite answers every Origin
  // with `Access-Control-Allow-Origin: *` and grants every preflight; the guard refuses a
  // foreign Host (DNS rebinding), any request with an Origin, and any OPTIONS (`loopback-guard.ts`).
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (refuseForeign(req, res, { port: () => port, host, service: 'dynamodb emulator', browsers: false }))
      return;
    const op = dynamoDbOperation(req);
    counts[op] = (counts[op] ?? 0) + 1;
    for (const handler of handlers) handler.call(server, req, res);
  });
  port = await listen(server, opts.port ?? 0, host, 'dynamodb');
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
