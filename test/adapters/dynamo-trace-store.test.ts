import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  DynamoDBClient,
  QueryCommand as RawQueryCommand,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoTraceStore } from '../../functions/adapters/dynamo-trace-store.js';
import { createTables } from '../../functions/adapters/tables.js';
import {
  MAX_EVENTS_PER_MESSAGE,
  MAX_EVENTS_PER_SEARCH_RESULT,
} from '../../functions/adapters/trace-events.js';
import type { PlannedSend } from '../../functions/core/decide.js';
import { InvalidInputError, LeaseLostError, TransientDependencyError } from '../../functions/core/errors.js';
import type { DeliveryEvent, SendRecord, TraceSummary } from '../../functions/core/ports.js';
import { lookUpTrace } from '../../functions/trace-api/lookup.js';
import { type DynamoDbEmulator, EMULATOR_CREDENTIALS, startDynamoDb } from '../../sandbox/emulators/index.js';

const TABLE = 'trace';
const RETENTION_DAYS = 30;
const LEASE_MS = 60_000;

const at = (iso: string) => new Date(iso);
const epoch = (iso: string) => Math.floor(Date.parse(iso) / 1000);

function planned(to: string[]): PlannedSend {
  return {
    kind: 'forward',
    to,
    pool: 'normal',
    configurationSet: 'pool-normal',
    envelopeFrom: 'alice@example.com',
    from: 'Alice <alice@example.com>',
    fromRewritten: false,
    replyTo: null,
    identity: 'alice@example.com',
  };
}

function summary(messageId: string, receivedAt: string, over: Partial<TraceSummary> = {}): TraceSummary {
  const destinations = over.destinations ?? ['bob@rcpt.example'];
  return {
    messageId,
    receivedAt,
    sender: 'alice@example.com',
    recipients: ['bob@rcpt.example'],
    destinations,
    unrouted: [],
    pool: 'normal',
    outboundIpPoolName: 'pool-normal-ips',
    configurationSet: 'pool-normal',
    reasons: ['accepted-domain'],
    plan: [planned(destinations)],
    sizeBytes: 1234,
    decisionMs: 7,
    ...over,
  };
}

function sendRecord(
  index: number,
  status: SendRecord['status'] = 'sent',
  over: Partial<SendRecord> = {},
): SendRecord {
  return {
    index,
    kind: 'forward',
    to: ['bob@rcpt.example'],
    pool: 'normal',
    configurationSet: 'pool-normal',
    envelopeFrom: 'alice@example.com',
    status,
    at: '2025-03-10T10:00:01.000Z',
    ...(status === 'sent' ? { sesMessageId: `ses-${index}` } : { error: 'MessageRejected' }),
    ...over,
  };
}

