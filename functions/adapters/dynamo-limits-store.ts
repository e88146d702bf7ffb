/**
 * `LimitsStore` on DynamoDB: one item per sending identity, counted with conditional
 * `UpdateItem`s and never read on the hot path. The item (`pk = "S#" + identity`: hour, day and
 * rolling-24 h counters, a restriction) is described in `limits-items.ts`; setting, lifting and
 * listing restrictions are in `limits-restrictions.ts`.
 *
 * ## `count`: requests per message
 *
 * No reads (one consistent `GetItem` only after an update failed, or was sent more than once:
 * whether it landed, by its token `mtok`). Three conditional updates, each returning `ALL_NEW`:
 * - fast path (same hour): `ADD ext, int, day, hNN` if `hk = :hk`;
 * - path A (new hour, same day): `SET hk, ext, int, hNN, kNN ADD day` if `dk = :dk AND hk < :hk`;
 * - path B (new day, or no item yet): `SET hk, dk, ext, int, day, hNN, kNN, identity`
 *   if `attribute_not_exists(dk) OR dk < :dk`.
 * The store remembers (per container, in memory) the window the item was last seen in, so it
 * tries the right path first: **1 request** in the steady state and on a rollover this
 * container sees first, 2 for an identity the container has never seen whose item does not
 * exist yet (fast path, then B), 2 when another container rolled the window first. The windows
 * only move forward (`<`, not `<>`): a container whose clock is a few ms behind at an hour
 * boundary cannot reset a window another one opened. When the three paths and the fast path
 * once more all fail (in practice only a clock behind the stored window does that), one `GetItem` finds
 * the stored window and the message is counted into it. At most 6 updates, then
 * `TransientDependencyError`. The counters returned are those *before* this message: the
 * returned item minus the delta, which is exact under any concurrency because each update is
 * atomic.
 *
 * ## `refund`: a counted message that was then blocked
 *
 * SPEC 4: mail blocked for any reason is not counted. The pipeline counts first (atomically,
 * to learn the counters *before* the message) and only then knows whether a limit, a
 * restriction or another rule blocks it; a blocked message's recipients are then taken back
 * with one conditional update: `ADD -delta` to the hour, day and slot counters if the item
 * is still in the hour it was counted in, else the day and slot alone if still in that day
 * and slot; else nothing (it has aged out of every window it was in, or nearly). Between the
 * two writes another message sees the counters a little high: conservative, never low. Each
 * refund (and `refundNdr`), like each count, is applied once per call, even when it is sent
 * again after a lost answer: see {@link REFUND_TOKEN} and `MESSAGE_COUNT_TOKEN`.
 *
 * ## NDR counters (`pk = "NDR#" + address + "#" + hour key`)
 *
 * `countNdr` adds one to the item of the recipient's current clock hour (`ADD n 1`, returning
 * the new value) and sets its TTL to two hours later: one request, atomic, an item per
 * address and hour that DynamoDB deletes by itself. `refundNdr` takes one back (`ADD n -1`
 * if `n > 0`). Both are in `limits-ndr-counters.ts`; the once-per-call tokens of every update
 * are in `limits-updates.ts`.
 *
 * ## Hot partitions
 *
 * Each message writes only its identity's item (about 0.7 KB with its 24 slot pairs, so 1 WCU
 * for usual address lengths), so one identity can take about 1 000 messages a second before
 * its partition throttles, far above any sending limit;
 * distinct identities spread over partitions. A flood to a *restricted* identity (the one case
 * with unbounded traffic to one key) does not reach DynamoDB at all: see the cache below. The
 * `byRestriction` index has one partition (`R`), but it projects only the restriction
 * attributes, so counter updates never write to it: it sees restrict and release only.
 *
 * ## Restriction cache
 *
 * When `count` or `restrict` shows an identity restricted until T, this instance remembers it
 * until min(T, now + `restrictionCacheMs`, default 60 s). While remembered, `count` answers
 * from memory (no request; such mail is blocked anyway, so it is not counted). `release`
 * clears this instance's entry; other Lambda containers see the release within
 * `restrictionCacheMs`.
 */

