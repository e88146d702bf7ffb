/**
 * The trace store of a function that finds its table in the environment (the feedback function,
 * the trace API): `TRACE_TABLE`, and `TRACE_RETENTION_DAYS` for the expiry of what it writes.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import { envInteger, parseEnvironment } from '../core/validation.js';
import { SDK_RETRY } from './aws-errors.js';
import { DynamoTraceStore } from './dynamo-trace-store.js';

const TraceEnvironment = v.object({
  TRACE_TABLE: v.pipe(v.string(), v.minLength(3)),
  TRACE_RETENTION_DAYS: envInteger(1, 3650, 30),
});

/**
 * Throws a `ConfigError` naming the bad variable. `clientConfig` goes to the DynamoDB client
 * (the bench's in-memory transport).
 */
export function traceStoreFromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  clientConfig: Omit<DynamoDBClientConfig, 'maxAttempts' | 'retryMode'> = {},
): DynamoTraceStore {
  const { TRACE_TABLE, TRACE_RETENTION_DAYS } = parseEnvironment(TraceEnvironment, env);
  return new DynamoTraceStore({
    client: DynamoDBDocumentClient.from(new DynamoDBClient({ ...SDK_RETRY, ...clientConfig })),
    tableName: TRACE_TABLE,
    retentionDays: TRACE_RETENTION_DAYS,
  });
}
