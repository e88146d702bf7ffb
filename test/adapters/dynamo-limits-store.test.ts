import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import {
  BLOCK_UNTIL,
  DynamoLimitsStore,
  LIMITS_TTL_SECONDS,
  PIN_EPOCH_SECONDS,
} from '../../functions/adapters/dynamo-limits-store.js';
import { createTables } from '../../functions/adapters/tables.js';
import { TransientDependencyError } from '../../functions/core/errors.js';
import type { Restriction, SenderCounters } from '../../functions/core/limits.js';
import { type DynamoDbEmulator, EMULATOR_CREDENTIALS, startDynamoDb } from '../../sandbox/emulators/index.js';

const TABLE = 'limits';

const at = (iso: string) => new Date(iso);
const epoch = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const counters = (
  externalHour: number,
  internalHour: number,
  day: number,
  rolling24h: number,
): SenderCounters => ({
  externalHour,
  internalHour,
  day,
  rolling24h,
});

describe('DynamoLimitsStore (dynalite)', () => {
  let emu: DynamoDbEmulator;
  const clients: DynamoDBClient[] = [];
  let ddb: DynamoDBClient;
  const newClient = () => {
    const c = new DynamoDBClient({
      endpoint: emu.endpoint,
      region: 'us-east-1',
      credentials: { ...EMULATOR_CREDENTIALS },
    });
    clients.push(c);
    return c;
  };
  const newStore = (restrictionCacheMs?: number, client: DynamoDBClient = ddb) =>
    new DynamoLimitsStore({ client, tableName: TABLE, restrictionCacheMs });
  const raw = async (identity: string) =>
    (
      await DynamoDBDocumentClient.from(ddb).send(
        new GetCommand({ TableName: TABLE, Key: { pk: `S#${identity}` } }),
      )
    ).Item ?? {};
  const updates = () => emu.requests();

  before(async () => {
    emu = await startDynamoDb();
    ddb = newClient();
    await createTables(ddb, { limits: TABLE });
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await emu?.stop();
  });

  it('counts a new identity with 2 requests, then exactly 1 UpdateItem per message, returning before-values', async () => {
    const store = newStore();
    const id = 'steady@corp.example';
    emu.resetCounts();
    const first = await store.count({ identity: id, external: 2, internal: 1 }, at('2025-03-10T10:05:00Z'));
    assert.deepEqual(first, { counters: counters(0, 0, 0, 0), restriction: null, releasedAt: null });
    assert.deepEqual(updates(), { UpdateItem: 2 }, 'fast path fails, path B creates the item');

    emu.resetCounts();
    const second = await store.count({ identity: id, external: 1, internal: 0 }, at('2025-03-10T10:06:00Z'));
    assert.deepEqual(second.counters, counters(2, 1, 3, 3));
    const third = await store.count({ identity: id, external: 0, internal: 4 }, at('2025-03-10T10:07:00Z'));
    assert.deepEqual(third.counters, counters(3, 1, 4, 4));
    for (let k = 0; k < 20; k++) {
      const s = await store.count({ identity: id, external: 1, internal: 1 }, at('2025-03-10T10:30:00Z'));
      assert.deepEqual(s.counters, counters(3 + k, 5 + k, 8 + 2 * k, 8 + 2 * k));
    }
    assert.deepEqual(updates(), { UpdateItem: 22 }, 'one UpdateItem per count, no reads');

    const peek = await store.peek(id, at('2025-03-10T10:59:59Z'));
    assert.deepEqual(peek, { counters: counters(23, 25, 48, 48), restriction: null, releasedAt: null });
    assert.deepEqual(await store.peek(id, at('2025-03-10T11:00:00Z')), {
      counters: counters(0, 0, 48, 48),
      restriction: null,
      releasedAt: null,
    });
    assert.equal(await store.peek('nobody@corp.example', at('2025-03-10T11:00:00Z')), null);
    const item = await raw(id);
    assert.equal(item.identity, id);
    assert.equal(item.hk, '2025-03-10T10');
    assert.equal(item.dk, '2025-03-10');
    assert.equal(item.h10, 48);
    assert.equal(item.k10, '2025-03-10T10');
    assert.equal(item.expiresAt, epoch('2025-03-10T10:30:00Z') + LIMITS_TTL_SECONDS);
  });

  it('rolls the hour and the day with one request each, keeping a rolling 24 hours', async () => {
    const store = newStore();
    const id = 'roll@corp.example';
    const count = (iso: string, external: number, internal = 0) =>
      store.count({ identity: id, external, internal }, at(iso));
    await count('2025-03-10T10:00:00Z', 5);
    assert.deepEqual((await count('2025-03-10T10:59:59Z', 1, 1)).counters, counters(5, 0, 5, 5));

    emu.resetCounts();
    // New hour, same day: path A first (this container saw the item in the previous hour).
    assert.deepEqual((await count('2025-03-10T11:00:00Z', 4)).counters, counters(0, 0, 7, 7));
    assert.deepEqual(updates(), { UpdateItem: 1 });
    assert.deepEqual((await count('2025-03-10T11:10:00Z', 1)).counters, counters(4, 0, 11, 11));
    assert.deepEqual((await count('2025-03-10T20:00:00Z', 3)).counters, counters(0, 0, 12, 12));

    emu.resetCounts();
    // New day: path B first; yesterday's 10:00..20:00 are still inside the rolling 24 hours.
    assert.deepEqual((await count('2025-03-11T09:30:00Z', 2)).counters, counters(0, 0, 0, 15));
    assert.deepEqual(updates(), { UpdateItem: 1 });
    // 10:00 today: yesterday's 10:00 hour (7) left the window; slot 10 is taken over.
    assert.deepEqual((await count('2025-03-11T10:00:00Z', 1)).counters, counters(0, 0, 2, 10));
    assert.deepEqual((await count('2025-03-11T10:01:00Z', 1)).counters, counters(1, 0, 3, 11));
    // 11:00 today: yesterday's 11:00 hour (5) leaves too.
    assert.deepEqual((await count('2025-03-11T11:00:00Z', 0, 1)).counters, counters(0, 0, 4, 7));
    assert.deepEqual((await store.peek(id, at('2025-03-11T20:00:00Z')))?.counters, counters(0, 0, 5, 5));
    assert.deepEqual((await store.peek(id, at('2025-03-11T21:00:00Z')))?.counters, counters(0, 0, 5, 5));
    // The window is the current hour and the 23 before: at 09:00, yesterday's 09:00 is out.
    assert.deepEqual((await store.peek(id, at('2025-03-12T09:00:00Z')))?.counters, counters(0, 0, 0, 3));
    assert.deepEqual((await store.peek(id, at('2025-03-12T10:00:00Z')))?.counters, counters(0, 0, 0, 1));
    assert.deepEqual((await store.peek(id, at('2025-03-12T11:00:00Z')))?.counters, counters(0, 0, 0, 0));
  });

  it('reuses an hour slot after a day without traffic', async () => {
    const store = newStore();
    const id = 'quiet@corp.example';
    await store.count({ identity: id, external: 7, internal: 0 }, at('2025-03-10T10:15:00Z'));
    await store.count({ identity: id, external: 1, internal: 0 }, at('2025-03-10T23:15:00Z'));
    const s = await store.count({ identity: id, external: 2, internal: 0 }, at('2025-03-12T10:00:00Z'));
    assert.deepEqual(s.counters, counters(0, 0, 0, 0), 'slots of two days ago are ignored');
    const item = await raw(id);
    assert.equal(item.h10, 2);
    assert.equal(item.k10, '2025-03-12T10');
    assert.equal(item.h23, 1, 'an old slot stays until its hour comes round');
    assert.equal(item.k23, '2025-03-10T23');
    assert.deepEqual((await store.peek(id, at('2025-03-12T23:30:00Z')))?.counters, counters(0, 0, 2, 2));
    assert.deepEqual((await store.peek(id, at('2025-03-13T09:59:00Z')))?.counters, counters(0, 0, 0, 2));
  });

  it('a container that never saw the identity still finds the right path (cost per case)', async () => {
    const id = 'fresh@corp.example';
    await newStore().count({ identity: id, external: 1, internal: 0 }, at('2025-03-10T10:00:00Z'));

    emu.resetCounts();
    const sameHour = await newStore().count(
      { identity: id, external: 1, internal: 0 },
      at('2025-03-10T10:30:00Z'),
    );
    assert.deepEqual(sameHour.counters, counters(1, 0, 1, 1));
    assert.deepEqual(updates(), { UpdateItem: 1 });

    emu.resetCounts();
    const newHour = await newStore().count(
      { identity: id, external: 1, internal: 0 },
      at('2025-03-10T11:00:00Z'),
    );
    assert.deepEqual(newHour.counters, counters(0, 0, 2, 2));
    assert.deepEqual(updates(), { UpdateItem: 3 }, 'fast, B, then A');

    emu.resetCounts();
    const newDay = await newStore().count(
      { identity: id, external: 1, internal: 0 },
      at('2025-03-11T08:00:00Z'),
    );
    assert.deepEqual(newDay.counters, counters(0, 0, 0, 3));
    assert.deepEqual(updates(), { UpdateItem: 2 }, 'fast, then B');
  });

  it('a clock slightly behind the stored window counts into it instead of resetting it', async () => {
    const id = 'skew@corp.example';
    const ahead = newStore();
    await ahead.count({ identity: id, external: 1, internal: 0 }, at('2025-03-10T10:30:00Z'));
    await ahead.count({ identity: id, external: 2, internal: 0 }, at('2025-03-10T11:00:00.001Z'));

    emu.resetCounts();
    const behind = newStore();
    const s = await behind.count({ identity: id, external: 3, internal: 0 }, at('2025-03-10T10:59:59.999Z'));
    assert.deepEqual(s.counters, counters(2, 0, 3, 3));
    assert.deepEqual(
      updates(),
      { UpdateItem: 5, GetItem: 1 },
      'fast, B, A, fast, then fast in the stored window',
    );
    // The same container now knows the window: 1 request.
    emu.resetCounts();
    const again = await behind.count(
      { identity: id, external: 1, internal: 0 },
      at('2025-03-10T10:59:59.999Z'),
    );
    assert.deepEqual(again.counters, counters(5, 0, 6, 6));
    assert.deepEqual(updates(), { UpdateItem: 1 });
    const item = await raw(id);
    assert.equal(item.hk, '2025-03-10T11');
    assert.equal(item.ext, 6);
    assert.equal(item.h11, 6);
  });

  it('200 parallel counts from 5 containers are exact: before-values are exactly {0..199}·delta', async () => {
    const stores = Array.from({ length: 5 }, () => newStore(undefined, newClient()));
    const id = 'burst@corp.example';
    const run = async (iso: string) => {
      const states = await Promise.all(
        Array.from({ length: 200 }, (_, k) =>
          stores[k % stores.length]!.count({ identity: id, external: 2, internal: 1 }, at(iso)),
        ),
      );
      return states.map((s) => s.counters);
    };
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const range = (n: number, step: number, from = 0) => Array.from({ length: n }, (_, k) => from + k * step);

    // A fresh item: every container races to create it.
    let cs = await run('2025-03-10T10:00:00Z');
    assert.deepEqual(sorted(cs.map((c) => c.externalHour)), range(200, 2));
    assert.deepEqual(sorted(cs.map((c) => c.internalHour)), range(200, 1));
    assert.deepEqual(sorted(cs.map((c) => c.day)), range(200, 3));
    assert.deepEqual(sorted(cs.map((c) => c.rolling24h)), range(200, 3));
    assert.deepEqual(
      (await stores[0]!.peek(id, at('2025-03-10T10:00:00Z')))?.counters,
      counters(400, 200, 600, 600),
    );

    // An hour rollover: every container races to roll the window.
    cs = await run('2025-03-10T11:00:00Z');
    assert.deepEqual(sorted(cs.map((c) => c.externalHour)), range(200, 2));
    assert.deepEqual(sorted(cs.map((c) => c.day)), range(200, 3, 600));
    // A day rollover.
    cs = await run('2025-03-11T00:00:00Z');
    assert.deepEqual(sorted(cs.map((c) => c.internalHour)), range(200, 1));
    assert.deepEqual(sorted(cs.map((c) => c.day)), range(200, 3));
    assert.deepEqual(sorted(cs.map((c) => c.rolling24h)), range(200, 3, 1200));
    assert.deepEqual(
      (await stores[0]!.peek(id, at('2025-03-11T00:10:00Z')))?.counters,
      counters(400, 200, 600, 1800),
    );
  });

  it('restricts, lists, lets a restriction expire, and releases', async () => {
    const store = newStore(0);
    const id = 'limited@corp.example';
    const other = 'other-limited@corp.example';
    await store.count({ identity: id, external: 1, internal: 0 }, at('2025-03-10T10:00:00Z'));
    const r: Restriction = {
      identity: id,
      reason: 'limit-external-hour',
      since: '2025-03-10T10:00:00.000Z',
      until: '2025-03-11T00:00:00.000Z',
    };
    await store.restrict(r, at('2025-03-10T10:00:00Z'));
    // A restriction of an identity that never counted creates its item.
    const r2: Restriction = {
      identity: other,
      reason: 'limit-day',
      since: '2025-03-10T10:05:00.000Z',
      until: null,
    };
    await store.restrict(r2, at('2025-03-10T10:05:00Z'));

    const s = await store.count({ identity: id, external: 1, internal: 0 }, at('2025-03-10T11:00:00Z'));
    assert.deepEqual(s, { counters: counters(0, 0, 1, 1), restriction: r, releasedAt: null });
    const listed = (now: string) =>
      store.listRestricted(at(now)).then((l) => l.sort((a, b) => a.identity.localeCompare(b.identity)));
    assert.deepEqual(await listed('2025-03-10T11:00:00Z'), [r, r2]);

    // A live restriction is not overwritten.
    await store.restrict(
      { ...r, reason: 'limit-day', since: '2025-03-10T12:00:00.000Z' },
      at('2025-03-10T12:00:00Z'),
    );
    assert.deepEqual((await store.peek(id, at('2025-03-10T12:00:00Z')))?.restriction, r);

    // At its end it is over (until > now is "in force").
    assert.deepEqual(await listed('2025-03-11T00:00:00Z'), [r2]);
    assert.equal(
      (await store.count({ identity: id, external: 1, internal: 0 }, at('2025-03-11T00:00:00Z'))).restriction,
      null,
    );
    assert.equal(await store.release(id, at('2025-03-11T00:30:00Z')), false, 'nothing in force to release');

    // An expired restriction is replaced by a new one.
    const r3: Restriction = {
      ...r,
      reason: 'limit-day',
      since: '2025-03-11T01:00:00.000Z',
      until: '2025-03-12T00:00:00.000Z',
    };
    await store.restrict(r3, at('2025-03-11T01:00:00Z'));
    assert.deepEqual((await store.peek(id, at('2025-03-11T01:00:00Z')))?.restriction, r3);
    assert.deepEqual(await listed('2025-03-11T01:00:00Z'), [r3, r2]);

    assert.equal(await store.release(id, at('2025-03-11T02:00:00Z')), true);
    assert.equal(await store.release(id, at('2025-03-11T02:01:00Z')), false);
    assert.deepEqual(await store.peek(id, at('2025-03-11T02:05:00Z')), {
      counters: counters(0, 0, 1, 3),
      restriction: null,
      releasedAt: '2025-03-11T02:00:00.000Z',
    });
    const after = await store.count({ identity: id, external: 1, internal: 0 }, at('2025-03-11T03:00:00Z'));
    assert.equal(after.releasedAt, '2025-03-11T02:00:00.000Z');
    assert.equal(after.restriction, null);
    assert.deepEqual(await listed('2025-03-11T03:00:00Z'), [r2]);
    const item = await raw(id);
    for (const gone of ['rstate', 'rUntil', 'rReason', 'rSince', 'pin'])
      assert.equal(item[gone], undefined, gone);
  });

  it('a restriction decided on counters read before a release is not written after it (SPEC 4)', async () => {
    // Two containers: one decides on the counters it read, an operator releases in between.
    const decider = newStore(0);
    const operator = newStore(0);
    const id = 'raced@corp.example';
    const block = (since: string): Restriction => ({ identity: id, reason: 'limit-day', since, until: null });
    const read = await decider.count({ identity: id, external: 1, internal: 0 }, at('2025-03-10T10:00:00Z'));
    assert.equal(read.releasedAt, null);
    // Meanwhile: another decision restricted, and the operator released.
    assert.equal(
      await operator.restrict(block('2025-03-10T10:00:01.000Z'), at('2025-03-10T10:00:01Z')),
      true,
    );
    assert.equal(await operator.release(id, at('2025-03-10T10:00:02Z')), true);
    // The first decision's restriction, made on what it read (no release), is refused...
    const late = block('2025-03-10T10:00:00.000Z');
    assert.equal(
      await decider.restrict(late, at('2025-03-10T10:00:03Z'), { releasedAt: read.releasedAt ?? null }),
      false,
    );
    const now = await operator.peek(id, at('2025-03-10T10:00:04Z'));
    assert.equal(now?.restriction, null, 'the release stands');
    assert.equal(now?.releasedAt, '2025-03-10T10:00:02.000Z');
    const listed = await decider.listRestricted(at('2025-03-10T10:00:04Z'));
    assert.deepEqual(
      listed.filter((r) => r.identity === id),
      [],
    );
    // ...while one made on the release it saw is written, and one given no basis as before.
    const later = block('2025-03-10T10:00:05.000Z');
    assert.equal(
      await decider.restrict(later, at('2025-03-10T10:00:05Z'), { releasedAt: '2025-03-10T09:00:00.000Z' }),
      false,
      'another release than the one stored',
    );
    assert.equal(
      await decider.restrict(later, at('2025-03-10T10:00:05Z'), { releasedAt: '2025-03-10T10:00:02.000Z' }),
      true,
    );
    assert.deepEqual((await operator.peek(id, at('2025-03-10T10:00:06Z')))?.restriction, later);
    assert.equal(await operator.release(id, at('2025-03-10T10:00:07Z')), true);
    assert.equal(
      await decider.restrict(later, at('2025-03-10T10:00:08Z')),
      true,
      'no basis: the old condition only',
    );
  });

  it('a block is surfaced as until: null, pins the TTL, and release unpins it', async () => {
    const store = newStore(0);
    const id = 'blocked@corp.example';
    await store.count({ identity: id, external: 1, internal: 0 }, at('2025-03-10T10:00:00Z'));
    assert.equal((await raw(id)).expiresAt, epoch('2025-03-10T10:00:00Z') + LIMITS_TTL_SECONDS);

    const block: Restriction = {
      identity: id,
      reason: 'limit-day',
      since: '2025-03-10T10:00:00.000Z',
      until: null,
    };
    await store.restrict(block, at('2025-03-10T10:00:00Z'));
    let item = await raw(id);
    assert.equal(item.rUntil, BLOCK_UNTIL);
    assert.equal(item.rstate, 'R');
    assert.equal(item.pin, PIN_EPOCH_SECONDS);
    assert.equal(item.expiresAt, PIN_EPOCH_SECONDS);

    // Days later (the TTL would long have passed), counting keeps the pin as the TTL.
    const s = await store.count({ identity: id, external: 1, internal: 0 }, at('2025-03-20T10:00:00Z'));
    assert.deepEqual(s.restriction, block);
    assert.equal((await raw(id)).expiresAt, PIN_EPOCH_SECONDS);
    assert.deepEqual(
      await store.listRestricted(at('2025-03-20T10:00:00Z')).then((l) => l.filter((x) => x.identity === id)),
      [block],
    );

    assert.equal(await store.release(id, at('2025-03-20T11:00:00Z')), true);
    item = await raw(id);
    assert.equal(item.pin, undefined);
    assert.equal(item.rUntil, undefined);
    assert.equal(item.releasedAt, '2025-03-20T11:00:00.000Z');
    assert.equal(item.expiresAt, epoch('2025-03-20T11:00:00Z') + LIMITS_TTL_SECONDS);
    await store.count({ identity: id, external: 1, internal: 0 }, at('2025-03-20T12:00:00Z'));
    assert.equal((await raw(id)).expiresAt, epoch('2025-03-20T12:00:00Z') + LIMITS_TTL_SECONDS);
  });

  it('answers a restricted identity from memory: no request while cached', async () => {
    const store = newStore(); // default 60 s
    const otherContainer = newStore(undefined, newClient());
    const id = 'flood@corp.example';
    const t0 = Date.parse('2025-03-10T10:00:00Z');
    const atMs = (ms: number) => new Date(t0 + ms);
    await store.count({ identity: id, external: 1, internal: 0 }, atMs(0));
    const r: Restriction = {
      identity: id,
      reason: 'limit-external-hour',
      since: atMs(0).toISOString(),
      until: atMs(30 * 60_000).toISOString(),
    };
    await store.restrict(r, atMs(0));
    await otherContainer.count({ identity: id, external: 1, internal: 0 }, atMs(1000)); // sees it too

    emu.resetCounts();
    for (let k = 1; k <= 100; k++) {
      const s = await store.count({ identity: id, external: 5, internal: 0 }, atMs(k * 500));
      assert.deepEqual(s.restriction, r);
      assert.deepEqual(s.counters, counters(1, 0, 1, 1));
    }
    assert.deepEqual(updates(), {}, 'a flood to a restricted identity costs no request');

    // After restrictionCacheMs it asks again (one request), then caches again.
    const s = await store.count({ identity: id, external: 1, internal: 0 }, atMs(60_001));
    assert.deepEqual(s.restriction, r);
    assert.deepEqual(updates(), { UpdateItem: 1 });
    await store.count({ identity: id, external: 1, internal: 0 }, atMs(70_000));
    assert.deepEqual(updates(), { UpdateItem: 1 });

    // release clears this container's entry at once; another container sees it within the TTL of its cache.
    assert.equal(await store.release(id, atMs(80_000)), true);
    emu.resetCounts();
    const mine = await store.count({ identity: id, external: 1, internal: 0 }, atMs(81_000));
    assert.equal(mine.restriction, null);
    assert.equal(mine.releasedAt, atMs(80_000).toISOString());
    assert.deepEqual(updates(), { UpdateItem: 1 });
    emu.resetCounts();
    const stale = await otherContainer.count({ identity: id, external: 1, internal: 0 }, atMs(60_000));
    assert.deepEqual(stale.restriction, r, 'still cached in the other container');
    assert.deepEqual(updates(), {});
    const fresh = await otherContainer.count({ identity: id, external: 1, internal: 0 }, atMs(61_001));
    assert.equal(fresh.restriction, null);
    assert.deepEqual(updates(), { UpdateItem: 1 });
  });

  it('never caches a restriction past its end', async () => {
    const store = newStore(3_600_000);
    const id = 'short@corp.example';
    const r: Restriction = {
      identity: id,
      reason: 'limit-day',
      since: '2025-03-10T23:59:00.000Z',
      until: '2025-03-11T00:00:00.000Z',
    };
    await store.restrict(r, at('2025-03-10T23:59:00Z'));
    emu.resetCounts();
    assert.deepEqual(
      (await store.count({ identity: id, external: 1, internal: 0 }, at('2025-03-10T23:59:30Z'))).restriction,
      r,
    );
    assert.deepEqual(updates(), {});
    const s = await store.count({ identity: id, external: 1, internal: 0 }, at('2025-03-11T00:00:00Z'));
    assert.equal(s.restriction, null);
    assert.deepEqual(s.counters, counters(0, 0, 0, 0));
    assert.deepEqual(updates(), { UpdateItem: 2 }, 'the item existed without counters: fast, then B');
  });

  it('refund takes a blocked message back out of every counter, in its hour or later that day', async () => {
    const store = newStore(0);
    const id = 'refund@corp.example';
    const usage = { identity: id, external: 3, internal: 2 };
    const t = at('2025-03-12T10:15:00Z');
    await store.count(usage, t);
    await store.count(usage, at('2025-03-12T10:20:00Z'));
    // Same hour: hour, day and rolling counters lose exactly the refunded message.
    await store.refund(usage, at('2025-03-12T10:20:00Z'));
    assert.deepEqual((await store.peek(id, at('2025-03-12T10:30:00Z')))?.counters, counters(3, 2, 5, 5));
    // Counted at 10:20, refunded after the hour rolled (another message opened 11:00): the day
    // and the 10:00 slot lose it, the new hour keeps only its own message.
    await store.count(usage, at('2025-03-12T10:40:00Z'));
    await store.count({ identity: id, external: 1, internal: 0 }, at('2025-03-12T11:05:00Z'));
    await store.refund(usage, at('2025-03-12T10:40:00Z'));
    assert.deepEqual((await store.peek(id, at('2025-03-12T11:10:00Z')))?.counters, counters(1, 0, 6, 6));
    // A window long gone: nothing to take back, nothing changes, no error.
    await store.refund(usage, at('2025-03-10T10:00:00Z'));
    assert.deepEqual((await store.peek(id, at('2025-03-12T11:10:00Z')))?.counters, counters(1, 0, 6, 6));
  });

  it('a count answered from the restriction cache says it counted nothing', async () => {
    const store = newStore(60_000);
    const id = 'cached@corp.example';
    const t = at('2025-03-12T12:00:00Z');
    await store.restrict({ identity: id, reason: 'limit-day', since: t.toISOString(), until: null }, t);
    const s = await store.count({ identity: id, external: 1, internal: 0 }, at('2025-03-12T12:00:01Z'));
    assert.equal(s.counted, false);
    assert.deepEqual(s.counters, counters(0, 0, 0, 0));
  });

  it('refundNdr takes one back in the hour it was counted, never below zero, never creating an item', async () => {
    const store = newStore();
    const t = at('2025-03-12T09:10:00Z');
    await store.countNdr('refund@remote.test', t);
    await store.countNdr('refund@remote.test', t);
    // The refund goes to the hour it was counted in (countedAt), whatever the time now.
    await store.refundNdr('refund@remote.test', t);
    assert.equal(await store.countNdr('refund@remote.test', at('2025-03-12T09:40:00Z')), 2);
    await Promise.all(Array.from({ length: 5 }, () => store.refundNdr('refund@remote.test', t)));
    assert.equal(await store.countNdr('refund@remote.test', t), 1, 'never below zero');
    await store.refundNdr('never@remote.test', t);
    const item = (
      await DynamoDBDocumentClient.from(ddb).send(
        new GetCommand({ TableName: TABLE, Key: { pk: 'NDR#never@remote.test#2025-03-12T09' } }),
      )
    ).Item;
    assert.equal(item, undefined);
  });

  it('countNdr counts NDRs per address and clock hour, atomically, with a TTL', async () => {
    const store = newStore();
    const other = newStore(undefined, newClient());
    const t = at('2025-03-12T14:10:00Z');
    const counts = await Promise.all(
      Array.from({ length: 20 }, (_, k) => (k % 2 ? store : other).countNdr('Victim@Remote.test', t)),
    );
    assert.deepEqual(
      [...counts].sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, k) => k + 1),
    );
    assert.equal(await store.countNdr('victim@remote.test', at('2025-03-12T15:00:00Z')), 1, 'a new hour');
    assert.equal(await store.countNdr('other@remote.test', t), 1, 'per address');
    const item = (
      await DynamoDBDocumentClient.from(ddb).send(
        new GetCommand({ TableName: TABLE, Key: { pk: 'NDR#victim@remote.test#2025-03-12T14' } }),
      )
    ).Item;
    assert.equal(item?.n, 20);
    assert.equal(item?.expiresAt, epoch('2025-03-12T16:10:00Z'));
  });

  describe('SDK faults', () => {
    const usage = { identity: 'fault@corp.example', external: 1, internal: 0 };
    const now = at('2025-03-10T10:00:00Z');

    it('maps throttling and 5xx to TransientDependencyError (retryable, cause kept)', async () => {
      const doc = DynamoDBDocumentClient.from(ddb);
      const mock = mockClient(doc);
      const store = new DynamoLimitsStore({ client: doc, tableName: TABLE });
      try {
        const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
        mock.on(UpdateCommand).rejects(throttled);
        await assert.rejects(store.count(usage, now), (err: unknown) => {
          assert.ok(err instanceof TransientDependencyError);
          assert.equal(err.retryable, true);
          assert.equal(err.dependency, 'dynamodb');
          assert.equal(err.cause, throttled);
          assert.match(err.message, /ProvisionedThroughputExceededException/);
          return true;
        });
        mock.reset();
        mock.on(UpdateCommand).rejects(new InternalServerError({ message: 'oops', $metadata: {} }));
        const block: Restriction = { identity: usage.identity, reason: 'limit-day', since: '', until: null };
        await assert.rejects(store.restrict(block, now), {
          name: 'TransientDependencyError',
          retryable: true,
        });
        mock.reset();
        mock.on(GetCommand).rejects(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
        await assert.rejects(store.peek(usage.identity, now), TransientDependencyError);
      } finally {
        mock.restore();
      }
    });

    it('re-throws other errors unchanged', async () => {
      const doc = DynamoDBDocumentClient.from(ddb);
      const mock = mockClient(doc);
      const store = new DynamoLimitsStore({ client: doc, tableName: TABLE });
      try {
        const invalid = Object.assign(new Error('One or more parameter values were invalid'), {
          name: 'ValidationException',
          $metadata: { httpStatusCode: 400 },
        });
        mock.on(UpdateCommand).rejects(invalid);
        await assert.rejects(store.count(usage, now), (err: unknown) => err === invalid);
        await assert.rejects(store.release(usage.identity, now), (err: unknown) => err === invalid);
        // A condition failure on every path, even after looking: a bounded number of attempts.
        mock.reset();
        mock.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));
        mock.on(GetCommand).resolves({});
        await assert.rejects(store.count(usage, now), (err: unknown) => {
          assert.ok(err instanceof TransientDependencyError);
          return true;
        });
        assert.equal(mock.commandCalls(UpdateCommand).length, 6);
        assert.equal(mock.commandCalls(GetCommand).length, 1);
      } finally {
        mock.restore();
      }
    });
  });
});
