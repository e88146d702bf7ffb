/**
 * Restrictions on the limits table: set (`restrict`), lifted by an operator (`release`) and
 * listed (`listRestricted`). A restriction lives on the identity's item (`limits-items.ts`):
 * `rUntil`, `rReason`, `rSince` and `rstate = "R"`, the last two keying the sparse GSI
 * `byRestriction`. That index has one partition (`R`), but it projects only the restriction
 * attributes, so counter updates never write to it: it sees restrict and release only.
 *
 * These are the requests only; the per-container restriction cache stays with the store
 * (`dynamo-limits-store.ts`).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Restriction } from '../core/limits.js';
import {
  BLOCK_UNTIL,
  type Item,
  identityKey,
  LIMITS_TTL_SECONDS,
  PIN_EPOCH_SECONDS,
  restrictionOf,
} from './limits-items.js';
import {
  Expr,
  isConditionFailed,
  LIMITS_RESTRICTION_INDEX,
  LIMITS_RESTRICTION_INDEX_PK,
  LIMITS_RESTRICTION_INDEX_SK,
  LIMITS_RESTRICTION_STATE,
  LIMITS_TTL_ATTRIBUTE,
  sendMapped,
} from './tables.js';

/** The limits table as the requests see it. */
export interface LimitsTable {
  doc: DynamoDBDocumentClient;
  tableName: string;
}

/**
 * Restricts an identity unless a restriction is already in force (its reason and end are the
 * first ones). With `seen`, only while the item's `releasedAt` is still the one the decision
 * read (none, or that time): an operator's release between the decision's count and this
 * write would otherwise be undone by a decision made on the counters before it (SPEC 4: a
 * released `block` sender is not restricted again that day). A condition on the value read,
 * not on clocks: the release is stamped by the operator's machine. The item as written, or
 * null when either condition failed.
 */
export async function writeRestriction(
  table: LimitsTable,
  restriction: Restriction,
  now: Date,
  seen?: { releasedAt: string | null },
): Promise<Item | null> {
  const x = new Expr();
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const sets = [
    `${x.n(LIMITS_RESTRICTION_INDEX_SK)} = ${x.v(restriction.until ?? BLOCK_UNTIL)}`,
    `${x.n('rReason')} = ${x.v(restriction.reason)}`,
    `${x.n('rSince')} = ${x.v(restriction.since)}`,
    `${x.n(LIMITS_RESTRICTION_INDEX_PK)} = ${x.v(LIMITS_RESTRICTION_STATE)}`,
    `${x.n('identity')} = ${x.v(restriction.identity)}`,
  ];
  let remove = '';
  if (restriction.until === null) {
    const pin = x.v(PIN_EPOCH_SECONDS);
    sets.push(`${x.n('pin')} = ${pin}`, `${x.n(LIMITS_TTL_ATTRIBUTE)} = ${pin}`);
  } else {
    const untilSeconds = Math.ceil(Date.parse(restriction.until) / 1000);
    const ttl = Math.max(nowSeconds + LIMITS_TTL_SECONDS, untilSeconds || 0);
    sets.push(`${x.n(LIMITS_TTL_ATTRIBUTE)} = ${x.v(ttl)}`);
    remove = ` REMOVE ${x.n('pin')}`;
  }
  const rstate = x.n(LIMITS_RESTRICTION_INDEX_PK);
  const notInForce = `attribute_not_exists(${rstate}) OR ${x.n(LIMITS_RESTRICTION_INDEX_SK)} <= ${x.v(now.toISOString())}`;
  let condition = notInForce;
  if (seen) {
    // Named only here: DynamoDB refuses a name or value the expression does not use.
    const released = x.n('releasedAt');
    const asSeen =
      seen.releasedAt === null
        ? `attribute_not_exists(${released})`
        : `${released} = ${x.v(seen.releasedAt)}`;
    condition = `(${notInForce}) AND ${asSeen}`;
  }
  try {
    const out = await sendMapped('UpdateItem', () =>
      table.doc.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: identityKey(restriction.identity),
          UpdateExpression: `SET ${sets.join(', ')}${remove}`,
          ConditionExpression: condition,
          ReturnValues: 'ALL_NEW',
          ...x.params(),
        }),
      ),
    );
    return out.Attributes ?? {};
  } catch (err) {
    // A restriction is already in force: keep it (its reason and end are the first ones); or
    // a release came after the decision's read: the operator's word stands.
    if (!isConditionFailed(err)) throw err;
    return ownRestriction(table, restriction);
  }
}

