/**
 * The feedback Lambda: consumes the SES events of the three configuration sets (delivery,
 * bounce, complaint, reject, delivery delay) and appends each to the trace record of the
 * received message its send belongs to. A failure throws, so SNS/EventBridge retry it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { traceStoreFromEnvironment } from '../adapters/trace-environment.js';
import type { TraceStore } from '../core/ports.js';
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

/**
 * The middy handler; `clientConfig` goes to its DynamoDB client (the bench runs it over an
 * in-memory transport). The trace store is built on the first event, once per container.
 */
export function createFeedbackHandler(clientConfig: Parameters<typeof traceStoreFromEnvironment>[1] = {}) {
  let trace: TraceStore | undefined;
  return middy(async (event: unknown) => {
    trace ??= traceStoreFromEnvironment(process.env, clientConfig);
    const result = await processFeedback(event, trace, new Date());
    logger.info('feedback filed', { ...result });
    return result;
  }).use(injectLambdaContext(logger, { resetKeys: true }));
}

export const handler = createFeedbackHandler();
