/**
 * The trace table's batch call: `BatchGetItem` of the main items a search found. Batch APIs
 * answer with what they did not process (throttling, size), to be sent again after a backoff;
 * {@link drainBatch} does that.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { TransientDependencyError } from '../core/errors.js';
import { sendMapped, sleep } from './tables.js';
import { type Item, mainKey } from './trace-items.js';

/** The trace table as the requests see it. */
export interface TraceTable {
  doc: DynamoDBDocumentClient;
  tableName: string;
}

const BATCH_GET_SIZE = 100;
const BATCH_ROUNDS = 8;

/**
 * Runs a DynamoDB batch call until nothing is left: batch APIs answer with what they did not
 * process (throttling, size), to be sent again after a backoff. Gives up after
 * `BATCH_ROUNDS` rounds with a retryable error.
 */
async function drainBatch<T>(
  operation: string,
  items: T[],
  call: (pending: T[]) => Promise<T[]>,
): Promise<void> {
  let pending = items;
  for (let round = 0; pending.length > 0; round++) {
    if (round >= BATCH_ROUNDS) {
      throw new TransientDependencyError(
        'dynamodb',
        `${operation}: ${pending.length} items left unprocessed`,
      );
    }
    if (round > 0) await sleep(backoffMs(round));
    pending = await call(pending);
  }
}

/** Main items by message id (missing ones left out), retrying unprocessed keys with backoff. */
export async function batchGetMain(table: TraceTable, messageIds: string[]): Promise<Item[]> {
  const out: Item[] = [];
  for (let i = 0; i < messageIds.length; i += BATCH_GET_SIZE) {
    const keys: Record<string, unknown>[] = messageIds.slice(i, i + BATCH_GET_SIZE).map((id) => mainKey(id));
    await drainBatch('BatchGetItem', keys, async (pending) => {
      const page = await sendMapped('BatchGetItem', () =>
        table.doc.send(new BatchGetCommand({ RequestItems: { [table.tableName]: { Keys: pending } } })),
      );
      out.push(...(page.Responses?.[table.tableName] ?? []));
      return page.UnprocessedKeys?.[table.tableName]?.Keys ?? [];
    });
  }
  return out;
}

function backoffMs(round: number): number {
  const cap = Math.min(1_000, 25 * 2 ** round);
  return cap / 2 + Math.random() * (cap / 2);
}