/**
 * The item, when the restriction in force is this one (same reason, start and end): the SDK
 * sends an update again after a 5xx or a lost connection even when it landed, and the retry
 * then fails its own condition. Reported written, so its notice is told (review, December
 * 2026: it was not). A decision of another container with the very same start is told once
 * all the same: the notice key is stamped with `since`. Null otherwise.
 */
async function ownRestriction(table: LimitsTable, restriction: Restriction): Promise<Item | null> {
  const out = await sendMapped('GetItem', () =>
    table.doc.send(
      new GetCommand({
        TableName: table.tableName,
        Key: identityKey(restriction.identity),
        ConsistentRead: true,
      }),
    ),
  );
  const item = out.Item;
  const own =
    item !== undefined &&
    item[LIMITS_RESTRICTION_INDEX_PK] === LIMITS_RESTRICTION_STATE &&
    item.rReason === restriction.reason &&
    item.rSince === restriction.since &&
    item[LIMITS_RESTRICTION_INDEX_SK] === (restriction.until ?? BLOCK_UNTIL);
  return own ? item : null;
}

/**
 * Lifts a restriction in force: true, or false when there was none. Stamps `releasedAt` and
 * removes `pin`, so a released `block` expires again like any other item.
 */
export async function clearRestriction(table: LimitsTable, identity: string, now: Date): Promise<boolean> {
  const x = new Expr();
  const removed = [LIMITS_RESTRICTION_INDEX_SK, 'rReason', 'rSince', LIMITS_RESTRICTION_INDEX_PK, 'pin'].map(
    (a) => x.n(a),
  );
  const ttl = Math.floor(now.getTime() / 1000) + LIMITS_TTL_SECONDS;
  const nowIso = x.v(now.toISOString());
  try {
    await sendMapped('UpdateItem', () =>
      table.doc.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: identityKey(identity),
          UpdateExpression: `REMOVE ${removed.join(', ')} SET ${x.n('releasedAt')} = ${nowIso}, ${x.n(LIMITS_TTL_ATTRIBUTE)} = ${x.v(ttl)}`,
          ConditionExpression: `attribute_exists(${x.n(LIMITS_RESTRICTION_INDEX_PK)}) AND ${x.n(LIMITS_RESTRICTION_INDEX_SK)} > ${nowIso}`,
          ...x.params(),
        }),
      ),
    );
    return true;
  } catch (err) {
    if (isConditionFailed(err)) return false;
    throw err;
  }
}

/** Restrictions in force at `now`, from the `byRestriction` index. */
export async function listRestrictions(table: LimitsTable, now: Date): Promise<Restriction[]> {
  const out: Restriction[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const x = new Expr();
    const page = await sendMapped('Query', () =>
      table.doc.send(
        new QueryCommand({
          TableName: table.tableName,
          IndexName: LIMITS_RESTRICTION_INDEX,
          KeyConditionExpression: `${x.n(LIMITS_RESTRICTION_INDEX_PK)} = ${x.v(LIMITS_RESTRICTION_STATE)} AND ${x.n(LIMITS_RESTRICTION_INDEX_SK)} > ${x.v(now.toISOString())}`,
          ExclusiveStartKey: start,
          ...x.params(),
        }),
      ),
    );
    for (const item of page.Items ?? []) {
      const restriction = restrictionOf(item, now);
      if (restriction) out.push(restriction);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}
