/**
 * Every function's log line carries one lean head (`log-formatter.ts`): level, message,
 * timestamp, service and the request id, then its own fields — none of the Powertools
 * context keys (function ARN, name, memory, cold start, sampling rate, X-Ray trace id) that the
 * log group already names. Checked on lines the deployed handlers write, as JSON a log query
 * parses.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { leanLogger } from '../../functions/adapters/log-formatter.js';
import { createFeedbackHandler } from '../../functions/feedback/handler.js';

const context = (id: string) =>
  ({
    functionName: 'feedback',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:feedback',
    memoryLimitInMB: '256',
    awsRequestId: id,
    logGroupName: '/aws/lambda/feedback',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => 30_000,
  }) as unknown as Context;

/** The JSON lines `act` writes to stdout and stderr (Powertools writes warnings there). */
async function lines(act: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const out: string[] = [];
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((s) => s.write);
  for (const s of streams) {
    s.write = ((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    }) as typeof s.write;
  }
  try {
    await act();
  } finally {
    streams.forEach((s, i) => {
      s.write = writes[i]!;
    });
  }
  return out
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const DROPPED = [
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'sampling_rate',
  'xray_trace_id',
];

describe('the lean log head', () => {
  it('a line in an invocation: the head, the request id, then its fields; no context keys', async () => {
    process.env._X_AMZN_TRACE_ID = 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1';
    try {
      const logger = leanLogger('svc');
      const handler = middy(async () => {
        logger.warn('something', { detail: 7 });
      }).use(injectLambdaContext(logger, { resetKeys: true }));
      const [line, ...rest] = await lines(() => handler({}, context('req-1')));
      assert.equal(rest.length, 0);
      assert.deepEqual(Object.keys(line!), [
        'level',
        'message',
        'timestamp',
        'service',
        'function_request_id',
        'detail',
      ]);
      assert.equal(line!.level, 'WARN');
      assert.equal(line!.function_request_id, 'req-1');
      assert.equal(new Date(line!.timestamp as string).toISOString(), line!.timestamp);
      for (const key of DROPPED) assert.equal(line![key], undefined, key);
    } finally {
      delete process.env._X_AMZN_TRACE_ID;
    }
  });

  it('outside an invocation there is no request id, and nothing else changes', async () => {
    const [line] = await lines(async () => leanLogger('svc').info('loaded', { n: 1 }));
    assert.deepEqual(Object.keys(line!), ['level', 'message', 'timestamp', 'service', 'n']);
  });

  it("the feedback function's line: its counts after the head (was ~380 bytes of context keys more)", async () => {
    const before = process.env.TRACE_TABLE;
    process.env.TRACE_TABLE = 'trace';
    try {
      const handler = createFeedbackHandler({ region: 'us-east-1' });
      const [line] = await lines(() => handler({ Records: [] }, context('req-2')));
      assert.deepEqual(line, {
        level: 'INFO',
        message: 'feedback filed',
        timestamp: line!.timestamp,
        service: 'outbound-pools-feedback',
        function_request_id: 'req-2',
        appended: 0,
        unknown: 0,
        ignored: 0,
        alreadyRecorded: 0,
      });
    } finally {
      if (before === undefined) delete process.env.TRACE_TABLE;
      else process.env.TRACE_TABLE = before;
    }
  });
});
