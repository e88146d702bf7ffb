/**
 * What every loopback server of the sandbox checks before it serves a request: the console,
 * the trace API, and the emulators (DynamoDB, S3, SES, SNS, SQS, Lambda).
 *
 * Listening on 127.0.0.1 keeps other machines out, not other web sites: a page the operator
 * opens in a browser can aim requests at any loopback port. Two checks stop it:
 *
 *  - The Host header must name the server itself, `127.0.0.1:PORT` or `localhost:PORT`
 *    ({@link ownHosts}); anything else is answered 421. A site that DNS-rebinds its own name to
 *    127.0.0.1 sends its own name as Host, so it is refused, and cannot read what it asked for
 *    "same-origin".
 *  - For the emulators only ({@link refuseForeign} with `browsers: false`): a request carrying an
 *    `Origin` header, and any `OPTIONS` (a CORS preflight), is answered 403 before the emulator
 *    sees it. The SDK clients that are the emulators' only users send neither; a browser sends
 *    `Origin` on every cross-site request but a top-level GET, so another site can neither use
 *    dynalite's `Access-Control-Allow-Origin: *` nor post a form to an emulator.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { urlHost } from './emulators/net.js';

/** The Host header values that name a loopback server on `port` (lower case). */
export function ownHosts(port: number, host = '127.0.0.1'): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', urlHost(host).toLowerCase()]);
  const hosts = new Set<string>();
  for (const name of names) {
    hosts.add(`${name}:${port}`);
    // A client omits the default port from Host.
    if (port === 80) hosts.add(name);
  }
  return hosts;
}

/** Whether `req` names this server in its Host header. */
export function isOwnHost(req: Pick<IncomingMessage, 'headers'>, port: number, host?: string): boolean {
  return ownHosts(port, host).has((req.headers.host ?? '').toLowerCase());
}

export interface GuardOptions {
  /** The port the server listens on (a function: it is known once listening). */
  port: () => number;
  /** The address it listens on (default 127.0.0.1). */
  host?: string;
  /** What the answer names, e.g. `dynamodb emulator`. */
  service: string;
  /** false: refuse every request from a browser page (`Origin` header, OPTIONS). Default true. */
  browsers?: boolean;
}

/**
 * Answers `req` itself when it must not be served — 421 for a foreign Host, 403 for a browser's
 * request when `browsers` is false — and returns true; returns false, answering nothing,
 * otherwise.
 */
export function refuseForeign(req: IncomingMessage, res: ServerResponse, opts: GuardOptions): boolean {
  const port = opts.port();
  let status: number;
  let message: string;
  if (!isOwnHost(req, port, opts.host)) {
    status = 421;
    message = `this ${opts.service} answers to ${[...ownHosts(port, opts.host)].join(' or ')} only`;
  } else if (opts.browsers === false && (req.headers.origin !== undefined || req.method === 'OPTIONS')) {
    status = 403;
    message = `this ${opts.service} does not answer requests from web pages`;
  } else {
    return false;
  }
  const body = JSON.stringify({ error: message, message });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    connection: 'close',
  });
  res.end(body);
  // The request body, if any, is not read: drop the connection once answered.
  req.resume();
  return true;
}
