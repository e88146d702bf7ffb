import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DynamoTraceStore } from '../../functions/adapters/dynamo-trace-store.js';
import { traceStoreFromEnvironment } from '../../functions/adapters/trace-environment.js';
import { ConfigError } from '../../functions/core/errors.js';

describe('traceStoreFromEnvironment', () => {
  it('builds the store of TRACE_TABLE, the retention defaulting to 30 days', () => {
    assert.ok(traceStoreFromEnvironment({ TRACE_TABLE: 'trace-1' }) instanceof DynamoTraceStore);
    assert.ok(traceStoreFromEnvironment({ TRACE_TABLE: 'trace-1', TRACE_RETENTION_DAYS: '7' }));
  });

  const cases: [string, Record<string, string>, string][] = [
    ['no TRACE_TABLE', {}, 'TRACE_TABLE'],
    ['a table name too short for DynamoDB', { TRACE_TABLE: 'ab' }, 'TRACE_TABLE'],
    ['a retention of 0 days', { TRACE_TABLE: 'trace-1', TRACE_RETENTION_DAYS: '0' }, 'TRACE_RETENTION_DAYS'],
    [
      'a retention that is no number',
      { TRACE_TABLE: 'trace-1', TRACE_RETENTION_DAYS: 'month' },
      'TRACE_RETENTION_DAYS',
    ],
  ];
  for (const [name, env, variable] of cases) {
    it(`names the variable: ${name}`, () => {
      assert.throws(
        () => traceStoreFromEnvironment(env),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.field === variable &&
          e.message.startsWith(`environment variable ${variable}: `),
      );
    });
  }
});
