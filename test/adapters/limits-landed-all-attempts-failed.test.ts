/**
 * Review (December 2026) of the limits counts whose answer is lost: a count (`count`, under the
 * message's token `mtok`) or an NDR count (`countNdr`, token `ctok`) that landed although
 * every attempt of its update failed — its answer lost, the client's five retries then failed
 * before reaching DynamoDB (throttled, a 500), so no retry ever met its own token. The call
 * used to fail: the attempt failed without having noted that count (it is not known to have
 * landed, so it is not given back), and Lambda's retry counted the message (or the NDR) again
 * under a new token: a sender exactly at its limit was blocked and restricted for the day by
 * its own message, an NDR at `ndr.perRecipientPerHour` was dropped. The store now reads the
 * item after such a failure and, finding its token, takes the count as landed — as it already
 * did for a restriction (`restrict`) and the trace (`TraceStore.recorded`). On dynalite behind
 * a transport that loses the answer.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { DynamoLimitsStore } from '../../functions/adapters/dynamo-limits-store.js';
import { lostAnswerLimitsTable } from '../helpers/lost-answer-dynamo.js';

const TABLE = 'limits';
const NOW = new Date('2026-11-23T10:15:00.000Z');
const faults = lostAnswerLimitsTable(TABLE);

/** The body of a count's day-path update (the only one naming `identity`). */
const DAY_PATH = /"identity".*"mtok"|"mtok".*"identity"/;

const store = () => new DynamoLimitsStore({ client: faults.client, tableName: TABLE, restrictionCacheMs: 0 });

it("a message's count that landed although all six attempts failed is that count, once", async () => {
  const limits = store();
  const usage = (external: number) => ({ identity: 'grace@example.com', external, internal: 0 });
  const before = faults.lost;
  // Act: the first count (the item is new: the fast path fails its condition, then the day
  // path) and a later one (same hour: the fast path) each land, lose their answer, and the
  // client's five retries of each fail.
  faults.loseNext('UpdateItem', DAY_PATH, 5);
  const first = await limits.count(usage(2), NOW);
  faults.loseNext('UpdateItem', /grace@example\.com/, 5);
  const second = await limits.count(usage(3), NOW);
  // Assess: each answered as counted, with the counters before it; each counted once.
  assert.equal(faults.lost, before + 2, 'the faults were injected');
  assert.equal(first.counters.externalHour, 0);
  assert.equal(second.counters.externalHour, 2);
  const state = await limits.peek('grace@example.com', NOW);
  assert.equal(state?.counters.externalHour, 5);
  assert.equal(state?.counters.day, 5);
});

it('an NDR count that landed although all six attempts failed is the NDR of the hour, once', async () => {
  const limits = store();
  const before = faults.lost;
  faults.loseNext('UpdateItem', /NDR#frank@sender\.test/, 5);
  assert.equal(await limits.countNdr('frank@sender.test', NOW), 1, 'the first NDR of the hour');
  assert.equal(faults.lost, before + 1, 'the fault was injected');
  assert.equal(await limits.countNdr('frank@sender.test', NOW), 2, 'the next one is the second');
});
