/**
 * The trace API Lambda, behind a function URL with IAM authentication (`lib/trace-api.ts`):
 * only callers whose IAM policy allows `lambda:InvokeFunctionUrl` on it get in, with
 * SigV4-signed requests. Each answered request is logged with the caller's ARN (an audit
 * trail of who looked up which messages). The API itself is `http.ts`.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { leanLogger } from '../adapters/log-formatter.js';
import { traceStoreFromEnvironment } from '../adapters/trace-environment.js';
import { handleTraceRequest, jsonResponse, type TraceApiResponse } from './http.js';
import type { TraceReader } from './lookup.js';

const logger = leanLogger('outbound-pools-trace-api');

/** The parts of a function URL event (payload format 2.0) the API reads. */
export interface FunctionUrlEvent {
  rawPath?: string;
  rawQueryString?: string;
  requestContext?: {
    http?: { method?: string; sourceIp?: string };
    authorizer?: { iam?: { userArn?: string; accountId?: string } };
  };
}

let reader: TraceReader | undefined;

/** Answers one function URL event; an unexpected error is logged and answered 500. */
export async function answer(event: FunctionUrlEvent, traces: TraceReader): Promise<TraceApiResponse> {
  const request = {
    method: event.requestContext?.http?.method ?? 'GET',
    rawPath: event.rawPath ?? '/',
    rawQueryString: event.rawQueryString ?? '',
  };
  const caller = event.requestContext?.authorizer?.iam?.userArn ?? 'unknown';
  let response: TraceApiResponse;
  try {
    response = await handleTraceRequest(request, traces);
  } catch (error) {
    logger.error('trace lookup failed', { caller, path: request.rawPath, error: error as Error });
    response = jsonResponse(500, { error: 'internal error; the function logs have the details' });
  }
  logger.info('trace lookup', {
    caller,
    sourceIp: event.requestContext?.http?.sourceIp,
    method: request.method,
    path: request.rawPath,
    query: request.rawQueryString,
    status: response.statusCode,
  });
  return response;
}

export const handler = middy(async (event: FunctionUrlEvent) => {
  reader ??= traceStoreFromEnvironment(process.env);
  return answer(event, reader);
}).use(injectLambdaContext(logger, { resetKeys: true }));
