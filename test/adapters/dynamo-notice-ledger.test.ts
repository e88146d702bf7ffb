/**
 * The notice ledger's release (review of December 2026): a claim whose notice failed to
 * publish is given back, so the event is told by a later attempt instead of answering
 * `duplicate` for the key's two days; and a release never undoes a claim that is not its own.
 * On dynalite, through the real adapter; the oracle is the table's item, read raw.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoNoticeLedger } from '../../functions/adapters/dynamo-notice-ledger.js';
import { createTables } from '../../functions/adapters/tables.js';
import type { Notice } from '../../functions/core/notices.js';
import type { NoticePublisher } from '../../functions/core/ports.js';
import { Notifier } from '../../functions/router/notifier.js';
import { type DynamoDbEmulator, EMULATOR_CREDENTIALS, startDynamoDb } from '../../sandbox/emulators/index.js';

const TABLE = 'ledger-limits';
const T0 = new Date('2026-12-06T10:00:00.000Z');
const T1 = new Date('2026-12-06T10:00:01.000Z');

describe('DynamoNoticeLedger.release (dynalite)', () => {
  let emu: DynamoDbEmulator;
  let ddb: DynamoDBClient;
  let ledger: DynamoNoticeLedger;
  const item = async (key: string) =>
    (
      await DynamoDBDocumentClient.from(ddb).send(
        new GetCommand({ TableName: TABLE, Key: { pk: `N#${key}` } }),
      )
    ).Item;

  before(async () => {
    emu = await startDynamoDb();
    ddb = new DynamoDBClient({
      endpoint: emu.endpoint,
      region: 'us-east-1',
      credentials: { ...EMULATOR_CREDENTIALS },
    });
    await createTables(ddb, { limits: TABLE });
    ledger = new DynamoNoticeLedger({ client: ddb, tableName: TABLE });
  });
  after(async () => {
    ddb?.destroy();
    await emu?.stop();
  });

  it('a released claim can be claimed again, by anyone, once', async () => {
    assert.equal(await ledger.claim('r1', T0, 3600), true);
    assert.equal(await ledger.claim('r1', T0, 3600), false, 'held while claimed');
    assert.equal(await ledger.release('r1', T0), true);
    assert.equal((await item('r1'))?.released, true, 'the claim is replaced by a marker, not kept');
    const racers = await Promise.all(Array.from({ length: 8 }, () => ledger.claim('r1', T1, 3600)));
    assert.equal(racers.filter(Boolean).length, 1, 'after a release, still exactly one claimant wins');
    const claimed = await item('r1');
    assert.equal(claimed?.at, T1.toISOString());
    assert.equal(claimed?.released, undefined, 'the new claim is a plain claim');
    assert.equal(claimed?.expiresAt, Math.floor(T1.getTime() / 1000) + 3600);
  });

  it("a release never undoes another invocation's later claim, nor a key never claimed", async () => {
    assert.equal(await ledger.claim('r2', T0, 3600), true);
    assert.equal(await ledger.release('r2', T0), true);
    assert.equal(await ledger.claim('r2', T1, 3600), true, 'claimed again by someone else');
    // The first invocation, slow, gives its claim back a second time: nothing changes.
    assert.equal(await ledger.release('r2', T0), false);
    assert.equal(await ledger.claim('r2', T1, 3600), false, 'the later claim still holds');
    assert.equal((await item('r2'))?.at, T1.toISOString());
    // Released twice by its own claimant: the second is refused too (it holds no claim).
    assert.equal(await ledger.release('r2', T1), true);
    assert.equal(await ledger.release('r2', T1), false);
    assert.equal(await ledger.release('never-claimed', T0), false);
    assert.equal(await item('never-claimed'), undefined, 'a release writes no item of its own');
  });

  it('a notice whose publish failed is published by the next attempt, not answered "duplicate"', async () => {
    const published: string[] = [];
    let failures = 1;
    const publisher: NoticePublisher = {
      async publish(subject) {
        if (failures-- > 0) throw new Error('Rate exceeded');
        published.push(subject);
      },
    };
    const errors: string[] = [];
    const notifier = new Notifier({ publisher, ledger, onError: (e) => errors.push(e.message) });
    const notice: Notice = { kind: 'limit-alert', identity: 'a@example.com', reasons: ['limit-day'] };
    assert.equal(await notifier.notify(notice, T0), 'failed');
    assert.deepEqual(errors, ['Rate exceeded']);
    assert.equal(await notifier.notify(notice, T1), 'published', 'the same event (same hour), told now');
    assert.equal(await notifier.notify(notice, T1), 'duplicate', 'and then only once');
    assert.deepEqual(published, ['outbound-pools: Sending limit alert: a@example.com (limit-day)']);
  });
});
