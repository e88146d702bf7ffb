/**
 * The conditional `UpdateItem`s that count a message into a sending identity's item
 * (`dynamo-limits-store.ts` says when each path is taken): their expressions are the same for
 * every message of a path and hour slot, so they are built once (issue 16) and only the
 * values change.
 */
import { randomBytes } from 'node:crypto';
import type { Delta } from './limits-items.js';
import { Expr, LIMITS_TTL_ATTRIBUTE } from './tables.js';

/** fast: same hour; hour: new hour of the same day; day: new day, or no item yet. */
export type Path = 'fast' | 'hour' | 'day';

export interface CountValues {
  hk: string;
  dk: string;
  delta: Delta;
  ttl: number;
  identity: string;
  /** This count's token (`MESSAGE_COUNT_TOKEN`): the same for every retry of the update. */
  token: string;
}

/**
 * The attribute where a message's count leaves its token. A count is an `ADD`, which is not
 * idempotent, and an update whose answer was lost after it landed is sent again by the
 * client's retry (a 5xx, a reset connection): the message was counted twice, and a sender
 * exactly at its limit was blocked and restricted for the day by its own message (review,
 * December 2026). The token is written with the count and required absent by its condition, so
 * that retry fails its condition instead; the store then reads the item and finds its token
 * (`dynamo-limits-store.ts`). Another message's count landing in between replaces the token: a
 * window of one request's retries, as for refunds.
 */
export const MESSAGE_COUNT_TOKEN = 'mtok';

export interface CountUpdate {
  update: string;
  condition: string;
  names: Record<string, string>;
  values(v: CountValues): Record<string, unknown>;
}

/** The expressions of each path and hour slot, built once (issue 16): 3 paths × 24 slots at most. */
const COUNT_UPDATES = new Map<string, CountUpdate>();

export function countUpdate(path: Path, slot: string): CountUpdate {
  const key = `${path}${slot}`;
  let shape = COUNT_UPDATES.get(key);
  if (!shape) {
    shape = buildCountUpdate(path, slot);
    COUNT_UPDATES.set(key, shape);
  }
  return shape;
}

/**
 * A path's update of the hour slot `slot`, with placeholders for the values: which value goes
 * where is recorded as the expressions are written, so the numbering is the one `Expr` gives.
 */
function buildCountUpdate(path: Path, slotOfDay: string): CountUpdate {
  const x = new Expr();
  const slots: [string, (v: CountValues) => unknown][] = [];
  const v = (pick: (v: CountValues) => unknown) => {
    const alias = x.v(undefined);
    slots.push([alias, pick]);
    return alias;
  };
  const hk = v((c) => c.hk);
  const e = v((c) => c.delta.e);
  const i = v((c) => c.delta.i);
  const t = v((c) => c.delta.t);
  const slot = x.n(`h${slotOfDay}`);
  const expires = `${x.n(LIMITS_TTL_ATTRIBUTE)} = if_not_exists(${x.n('pin')}, ${v((c) => c.ttl)})`;
  const tokenName = x.n(MESSAGE_COUNT_TOKEN);
  const token = v((c) => c.token);
  const leaveToken = `${tokenName} = ${token}`;
  let update: string;
  let condition: string;
  switch (path) {
    case 'fast':
      update = `ADD ${x.n('ext')} ${e}, ${x.n('int')} ${i}, ${x.n('day')} ${t}, ${slot} ${t} SET ${expires}, ${leaveToken}`;
      condition = `${x.n('hk')} = ${hk}`;
      break;
    case 'hour': {
      const dk = v((c) => c.dk);
      const slotKey = x.n(`k${slotOfDay}`);
      update = `SET ${x.n('hk')} = ${hk}, ${x.n('ext')} = ${e}, ${x.n('int')} = ${i}, ${slot} = ${t}, ${slotKey} = ${hk}, ${expires}, ${leaveToken} ADD ${x.n('day')} ${t}`;
      condition = `${x.n('dk')} = ${dk} AND ${x.n('hk')} < ${hk}`;
      break;
    }
    case 'day': {
      const dk = v((c) => c.dk);
      const slotKey = x.n(`k${slotOfDay}`);
      update = `SET ${x.n('hk')} = ${hk}, ${x.n('dk')} = ${dk}, ${x.n('ext')} = ${e}, ${x.n('int')} = ${i}, ${x.n('day')} = ${t}, ${slot} = ${t}, ${slotKey} = ${hk}, ${x.n('identity')} = ${v((c) => c.identity)}, ${expires}, ${leaveToken}`;
      condition = `attribute_not_exists(${x.n('dk')}) OR ${x.n('dk')} < ${dk}`;
      break;
    }
  }
  return {
    update,
    condition: `(${condition}) AND (attribute_not_exists(${tokenName}) OR ${tokenName} <> ${token})`,
    names: x.names,
    values(c) {
      const out: Record<string, unknown> = {};
      for (const [alias, pick] of slots) out[alias] = pick(c);
      return out;
    },
  };
}

/**
 * The attribute where a refund leaves its token. A refund is an `ADD` of a negative delta, which
 * is not idempotent, and the SDK's standard retry mode sends an update again after a 5xx or a
 * lost connection even when the first one was applied: a refund applied twice took another
 * message's count back too, under-counting (review, December 2026). Each refund call carries a
 * random token, written with the refund and required absent by its condition, so the SDK's
 * retry of a refund that landed changes nothing. (Another refund of the same item landing in
 * between the two would still let it through: a window of one request's retries.)
 */
export const REFUND_TOKEN = 'rtok';

/** The attribute where an NDR count leaves its token, for the same reason (`countNdr`). */
export const COUNT_TOKEN = 'ctok';

/** A token for one call's update: the same for the SDK's retries of it, new for every call. */
export function callToken(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * What makes an update apply once per call: the SET clause that leaves `token` in `attribute`,
 * and the condition that it is not there yet (the SDK's retry of an update that landed finds
 * it and changes nothing).
 */
export function onceOnly(x: Expr, attribute: string, token: string): { set: string; condition: string } {
  const name = x.n(attribute);
  const value = x.v(token);
  return { set: `${name} = ${value}`, condition: `(attribute_not_exists(${name}) OR ${name} <> ${value})` };
}