import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TransientDependencyError } from '../core/errors.js';
import type { LimitUsage, Restriction, SenderState } from '../core/limits.js';
import type { LimitsStore } from '../core/ports.js';
import { type DynamoClientOptions, DynamoClients, updateItem } from './dynamo-clients.js';
import {
  type Delta,
  type Item,
  identityKey,
  LIMITS_TTL_SECONDS,
  NO_DELTA,
  restrictionOf,
  stateOf,
  str,
  type Window,
  windowAt,
  windowOfHourKey,
} from './limits-items.js';
import { countNdr, refundNdr } from './limits-ndr-counters.js';
import {
  clearRestriction,
  type LimitsTable,
  listRestrictions,
  writeRestriction,
} from './limits-restrictions.js';
import {
  callToken,
  countUpdate,
  MESSAGE_COUNT_TOKEN,
  onceOnly,
  type Path,
  REFUND_TOKEN,
} from './limits-updates.js';
import { Expr, isConditionFailed, sendMapped } from './tables.js';

export { BLOCK_UNTIL, LIMITS_TTL_SECONDS, PIN_EPOCH_SECONDS } from './limits-items.js';
export { NDR_COUNTER_PREFIX } from './limits-ndr-counters.js';

export const DEFAULT_RESTRICTION_CACHE_MS = 60_000;
const MAX_UPDATES = 6;
/** Bound on the per-container memories (identities), oldest forgotten first. */
const MEMORY_ENTRIES = 10_000;

export interface DynamoLimitsStoreOptions extends DynamoClientOptions {
  tableName: string;
  /** How long a restriction seen by this instance is answered from memory (0 disables). */
  restrictionCacheMs?: number;
}

/** A Map that forgets its oldest entries beyond `max`. */
class BoundedMap<V> extends Map<string, V> {
  constructor(private readonly max: number) {
    super();
  }
  override set(key: string, value: V): this {
    this.delete(key);
    super.set(key, value);
    if (this.size > this.max) {
      const oldest = this.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
    return this;
  }
}

export class DynamoLimitsStore implements LimitsStore {
  private readonly dynamo: DynamoClients;
  private readonly tableName: string;
  /** The same table, as the restriction requests take it. */
  private readonly table: LimitsTable;
  private readonly cacheMs: number;
  /** Window (hour and day keys) the identity's item was last seen in; absent = unknown. */
  private readonly windows = new BoundedMap<{ hk: string; dk: string } | null>(MEMORY_ENTRIES);
  /** Restricted identities: the item last returned, answered from until `until` (epoch ms). */
  private readonly restricted = new BoundedMap<{ item: Item; until: number }>(MEMORY_ENTRIES);

  constructor(opts: DynamoLimitsStoreOptions) {
    const dynamo = new DynamoClients(opts);
    this.dynamo = dynamo;
    this.tableName = opts.tableName;
    this.table = {
      get doc() {
        return dynamo.doc;
      },
      tableName: this.tableName,
    };
    this.cacheMs = opts.restrictionCacheMs ?? DEFAULT_RESTRICTION_CACHE_MS;
  }

  /** The document client (built on first use: `count` sends low-level updates). */
  private get doc(): DynamoDBDocumentClient {
    return this.dynamo.doc;
  }

  async count(usage: LimitUsage, now: Date): Promise<SenderState> {
    const identity = usage.identity;
    const cached = this.restricted.get(identity);
    if (cached) {
      if (now.getTime() < cached.until) {
        // Answered from memory: nothing was added, so there is nothing to refund either.
        return { ...stateOf(cached.item, windowAt(now.getTime()), now, NO_DELTA), counted: false };
      }
      this.restricted.delete(identity);
    }

    const delta: Delta = { e: usage.external, i: usage.internal, t: usage.external + usage.internal };
    const ttl = Math.floor(now.getTime() / 1000) + LIMITS_TTL_SECONDS;
    // One token for this message's count, whichever path lands it (`MESSAGE_COUNT_TOKEN`).
    const token = callToken();
    let plan = this.plan(identity, windowAt(now.getTime()));
    let w = plan.window;
    // The paths in the planned order, then the fast path once more (a concurrent writer rolled
    // the window meanwhile); only if that fails too, one read to find the stored window.
    let queue: Path[] = [...plan.order, 'fast'];
    let next = 0;
    let looked = false;
    for (let updates = 0; updates < MAX_UPDATES; updates++) {
      if (next === queue.length) {
        if (!looked) {
          // Either the window keeps rolling under us, or the stored one is ahead of our clock.
          looked = true;
          await this.learnWindow(identity);
          plan = this.plan(identity, windowAt(now.getTime()));
          w = plan.window;
          queue = plan.order;
        }
        next = 0;
      }
      const path = queue[next++]!;
      const item = await this.update(path, identity, w, delta, ttl, token);
      if (!item) continue;
      this.windows.set(identity, { hk: str(item, 'hk') ?? w.hk, dk: str(item, 'dk') ?? w.dk });
      const state = stateOf(item, w, now, delta);
      this.remember(identity, item, state.restriction ?? null, now);
      return state;
    }
    throw new TransientDependencyError(
      'dynamodb',
      `count ${identity}: the counter window kept changing under ${MAX_UPDATES} conditional updates`,
    );
  }

