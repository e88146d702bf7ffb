/**
 * The simulated world around a configuration: who sends (the synthetic senders and their IP
 * addresses), the DNS they publish (a zone map, the sandbox's `--zones`), the DKIM key they
 * sign with, and the three synthetic senders whose limit policies the simulation adds to the
 * configuration under test.
 *
 * The configuration's accepted domains get records of the simulation's own (SPF for
 * 198.51.100.0/24, a DKIM key at `sim._domainkey`, DMARC p=reject, an MX): a simulation
 * tries a *policy*, it does not read the real DNS (`outbound-pools doctor` does that).
 * Every other domain is a reserved `.test` name (RFC 2606) and every address a documentation
 * or benchmarking range (RFC 5737, RFC 2544).
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Config, LimitPolicy } from '../../functions/core/config.js';
import type { Zones } from '../../functions/core/dns/zone-resolver.js';
import { InvalidInputError } from '../../functions/core/errors.js';

/** The simulation's DKIM key, one for every signing domain (each publishes its public half). */
export const SIMULATION_KEY_FILE = fileURLToPath(
  new URL('../../examples/simulate/keys/simulate-dkim.NOT-SECRET.pem', import.meta.url),
);
export const DKIM_SELECTOR = 'sim';

/** The virtual day the stream runs on (a Monday, in the past so signatures are never "future"). */
export const VIRTUAL_DAY = Date.UTC(2026, 2, 2);

/** Mail servers of the accepted domains (their SPF record authorizes this /24). */
export const ACCEPTED_NET = '198.51.100';

/** The external actors: domain, the IP they send from, HELO, and what they publish. */
export const ACTORS = {
  /** Forwarded mail authenticated by SPF (From aligned with the envelope). */
  partnerSpf: { domain: 'partner-spf.test', ip: '192.0.2.10', helo: 'mx.partner-spf.test' },
  /** Forwarded through a list host not in its SPF: authenticated by aligned DKIM only. */
  partnerDkim: { domain: 'partner-dkim.test', ip: '203.0.113.77', helo: 'lists.listhost.test' },
  /** Publishes nothing: no SPF, no DKIM, no DMARC. */
  unauth: { domain: 'unauth.test', ip: '203.0.113.50', helo: 'smtp.unauth.test' },
  /** The attacker with its own domain, SPF and DKIM key. */
  attacker: { domain: 'attacker.test', ip: '198.18.5.10', helo: 'mail.attacker.test' },
  /** An envelope domain with SPF pass, unrelated to the From it carries. */
  evil: { domain: 'evil.test', ip: '198.18.6.10', helo: 'mta.evil.test' },
  /** A brand with DMARC p=reject that the spoofs put in From. */
  bank: { domain: 'bank.test', ip: '192.0.2.150', helo: 'mx.bank.test' },
  /** SPF and DKIM pass, but neither an A nor an MX record. */
  ghost: { domain: 'ghost.test', ip: '198.18.7.10', helo: 'ghost.test' },
  /** A remote MTA sending bounces (null reverse path; SPF checks its HELO). */
  bouncer: { domain: 'bouncer.test', ip: '192.0.2.60', helo: 'mx.bouncer.test' },
} as const;

export interface SimKey {
  privateKey: string;
  /** The TXT record of `sim._domainkey.<domain>`. */
  record: string;
}

export async function loadSimulationKey(file = SIMULATION_KEY_FILE): Promise<SimKey> {
  const pem = await readFile(file, 'utf8');
  const der = createPublicKey(createPrivateKey(pem))
    .export({ type: 'spki', format: 'der' })
    .toString('base64');
  return { privateKey: pem, record: `v=DKIM1; k=rsa; p=${der}` };
}

/** A route the stream can address: how to pick a recipient, and where copies go. */
export interface SimRoute {
  key: string;
  destinations: string[];
  /** The recipient to put in RCPT TO (the key, or a local part at a catch-all domain). */
  recipient(word: () => string): string;
}

export interface SimActorPolicies {
  burst: { identity: string; policy: LimitPolicy };
  newsletter: { identity: string; policy: LimitPolicy };
  alerts: { identity: string; policy: LimitPolicy };
}

export interface World {
  accepted: string[];
  primary: string;
  routes: SimRoute[];
  /** The route the limited senders (burst, newsletter, alerts) write to. */
  actorRoute: SimRoute;
  key: SimKey;
}

/** The destinations a recipient's route gives (exact address first, then the catch-all). */
export function routeDestinations(routes: Readonly<Record<string, string[]>>, recipient: string): string[] {
  const r = recipient.toLowerCase();
  const exact = routes[r];
  if (exact) return exact;
  return routes[`@${r.slice(r.lastIndexOf('@') + 1)}`] ?? [];
}

export function buildWorld(config: Config, key: SimKey): World {
  const routes: SimRoute[] = Object.entries(config.routes)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, destinations]) => ({
      key: k,
      destinations,
      recipient: k.startsWith('@') ? (word: () => string) => `${word()}${k}` : () => k,
    }));
  if (routes.length === 0) {
    throw new InvalidInputError(
      '--config',
      'the configuration has no routes: there is nothing to forward to',
    );
  }
  const accepted = new Set(config.acceptedDomains);
  const external = (r: SimRoute) =>
    r.destinations.every((d) => !accepted.has(d.slice(d.lastIndexOf('@') + 1)));
  // An exact route with external destinations only keeps the limit arithmetic of the limited
  // senders to one counter; any route will do when there is none.
  const actorRoute =
    routes.find((r) => !r.key.startsWith('@') && external(r)) ?? routes.find(external) ?? routes[0]!;
  return {
    accepted: [...config.acceptedDomains],
    primary: config.acceptedDomains[0]!,
    routes,
    actorRoute,
    key,
  };
}

