/**
 * The sandbox console: a web page on loopback to watch the pools work (issue 18). Static page
 * and ES-module scripts (`static/`), uPlot from `node_modules` (no network fetch, no build step), and a
 * small JSON API over the trace (`feed.ts`) and the limits store:
 *
 *     GET  /                              the page
 *     GET  /api/overview                  messages per pool (per minute and in total), reasons,
 *                                         limit hits, restricted senders
 *     GET  /api/messages?pool=&reason=&limit=   the messages, newest first
 *     GET  /api/messages/{id}             one message's trace, each copy with its raw bytes as sent
 *     POST /api/restrictions/release      {"identity": "a@b.test"}: what `restrictions release` runs
 *     GET  /api/events                    server-sent events: `message` when one is processed
 *
 * Like the trace API of the sandbox it has no authentication and listens on 127.0.0.1 only. A
 * page of any other site the operator visits could still aim requests at it, so: the Host
 * header must name the console itself (DNS rebinding), a POST must be JSON (a cross-site one
 * then needs a CORS preflight, which is never granted) from the console's own Origin, and the
 * page's Content-Security-Policy allows only its own scripts: the messages shown are written by
 * senders, and the page inserts them as text only.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { releaseRestriction } from '../../functions/cli/restrictions.js';
import { InvalidInputError } from '../../functions/core/errors.js';
import type { Restriction } from '../../functions/core/limits.js';
import type { LimitsStore } from '../../functions/core/ports.js';
import { isOwnHost, ownHosts as loopbackHosts } from '../loopback-guard.js';
import type { FeedItem, MessageFeed } from './feed.js';
import { DISPOSITIONS, filterMessages, overview } from './stats.js';

export interface ConsoleOptions {
  feed: MessageFeed;
  /** The limits table, for restricted senders and their release. */
  limits: Pick<LimitsStore, 'listRestricted' | 'release'>;
  /** A copy's raw bytes as sent to SES, by SES message id (the SES emulator records them). */
  rawCopy: (sesMessageId: string) => Buffer | undefined;
  /** 0 (default): any free port. */
  port?: number;
  clock?: () => Date;
}

