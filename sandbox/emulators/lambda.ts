/**
 * A minimal Lambda emulator for the sandbox (issue 15): the `Invoke` operation of the Lambda
 * REST API (`POST /2015-03-31/functions/{FunctionName}/invocations`, Lambda API Reference,
 * "Invoke"), running a function the host registers in this process (the sandbox's router).
 *
 * As Lambda answers: `RequestResponse` (the default) returns 200 with the function's result
 * as JSON; a function that throws still gets 200, with `X-Amz-Function-Error: Unhandled` and
 * `{errorType, errorMessage, trace}` as the payload; `Event` returns 202 at once and runs the
 * function in the background; `DryRun` returns 204. An unknown function is 404
 * `ResourceNotFoundException`. The name may be a name, a partial or a full ARN.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { refuseForeign } from '../loopback-guard.js';
import { closeServer, listen, urlHost } from './net.js';

export type EmulatedFunction = (event: unknown) => Promise<unknown>;

export interface LambdaEmulator {
  endpoint: string;
  port: number;
  /** Serves `name` with `fn` from now on (replacing an earlier one). */
  register(name: string, fn: EmulatedFunction): void;
  /** Invocations served so far, per function name. */
  invocations(name: string): number;
  stop(): Promise<void>;
}

const SIGV4 = /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[a-z0-9-]+\/lambda\/aws4_request, /;
const PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** `my-fn`, `123456789012:function:my-fn` or `arn:aws:lambda:…:function:my-fn[:qualifier]` → `my-fn`. */
function functionNameOf(raw: string): string {
  const parts = raw.split(':');
  const i = parts.indexOf('function');
  return i >= 0 ? (parts[i + 1] ?? '') : raw;
}

export async function startLambda(opts: { host?: string; port?: number } = {}): Promise<LambdaEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const functions = new Map<string, EmulatedFunction>();
  const counts = new Map<string, number>();

  const reply = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
      ...headers,
    });
    res.end(text);
  };
  const error = (res: ServerResponse, status: number, code: string, message: string) =>
    reply(res, status, { Type: 'User', message }, { 'x-amzn-errortype': code });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (!SIGV4.test(String(req.headers.authorization ?? ''))) {
      error(
        res,
        403,
        'IncompleteSignature',
        'Request must be signed with AWS Signature Version 4 for lambda',
      );
      return;
    }
    const match = PATH.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (req.method !== 'POST' || !match) {
      error(res, 404, 'UnknownOperationException', `Unsupported request ${req.method} ${req.url}`);
      return;
    }
    const name = functionNameOf(decodeURIComponent(match[1]!));
    const fn = functions.get(name);
    if (!fn) {
      error(res, 404, 'ResourceNotFoundException', `Function not found: ${name}`);
      return;
    }
    let event: unknown;
    try {
      const text = Buffer.concat(chunks).toString('utf8');
      event = text === '' ? {} : JSON.parse(text);
    } catch {
      error(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
      return;
    }
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (type === 'DryRun') {
      reply(res, 204, undefined);
      return;
    }
    counts.set(name, (counts.get(name) ?? 0) + 1);
    if (type === 'Event') {
      reply(res, 202, undefined);
      fn(event).catch(() => undefined);
      return;
    }
    try {
      const result = await fn(event);
      reply(res, 200, result ?? null, { 'x-amz-executed-version': '$LATEST' });
    } catch (thrown) {
      const e = thrown instanceof Error ? thrown : new Error(String(thrown));
      reply(
        res,
        200,
        { errorType: e.name, errorMessage: e.message, trace: (e.stack ?? '').split('\n') },
        { 'x-amz-executed-version': '$LATEST', 'x-amz-function-error': 'Unhandled' },
      );
    }
  };

  let port = 0;
  const server = createServer((req, res) => {
    // Not for web pages: a foreign Host, an Origin or a preflight is refused (`loopback-guard.ts`).
    if (refuseForeign(req, res, { port: () => port, host, service: 'lambda emulator', browsers: false }))
      return;
    handle(req, res).catch((err: Error) => res.destroy(err));
  });
  port = await listen(server, opts.port ?? 0, host, 'lambda');
  return {
    endpoint: `http://${urlHost(host)}:${port}`,
    port,
    register: (name, fn) => functions.set(name, fn),
    invocations: (name) => counts.get(name) ?? 0,
    stop: () => closeServer(server),
  };
}
