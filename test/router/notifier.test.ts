/**
 * Pipeline hooks → notices (issue 14): the router's observer collects what the pipeline
 * raises and publishes it on flush, once per event, through the real publisher and ledger
 * (SNS emulator, dynalite).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoNoticeLedger } from '../../functions/adapters/dynamo-notice-ledger.js';
import { SnsNoticePublisher } from '../../functions/adapters/sns-notice-publisher.js';
import { createTables } from '../../functions/adapters/tables.js';
import type { Notice } from '../../functions/core/notices.js';
import { combineObservers, Notifier, noticeObserver } from '../../functions/router/notifier.js';
import type { PipelineObserver } from '../../functions/router/process.js';
import {
  EMULATOR_CREDENTIALS,
  EMULATOR_NOTICE_TOPIC_ARN,
  type Emulators,
  startEmulators,
} from '../../sandbox/emulators/index.js';

describe('noticeObserver', () => {
  let emu: Emulators;
  let ddb: DynamoDBClient;
  before(async () => {
    emu = await startEmulators();
    ddb = new DynamoDBClient(emu.clientConfig('dynamodb'));
    await createTables(ddb, { limits: 'notice-limits' });
  });
  after(async () => {
    ddb?.destroy();
    await emu?.stop();
  });

  const make = (now: Date) =>
    noticeObserver(
      new Notifier({
        publisher: new SnsNoticePublisher({
          topicArn: EMULATOR_NOTICE_TOPIC_ARN,
          region: 'us-east-1',
          endpoint: emu.sns.endpoint,
          credentials: { ...EMULATOR_CREDENTIALS },
        }),
        ledger: new DynamoNoticeLedger({ client: ddb, tableName: 'notice-limits' }),
      }),
      () => now,
    );

  it('restrictions and alerts raised during a message are published on flush, each event once', async () => {
    emu.sns.clear();
    const now = new Date('2026-12-06T10:15:00Z');
    const a = make(now);
    const b = make(now); // another container
    for (const n of [a, b]) {
      n.observer.restricted?.({
        identity: 'bulk@example.com',
        reason: 'limit-day',
        since: now.toISOString(),
        until: '2026-12-07T00:00:00.000Z',
      });
      n.observer.alert?.('quiet@example.com', ['limit-external-hour']);
      n.observer.alert?.('quiet@example.com', ['limit-external-hour']);
    }
    assert.equal(emu.sns.published().length, 0, 'nothing before flush');
    await Promise.all([a.flush(), b.flush()]);
    const kinds = emu.sns
      .published()
      .map((p) => JSON.parse(p.message).notice)
      .map((n: { kind: string; identity: string }) => `${n.kind} ${n.identity}`)
      .sort();
    assert.deepEqual(kinds, ['limit-alert quiet@example.com', 'sender-restricted bulk@example.com']);
    // An hour later the same sender's alert is a new event.
    const later = make(new Date('2026-12-06T11:00:00Z'));
    later.observer.alert?.('quiet@example.com', ['limit-external-hour']);
    await later.flush();
    assert.equal(emu.sns.published().length, 3);
  });

  it('a failed publish gives its key back; a key that cannot be given back is reported too', async () => {
    const released: string[] = [];
    const ledger = {
      claim: async () => true,
      release: async (key: string, claimedAt: Date) => {
        released.push(`${key} ${claimedAt.toISOString()}`);
        throw new Error('dynamodb down');
      },
    };
    const errors: string[] = [];
    const notifier = new Notifier({
      publisher: { publish: async () => Promise.reject(new Error('sns down')) },
      ledger,
      onError: (e, n) => errors.push(`${n.kind}: ${e.message}`),
    });
    const now = new Date('2026-12-06T10:15:00Z');
    const alert: Notice = { kind: 'limit-alert', identity: 'q@example.com', reasons: ['limit-day'] };
    assert.equal(await notifier.notify(alert, now), 'failed', 'never thrown by notify');
    assert.deepEqual(released, ['limit-alert#q@example.com#2026-12-06T10 2026-12-06T10:15:00.000Z']);
    assert.deepEqual(errors, [
      'limit-alert: notice key limit-alert#q@example.com#2026-12-06T10 not released: dynamodb down',
      'limit-alert: sns down',
    ]);
    // `tell` throws the publish error itself.
    await assert.rejects(notifier.tell(alert, now), /sns down/);
  });

  it('combineObservers calls every observer that has the hook, in order', () => {
    const calls: string[] = [];
    const first: PipelineObserver = { duplicate: (id) => calls.push(`first ${id}`) };
    const second: PipelineObserver = {
      duplicate: (id) => calls.push(`second ${id}`),
      warn: (m) => calls.push(`warn ${m}`),
    };
    const both = combineObservers(first, undefined, second);
    both.duplicate?.('m1');
    both.warn?.('careful', {});
    both.sent?.({} as never);
    assert.deepEqual(calls, ['first m1', 'second m1', 'warn careful']);
  });
});