describe('DynamoTraceStore (dynalite)', () => {
  let emu: DynamoDbEmulator;
  let ddb: DynamoDBClient;
  let store: DynamoTraceStore;
  const newStore = (client: DynamoDBClient | DynamoDBDocumentClient = ddb) =>
    new DynamoTraceStore({ client, tableName: TABLE, retentionDays: RETENTION_DAYS });
  const itemsOf = async (messageId: string) =>
    (
      await DynamoDBDocumentClient.from(ddb).send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `M#${messageId}` },
        }),
      )
    ).Items ?? [];

  before(async () => {
    emu = await startDynamoDb();
    ddb = new DynamoDBClient({
      endpoint: emu.endpoint,
      region: 'us-east-1',
      credentials: { ...EMULATOR_CREDENTIALS },
    });
    await createTables(ddb, { trace: TABLE });
    store = newStore();
  });
  after(async () => {
    ddb?.destroy();
    await emu?.stop();
  });

  it('claim → recordSend → done costs 2 writes; a duplicate then says done', async () => {
    const id = 'msg-done';
    const now = at('2025-03-10T10:00:00Z');
    const s = summary(id, '2025-03-10T09:59:59.500Z');
    emu.resetCounts();
    assert.deepEqual(await store.claim(id, now, LEASE_MS), { state: 'claimed', attempt: 1, resumed: null });
    await store.recordSend(id, 1, sendRecord(0), s, true);
    assert.deepEqual(emu.requests(), { UpdateItem: 2 }, 'claim (1) + recordSend (1)');

    emu.resetCounts();
    assert.deepEqual(await store.claim(id, at('2025-03-10T10:05:00Z'), LEASE_MS), { state: 'done' });
    assert.deepEqual(emu.requests(), { UpdateItem: 1, GetItem: 1 }, 'the GetItem only on the duplicate path');

    const record = await store.get(id);
    assert.ok(record);
    assert.equal(record.status, 'done');
    assert.equal(record.attempt, 1);
    assert.equal(record.leaseUntil, '2025-03-10T10:01:00.000Z');
    assert.equal(record.receivedAt, s.receivedAt);
    assert.equal(record.expiresAt, epoch(s.receivedAt) + RETENTION_DAYS * 86_400);
    assert.deepEqual(record.summary, s);
    assert.deepEqual(record.sends, [sendRecord(0)]);
    assert.deepEqual(record.events, []);
    const [item, ...others] = await itemsOf(id);
    assert.deepEqual(others, [], 'one item per message');
    // Issue 16: one index key, the pool/day/shard partition, and no other.
    assert.match(String(item?.gsiPool), /^normal#2025-03-10#[0-3]$/);
    assert.deepEqual(
      Object.keys(item ?? {}).filter((k) => k.startsWith('gsi')),
      ['gsiPool'],
    );
    assert.deepEqual(
      await store
        .query({ recipient: 'bob@rcpt.example', since: '2025-03-10', until: '2025-03-11' })
        .then((r) => r.map((x) => x.messageId)),
      [id],
    );
    assert.equal(item?.status, 'done');
  });

  it('a live lease is busy; a message never seen and a blocked one cost one write each', async () => {
    const id = 'msg-busy';
    await store.claim(id, at('2025-03-10T10:00:00Z'), LEASE_MS);
    assert.deepEqual(await store.claim(id, at('2025-03-10T10:00:30Z'), LEASE_MS), {
      state: 'busy',
      leaseUntil: '2025-03-10T10:01:00.000Z',
    });
    assert.deepEqual(await store.claim(id, at('2025-03-10T10:01:00Z'), LEASE_MS), {
      state: 'busy',
      leaseUntil: '2025-03-10T10:01:00.000Z',
    });

    emu.resetCounts();
    const blocked = 'msg-blocked';
    await store.claim(blocked, at('2025-03-10T10:00:00Z'), LEASE_MS);
    const s = summary(blocked, '2025-03-10T10:00:00.000Z', {
      pool: 'blocked',
      outboundIpPoolName: null,
      configurationSet: null,
      reasons: ['virus'],
      plan: [],
    });
    await store.recordSend(blocked, 1, null, s, true);
    assert.deepEqual(emu.requests(), { UpdateItem: 2 });
    assert.deepEqual((await store.get(blocked))?.summary, s);
  });

  it('an expired lease is taken over: attempt 2 resumes with the sent records; the stale attempt is fenced', async () => {
    const id = 'msg-crash';
    const s = summary(id, '2025-03-10T10:00:00.000Z', {
      destinations: ['bob@rcpt.example', 'carol@rcpt.example'],
      plan: [planned(['bob@rcpt.example']), planned(['carol@rcpt.example'])],
    });
    assert.equal((await store.claim(id, at('2025-03-10T10:00:00Z'), LEASE_MS)).state, 'claimed');
    await store.recordSend(id, 1, sendRecord(0), s, false);
    await store.recordSend(id, 1, sendRecord(1, 'failed'), null, false);
    // attempt 1 crashes; its lease runs out.
    const takeover = await store.claim(id, at('2025-03-10T10:01:00.001Z'), LEASE_MS);
    assert.deepEqual(takeover, {
      state: 'claimed',
      attempt: 2,
      resumed: { summary: s, sent: [sendRecord(0)] },
    });

    await assert.rejects(store.recordSend(id, 1, sendRecord(1), null, false), (err: unknown) => {
      assert.ok(err instanceof LeaseLostError);
      assert.equal(err.messageId, id);
      assert.equal(err.retryable, true);
      assert.equal((err.cause as Error).name, 'ConditionalCheckFailedException');
      return true;
    });
    await assert.rejects(store.recordSend(id, 1, null, null, true), LeaseLostError);

    await store.recordSend(id, 2, sendRecord(1, 'sent', { at: '2025-03-10T10:01:02.000Z' }), null, true);
    const record = await store.get(id);
    assert.equal(record?.status, 'done');
    assert.equal(record?.attempt, 2);
    assert.deepEqual(record?.sends, [
      sendRecord(0),
      sendRecord(1, 'sent', { at: '2025-03-10T10:01:02.000Z' }),
    ]);
    assert.deepEqual(await store.claim(id, at('2025-03-10T11:00:00Z'), LEASE_MS), { state: 'done' });

    // A crash before the decision was recorded: the takeover starts afresh.
    const early = 'msg-early-crash';
    await store.claim(early, at('2025-03-10T10:00:00Z'), LEASE_MS);
    assert.deepEqual(await store.claim(early, at('2025-03-10T10:02:00Z'), LEASE_MS), {
      state: 'claimed',
      attempt: 2,
      resumed: null,
    });
    const rec = await store.get(early);
    assert.equal(rec?.receivedAt, '2025-03-10T10:00:00.000Z', 'receivedAt kept from the first claim');
    assert.equal(rec?.summary, null);

    await assert.rejects(store.recordSend('never-claimed', 1, sendRecord(0), null, false), LeaseLostError);
  });

  it('release: only the attempt holding the message ends its lease, so a retry claims it at once', async () => {
    const id = 'msg-release';
    const t0 = at('2025-03-10T10:00:00Z');
    const failedAt = at('2025-03-10T10:00:05Z');
    await store.claim(id, t0, LEASE_MS);
    await store.recordSend(id, 1, sendRecord(0), summary(id, t0.toISOString()), false);
    assert.equal(await store.release(id, 2, failedAt), false, 'not the holder: refused');
    assert.equal((await store.get(id))?.leaseUntil, '2025-03-10T10:01:00.000Z', 'lease untouched');

    emu.resetCounts();
    assert.equal(await store.release(id, 1, failedAt), true);
    assert.deepEqual(emu.requests(), { UpdateItem: 1 });
    const released = await store.get(id);
    assert.deepEqual(
      [released?.status, released?.attempt, released?.leaseUntil, released?.sends.length],
      ['in-progress', 1, failedAt.toISOString(), 1],
      'lease ended at the failure; the plan and the sends are kept',
    );

    // A retry long before the lease would have run out takes over and resumes.
    const retry = await store.claim(id, at('2025-03-10T10:00:06Z'), LEASE_MS);
    assert.equal(retry.state, 'claimed');
    assert.equal(retry.state === 'claimed' && retry.attempt, 2);
    assert.equal(retry.state === 'claimed' && retry.resumed?.sent.length, 1);
    // The old attempt can no longer release the new holder's lease.
    assert.equal(await store.release(id, 1, at('2025-03-10T10:00:07Z')), false);
    assert.equal((await store.get(id))?.leaseUntil, '2025-03-10T10:01:06.000Z');
    // A done message is not released (nothing to retry), an unknown one is not created.
    await store.recordSend(id, 2, null, null, true);
    assert.equal(await store.release(id, 2, at('2025-03-10T10:00:08Z')), false);
    assert.equal((await store.get(id))?.status, 'done');
    assert.equal(await store.release('msg-never-claimed', 1, failedAt), false);
    assert.deepEqual(await itemsOf('msg-never-claimed'), []);
  });

  it('appends delivery events; unknown messages answer false and create nothing', async () => {
    const id = 'msg-events';
    await store.claim(id, at('2025-03-10T10:00:00Z'), LEASE_MS);
    await store.recordSend(id, 1, sendRecord(0), summary(id, '2025-03-10T10:00:00.000Z'), true);
    const send: DeliveryEvent = {
      type: 'Send',
      at: '2025-03-10T10:00:02.000Z',
      sesMessageId: 'ses-0',
      recipients: ['bob@rcpt.example'],
    };
    const bounce: DeliveryEvent = {
      type: 'Bounce',
      at: '2025-03-10T10:00:05.000Z',
      sesMessageId: 'ses-0',
      recipients: ['bob@rcpt.example'],
      detail: 'Permanent/General: 550 5.1.1 user unknown',
    };
    const { detail: _, ...bounceWithoutDetail } = bounce;
    // Appended out of order: shown oldest first.
    assert.equal(await store.appendEvent(id, bounce), true);
    assert.equal(await store.appendEvent(id, send), true);
    // An explicit undefined member is dropped, whatever client was injected.
    assert.equal(
      await store.appendEvent(id, { ...bounce, at: '2025-03-10T10:00:04.000Z', detail: undefined }),
      true,
    );
    // The same event delivered again (EventBridge delivers at least once) is recorded once.
    emu.resetCounts();
    assert.equal(await store.appendEvent(id, bounce), true);
    assert.deepEqual(emu.requests(), { GetItem: 1, PutItem: 1 }, 'one read, one small write');
    const record = await store.get(id);
    assert.deepEqual(record?.events, [
      send,
      { ...bounceWithoutDetail, at: '2025-03-10T10:00:04.000Z' },
      bounce,
    ]);
    assert.equal(record?.eventsTruncated, false);
    // Each event is an item of its own, with the message's TTL and no index key.
    const eventItems = (await itemsOf(id)).filter((item) => String(item.sk).startsWith('E#'));
    assert.equal(eventItems.length, 3);
    for (const item of eventItems) {
      assert.equal(item.expiresAt, record?.expiresAt);
      assert.ok(!('gsiPool' in item || 'receivedAt' in item));
    }
    assert.equal(await store.appendEvent('msg-unknown', send), false);
    assert.equal(await store.get('msg-unknown'), null);
    assert.deepEqual(await itemsOf('msg-unknown'), []);
  });

  describe('1,000 delivery events on one message (a 50-recipient copy)', () => {
    const id = 'msg-1000-events';
    const fifty = Array.from({ length: 50 }, (_, k) => `member-${String(k).padStart(2, '0')}@list.example`);
    const types = ['Send', 'DeliveryDelay', 'Delivery', 'Bounce'] as const;
    /** Events as SES reports them for one copy: the Send and each delay name all 50 recipients. */
    const events: DeliveryEvent[] = Array.from({ length: 1_000 }, (_, k) => {
      const type = types[k % types.length]!;
      const whole = type === 'Send' || type === 'DeliveryDelay';
      return {
        type,
        at: new Date(Date.parse('2025-03-12T10:00:00.000Z') + k * 1_000).toISOString(),
        sesMessageId: 'ses-0',
        recipients: whole ? fifty : [fifty[k % 50]!],
        ...(type === 'Bounce' ? { detail: `Transient/General: 452 4.2.2 mailbox full (${k})` } : {}),
        ...(type === 'DeliveryDelay' ? { detail: 'MailboxFull' } : {}),
      };
    });
    const byteLength = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

    before(async () => {
      await store.claim(id, at('2025-03-12T10:00:00Z'), LEASE_MS);
      const s = summary(id, '2025-03-12T10:00:00.000Z', {
        recipients: ['list@corp.example'],
        destinations: fifty,
      });
      await store.recordSend(id, 1, sendRecord(0, 'sent', { to: fifty }), s, true);
      // In a shuffled order and 20 at a time, as concurrent feedback invocations file them.
      const order = events.map((_, k) => (k * 7919) % events.length);
      assert.equal(new Set(order).size, events.length);
      for (let i = 0; i < order.length; i += 20) {
        const batch = order.slice(i, i + 20);
        const answers = await Promise.all(batch.map((k) => store.appendEvent(id, events[k]!)));
        assert.ok(answers.every(Boolean), `events ${batch.join(', ')}`);
      }
    });

    it('the events alone are more than one item may hold: as a list on one item they are refused', async () => {
      assert.ok(byteLength(events) > 400 * 1024, `${byteLength(events)} bytes of events`);
      // The layout this replaces, on dynalite's own 400 KB item check.
      await assert.rejects(
        DynamoDBDocumentClient.from(ddb).send(
          new PutCommand({ TableName: TABLE, Item: { pk: 'M#legacy-list', sk: 'MSG', events } }),
        ),
        /exceeded the maximum allowed size/,
      );
    });

    it('every item of the message stays far below 400 KB, and each event is one item', async () => {
      const items = await itemsOf(id);
      assert.equal(items.filter((item) => String(item.sk).startsWith('E#')).length, 1_000);
      const largest = Math.max(...items.map(byteLength));
      assert.ok(largest < 8 * 1024, `largest item ${largest} bytes`);
    });

    it('a message-id lookup shows all 1,000, oldest first; the trace report attaches them to the send', async () => {
      const record = await store.get(id);
      assert.ok(record);
      assert.deepEqual(record.events, events);
      assert.equal(record.eventsTruncated, false);
      const [report] = await lookUpTrace(store, { kind: 'message', messageId: id });
      assert.equal(report?.sends[0]?.events.length, 1_000);
      assert.deepEqual(
        report?.sends[0]?.events.slice(0, 2).map((e) => [e.type, e.recipients.length]),
        [
          ['Send', 50],
          ['DeliveryDelay', 50],
        ],
      );
      assert.equal(report?.eventsTruncated, false);
    });

    it('a search shows the newest events of each message and says the older ones are left out', async () => {
      const [found] = await store.query({
        recipient: 'list@corp.example',
        since: '2025-03-12',
        until: '2025-03-13',
      });
      assert.equal(found?.messageId, id);
      assert.deepEqual(found?.events, events.slice(-MAX_EVENTS_PER_SEARCH_RESULT));
      assert.equal(found?.eventsTruncated, true);
    });

    it('past the bound a lookup shows the newest 1,000 and says so; the message item never grew', async () => {
      const extra: DeliveryEvent = { ...events[2]!, at: '2025-03-12T11:00:00.000Z' };
      const before = byteLength((await itemsOf(id)).find((item) => item.sk === 'MSG'));
      assert.equal(await store.appendEvent(id, extra), true);
      const record = await store.get(id);
      assert.equal(record?.events.length, MAX_EVENTS_PER_MESSAGE);
      assert.deepEqual(record?.events.at(-1), extra);
      assert.deepEqual(record?.events[0], events[1]);
      assert.equal(record?.eventsTruncated, true);
      assert.equal(byteLength((await itemsOf(id)).find((item) => item.sk === 'MSG')), before);
    });
  });

  describe('one index entry per message, and searches over a window', () => {
    const many = Array.from({ length: 30 }, (_, k) => `d${k}@list.example`);
    const m1 = summary('q1', '2025-03-11T08:00:00.000Z', {
      sender: 'Alice@Q.example',
      recipients: ['team@corp.example'],
      destinations: ['Bob@Q.example', 'carol@q.example'],
    });
    const m2 = summary('q2', '2025-03-11T09:00:00.000Z', {
      sender: 'alice@q.example',
      recipients: ['bob@q.example', 'dave@z.example'],
      destinations: ['bob@q.example', 'dave@z.example'],
    });
    const m3 = summary('q3', '2025-03-11T10:00:00.000Z', {
      sender: 'other@q.example',
      recipients: ['bob@q.example'],
      destinations: many,
      pool: 'high-risk',
      reasons: ['spam'],
    });
    const m4 = summary('q4', '2025-03-11T11:00:00.000Z', {
      sender: '',
      recipients: ['bob@q.example'],
      destinations: ['bob@q.example'],
    });
    /** The day of the four messages: every search names its window. */
    const DAY = { since: '2025-03-11T00:00:00Z', until: '2025-03-11T23:59:59Z' };
    const ids = (records: { messageId: string }[]) => records.map((r) => r.messageId);

    before(async () => {
      const now = at('2025-03-11T12:00:00Z');
      // q1, q4: summary and send in one final call.
      for (const s of [m1, m4]) {
        await store.claim(s.messageId, now, LEASE_MS);
        await store.recordSend(s.messageId, 1, sendRecord(0), s, true);
      }
      // q2: the summary in a first call, final by another container (no memory of its plan).
      await store.claim('q2', now, LEASE_MS);
      await store.recordSend('q2', 1, sendRecord(0), m2, false);
      await newStore().recordSend('q2', 1, sendRecord(1), null, true);
      // q3: 30 destinations, summary written by an earlier call.
      await store.claim('q3', now, LEASE_MS);
      await store.recordSend('q3', 1, null, m3, false);
      emu.resetCounts();
      await store.recordSend('q3', 1, sendRecord(0, 'sent', { to: many, pool: 'high-risk' }), null, true);
    });

    it('a message is one item whatever its recipients: no pointer items, one final update', async () => {
      assert.deepEqual(emu.requests(), { UpdateItem: 1 }, 'q3: 30 destinations, the final update alone');
      for (const id of ['q1', 'q2', 'q3', 'q4']) {
        const items = await itemsOf(id);
        assert.deepEqual(
          items.map((i) => i.sk),
          ['MSG'],
          id,
        );
        assert.deepEqual(
          Object.keys(items[0] ?? {}).filter((k) => k.startsWith('gsi')),
          ['gsiPool'],
          `${id}: one index key`,
        );
      }
      assert.match(String((await itemsOf('q3'))[0]?.gsiPool), /^high-risk#2025-03-11#[0-3]$/);
      assert.equal((await itemsOf('q4'))[0]?.sender, '<>');
      assert.equal((await itemsOf('q1'))[0]?.sender, 'alice@q.example', 'the sender is stored lower-case');
    });

    it('finds messages by sender, most recent first, case-insensitively', async () => {
      assert.deepEqual(ids(await store.query({ sender: 'ALICE@q.example', ...DAY })), ['q2', 'q1']);
      assert.deepEqual(ids(await store.query({ sender: 'other@q.example', ...DAY })), ['q3']);
      assert.deepEqual(ids(await store.query({ sender: 'nobody@example.com', ...DAY })), []);
      const nullSender = await store.query({ sender: '', ...DAY });
      assert.deepEqual(ids(nullSender), ['q4']);
      assert.equal(nullSender[0]?.summary?.sender, '', 'the null sender reads back as ""');
      assert.deepEqual(ids(await store.query({ sender: '<>', ...DAY })), ['q4']);
      const [q1] = await store.query({
        sender: 'alice@q.example',
        since: DAY.since,
        until: '2025-03-11T08:30:00Z',
      });
      assert.equal(q1?.summary?.sender, 'alice@q.example', 'stored lower-case');
      assert.deepEqual(q1?.summary?.destinations, m1.destinations, 'address lists keep their case');
      assert.equal(q1?.status, 'done');
      assert.deepEqual(q1?.sends, [sendRecord(0)]);
    });

    it('finds messages by recipient or destination, any of 30, deduplicated', async () => {
      // q1 went to Bob@Q.example: found all the same (its lower-case form is in the entry).
      assert.deepEqual(ids(await store.query({ recipient: 'bob@q.example', ...DAY })), [
        'q4',
        'q3',
        'q2',
        'q1',
      ]);
      assert.deepEqual((await itemsOf('q1'))[0]?.lcAddresses, ['bob@q.example']);
      assert.equal((await itemsOf('q2'))[0]?.lcAddresses, undefined, 'none when all are lower-case');
      assert.deepEqual(ids(await store.query({ recipient: 'BOB@q.example', limit: 2, ...DAY })), [
        'q4',
        'q3',
      ]);
      assert.deepEqual(ids(await store.query({ recipient: 'd17@list.example', ...DAY })), ['q3']);
      assert.deepEqual(ids(await store.query({ recipient: 'd29@list.example', ...DAY })), ['q3']);
      assert.deepEqual(ids(await store.query({ recipient: 'dave@z.example', ...DAY })), ['q2']);
      assert.deepEqual(ids(await store.query({ recipient: 'carol@q.example', ...DAY })), ['q1']);
      assert.deepEqual(ids(await store.query({ recipient: 'team@corp.example', ...DAY })), ['q1']);
      assert.deepEqual(ids(await store.query({ recipient: 'nobody@q.example', ...DAY })), []);
      const q2 = (await store.query({ recipient: 'dave@z.example', ...DAY }))[0];
      assert.deepEqual(q2?.sends, [sendRecord(0), sendRecord(1)]);
      assert.deepEqual(q2?.summary, m2);
      const q3 = (await store.query({ recipient: 'd0@list.example', ...DAY }))[0];
      assert.deepEqual(q3?.summary, m3);
      assert.deepEqual(q3?.sends, [sendRecord(0, 'sent', { to: many, pool: 'high-risk' })]);
    });

    it('combines recipient with sender, pool, reason and a time range (inclusive bounds)', async () => {
      assert.deepEqual(
        ids(await store.query({ recipient: 'bob@q.example', sender: 'alice@q.example', ...DAY })),
        ['q2', 'q1'],
      );
      assert.deepEqual(
        ids(await store.query({ recipient: 'bob@q.example', since: m2.receivedAt, until: m3.receivedAt })),
        ['q3', 'q2'],
      );
      assert.deepEqual(
        ids(
          await store.query({
            recipient: 'bob@q.example',
            since: new Date('2025-03-11T09:30:00Z'),
            until: DAY.until,
          }),
        ),
        ['q4', 'q3'],
      );
      assert.deepEqual(
        ids(
          await store.query({ sender: 'alice@q.example', since: DAY.since, until: '2025-03-11T08:59:59Z' }),
        ),
        ['q1'],
      );
      assert.deepEqual(ids(await store.query({ recipient: 'bob@q.example', sender: '<>', ...DAY })), ['q4']);
      assert.deepEqual(ids(await store.query({ recipient: 'bob@q.example', pool: 'high-risk', ...DAY })), [
        'q3',
      ]);
      assert.deepEqual(ids(await store.query({ recipient: 'bob@q.example', reason: 'spam', ...DAY })), [
        'q3',
      ]);
      assert.deepEqual(ids(await store.query({ pool: 'normal', ...DAY })), ['q4', 'q2', 'q1']);
    });

    it('without since/until a search covers the 24 hours up to the store clock', async () => {
      const clocked = (iso: string) =>
        new DynamoTraceStore({
          client: ddb,
          tableName: TABLE,
          retentionDays: RETENTION_DAYS,
          clock: () => at(iso),
        });
      assert.deepEqual(ids(await clocked('2025-03-11T12:00:00Z').query({ sender: 'alice@q.example' })), [
        'q2',
        'q1',
      ]);
      // 24 hours after 09:00 reaches back to q2 only.
      assert.deepEqual(ids(await clocked('2025-03-12T08:30:00Z').query({ sender: 'alice@q.example' })), [
        'q2',
      ]);
      assert.deepEqual(ids(await clocked('2025-03-13T00:00:00Z').query({ sender: 'alice@q.example' })), []);
    });

    it('pages through the window until the limit is reached after filtering', async () => {
      const now = at('2025-03-12T12:00:00Z');
      for (let k = 0; k < 7; k++) {
        const id = `page-${k}`;
        const s = summary(id, `2025-03-12T0${k}:00:00.000Z`, {
          sender: k < 2 ? 'wanted@example.com' : 'noise@example.com',
          recipients: ['paged@rcpt.example'],
          destinations: ['paged@rcpt.example'],
        });
        await store.claim(id, now, LEASE_MS);
        await store.recordSend(id, 1, null, s, true);
      }
      const window = { since: '2025-03-12T00:00:00Z', until: '2025-03-12T12:00:00Z' };
      assert.deepEqual(ids(await store.query({ recipient: 'paged@rcpt.example', limit: 3, ...window })), [
        'page-6',
        'page-5',
        'page-4',
      ]);
      assert.deepEqual(
        ids(
          await store.query({
            recipient: 'paged@rcpt.example',
            sender: 'wanted@example.com',
            limit: 1,
            ...window,
          }),
        ),
        ['page-1'],
      );
      assert.deepEqual(
        ids(
          await store.query({
            recipient: 'paged@rcpt.example',
            sender: 'wanted@example.com',
            limit: 5,
            ...window,
          }),
        ),
        ['page-1', 'page-0'],
      );
      assert.equal((await store.query({ recipient: 'paged@rcpt.example', ...window })).length, 7);
    });

    it('rejects a query without a criterion, bad times and windows over 31 days', async () => {
      await assert.rejects(store.query({}), InvalidInputError);
      await assert.rejects(store.query({ sender: 'a@b', since: 'yesterday-ish' }), (err: unknown) => {
        assert.ok(err instanceof InvalidInputError);
        assert.match(err.message, /since/);
        return true;
      });
      await assert.rejects(
        store.query({ sender: 'a@b', since: '2025-01-01', until: '2025-03-01' }),
        /at most 31/,
      );
      await assert.rejects(
        store.query({ sender: 'a@b', since: '2025-03-02', until: '2025-03-01' }),
        /after until/,
      );
    });
  });

  describe('SDK faults', () => {
    it('maps throttling to TransientDependencyError and re-throws unknown errors unchanged', async () => {
      const doc = DynamoDBDocumentClient.from(ddb);
      const mock = mockClient(doc);
      const faulty = newStore(doc);
      try {
        const throttled = new ThrottlingException({
          message: 'Rate exceeded',
          $metadata: { httpStatusCode: 400 },
        });
        mock.on(UpdateCommand).rejects(throttled);
        await assert.rejects(faulty.claim('m', at('2025-03-10T10:00:00Z'), LEASE_MS), (err: unknown) => {
          assert.ok(err instanceof TransientDependencyError);
          assert.equal(err.retryable, true);
          assert.equal(err.dependency, 'dynamodb');
          assert.equal(err.cause, throttled);
          return true;
        });
        await assert.rejects(faulty.recordSend('m', 1, sendRecord(0), null, false), TransientDependencyError);
        await assert.rejects(faulty.release('m', 1, at('2025-03-10T10:00:00Z')), TransientDependencyError);
        const event: DeliveryEvent = { type: 'Send', at: '', sesMessageId: '', recipients: [] };
        // appendEvent: the read of the main item, then the put of the event item.
        mock.on(GetCommand).rejects(throttled);
        await assert.rejects(faulty.appendEvent('m', event), {
          name: 'TransientDependencyError',
          retryable: true,
        });
        mock.on(GetCommand).resolves({ Item: { pk: 'M#m', expiresAt: 1 } });
        mock.on(PutCommand).rejects(throttled);
        await assert.rejects(faulty.appendEvent('m', event), {
          name: 'TransientDependencyError',
          retryable: true,
        });
        mock.on(QueryCommand).rejects(Object.assign(new Error('read ETIMEDOUT'), { code: 'ETIMEDOUT' }));
        await assert.rejects(faulty.get('m'), TransientDependencyError);

        const unknown = Object.assign(new Error('Requested resource not found'), {
          name: 'ResourceNotFoundException',
        });
        mock.reset();
        mock.on(UpdateCommand).rejects(unknown);
        await assert.rejects(
          faulty.claim('m', at('2025-03-10T10:00:00Z'), LEASE_MS),
          (err: unknown) => err === unknown,
        );
        await assert.rejects(faulty.recordSend('m', 1, null, null, true), (err: unknown) => err === unknown);
      } finally {
        mock.restore();
      }
    });

    it('retries UnprocessedKeys of BatchGetItem with backoff', async () => {
      const doc = DynamoDBDocumentClient.from(ddb);
      const mock = mockClient(doc);
      const faulty = newStore(doc);
      const window = {
        sender: 'a@x.example',
        pool: 'normal' as const,
        since: '2025-03-10',
        until: '2025-03-10T23:00:00Z',
      };
      try {
        const key = { pk: 'M#m-batch', sk: 'MSG' };
        const receivedAt = '2025-03-10T10:00:00.000Z';
        const item = { ...key, messageId: 'm-batch', receivedAt, sender: 'a@x.example' };
        const entry = { ...key, gsiPool: 'normal#2025-03-10#0', receivedAt };
        mock.on(QueryCommand).resolves({ Items: [entry] });
        mock
          .on(BatchGetCommand)
          .resolvesOnce({ Responses: { [TABLE]: [] }, UnprocessedKeys: { [TABLE]: { Keys: [key] } } })
          .resolves({ Responses: { [TABLE]: [item] } });
        assert.deepEqual(
          (await faulty.query(window)).map((r) => r.messageId),
          ['m-batch'],
        );
        assert.equal(mock.commandCalls(BatchGetCommand).length, 2);
        mock.reset();
        mock.on(QueryCommand).resolves({ Items: [entry] });
        mock
          .on(BatchGetCommand)
          .resolves({ Responses: { [TABLE]: [] }, UnprocessedKeys: { [TABLE]: { Keys: [key] } } });
        await assert.rejects(faulty.query(window), TransientDependencyError);
      } finally {
        mock.restore();
      }
    });
  });

  it('createTables describes the one index, byPoolDay, sorted by receivedAt and projecting the search fields', async () => {
    const entries = [];
    for (let shard = 0; shard < 4; shard++) {
      const out = await ddb.send(
        new RawQueryCommand({
          TableName: TABLE,
          IndexName: 'byPoolDay',
          KeyConditionExpression: 'gsiPool = :p',
          ExpressionAttributeValues: { ':p': { S: `normal#2025-03-11#${shard}` } },
        }),
      );
      entries.push(...(out.Items ?? []));
    }
    assert.ok(entries.length >= 3, 'q1, q2, q4 are normal mail of 2025-03-11');
    for (const entry of entries) {
      assert.deepEqual(Object.keys(entry).sort(), [
        'destinations',
        'gsiPool',
        ...('lcAddresses' in entry ? ['lcAddresses'] : []),
        'pk',
        'reasons',
        'receivedAt',
        'recipients',
        'sender',
        'sk',
      ]);
    }
  });
});