/**
 * The policies the simulation gives its three limited senders, sized to the class so that a
 * part of it is within the limit and the rest past it: a burst past a `block-for-today`
 * limit, a `block` sender restricted by its second message, an `alert`-only sender.
 */
export function actorPolicies(
  world: World,
  counts: { burst: number; alerts: number },
  defaults: LimitPolicy,
): SimActorPolicies {
  const copies = world.actorRoute.destinations.length;
  const at = (local: string) => `${local}@${world.primary}`;
  const policy = (perHourMessages: number, action: LimitPolicy['action']): LimitPolicy => {
    const hour = Math.max(1, perHourMessages) * copies;
    return {
      externalPerHour: hour,
      internalPerHour: hour,
      perDay: hour * 10,
      recipientsPerMessage: Math.max(copies, defaults.recipientsPerMessage),
      action,
    };
  };
  return {
    burst: { identity: at('sim-burst'), policy: policy(Math.floor(counts.burst / 3), 'block-for-today') },
    newsletter: { identity: at('sim-newsletter'), policy: policy(1, 'block') },
    alerts: { identity: at('sim-alerts'), policy: policy(Math.floor(counts.alerts / 2), 'alert') },
  };
}

const MX = (host: string) => [{ exchange: host, priority: 10 }];

/** The zone map of the simulated world. */
export function buildZones(config: Config, key: SimKey): Zones {
  const dkim = { TXT: [key.record] };
  const zones: Zones = {};
  for (const d of config.acceptedDomains) {
    zones[d] = {
      MX: MX('inbound-smtp.us-east-1.amazonaws.com'),
      TXT: [`v=spf1 ip4:${ACCEPTED_NET}.0/24 -all`],
    };
    zones[`${DKIM_SELECTOR}._domainkey.${d}`] = dkim;
    zones[`_dmarc.${d}`] = { TXT: ['v=DMARC1; p=reject'] };
  }
  zones[config.srs.domain] = { MX: MX('inbound-smtp.us-east-1.amazonaws.com') };
  const a = ACTORS;
  Object.assign(zones, {
    [a.partnerSpf.domain]: {
      A: [a.partnerSpf.ip],
      MX: MX(a.partnerSpf.helo),
      TXT: ['v=spf1 ip4:192.0.2.0/25 -all'],
    },
    [a.partnerSpf.helo]: { A: [a.partnerSpf.ip] },
    [`_dmarc.${a.partnerSpf.domain}`]: { TXT: ['v=DMARC1; p=none'] },
    [a.partnerDkim.domain]: {
      A: ['192.0.2.200'],
      MX: MX('mx.partner-dkim.test'),
      TXT: ['v=spf1 ip4:192.0.2.200 -all'],
    },
    [`${DKIM_SELECTOR}._domainkey.${a.partnerDkim.domain}`]: dkim,
    [`_dmarc.${a.partnerDkim.domain}`]: { TXT: ['v=DMARC1; p=quarantine'] },
    [a.partnerDkim.helo]: { A: [a.partnerDkim.ip] },
    [a.unauth.domain]: { A: [a.unauth.ip] },
    [a.attacker.domain]: {
      A: [a.attacker.ip],
      MX: MX(a.attacker.helo),
      TXT: ['v=spf1 ip4:198.18.5.0/24 -all'],
    },
    [`${DKIM_SELECTOR}._domainkey.${a.attacker.domain}`]: dkim,
    [`_dmarc.${a.attacker.domain}`]: { TXT: ['v=DMARC1; p=none'] },
    [a.evil.domain]: { A: [a.evil.ip], MX: MX(a.evil.helo), TXT: ['v=spf1 ip4:198.18.6.0/24 -all'] },
    [a.bank.domain]: { A: [a.bank.ip], MX: MX(a.bank.helo), TXT: [`v=spf1 ip4:${a.bank.ip} -all`] },
    [`_dmarc.${a.bank.domain}`]: { TXT: ['v=DMARC1; p=reject'] },
    [a.ghost.domain]: { TXT: ['v=spf1 ip4:198.18.7.0/24 -all'] },
    [`${DKIM_SELECTOR}._domainkey.${a.ghost.domain}`]: dkim,
    [a.bouncer.helo]: { A: [a.bouncer.ip], TXT: ['v=spf1 a -all'] },
    [a.bouncer.domain]: { A: [a.bouncer.ip], MX: MX(a.bouncer.helo) },
  });
  return zones;
}

/**
 * The SRS secrets the sandbox needs: a file that names only an SSM parameter gets a literal
 * secret of the simulation instead (the sandbox has no SSM, and the secret decides nothing).
 */
export function withLiteralSrsSecrets(json: Record<string, unknown>): Record<string, unknown> {
  const srs = json.srs;
  if (typeof srs !== 'object' || srs === null || Array.isArray((srs as Record<string, unknown>).secrets))
    return json;
  const { secretsParameter: _parameter, ...rest } = srs as Record<string, unknown>;
  return { ...json, srs: { ...rest, secrets: ['simulation-srs-secret-not-for-production'] } };
}

/**
 * The configuration under test with the policies of the simulation's three limited senders
 * (they replace any policy those synthetic addresses had).
 */
export function withActorPolicies(
  json: Record<string, unknown>,
  policies: SimActorPolicies,
): Record<string, unknown> {
  const limits = { ...((json.limits as Record<string, unknown> | undefined) ?? {}) };
  const senders = { ...((limits.senders as Record<string, unknown> | undefined) ?? {}) };
  for (const a of [policies.burst, policies.newsletter, policies.alerts]) senders[a.identity] = a.policy;
  return { ...json, limits: { ...limits, senders } };
}
