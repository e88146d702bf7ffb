/**
 * Answers of the AWS JSON protocols (1.0: DynamoDB; 1.1: SSM) read without an SDK client, for
 * the requests this project signs and sends itself (`ssm-parameter-reader.ts`,
 * `dynamo-direct-update.ts`). An error answer is `{"__type": "[namespace#]Code", "message": …}`,
 * or the code in the `x-amzn-errortype` header ("AWS JSON 1.0 protocol", Smithy's
 * specification, "Operation error serialization"); it becomes an error shaped like the SDK's:
 * `name` the bare code, `$fault`, `$metadata.httpStatusCode` and `requestId`, and `$response`
 * (its status and headers, which the SDK's retry strategy reads for `Retry-After`), so the
 * project's error mapping (`aws-errors.ts`) and smithy's error classification read it as they
 * read the SDK's own.
 */
import type { HttpResponse } from '@smithy/types';

/** An error as the SDK throws it for an error answer (the members this project and smithy read). */
export interface AwsAnswerError extends Error {
  $fault: 'client' | 'server';
  $metadata: {
    httpStatusCode: number;
    requestId?: string;
    attempts?: number;
    totalRetryDelay?: number;
    clockSkewCorrected?: true;
  };
  $response: HttpResponse;
}

/** The whole body of an answer as text (a stream, bytes, a string or nothing). */
export async function bodyText(body: unknown): Promise<string> {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * `namespace#Code:url` → `Code` (the AWS JSON protocols' error code), as smithy's
 * `sanitizeErrorCode`: a header of several values (`A,B`) gives its first.
 */
export function sanitizeCode(raw: string | number): string {
  const code = String(raw).split(',')[0]!.split(':')[0]!;
  return code.includes('#') ? code.split('#')[1]! : code;
}

/**
 * The raw error code of an AWS JSON 1.0/1.1 error answer, where smithy's `loadJsonRpcErrorCode`
 * looks for it, in its order: the body's `__type`, its `code` (a member of that name in any
 * case), the `x-amzn-errortype` header.
 */
function rawErrorCode(
  headers: Record<string, string | undefined>,
  json: Record<string, unknown> | undefined,
): unknown {
  if (json?.__type !== undefined) return json.__type;
  const codeKey = json ? Object.keys(json).find((k) => k.toLowerCase() === 'code') : undefined;
  if (codeKey !== undefined && json![codeKey] !== undefined) return json![codeKey];
  return header(headers, 'x-amzn-errortype');
}

/** A header's value, its name in any case. */
export function header(headers: Record<string, string | undefined>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** An SDK-shaped error (`name` the code) for an answer; `extra` members are kept on it. */
export function awsError(
  code: string,
  message: string,
  response: HttpResponse,
  extra: Record<string, unknown> = {},
): AwsAnswerError {
  const status = response.statusCode;
  const requestId = header(response.headers, 'x-amzn-requestid');
  return Object.assign(new Error(message), extra, {
    name: code,
    $fault: status >= 500 ? ('server' as const) : ('client' as const),
    $metadata: { httpStatusCode: status, ...(requestId ? { requestId } : {}) },
    // Status and headers only: the body was read here, and the SDK's readers of `$response`
    // (Retry-After, the Date of a clock-skew correction) look at headers.
    $response: { statusCode: status, headers: response.headers, body: undefined },
  });
}

/**
 * Reads an answer: its JSON object on success (undefined when the body is not one: what is
 * missing is the caller's to name); on an error status, throws the SDK-shaped error
 * (members of the error body other than `__type`/`message` kept on it, as the SDK's error
 * classes keep theirs: a `ConditionalCheckFailedException`'s `Item`).
 */
export async function readJsonAnswer(response: HttpResponse): Promise<Record<string, unknown> | undefined> {
  const text = await bodyText(response.body);
  const status = response.statusCode;
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = undefined;
  }
  const json =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  if (status >= 200 && status < 300) return json;
  const raw = rawErrorCode(response.headers, json);
  const code =
    (typeof raw === 'string' && raw) || typeof raw === 'number' ? sanitizeCode(raw) : `HTTP ${status}`;
  const { __type: _type, message: lower, Message: upper, code: _code, ...extra } = json ?? {};
  const message = lower ?? upper;
  throw awsError(code, typeof message === 'string' ? message : text.slice(0, 200), response, extra);
}

/** The `name` of the error for a success answer that is not what the operation returns. */
export const MALFORMED = 'MalformedAnswer';
