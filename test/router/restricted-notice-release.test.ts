/**
 * A `block-for-today` sender released by an operator and restricted again the same day is told
 * again (review of December 2026). SPEC 4 spares a released `block` sender for the rest of the
 * day, not a `block-for-today` one still over its limit: its next message restricts it again,
 * and a notice keyed by identity and day answered `duplicate` — the operator who had just
 * released it never heard of it. Through the router's pipeline, the real notifier, ledger and
 * publisher (dynalite, SNS emulator); the oracle is what reached the topic.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { DynamoNoticeLedger } from '../../functions/adapters/dynamo-notice-ledger.js';
import { SnsNoticePublisher } from '../../functions/adapters/sns-notice-publisher.js';
import { Notifier, noticeObserver } from '../../functions/router/notifier.js';
import { processReceipt } from '../../functions/router/process.js';
import { EMULATOR_CREDENTIALS, EMULATOR_NOTICE_TOPIC_ARN } from '../../sandbox/emulators/index.js';
import { message, NOW, sesEvent } from '../helpers/mail.js';
import { type Harness, oneExternalAnHour, startHarness, withArcKey } from '../helpers/pipeline.js';

const SENDER = 'alias@example.com';
let h: Harness;
before(async () => {
  h = await startHarness(oneExternalAnHour('block-for-today'), withArcKey());
});
after(async () => h?.stop());

const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000);

it('a restriction after a release is a new notice, the same day; messages of one restriction give one', async () => {
  h.emu.sns.clear();
  /** One router container: its notifier, as `functions/router/handler.ts` builds it. */
  const container = () =>
    noticeObserver(
      new Notifier({
        publisher: new SnsNoticePublisher({
          topicArn: EMULATOR_NOTICE_TOPIC_ARN,
          region: 'us-east-1',
          endpoint: h.emu.sns.endpoint,
          credentials: { ...EMULATOR_CREDENTIALS },
        }),
        ledger: new DynamoNoticeLedger({ client: h.dynamo, tableName: h.env.LIMITS_TABLE! }),
      }),
      () => h.clock.now,
    );
  const containers = [container(), container()];
  let n = 0;
  const send = async (minutes: number) => {
    h.clock.now = at(minutes);
    const id = `m${++n}`;
    await h.put(id, message());
    const notices = containers[n % 2]!;
    const result = await processReceipt(
      sesEvent({ messageId: id, spf: 'PASS' }),
      await h.deps({ observer: notices.observer }),
    );
    await notices.flush();
    return result;
  };
  const restricted = () =>
    h.emu.sns
      .published()
      .map((p) => JSON.parse(p.message))
      .filter((m) => m.notice.kind === 'sender-restricted');

  assert.equal((await send(0)).pool, 'normal', "the hour's one external recipient");
  assert.equal((await send(1)).pool, 'blocked', 'over it: restricted for the day');
  assert.equal((await send(2)).pool, 'blocked', 'restricted: blocked, no new restriction');
  assert.equal(restricted().length, 1, 'one restriction, one notice');

  // The operator releases it; the sender is still over its hour, and block-for-today is not
  // spared after a release (SPEC 4), so its next message restricts it again.
  h.clock.now = at(10);
  const limits = (await h.deps()).limits;
  assert.equal(await limits.release(SENDER, h.clock.now), true);
  assert.equal((await send(20)).pool, 'blocked');
  assert.ok((await limits.peek(SENDER, h.clock.now))?.restriction, 'restricted again');
  assert.equal((await send(21)).pool, 'blocked');

  const told = restricted();
  assert.equal(told.length, 2, 'the second restriction of the day reached the topic');
  assert.deepEqual(
    told.map((m) => [m.notice.identity, m.notice.until, m.at]),
    [
      [SENDER, '2026-11-24T00:00:00.000Z', at(1).toISOString()],
      [SENDER, '2026-11-24T00:00:00.000Z', at(20).toISOString()],
    ],
  );
});
