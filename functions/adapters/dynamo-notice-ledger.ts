/**
 * The notice ledger (issue 14) in the limits table: one item per notice event,
 * `pk = N#<event key>`, written with a conditional put — the first writer wins and publishes,
 * every other container sees `ConditionalCheckFailedException` and stays silent. The item
 * expires by the table's TTL attribute. Keys never collide with sending identities (`S#…`) nor
 * with NDR counters (`NDR#…`, `dynamo-limits-store.ts`).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { NoticeLedger } from '../core/ports.js';
import { rethrowAws } from './aws-errors.js';
import { documentClient, LIMITS_PARTITION_KEY, LIMITS_TTL_ATTRIBUTE } from './tables.js';

/** Prefix of a notice event's item key in the limits table. */
export const NOTICE_KEY_PREFIX = 'N#';

export class DynamoNoticeLedger implements NoticeLedger {
  readonly #doc: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(opts: { client: DynamoDBClient | DynamoDBDocumentClient; tableName: string }) {
    this.#doc = documentClient(opts.client);
    this.#tableName = opts.tableName;
  }

  async claim(key: string, now: Date, ttlSeconds: number): Promise<boolean> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: {
            [LIMITS_PARTITION_KEY]: `${NOTICE_KEY_PREFIX}${key}`,
            at: now.toISOString(),
            [LIMITS_TTL_ATTRIBUTE]: Math.floor(now.getTime() / 1000) + ttlSeconds,
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': LIMITS_PARTITION_KEY },
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      return rethrowAws('dynamodb', 'PutItem (notice)', error);
    }
  }
}
