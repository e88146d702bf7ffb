/**
 * The sending-limit counters under a burst: 1,000 concurrent `DynamoLimitsStore.count` calls
 * for one sender from 8 store instances (8 "containers", each with its own SDK client)
 * against dynalite. Every increment is counted exactly once, the before-values handed back
 * are exactly 0..N-1 (no two messages saw the same count), and running the pure
 * `evaluateLimits` on each before-state lets exactly `limit` recipients through: the block
 * takes effect at the threshold, not one message early or late, however the calls interleave.
 */
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoLimitsStore } from '../../functions/adapters/dynamo-limits-store.js';
import { createTables } from '../../functions/adapters/tables.js';
import { evaluateLimits, type SenderState } from '../../functions/core/limits.js';
import { type DynamoDbEmulator, EMULATOR_CREDENTIALS, startDynamoDb } from '../../sandbox/emulators/index.js';
import { testConfig } from '../helpers/mail.js';

const TABLE = 'limits-stress';
const CONTAINERS = 8;
const BURST = 1_000;
const LIMIT = 250;

describe('hardening: limit counters under 1,000 concurrent increments', () => {
  let emu: DynamoDbEmulator;
  const clients: DynamoDBClient[] = [];
  const newStore = () => {
    const client = new DynamoDBClient({
      endpoint: emu.endpoint,
      region: 'us-east-1',
      credentials: { ...EMULATOR_CREDENTIALS },
      maxAttempts: 6,
      // Enough sockets for the burst (the default 50 queues the rest and warns).
      requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: BURST / CONTAINERS }) },
    });
    clients.push(client);
    return new DynamoLimitsStore({ client, tableName: TABLE, restrictionCacheMs: 0 });
  };

  before(async () => {
    emu = await startDynamoDb();
    const admin = new DynamoDBClient({
      endpoint: emu.endpoint,
      region: 'us-east-1',
      credentials: { ...EMULATOR_CREDENTIALS },
    });
    clients.push(admin);
    await createTables(admin, { limits: TABLE });
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await emu?.stop();
  });

  it('counts every increment exactly once and blocks exactly at the threshold', async () => {
    // Prepare: a policy of LIMIT external recipients an hour; 8 containers.
    const config = testConfig({
      limits: {
        default: {
          externalPerHour: LIMIT,
          internalPerHour: 100_000,
          perDay: 100_000,
          recipientsPerMessage: 10,
          action: 'block-for-today',
        },
        service: { recipientsPer24Hours: 1_000_000 },
      },
    });
    const stores = Array.from({ length: CONTAINERS }, newStore);
    const identity = 'burst@example.com';
    const now = new Date('2026-11-23T10:15:00.000Z');
    const usage = { identity, external: 1, internal: 0 };

    // Act: 1,000 messages of one recipient each, all in flight at once, spread over containers.
    const states: SenderState[] = await Promise.all(
      Array.from({ length: BURST }, (_, k) => stores[k % CONTAINERS]!.count(usage, now)),
    );

    // Assess: the before-values are a permutation of 0..N-1 for every counter.
    const sorted = (f: (s: SenderState) => number) => states.map(f).sort((a, b) => a - b);
    const expected = Array.from({ length: BURST }, (_, k) => k);
    assert.deepEqual(
      sorted((s) => s.counters.externalHour),
      expected,
    );
    assert.deepEqual(
      sorted((s) => s.counters.day),
      expected,
    );
    assert.deepEqual(
      sorted((s) => s.counters.rolling24h),
      expected,
    );
    assert.ok(states.every((s) => s.counters.internalHour === 0));
    const stored = await stores[0]!.peek(identity, now);
    assert.deepEqual(stored?.counters, {
      externalHour: BURST,
      internalHour: 0,
      day: BURST,
      rolling24h: BURST,
    });

    // The decision on each before-state: exactly LIMIT recipients pass, the first LIMIT counted.
    const verdicts = states.map((s) => ({
      before: s.counters.externalHour,
      v: evaluateLimits(config, usage, s, now),
    }));
    const passed = verdicts.filter(({ v }) => v.crossed.length === 0);
    assert.equal(passed.length, LIMIT);
    assert.deepEqual(
      passed.map(({ before }) => before).sort((a, b) => a - b),
      Array.from({ length: LIMIT }, (_, k) => k),
    );
    const blocked = verdicts.filter(({ v }) => v.effect === 'block');
    assert.equal(blocked.length, BURST - LIMIT);
    assert.ok(blocked.every(({ before, v }) => before >= LIMIT && v.crossed.includes('limit-external-hour')));
    // The message that crossed first asks for the restriction (block-for-today, until midnight).
    const first = verdicts.find(({ before }) => before === LIMIT)!;
    assert.equal(first.v.restrict?.until, '2026-11-24T00:00:00.000Z');
  });

  it('stays exact when the burst straddles an hour boundary from containers that never saw the sender', async () => {
    // Prepare: fresh containers (no remembered window); half the burst at 10:59:59.9, half at 11:00.
    const stores = Array.from({ length: CONTAINERS }, newStore);
    const identity = 'rollover@example.com';
    const early = new Date('2026-11-23T10:59:59.900Z');
    const late = new Date('2026-11-23T11:00:00.000Z');
    // 400, not the 1,000 above: every increment that meets the rolled window is retried, which
    // made this case 3-4× the cost of the first (14 s of the suite) for no other interleaving.
    const n = 400;

    // Act: interleaved, so the window rolls while increments of the old hour are still landing.
    const results = await Promise.all(
      Array.from({ length: n }, (_, k) =>
        stores[k % CONTAINERS]!.count(
          { identity, external: 1, internal: 1 },
          k % 2 === 0 ? early : late,
        ).then((s) => ({ k, s })),
      ),
    );

    // Assess: nothing lost or counted twice — the day total and the rolling 24 hours hold all
    // 2 × n recipients, and each message saw a distinct day count.
    const stored = await stores[0]!.peek(identity, late);
    assert.equal(stored?.counters.day, 2 * n);
    assert.equal(stored?.counters.rolling24h, 2 * n);
    const days = results.map(({ s }) => s.counters.day).sort((a, b) => a - b);
    assert.deepEqual(
      days,
      Array.from({ length: n }, (_, k) => 2 * k),
    );
    // The new hour holds every late message, plus the early ones that landed after the roll
    // (a clock behind the stored window counts into it, never resets it).
    const newHour = stored?.counters.externalHour ?? 0;
    assert.ok(newHour >= n / 2 && newHour <= n, `external this hour: ${newHour}`);
    const rolledBack = results.filter(({ k, s }) => k % 2 === 1 && s.counters.externalHour >= n);
    assert.equal(rolledBack.length, 0);
  });
});
