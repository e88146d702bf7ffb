/**
 * Limits-table updates whose answer is lost after DynamoDB applied them (a 500 or a reset
 * connection once the write landed) are sent again by the SDK's standard retry mode, which
 * retries every operation alike. Found in a review (December 2026), on dynalite behind a
 * transport that loses one answer:
 *
 * - a refund (`ADD -n`) applied twice took another message's recipients back too, so the
 *   counters under-counted (even below zero) — the unsafe side, where the docs promise that a
 *   refund's failure only ever over-counts (docs/retries.md). A refund now carries a token its
 *   retries share, and a retry that finds its token on the item changes nothing;
 * - a restriction's retry failed its own condition ("already in force") and was reported not
 *   written, so its notice was never told. It is now recognized as this restriction.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { DynamoLimitsStore } from '../../functions/adapters/dynamo-limits-store.js';
import { lostAnswerLimitsTable } from '../helpers/lost-answer-dynamo.js';

const TABLE = 'limits';
const NOW = new Date('2026-11-23T10:15:00.000Z');
const faults = lostAnswerLimitsTable(TABLE);

it('a refund whose answer was lost and retried by the SDK takes the message back once', async () => {
  const store = new DynamoLimitsStore({ client: faults.client, tableName: TABLE, restrictionCacheMs: 0 });
  const usage = (external: number) => ({ identity: 'alias@example.com', external, internal: 0 });
  // Two messages counted: 2 recipients, then 3 (the second is the one refunded).
  await store.count(usage(2), NOW);
  await store.count(usage(3), NOW);
  // Act: the refund of the second lands, its answer is lost, the SDK sends it again.
  faults.loseNext('UpdateItem', /"N":"-3"/);
  await store.refund(usage(3), NOW);
  // Assess: the first message's 2 recipients are still counted.
  assert.equal(faults.lost, 1, 'the fault was injected');
  const state = await store.peek('alias@example.com', NOW);
  assert.equal(state?.counters.externalHour, 2);
  assert.equal(state?.counters.day, 2);
});

it('an NDR refund whose answer was lost takes back one NDR, not two', async () => {
  const store = new DynamoLimitsStore({ client: faults.client, tableName: TABLE, restrictionCacheMs: 0 });
  assert.equal(await store.countNdr('carol@sender.test', NOW), 1);
  assert.equal(await store.countNdr('carol@sender.test', NOW), 2);
  faults.loseNext('UpdateItem', /"N":"-1"/);
  await store.refundNdr('carol@sender.test', NOW);
  assert.equal(faults.lost, 2, 'the fault was injected');
  // The next NDR is the second one of the hour.
  assert.equal(await store.countNdr('carol@sender.test', NOW), 2);
});

it('an NDR count whose answer was lost and retried by the SDK counts the NDR once', async () => {
  const store = new DynamoLimitsStore({ client: faults.client, tableName: TABLE, restrictionCacheMs: 0 });
  const before = faults.lost;
  faults.loseNext('UpdateItem', /NDR#dave@sender\.test/);
  assert.equal(await store.countNdr('dave@sender.test', NOW), 1, 'the first NDR of the hour');
  assert.equal(faults.lost, before + 1, 'the fault was injected');
  assert.equal(await store.countNdr('dave@sender.test', NOW), 2, 'the next one is the second');
});

it('a restriction whose answer was lost and retried by the SDK is reported written (its notice is told)', async () => {
  const store = new DynamoLimitsStore({ client: faults.client, tableName: TABLE, restrictionCacheMs: 0 });
  const restriction = {
    identity: 'team@example.com',
    reason: 'limit-day' as const,
    since: NOW.toISOString(),
    until: '2026-11-24T00:00:00.000Z',
  };
  faults.loseNext('UpdateItem', /"rReason"|limit-day/);
  const written = await store.restrict(restriction, NOW, { releasedAt: null });
  assert.equal(faults.lost, 4, 'the fault was injected');
  assert.equal(written, true, 'written, by this call');
  // Another decision's restriction while it is in force is not written (its reason and end stay).
  assert.equal(
    await store.restrict(
      { ...restriction, reason: 'limit-external-hour', since: new Date(NOW.getTime() + 1).toISOString() },
      NOW,
      {
        releasedAt: null,
      },
    ),
    false,
  );
});

it("a message's count whose answer was lost and retried counts the message once", async () => {
  const store = new DynamoLimitsStore({ client: faults.client, tableName: TABLE, restrictionCacheMs: 0 });
  const usage = (external: number) => ({ identity: 'erin@example.com', external, internal: 0 });
  const before = faults.lost;
  // The first count (the item is new) and a later one (same hour) each lose their answer.
  faults.loseNext('UpdateItem', /erin@example\.com/);
  const first = await store.count(usage(2), NOW);
  faults.loseNext('UpdateItem', /erin@example\.com/);
  const second = await store.count(usage(3), NOW);
  assert.equal(faults.lost, before + 2, 'the faults were injected');
  // `count` answers the counters before the message.
  assert.equal(first.counters.externalHour, 0, 'nothing before the first message');
  assert.equal(second.counters.externalHour, 2, 'the first message, once');
  const state = await store.peek('erin@example.com', NOW);
  assert.equal(state?.counters.externalHour, 5);
  assert.equal(state?.counters.day, 5);
});
