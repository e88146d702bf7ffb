/**
 * The trace API of the sandbox: the same request handling as the deployed function
 * (`functions/trace-api/http.ts`) served on loopback over the sandbox's trace table. Unlike the
 * deployed function URL it has no IAM authentication: like the emulators, it listens on
 * 127.0.0.1 only, and answers only requests whose Host header names it (421 otherwise,
 * `loopback-guard.ts`): a site DNS-rebinding its own name to 127.0.0.1 cannot read the traces.
 * It sets no CORS header, so a page of another origin cannot read its answers either.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleTraceRequest, jsonResponse, type TraceApiResponse } from '../functions/trace-api/http.js';
import type { TraceReader } from '../functions/trace-api/lookup.js';
import { refuseForeign } from './loopback-guard.js';

export interface TraceApiServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts the server on `port` (0: any free port) of 127.0.0.1. */
export async function startTraceApiServer(reader: TraceReader, port = 0): Promise<TraceApiServer> {
  let bound = 0;
  const server: Server = createServer((req, res) => {
    if (refuseForeign(req, res, { port: () => bound, service: 'trace API' })) return;
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const request = {
      method: req.method ?? 'GET',
      rawPath: q < 0 ? target : target.slice(0, q),
      rawQueryString: q < 0 ? '' : target.slice(q + 1),
    };
    handleTraceRequest(request, reader)
      .catch(
        (error: unknown): TraceApiResponse =>
          jsonResponse(500, { error: `internal error: ${(error as Error).message}` }),
      )
      .then((response) => {
        res.writeHead(response.statusCode, response.headers);
        res.end(response.body);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
