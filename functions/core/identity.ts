/**
 * Sending identities (SPEC 4): the key a message's recipients are counted and restricted
 * under. A sender must not be able to pick a fresh one: identities are normalized (lower
 * case, sub-address tag removed, configured extra addresses folded into their mailbox), and
 * a sender that did not prove itself never gets an identity of its own address at all: its
 * mail counts under the route that forwards it (see `authentication.ts` and `classify`).
 */
import type { Config } from './config.js';
import { canonicalDomain } from './message.js';

/**
 * A quoted local part as the mailbox it names: `"bob"` is `bob` (RFC 5321 4.1.2: a
 * Quoted-string and the Dot-string it can be written as are the same local part), a
 * quoted-pair `\x` is `x`. Anything else is left as it is, and so is `""`, which no
 * Dot-string writes: unquoted it would be no local part at all, the key of a catch-all route
 * (`@example.org`), and its sender counted and restricted as that route.
 */
function unquoteLocalPart(local: string): string {
  if (local.length < 3 || !local.startsWith('"') || !local.endsWith('"')) return local;
  return local.slice(1, -1).replace(/\\(.)/g, '$1');
}

/**
 * `User+Tag@Example.COM.` → `user@example.com` (separator `+`), then the `identities` map:
 * lower case, the domain as `domainOf` takes it (`canonicalDomain`: A-labels, the root's
 * trailing dot dropped: the same domain, so the same identity), a quoted local part unquoted,
 * the sub-address tag cut. A route key (`@example.org`, a catch-all) has no local part and is
 * only lower-cased. RFC 5233 leaves the separator to the receiving system: it is configuration.
 */
export function normalizeIdentity(
  address: string,
  config: Pick<Config, 'subaddressSeparator' | 'identities'>,
): string {
  const trimmed = address.trim();
  const at = trimmed.lastIndexOf('@');
  if (at <= 0) return trimmed.toLowerCase();
  let local = unquoteLocalPart(trimmed.slice(0, at).toLowerCase());
  const domain = canonicalDomain(trimmed.slice(at + 1));
  const sep = config.subaddressSeparator;
  if (sep !== '') {
    const cut = local.indexOf(sep);
    // `+tag@` alone (an empty base) is left whole: there is no mailbox to fold it into.
    if (cut > 0) local = local.slice(0, cut);
  }
  const normalized = `${local}@${domain}`;
  return config.identities[normalized] ?? normalized;
}
