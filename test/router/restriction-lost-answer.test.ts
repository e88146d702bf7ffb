/**
 * A restriction whose update landed but whose answer was lost is recognized when the SDK's
 * retry reaches DynamoDB and fails its own condition (`limits-restrictions.ts`). When the five
 * retries fail before reaching it (throttled, a 500), the restriction used to be reported as an
 * error: the attempt failed, and its retry found the sender restricted already, blocked the
 * message, wrote no restriction and told nobody: the restriction stood and its notice was
 * never told (review, December 2026). On the emulators, the limits table behind a transport
 * that loses the answer.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { DynamoLimitsStore } from '../../functions/adapters/dynamo-limits-store.js';
import type { Restriction } from '../../functions/core/limits.js';
import { processReceipt } from '../../functions/router/process.js';
import { type LostAnswerClient, lostAnswerClient } from '../helpers/lost-answer-dynamo.js';
import { message, NOW, sesEvent } from '../helpers/mail.js';
import { type Harness, oneExternalAnHour, startHarness, withArcKey } from '../helpers/pipeline.js';

let h: Harness;
let faults: LostAnswerClient;
before(async () => {
  h = await startHarness(oneExternalAnHour('block-for-today'), withArcKey());
  faults = lostAnswerClient(h.emu.clientConfig('dynamodb').endpoint as string);
});
after(async () => {
  faults?.client.destroy();
  await h?.stop();
});

it('a restriction that landed although all six attempts of its update failed is told once', async () => {
  // Prepare: the alias's one external recipient of the hour, then a message over it.
  const limits = new DynamoLimitsStore({
    client: faults.client,
    tableName: h.env.LIMITS_TABLE!,
    restrictionCacheMs: 0,
  });
  const restricted: Restriction[] = [];
  const attempt = async (id: string, seconds: number) => {
    h.clock.now = new Date(NOW.getTime() + seconds * 1000);
    return processReceipt(
      sesEvent({ messageId: id, spf: 'PASS' }),
      await h.deps({ limits, observer: { restricted: (r) => void restricted.push(r) } }),
    );
  };
  await h.put('first', message());
  assert.equal((await attempt('first', 0)).pool, 'normal');
  await h.put('over', message());
  // Act: the restriction's update lands, its answer is lost and the SDK's five retries fail;
  // if the attempt fails, Lambda's retry comes a minute later.
  faults.loseNext('UpdateItem', /rReason/, 5);
  const first = await attempt('over', 10).catch((error: Error) => error);
  const result = first instanceof Error ? await attempt('over', 71) : first;
  // Assess: blocked, restricted, and the restriction told once.
  assert.equal(faults.lost, 1, 'the fault was injected');
  assert.equal(result.pool, 'blocked');
  assert.equal(
    (await limits.peek('alias@example.com', h.clock.now))?.restriction?.reason,
    'limit-external-hour',
  );
  assert.deepEqual(
    restricted.map((r) => r.identity),
    ['alias@example.com'],
  );
});