export interface ConsoleServer {
  /** `http://127.0.0.1:PORT/` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Raw copies larger than this are shown cut (the page is for reading, not for downloading). */
export const RAW_DISPLAY_LIMIT = 256 * 1024;
const MAX_BODY_BYTES = 4096;
const MAX_LIST = 1000;
const DEFAULT_LIST = 200;
const HEARTBEAT_MS = 15_000;

const here = dirname(fileURLToPath(import.meta.url));
const uplotDist = dirname(createRequire(import.meta.url).resolve('uplot'));

/** Every file the console serves, read once: nothing else on disk is reachable by URL. */
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: join(here, 'static/index.html'), type: 'text/html; charset=utf-8' },
  '/console.js': { file: join(here, 'static/console.js'), type: 'text/javascript; charset=utf-8' },
  '/dom.js': { file: join(here, 'static/dom.js'), type: 'text/javascript; charset=utf-8' },
  '/trace.js': { file: join(here, 'static/trace.js'), type: 'text/javascript; charset=utf-8' },
  '/console.css': { file: join(here, 'static/console.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uPlot.iife.min.js': {
    file: join(uplotDist, 'uPlot.iife.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  '/vendor/uPlot.min.css': { file: join(uplotDist, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly parameter?: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    // Traces name senders and recipients: no cache may keep them.
    'cache-control': 'no-store',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** The list row of a message: what the trace decided, or what the ingress knows when it has no record. */
function row(item: FeedItem) {
  const { receipt, report } = item;
  return {
    messageId: receipt.messageId,
    receivedAt: report?.receivedAt ?? receipt.receivedAt,
    sender: report?.sender ?? receipt.sender,
    recipients: report?.recipients.length ? report.recipients : receipt.recipients,
    pool: report?.pool ?? null,
    reasons: report?.reasons ?? [],
    copies: report?.sends.length ?? 0,
    status: report?.status ?? receipt.outcome,
  };
}

/** A raw message split into its header block and body, for display (cut at RAW_DISPLAY_LIMIT). */
export function rawForDisplay(raw: Buffer) {
  const text = raw.subarray(0, RAW_DISPLAY_LIMIT).toString('utf8');
  const crlf = text.indexOf('\r\n\r\n');
  const lf = text.indexOf('\n\n');
  const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
  return {
    size: raw.length,
    truncated: raw.length > RAW_DISPLAY_LIMIT,
    headers: end < 0 ? text : text.slice(0, end),
    body: end < 0 ? '' : text.slice(end + (end === crlf ? 4 : 2)),
  };
}

function listParameters(search: URLSearchParams) {
  const allowed = new Set(['pool', 'reason', 'limit']);
  for (const name of new Set(search.keys())) {
    if (!allowed.has(name))
      throw new HttpError(400, `unknown parameter (known here: pool, reason, limit)`, name);
    if (search.getAll(name).length > 1) throw new HttpError(400, 'given more than once', name);
  }
  const pool = search.get('pool') || undefined;
  if (pool !== undefined && pool !== 'undecided' && !(DISPOSITIONS as readonly string[]).includes(pool)) {
    throw new HttpError(400, `expected one of ${[...DISPOSITIONS, 'undecided'].join(', ')}`, 'pool');
  }
  const reason = search.get('reason') || undefined;
  if (reason !== undefined && !/^[a-z0-9-]{1,64}$/.test(reason)) {
    throw new HttpError(400, 'not a reason code', 'reason');
  }
  const limitText = search.get('limit');
  let limit = DEFAULT_LIST;
  if (limitText !== null) {
    if (!/^\d{1,4}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_LIST) {
      throw new HttpError(400, `expected a whole number from 1 to ${MAX_LIST}`, 'limit');
    }
    limit = Number(limitText);
  }
  return { pool, reason, limit };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startConsoleServer(opts: ConsoleOptions): Promise<ConsoleServer> {
  const clock = opts.clock ?? (() => new Date());
  const assets = new Map(
    Object.entries(ASSETS).map(([path, a]) => [path, { body: readFileSync(a.file), type: a.type }]),
  );
  let port = 0;
  const ownHosts = () => loopbackHosts(port);

  const release = async (req: IncomingMessage, res: ServerResponse) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') throw new HttpError(415, 'expected content-type application/json');
    const origin = req.headers.origin;
    if (origin !== undefined && !ownHosts().has(origin.replace(/^http:\/\//, ''))) {
      throw new HttpError(403, `requests from ${origin} are not accepted`);
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch (error) {
      if (error instanceof HttpError) throw error;
      throw new HttpError(400, 'the body is not JSON');
    }
    const identity = (body as { identity?: unknown } | null)?.identity;
    if (typeof identity !== 'string')
      throw new HttpError(400, 'expected {"identity": "address"}', 'identity');
    const result = await releaseRestriction(opts.limits, identity, clock());
    sendJson(res, result.released ? 200 : 404, {
      ...result,
      ...(result.released ? {} : { error: `${result.identity} is not restricted` }),
    });
  };

  const events = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write(': connected\n\n');
    const unsubscribe = opts.feed.subscribe((messageId) => {
      res.write(`event: message\ndata: ${JSON.stringify({ messageId })}\n\n`);
    });
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!isOwnHost(req, port)) {
      throw new HttpError(421, `this console answers to ${[...ownHosts()].join(' or ')} only`);
    }
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/api/restrictions/release') {
      if (method !== 'POST') throw new HttpError(405, 'use POST');
      return release(req, res);
    }
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `method ${method} not allowed`);
    const asset = assets.get(path);
    if (asset) {
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': asset.type,
        'content-length': String(asset.body.length),
        'cache-control': 'no-cache',
      });
      res.end(method === 'HEAD' ? undefined : asset.body);
      return;
    }
    if (path === '/api/events') return events(req, res);
    if (path === '/api/overview') {
      const now = clock();
      const items = await opts.feed.items();
      const restricted: Restriction[] = await opts.limits.listRestricted(now);
      restricted.sort((a, b) => a.identity.localeCompare(b.identity));
      sendJson(res, 200, {
        at: now.toISOString(),
        messages: items.length,
        ...overview(
          items.map((i) => row(i)),
          now,
        ),
        restricted,
      });
      return;
    }
    if (path === '/api/messages') {
      const { pool, reason, limit } = listParameters(url.searchParams);
      const rows = filterMessages(
        (await opts.feed.items()).map((i) => row(i)),
        { pool, reason },
      );
      sendJson(res, 200, { total: rows.length, messages: rows.slice(0, limit) });
      return;
    }
    const one = /^\/api\/messages\/([^/]+)$/.exec(path);
    if (one) {
      let id: string;
      try {
        id = decodeURIComponent(one[1]!);
      } catch {
        throw new HttpError(400, 'not valid percent-encoding', 'messageId');
      }
      const item = await opts.feed.item(id);
      if (!item) throw new HttpError(404, `the console holds no message ${id}`);
      const copies = (item.report?.sends ?? []).map((send) => {
        const raw = send.sesMessageId ? opts.rawCopy(send.sesMessageId) : undefined;
        return { ...send, raw: raw ? rawForDisplay(raw) : null };
      });
      sendJson(res, 200, { receipt: item.receipt, trace: item.report, copies });
      return;
    }
    throw new HttpError(404, `not found: ${path}`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (error instanceof HttpError) {
        sendJson(res, error.status, {
          error: error.message,
          ...(error.parameter ? { parameter: error.parameter } : {}),
        });
      } else if (error instanceof InvalidInputError) {
        sendJson(res, 400, { error: error.message, parameter: error.input });
      } else {
        sendJson(res, 500, { error: `internal error: ${(error as Error).message}` });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
