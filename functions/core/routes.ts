/**
 * Route expansion (SPEC 5): who receives the re-sent copy. Only a route produces a
 * destination; a recipient with no route gets nothing, so this is never an open relay.
 */
import type { Config } from './config.js';
import { canonicalDomain, domainOf } from './message.js';

export interface RoutedRecipient {
  /** The local address the mail arrived for: the alias, list or catch-all address. */
  recipient: string;
  /** The route key that matched (`alias@example.com` or `@example.com`). */
  route: string;
  /** Destinations for this recipient, lower-cased, without duplicates of earlier recipients. */
  destinations: string[];
}

export interface Expansion {
  routed: RoutedRecipient[];
  unrouted: string[];
}

/** Exact address first, then the `@domain` catch-all of that domain. */
export function routeFor(
  config: Config,
  recipient: string,
): { route: string; destinations: string[] } | undefined {
  const r = recipient.toLowerCase();
  const exact = config.routes[r];
  if (exact) return { route: r, destinations: exact };
  const d = domainOf(r);
  const catchAll = d === undefined ? undefined : config.routes[`@${d}`];
  return catchAll ? { route: `@${d}`, destinations: catchAll } : undefined;
}

/**
 * Whether a copy of ours may carry `address` (lower case) as its From: the address a routed
 * recipient arrived for (an alias, a list, an address of a catch-all domain), any address of
 * the bounce sink's domain or of the SRS domain. SES signs our copies for their From, so a signature over
 * such a From proves nothing about the author (`authentication.ts`, our own copies; `send-plan.ts` writes them).
 */
export function isOwnFromAddress(config: Config, address: string): boolean {
  const domain = domainOf(address);
  return (
    routeFor(config, address) !== undefined ||
    (domain !== undefined &&
      (domain === domainOf(config.bounceSink) || domain === canonicalDomain(config.srs.domain)))
  );
}

/**
 * Expands the recipients SES received the message for. A destination reached through two
 * aliases is sent once, under the first alias that produced it.
 */
export function expandRecipients(config: Config, recipients: readonly string[]): Expansion {
  const seen = new Set<string>();
  const routed: RoutedRecipient[] = [];
  const unrouted: string[] = [];
  for (const raw of recipients) {
    const recipient = raw.trim().toLowerCase();
    const route = routeFor(config, recipient);
    if (!route) {
      unrouted.push(recipient);
      continue;
    }
    // Once per message, across routes and within one (a list naming a member twice).
    const destinations: string[] = [];
    for (const d of route.destinations) {
      if (seen.has(d)) continue;
      seen.add(d);
      destinations.push(d);
    }
    routed.push({ recipient, route: route.route, destinations });
  }
  return { routed, unrouted };
}

/** Splits a list into chunks of at most `size` (SES takes at most 50 recipients a call). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