  async refund(usage: LimitUsage, countedAt: Date): Promise<void> {
    const total = usage.external + usage.internal;
    if (total <= 0) return;
    const w = windowAt(countedAt.getTime());
    const token = callToken();
    // Still in the hour it was counted in: every counter; else still in that day and slot:
    // the day and the slot (the hour counters already restarted without it). Either only once
    // (`onceOnly`): the SDK's own retry of a refund that landed finds its token and stops.
    const sameHour = (x: Expr) => {
      const once = onceOnly(x, REFUND_TOKEN, token);
      return {
        update: `ADD ${x.n('ext')} ${x.v(-usage.external)}, ${x.n('int')} ${x.v(-usage.internal)}, ${x.n('day')} ${x.v(-total)}, ${x.n(`h${w.slot}`)} ${x.v(-total)} SET ${once.set}`,
        condition: `${x.n('hk')} = ${x.v(w.hk)} AND ${once.condition}`,
      };
    };
    const sameDay = (x: Expr) => {
      const once = onceOnly(x, REFUND_TOKEN, token);
      return {
        update: `ADD ${x.n('day')} ${x.v(-total)}, ${x.n(`h${w.slot}`)} ${x.v(-total)} SET ${once.set}`,
        condition: `${x.n('dk')} = ${x.v(w.dk)} AND ${x.n(`k${w.slot}`)} = ${x.v(w.hk)} AND ${once.condition}`,
      };
    };
    for (const build of [sameHour, sameDay]) {
      const x = new Expr();
      const { update, condition } = build(x);
      try {
        await sendMapped('UpdateItem', () =>
          this.doc.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: identityKey(usage.identity),
              UpdateExpression: update,
              ConditionExpression: condition,
              ...x.params(),
            }),
          ),
        );
        return;
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
      }
    }
  }

  countNdr(recipient: string, now: Date): Promise<number> {
    return countNdr(this.table, recipient, now);
  }

  refundNdr(recipient: string, countedAt: Date): Promise<void> {
    return refundNdr(this.table, recipient, countedAt);
  }

  async restrict(
    restriction: Restriction,
    now: Date,
    seen?: { releasedAt: string | null },
  ): Promise<boolean> {
    let item: Item | null;
    try {
      item = await writeRestriction(this.table, restriction, now, seen);
    } catch (error) {
      // The update can have landed with its answer lost and the SDK's five retries then failed
      // before reaching DynamoDB (throttled, a 500): the restriction stands, and the retry of
      // the message, finding the sender restricted, writes none and tells nobody (review,
      // December 2026). So the item is read: this very restriction in force (reason, start and
      // end) was written; else, or when the read fails too, the error stands.
      item = await this.inForce(restriction, now).catch(() => null);
      if (!item) throw error;
    }
    if (item) this.remember(restriction.identity, item, restrictionOf(item, now), now);
    return item !== null;
  }

  /** The identity's item, when the restriction in force is `restriction`; else null. */
  private async inForce(restriction: Restriction, now: Date): Promise<Item | null> {
    const out = await sendMapped('GetItem', () =>
      this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: identityKey(restriction.identity),
          ConsistentRead: true,
        }),
      ),
    );
    const found = out.Item ? restrictionOf(out.Item, now) : null;
    const same =
      found !== null &&
      found.reason === restriction.reason &&
      found.since === restriction.since &&
      found.until === restriction.until;
    return same ? out.Item! : null;
  }

  async release(identity: string, now: Date): Promise<boolean> {
    this.restricted.delete(identity);
    return clearRestriction(this.table, identity, now);
  }

  async listRestricted(now: Date): Promise<Restriction[]> {
    return listRestrictions(this.table, now);
  }

  async peek(identity: string, now: Date): Promise<SenderState | null> {
    const out = await sendMapped('GetItem', () =>
      this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: identityKey(identity), ConsistentRead: true }),
      ),
    );
    if (!out.Item) return null;
    return stateOf(out.Item, windowAt(now.getTime()), now, NO_DELTA);
  }

  /**
   * Which window to count into and in which order to try the paths, from what this container
   * last saw of the item. Never moves a window backwards: when the stored window is ahead of
   * `w` (clock skew between containers), the message is counted into the stored one.
   */
  private plan(identity: string, w: Window): { window: Window; order: Path[] } {
    const seen = this.windows.get(identity);
    if (seen === undefined) return { window: w, order: ['fast', 'day', 'hour'] };
    if (seen === null) return { window: w, order: ['day', 'fast', 'hour'] };
    if (seen.hk >= w.hk) {
      return { window: seen.hk === w.hk ? w : windowOfHourKey(seen.hk), order: ['fast', 'hour', 'day'] };
    }
    if (seen.dk === w.dk) return { window: w, order: ['hour', 'fast', 'day'] };
    return { window: w, order: ['day', 'fast', 'hour'] };
  }

  private async learnWindow(identity: string): Promise<void> {
    const out = await sendMapped('GetItem', () =>
      this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: identityKey(identity),
          ConsistentRead: true,
          ProjectionExpression: '#hk, #dk',
          ExpressionAttributeNames: { '#hk': 'hk', '#dk': 'dk' },
        }),
      ),
    );
    const hk = out.Item ? str(out.Item, 'hk') : undefined;
    const dk = out.Item ? str(out.Item, 'dk') : undefined;
    this.windows.set(identity, hk !== undefined && dk !== undefined ? { hk, dk } : null);
  }

  /**
   * One conditional update; the new item, or null when its condition failed. An update sent
   * more than once (its answer lost, the client's retry sending it again) whose condition then
   * failed may have landed the first time: the item is read, and holding this count's `token`
   * it is the item the count left (`MESSAGE_COUNT_TOKEN`), so the message is counted once. So
   * is it after any other failure (every attempt failed, the first may have landed): the item
   * holding the token is the count; else the error stands.
   */
  private async update(
    path: Path,
    identity: string,
    w: Window,
    d: Delta,
    ttl: number,
    token: string,
  ): Promise<Item | null> {
    const shape = countUpdate(path, w.slot);
    try {
      const item = await sendMapped('UpdateItem', () =>
        updateItem(this.dynamo.client, {
          TableName: this.tableName,
          Key: identityKey(identity),
          UpdateExpression: shape.update,
          ConditionExpression: shape.condition,
          ReturnValues: 'ALL_NEW',
          ExpressionAttributeNames: shape.names,
          ExpressionAttributeValues: shape.values({ hk: w.hk, dk: w.dk, delta: d, ttl, identity, token }),
        }),
      );
      return item ?? {};
    } catch (err) {
      if (!isConditionFailed(err)) {
        // It can have landed all the same, its answer lost and the client's retries then
        // failed before reaching DynamoDB (throttled, a 500), so that none met its token: the
        // call used to fail, and Lambda's retry counted the message again under a new token
        // (review, December 2026). Holding this count's token, the item is the one it left;
        // else, or when the read fails too, the error stands.
        const landed = await this.countedItem(identity, token).catch(() => null);
        if (landed) return landed;
        throw err;
      }
      const attempts = (err as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
      if (attempts <= 1) return null;
      return this.countedItem(identity, token);
    }
  }

  /** The identity's item, read consistently, when it holds count token `token`; else null. */
  private async countedItem(identity: string, token: string): Promise<Item | null> {
    const out = await sendMapped('GetItem', () =>
      this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: identityKey(identity), ConsistentRead: true }),
      ),
    );
    return out.Item?.[MESSAGE_COUNT_TOKEN] === token ? out.Item : null;
  }

  /** Caches a restriction in force (until min(its end, now + cacheMs)), or forgets one. */
  private remember(identity: string, item: Item, restriction: Restriction | null, now: Date): void {
    if (!restriction || this.cacheMs <= 0) {
      this.restricted.delete(identity);
      return;
    }
    const end = restriction.until === null ? Number.POSITIVE_INFINITY : Date.parse(restriction.until);
    this.restricted.set(identity, { item, until: Math.min(end, now.getTime() + this.cacheMs) });
  }
}
