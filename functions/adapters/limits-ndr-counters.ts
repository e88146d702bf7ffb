/**
 * The NDR counters of the limits table (`ndr.perRecipientPerHour`): one item per recipient
 * address and clock hour, counted when an NDR is planned and given back when its attempt fails
 * before the NDR went out (`functions/router/ndr-limits.ts`). Each update applies once per call
 * (`onceOnly`), and a count that landed although every attempt failed is read back by its token.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { num, windowAt } from './limits-items.js';
import type { LimitsTable } from './limits-restrictions.js';
import { COUNT_TOKEN, callToken, onceOnly, REFUND_TOKEN } from './limits-updates.js';
import { Expr, isConditionFailed, LIMITS_PARTITION_KEY, LIMITS_TTL_ATTRIBUTE, sendMapped } from './tables.js';

/**
 * Prefix of an NDR counter item's key (one per recipient address and clock hour). Not the
 * notice ledger's `N#`: a notice key is `<kind>#<identity>#<hour>`, and an NDR counted for the
 * mailbox `limit-alert#team@example.com` (`#` is allowed in a local part) would take the item
 * of that identity's alert of the hour, which would then never be sent (review of December
 * 2026). Items of either kind expire within two days by TTL.
 */
export const NDR_COUNTER_PREFIX = 'NDR#';

/** The item counting NDRs to `recipient` in the clock hour of `at`. */
const ndrKey = (recipient: string, at: Date) => ({
  [LIMITS_PARTITION_KEY]: `${NDR_COUNTER_PREFIX}${recipient.toLowerCase()}#${windowAt(at.getTime()).hk}`,
});

export async function countNdr(table: LimitsTable, recipient: string, now: Date): Promise<number> {
  const x = new Expr();
  const ttl = Math.floor(now.getTime() / 1000) + 2 * 3600;
  // Counted once per call, as a refund is (`onceOnly`): the SDK sends the update again after
  // a lost answer, and an NDR counted twice could be the one an hour that is then not sent
  // (review, December 2026). The retry that finds its own token reads the count instead.
  const token = callToken();
  const once = onceOnly(x, COUNT_TOKEN, token);
  const key = ndrKey(recipient, now);
  const read = () =>
    sendMapped('GetItem', () =>
      table.doc.send(new GetCommand({ TableName: table.tableName, Key: key, ConsistentRead: true })),
    );
  try {
    const out = await sendMapped('UpdateItem', () =>
      table.doc.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: key,
          UpdateExpression: `ADD ${x.n('n')} ${x.v(1)} SET ${x.n(LIMITS_TTL_ATTRIBUTE)} = ${x.v(ttl)}, ${once.set}`,
          ConditionExpression: once.condition,
          ReturnValues: 'UPDATED_NEW',
          ...x.params(),
        }),
      ),
    );
    return num(out.Attributes ?? {}, 'n');
  } catch (err) {
    if (!isConditionFailed(err)) {
      // Landed although every attempt failed (as `count`'s update can): the item holds this
      // call's token, and the NDR is counted; else, or when the read fails too, the error
      // stands (review, December 2026: Lambda's retry counted it again, and at
      // `ndr.perRecipientPerHour` dropped the NDR).
      const out = await read().catch(() => null);
      if (out?.Item?.[COUNT_TOKEN] === token) return num(out.Item, 'n');
      throw err;
    }
    const out = await read();
    return num(out.Item ?? {}, 'n');
  }
}

export async function refundNdr(table: LimitsTable, recipient: string, countedAt: Date): Promise<void> {
  const x = new Expr();
  const once = onceOnly(x, REFUND_TOKEN, callToken());
  try {
    await sendMapped('UpdateItem', () =>
      table.doc.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: ndrKey(recipient, countedAt),
          // Only an existing count above zero: a refund never creates an item nor goes negative;
          // and only once (`onceOnly`).
          UpdateExpression: `ADD ${x.n('n')} ${x.v(-1)} SET ${once.set}`,
          ConditionExpression: `${x.n('n')} > ${x.v(0)} AND ${once.condition}`,
          ...x.params(),
        }),
      ),
    );
  } catch (err) {
    if (!isConditionFailed(err)) throw err;
  }
}
