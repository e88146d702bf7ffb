/**
 * A sending identity's item in the limits table as plain data: its hour/day windows, the
 * counters and restriction read back from it. No requests here (`dynamo-limits-store.ts`
 * counts, `limits-restrictions.ts` restricts and releases).
 *
 * ## Item (`pk = "S#" + identity`)
 *
 * | attribute            | meaning                                                                  |
 * | -------------------- | ------------------------------------------------------------------------ |
 * | `identity`           | the identity, unprefixed                                                 |
 * | `hk`, `ext`, `int`   | current hour key `YYYY-MM-DDTHH` (UTC); its external/internal recipients  |
 * | `dk`, `day`          | current day key `YYYY-MM-DD`; its recipients                             |
 * | `h00`..`h23`         | recipients of the hour slot NN (hour of day), for the rolling 24 h cap   |
 * | `k00`..`k23`         | the hour key each slot belongs to (a slot is reused a day later)         |
 * | `rUntil`, `rReason`, `rSince`, `rstate = "R"` | a restriction; `rstate` + `rUntil` key the sparse GSI `byRestriction` |
 * | `releasedAt`         | last operator release                                                    |
 * | `expiresAt`          | TTL (epoch s): now + 3 days, refreshed by each count                     |
 * | `pin`                | far-future epoch set while a `block` (until released) holds              |
 *
 * `rolling24h` is the sum of the slots whose key lies in the 24 hours ending now (the current
 * hour and the 23 before): each slot index occurs exactly once in that window, so 24 slots are
 * enough, and a slot left from an older day is simply ignored until its hour comes round and
 * it is overwritten.
 *
 * An operator-only `block` is stored with `rUntil = 9999-12-31T23:59:59.999Z` (surfaced as
 * `until: null`) and sets `pin`; every counter update writes `expiresAt = if_not_exists(pin,
 * :ttl)`, so a blocked identity is never deleted by TTL; `release` removes `pin`.
 */
import type { Restriction, SenderCounters, SenderState } from '../core/limits.js';
import type { Reason } from '../core/vocabulary.js';
import {
  LIMITS_IDENTITY_PREFIX,
  LIMITS_PARTITION_KEY,
  LIMITS_RESTRICTION_INDEX_PK,
  LIMITS_RESTRICTION_INDEX_SK,
  LIMITS_RESTRICTION_STATE,
} from './tables.js';

/** `rUntil` of an operator-only `block` (surfaced as `until: null`). */
export const BLOCK_UNTIL = '9999-12-31T23:59:59.999Z';
/** `pin` / `expiresAt` while a `block` holds: 9999-12-31T23:59:59Z in epoch seconds. */
export const PIN_EPOCH_SECONDS = 253_402_300_799;
/** Items expire this long after their last count. */
export const LIMITS_TTL_SECONDS = 3 * 24 * 3600;
const HOUR_MS = 3_600_000;

/** The key of an identity's item. */
export function identityKey(identity: string): Record<string, string> {
  return { [LIMITS_PARTITION_KEY]: LIMITS_IDENTITY_PREFIX + identity };
}

export type Item = Record<string, unknown>;

export interface Window {
  /** `YYYY-MM-DDTHH` */
  hk: string;
  /** `YYYY-MM-DD` */
  dk: string;
  /** Hour of day, `00`..`23`. */
  slot: string;
  /** Oldest hour key inside the rolling 24 hours ending in `hk`. */
  minKey: string;
}

export interface Delta {
  e: number;
  i: number;
  t: number;
}

export const NO_DELTA: Delta = { e: 0, i: 0, t: 0 };
const SLOTS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'));

export function windowAt(ms: number): Window {
  const iso = new Date(ms).toISOString();
  return {
    hk: iso.slice(0, 13),
    dk: iso.slice(0, 10),
    slot: iso.slice(11, 13),
    minKey: new Date(ms - 23 * HOUR_MS).toISOString().slice(0, 13),
  };
}

export function windowOfHourKey(hk: string): Window {
  return windowAt(Date.parse(`${hk}:00:00.000Z`));
}

export const str = (item: Item, key: string): string | undefined => {
  const v = item[key];
  return typeof v === 'string' ? v : undefined;
};
export const num = (item: Item, key: string): number => {
  const v = item[key];
  return typeof v === 'number' ? v : 0;
};

/** Counters of the item as seen in window `w`, minus what the current message added. */
function countersOf(item: Item, w: Window, delta: Delta): SenderCounters {
  const sameHour = str(item, 'hk') === w.hk;
  let rolling = 0;
  for (const s of SLOTS) {
    const key = str(item, `k${s}`);
    if (key !== undefined && key >= w.minKey && key <= w.hk) rolling += num(item, `h${s}`);
  }
  return {
    externalHour: sameHour ? num(item, 'ext') - delta.e : 0,
    internalHour: sameHour ? num(item, 'int') - delta.i : 0,
    day: str(item, 'dk') === w.dk ? num(item, 'day') - delta.t : 0,
    rolling24h: rolling - delta.t,
  };
}

/** The item's restriction when it is in force at `now`, else null. */
export function restrictionOf(item: Item, now: Date): Restriction | null {
  const until = str(item, LIMITS_RESTRICTION_INDEX_SK);
  if (item[LIMITS_RESTRICTION_INDEX_PK] !== LIMITS_RESTRICTION_STATE || until === undefined) return null;
  if (until <= now.toISOString()) return null;
  return toRestriction(item, until);
}

function toRestriction(item: Item, until: string): Restriction {
  const pk = str(item, LIMITS_PARTITION_KEY) ?? '';
  return {
    identity: str(item, 'identity') ?? pk.slice(LIMITS_IDENTITY_PREFIX.length),
    reason: (str(item, 'rReason') ?? 'limit-day') as Reason,
    since: str(item, 'rSince') ?? '',
    until: until === BLOCK_UNTIL ? null : until,
  };
}

export function stateOf(item: Item, w: Window, now: Date, delta: Delta): SenderState {
  return {
    counters: countersOf(item, w, delta),
    restriction: restrictionOf(item, now),
    releasedAt: str(item, 'releasedAt') ?? null,
  };
}
