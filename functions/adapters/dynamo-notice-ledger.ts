/**
 * The notice ledger (issue 14) in the limits table: one item per notice event,
 * `pk = N#<event key>`, written with a conditional put — the first writer wins and publishes,
 * every other container sees `ConditionalCheckFailedException` and stays silent. The item
 * expires by the table's TTL attribute. Keys never collide with sending identities (`S#…`) nor
 * with NDR counters (`NDR#…`, `dynamo-limits-store.ts`).
 *
 * A claim whose notice then fails to publish is given back (`release`), so the event is told
 * by a later attempt instead of being silenced for the key's two days. The release is a put
 * too, not a `DeleteItem`: it replaces the claim with a `released` marker, conditional on the
 * item still holding this claim's `at` (a slow invocation never undoes the claim another one
 * made after it), and `claim` takes a key that is free *or* released. So the ledger's roles
 * keep needing `dynamodb:PutItem` alone (`lib/tables.ts` `grantNoticeLedger`; the router's
 * role is checked to hold no `DeleteItem`).
 */
import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { NoticeLedger } from '../core/ports.js';
import { rethrowAws } from './aws-errors.js';
import { documentClient, LIMITS_PARTITION_KEY, LIMITS_TTL_ATTRIBUTE } from './tables.js';

/** Prefix of a notice event's item key in the limits table. */
export const NOTICE_KEY_PREFIX = 'N#';

/** Attribute of a released claim's marker: the key is free to claim again. */
export const NOTICE_RELEASED_ATTRIBUTE = 'released';

/** Attribute holding a claim's random id, so the SDK's retry of a claim that landed is still it. */
export const NOTICE_CLAIM_ATTRIBUTE = 'claim';

export class DynamoNoticeLedger implements NoticeLedger {
  readonly #doc: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(opts: { client: DynamoDBClient | DynamoDBDocumentClient; tableName: string }) {
    this.#doc = documentClient(opts.client);
    this.#tableName = opts.tableName;
  }

  async claim(key: string, now: Date, ttlSeconds: number): Promise<boolean> {
    // The claim's own id: the SDK sends a put again after a 5xx or a lost connection even when
    // it landed, and that retry must find its own claim, not "someone else's" (which left the
    // notice untold and its key taken for two days; review, December 2026).
    const id = randomBytes(12).toString('base64url');
    return this.#put(
      'PutItem (notice)',
      {
        [LIMITS_PARTITION_KEY]: `${NOTICE_KEY_PREFIX}${key}`,
        at: now.toISOString(),
        [NOTICE_CLAIM_ATTRIBUTE]: id,
        [LIMITS_TTL_ATTRIBUTE]: Math.floor(now.getTime() / 1000) + ttlSeconds,
      },
      'attribute_not_exists(#pk) OR attribute_exists(#released) OR #claim = :claim',
      {
        '#pk': LIMITS_PARTITION_KEY,
        '#released': NOTICE_RELEASED_ATTRIBUTE,
        '#claim': NOTICE_CLAIM_ATTRIBUTE,
      },
      { ':claim': id },
    );
  }

  async release(key: string, claimedAt: Date): Promise<boolean> {
    const at = claimedAt.toISOString();
    return this.#put(
      'PutItem (notice release)',
      {
        [LIMITS_PARTITION_KEY]: `${NOTICE_KEY_PREFIX}${key}`,
        at,
        [NOTICE_RELEASED_ATTRIBUTE]: true,
        // Already due: the marker holds nothing back, TTL may delete it whenever it comes by;
        // a claim in between replaces it with an item of its own expiry.
        [LIMITS_TTL_ATTRIBUTE]: Math.floor(claimedAt.getTime() / 1000),
      },
      // Still this claim (same `at`), and not released already: a missing item, a later claim
      // or a second release all fail the condition and change nothing.
      '#at = :at AND attribute_not_exists(#released)',
      { '#at': 'at', '#released': NOTICE_RELEASED_ATTRIBUTE },
      { ':at': at },
    );
  }

  /** A conditional put: true when written, false when the condition failed. */
  async #put(
    action: string,
    item: Record<string, unknown>,
    condition: string,
    names: Record<string, string>,
    values?: Record<string, unknown>,
  ): Promise<boolean> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: item,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ...(values ? { ExpressionAttributeValues: values } : {}),
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      return rethrowAws('dynamodb', action, error);
    }
  }
}
