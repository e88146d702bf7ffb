/**
 * A request handler that records each request and gives scripted answers in turn (the last one
 * again after them): the transport of the tests that hold the router's hand-signed requests to
 * the SDK's (`test/adapters/*direct*.test.ts`, `ses-direct*.test.ts`), the SDK's client and the
 * direct path each over one of their own.
 */
import { Readable } from 'node:stream';
import type { HttpRequest, HttpResponse } from '@smithy/types';
import { requestHandler } from './request-handler.js';

export interface ScriptedAnswer {
  status: number;
  body: Buffer | string;
  headers?: Record<string, string>;
}

/** An answer, or a transport failure (a function makes it anew for each request: the SDK writes on its errors). */
export type Scripted = ScriptedAnswer | Error | (() => Error);

/** A recorded request, with its body's bytes when the transport reads them. */
export type RecordedRequest<Read extends boolean = false> = Read extends true
  ? HttpRequest & { bytes: Buffer }
  : HttpRequest;

export interface ScriptedOptions<Read extends boolean> {
  /** Headers of every answer (under the scripted ones), given the request's number from 1. */
  headers?: (n: number) => Record<string, string>;
  /** Read each request's body into `bytes` (a streamed body is consumed). */
  readBodies?: Read;
}

async function readBody(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string' || body instanceof Uint8Array) return Buffer.from(body);
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

export function scriptedTransport<Read extends boolean = false>(
  answers: readonly Scripted[],
  options: ScriptedOptions<Read> = {},
) {
  const requests: RecordedRequest<Read>[] = [];
  /** Each answer's body stream, in order. */
  const bodies: Readable[] = [];
  const handler = requestHandler(async (request) => {
    const recorded = (
      options.readBodies ? Object.assign(request, { bytes: await readBody(request.body) }) : request
    ) as RecordedRequest<Read>;
    requests.push(recorded);
    const next = answers[Math.min(requests.length - 1, answers.length - 1)]!;
    if (next instanceof Error) throw next;
    if (typeof next === 'function') throw next();
    const body = Buffer.from(next.body);
    // In two chunks, as a socket gives them (a checksum is computed across chunks).
    const stream = Readable.from([body.subarray(0, body.length >> 1), body.subarray(body.length >> 1)]);
    bodies.push(stream);
    const response: HttpResponse = {
      statusCode: next.status,
      headers: {
        'content-length': String(body.length),
        ...options.headers?.(requests.length),
        ...next.headers,
      },
      body: stream,
    };
    return { response };
  });
  return { requests, bodies, handler };
}
