/**
 * The feedback Lambda: consumes the SES events of the three configuration sets (delivery,
 * bounce, complaint, reject, delivery delay) and appends each to the trace record of the
 * received message its send belongs to. A failure throws, so SNS/EventBridge retry it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import * as v from 'valibot';
import { SDK_RETRY } from '../adapters/aws-errors.js';
import { DynamoTraceStore } from '../adapters/dynamo-trace-store.js';
import { envInteger, parseEnvironment } from '../core/validation.js';
import type { TraceStore } from '../router/ports.js';
import { parseSesEventRecord, unwrapFeedbackEvent } from './parse.js';

const logger = new Logger({ serviceName: 'outbound-pools-feedback' });

export interface FeedbackResult {
  appended: number;
  unknown: number;
  ignored: number;
}

/** Files every SES event of one invocation under its trace record. */
export async function processFeedback(
  invocation: unknown,
  trace: TraceStore,
  now: Date,
): Promise<FeedbackResult> {
  const result: FeedbackResult = { appended: 0, unknown: 0, ignored: 0 };
  for (const record of unwrapFeedbackEvent(invocation)) {
    const item = parseSesEventRecord(record, now);
    if (!item) {
      result.ignored++;
      continue;
    }
    if (await trace.appendEvent(item.inboundId, item.event)) {
      result.appended++;
    } else {
      // Expired trace (retention) or not a message of ours: nothing to attach it to.
      result.unknown++;
      logger.warn('no trace record for event', { inboundId: item.inboundId, type: item.event.type });
    }
  }
  return result;
}

const Env = v.object({
  TRACE_TABLE: v.pipe(v.string(), v.minLength(3)),
  TRACE_RETENTION_DAYS: envInteger(1, 3650, 30),
});

let trace: TraceStore | undefined;

function traceStore(): TraceStore {
  if (trace) return trace;
  const env = parseEnvironment(Env, process.env);
  trace = new DynamoTraceStore({
    client: DynamoDBDocumentClient.from(new DynamoDBClient({ ...SDK_RETRY })),
    tableName: env.TRACE_TABLE,
    retentionDays: env.TRACE_RETENTION_DAYS,
  });
  return trace;
}

export const handler = middy(async (event: unknown) => {
  const result = await processFeedback(event, traceStore(), new Date());
  logger.info('feedback filed', { ...result });
  return result;
}).use(injectLambdaContext(logger, { resetKeys: true }));
