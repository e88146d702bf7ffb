/**
 * The feedback Lambda: consumes the SES events of the three configuration sets that the
 * stack's rule lets through (`filed-events.ts`: bounce, complaint, reject, delivery delay,
 * rendering failure; delivery too with `trace.deliveryEvents`) and appends each to the trace
 * record of the received message its send belongs to. A failure throws, so SNS/EventBridge
 * retry it.
 *
 * SES's `Send` event is not filed: it says only that SES accepted the SendEmail call, which the
 * router already recorded on the main item (`sends[i]`: SES message id, time, pool) with the
 * same fenced write that made the copy count as sent. Filing it again cost a consistent read
 * and one write unit per copy for nothing (issue 16).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { leanLogger } from '../adapters/log-formatter.js';
import { traceStoreFromEnvironment } from '../adapters/trace-environment.js';
import type { TraceStore } from '../core/ports.js';
import { parseSesEventRecord, unwrapFeedbackEvent } from './parse.js';

const logger = leanLogger('outbound-pools-feedback');

export interface FeedbackResult {
  appended: number;
  unknown: number;
  ignored: number;
  /** Events the router has recorded already ({@link ROUTER_RECORDED_EVENTS}): not written again. */
  alreadyRecorded: number;
}

/** SES event types whose facts the router's own send record holds: never filed twice. */
export const ROUTER_RECORDED_EVENTS: ReadonlySet<string> = new Set(['Send']);

/**
 * Files every SES event of one invocation under its trace record. Throws `InvalidInputError`
 * for an invocation holding no event at all (`unwrapFeedbackEvent`): it fails, so a redrive
 * that passed the wrong payload keeps its queue message instead of deleting it.
 */
export async function processFeedback(
  invocation: unknown,
  trace: TraceStore,
  now: Date,
): Promise<FeedbackResult> {
  const result: FeedbackResult = { appended: 0, unknown: 0, ignored: 0, alreadyRecorded: 0 };
  for (const record of unwrapFeedbackEvent(invocation)) {
    const item = parseSesEventRecord(record, now);
    if (!item) {
      result.ignored++;
      continue;
    }
    if (ROUTER_RECORDED_EVENTS.has(item.event.type)) {
      result.alreadyRecorded++;
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
