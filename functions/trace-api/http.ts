/**
 * The trace HTTP API (SPEC 6: "through an authenticated HTTP endpoint"), independent of how it
 * is served: a Lambda function URL with IAM authentication in AWS (`handler.ts`), a loopback
 * port in the sandbox. Read-only; JSON in the shape of `outbound-pools trace --json`.
 *
 *     GET /messages/{sesMessageId}[?since=&until=]   one message: 200, or 404
 *     GET /messages?sender=&recipient=&pool=&reason=&since=&until=&limit=
 *                                                   a search, most recent first: 200
 *
 * Every search reads a time window (default the last 24 hours, at most 31 days);
 * `since`/`until` take ISO-8601 or `30m`, `1h`, `2d`, `today`…
 *
 * An answer stays under Lambda's 6 MB response quota (at most `MAX_ANSWER_BYTES`) and a search
 * answers within the function's 15 s timeout (`SEARCH_TIME_BUDGET_MS`): what does not fit is
 * left out and said so, `truncated: true` with the `until` to ask again with (`lookup.ts`).
 *
 * Bad parameters are 400 with the parameter named, unknown ones included (they are usually
 * typos that would silently widen a search); a throttled or unavailable table is 503.
 */
import { isTransientAwsError } from '../adapters/aws-errors.js';
import { InvalidInputError, isRetryable } from '../core/errors.js';
import { type AnswerLimits, answerTraceLookup, type TraceCut } from './answer.js';
import { parseTraceLookup, type TraceLookupInput, type TraceReader, type TraceReport } from './lookup.js';

/** A request as both servers see it: the method, the raw path and the raw query string. */
export interface TraceApiRequest {
  method: string;
  /** As sent, percent-encoded (`/messages/0100018f%2Babc`). */
  rawPath: string;
  /** Without the `?`. */
  rawQueryString: string;
}

export interface TraceApiResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** What the API answers with: the reports, or why there are none. */
export type TraceApiBody =
  | { message: TraceReport }
  | ({ messages: TraceReport[] } & Partial<TraceCut>)
  | { error: string; parameter?: string };

const SEARCH_PARAMETERS: readonly (keyof TraceLookupInput)[] = [
  'sender',
  'recipient',
  'pool',
  'reason',
  'since',
  'until',
  'limit',
];
const MESSAGE_PARAMETERS: readonly (keyof TraceLookupInput)[] = ['since', 'until'];

/** A JSON response that no cache keeps. */
export function jsonResponse(
  statusCode: number,
  body: TraceApiBody,
  headers: Record<string, string> = {},
): TraceApiResponse {
  return {
    statusCode,
    // Traces name senders and recipients: no cache may keep them.
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * The query string's parameters; each at most once, and only those `allowed`. Percent-decoded,
 * but a `+` stays a `+` (not a space, as HTML forms would have it): addresses have no spaces,
 * and `alice+tag@example.com` should find alice+tag.
 */
function queryParameters(raw: string, allowed: readonly (keyof TraceLookupInput)[]): TraceLookupInput {
  const decode = (text: string, what: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new InvalidInputError(what, 'not valid percent-encoding');
    }
  };
  const input: Record<string, string> = {};
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq < 0 ? pair : pair.slice(0, eq), 'query');
    if (!(allowed as readonly string[]).includes(name)) {
      const known = allowed.length > 0 ? ` (known here: ${allowed.join(', ')})` : '';
      throw new InvalidInputError(name, `unknown parameter${known}`);
    }
    if (name in input) throw new InvalidInputError(name, 'given more than once');
    input[name] = decode(eq < 0 ? '' : pair.slice(eq + 1), name);
  }
  return input;
}

/** Which route a path is: the search, one message (its id decoded), or neither. */
function route(rawPath: string): { kind: 'search' } | { kind: 'message'; messageId: string } | undefined {
  const path = rawPath.replace(/\/+$/, '');
  if (path === '/messages') return { kind: 'search' };
  const m = /^\/messages\/([^/]+)$/.exec(path);
  if (!m) return undefined;
  try {
    return { kind: 'message', messageId: decodeURIComponent(m[1]!) };
  } catch {
    throw new InvalidInputError('messageId', 'not valid percent-encoding');
  }
}

/**
 * Answers one request from `reader`, within `limits` (by default the byte and time budgets of
 * the Lambda function). Never throws for a bad request; an error of the table that is not
 * temporary is thrown, for the server to log and answer 500.
 */
export async function handleTraceRequest(
  request: TraceApiRequest,
  reader: TraceReader,
  limits: AnswerLimits = {},
): Promise<TraceApiResponse> {
  if (request.method !== 'GET') {
    return jsonResponse(
      405,
      { error: `method ${request.method} not allowed: the trace API is read-only` },
      { allow: 'GET' },
    );
  }
  try {
    const target = route(request.rawPath);
    if (!target) {
      return jsonResponse(404, {
        error: 'not found: use /messages/{sesMessageId} or /messages?sender=&recipient=&pool=&reason=',
      });
    }
    const name = (p: keyof TraceLookupInput) => p;
    if (target.kind === 'message') {
      const lookup = parseTraceLookup(
        { ...queryParameters(request.rawQueryString, MESSAGE_PARAMETERS), messageId: target.messageId },
        name,
      );
      const {
        reports: [message],
      } = await answerTraceLookup(reader, lookup, limits);
      return message
        ? jsonResponse(200, { message })
        : jsonResponse(404, {
            error: `no trace record for message id ${target.messageId} (trace records expire after trace.retentionDays)`,
          });
    }
    const lookup = parseTraceLookup(queryParameters(request.rawQueryString, SEARCH_PARAMETERS), name);
    const { reports, cut } = await answerTraceLookup(reader, lookup, limits);
    return jsonResponse(200, { messages: reports, ...cut });
  } catch (error) {
    if (error instanceof InvalidInputError) {
      return jsonResponse(400, { error: error.message, parameter: error.input });
    }
    // The SDK has retried throttling and 5xx with backoff already; the client may try later.
    if (isRetryable(error) || isTransientAwsError(error)) {
      return jsonResponse(
        503,
        { error: 'the trace table is busy or unavailable; try again' },
        { 'retry-after': '1' },
      );
    }
    throw error;
  }
}
