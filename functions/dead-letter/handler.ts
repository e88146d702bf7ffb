/**
 * The dead-letter recorder Lambda (`recorder.ts`): the router's on-failure destination. Lambda
 * invokes it asynchronously with the router's invocation record. Environment: `TRACE_TABLE`,
 * `TRACE_RETENTION_DAYS`, `DEAD_LETTER_QUEUE_URL`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SDK_RETRY } from '../adapters/aws-errors.js';
import { DynamoTraceStore } from '../adapters/dynamo-trace-store.js';
import { leanLogger } from '../adapters/log-formatter.js';
import { SqsDeadLetterQueue } from '../adapters/sqs-dead-letter-queue.js';
import { ConfigError } from '../core/errors.js';
import { type RecorderDeps, recordDeadLetter } from './recorder.js';

const logger = leanLogger('outbound-pools-dead-letters');

/** The recorder's dependencies from its environment (a missing variable is a one-line error). */
export function recorderDeps(env: NodeJS.ProcessEnv = process.env): RecorderDeps {
  const need = (name: string) => {
    const value = env[name];
    if (!value) throw new ConfigError(`${name} is not set`, { field: name });
    return value;
  };
  const retentionDays = Number(need('TRACE_RETENTION_DAYS'));
  if (!Number.isFinite(retentionDays) || retentionDays <= 0) {
    throw new ConfigError('TRACE_RETENTION_DAYS must be a positive number of days', {
      field: 'TRACE_RETENTION_DAYS',
    });
  }
  return {
    trace: new DynamoTraceStore({
      client: new DynamoDBClient({ ...SDK_RETRY }),
      tableName: need('TRACE_TABLE'),
      retentionDays,
    }),
    queue: new SqsDeadLetterQueue({
      client: new SQSClient({ ...SDK_RETRY }),
      queueUrl: need('DEAD_LETTER_QUEUE_URL'),
    }),
    clock: () => new Date(),
  };
}

let deps: RecorderDeps | undefined;

export async function handler(record: unknown): Promise<void> {
  deps ??= recorderDeps();
  const outcome = await recordDeadLetter(record, deps);
  // An error-level line per dead letter: the queue's alarm says "some", this says which.
  logger.error('dead letter', { ...outcome });
}
