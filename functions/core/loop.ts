/**
 * Mail loops (SPEC 2a). Two signs, either one blocks the message with reason `loop`:
 *
 * - More `Received` fields than `maxHops` (default 50, Postfix's `hopcount_limit`; RFC 5321
 *   6.3 asks every MTA to detect loops by counting them, suggesting a limit of "at least
 *   100" for relays; a forwarder that re-sends everything it receives can afford less).
 * - Our own loop marker for the same route: every copy we re-send carries one
 *   `X-Outbound-Pools-Loop: <route>; <mac>` field per route it was sent for. A copy that comes
 *   back to that route (an alias forwarding to a mailbox that forwards back to the alias) is
 *   the loop itself, caught on its second pass instead of after 50 hops.
 *
 * The `<mac>` is an HMAC-SHA256 of the route under the SRS secret, so only this platform can
 * write a marker that blocks a route: a sender who writes `X-Outbound-Pools-Loop: alias@...`
 * by hand blocks nothing. A marker copied from a message we sent only blocks the mail of
 * whoever pastes it into their own message. Every configured SRS secret verifies (rotation),
 * the first signs.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { HeaderField } from './message.js';

/** The header field of the loop marker (written by `compose/rewrite.ts`). */
export const LOOP_FIELD = 'X-Outbound-Pools-Loop';
/** 96 bits of the HMAC, base64url: not guessable, short enough for one header line. */
const MAC_CHARS = 16;

function mac(secret: string, route: string): string {
  return createHmac('sha256', secret)
    .update(`outbound-pools-loop\0${route.toLowerCase()}`)
    .digest('base64url')
    .slice(0, MAC_CHARS);
}

/** The value of the loop marker for `route` (a route key: `alias@example.com` or `@example.org`). */
export function loopMarker(route: string, secrets: readonly string[]): string {
  const secret = secrets[0];
  if (secret === undefined) throw new Error('loopMarker: no SRS secret to sign with');
  return `${route.toLowerCase()}; ${mac(secret, route)}`;
}

/** Whether the header fields carry a valid marker of ours for `route`. */
export function hasLoopMarker(
  fields: readonly HeaderField[],
  route: string,
  secrets: readonly string[],
): boolean {
  const wanted = route.toLowerCase();
  return markedRoutes(fields, secrets, (r) => r === wanted).size > 0;
}

/**
 * The routes the header fields carry a valid marker of ours for, among those `isCandidate`
 * accepts (routes in lower case, as markers name them). The marker fields are read once and
 * each expected MAC is computed once per route named and secret: a sender may write a
 * thousand forged markers naming a route the message is sent through (review K: 1,700 of them
 * to 50 recipients of a catch-all cost 170,000 HMACs, ~0.5 s of CPU, when each field and
 * recipient recomputed it), which costs one HMAC per secret.
 */
export function markedRoutes(
  fields: readonly HeaderField[],
  secrets: readonly string[],
  isCandidate: (route: string) => boolean,
): Set<string> {
  const key = LOOP_FIELD.toLowerCase();
  const given = new Map<string, Buffer[]>();
  for (const f of fields) {
    if (f.key !== key) continue;
    const m = /^\s*(\S+)\s*;\s*([A-Za-z0-9_-]+)\s*$/.exec(f.value);
    if (!m) continue;
    const route = m[1]!.toLowerCase();
    if (!isCandidate(route)) continue;
    const macs = given.get(route);
    if (macs) macs.push(Buffer.from(m[2]!));
    else given.set(route, [Buffer.from(m[2]!)]);
  }
  const marked = new Set<string>();
  for (const [route, macs] of given) {
    const verified = secrets.some((secret) => {
      const expected = Buffer.from(mac(secret, route));
      return macs.some((g) => g.length === expected.length && timingSafeEqual(g, expected));
    });
    if (verified) marked.add(route);
  }
  return marked;
}

/** The number of `Received` fields (RFC 5321 4.4), the message's hop count. */
export function hopCount(fields: readonly HeaderField[]): number {
  let n = 0;
  for (const f of fields) if (f.key === 'received') n++;
  return n;
}
