/**
 * The configuration file: one JSON document read by the Lambda functions, the CDK app, the
 * sandbox and the CLI. It is validated once, at the edge, by {@link parseConfig}; everything
 * downstream receives a fully defaulted, normalised {@link Config}.
 */
import { isIP } from 'node:net';
import * as v from 'valibot';
import { ConfigError } from './errors.js';
import { normalizeIdentity } from './identity.js';
import { isSrsShaped } from './srs.js';
import { describePath, dictionary, type Problem, problemOf } from './validation.js';
import { LIMIT_ACTIONS } from './vocabulary.js';

// valibot rather than zod: its schemas are plain objects built by small functions, which keeps
// building them out of the Lambdas' cold start (bench/README.md, "Where it stands").

/** SES accepts messages of up to 40 MB (SES quotas: "Maximum message size"). */
export const SES_MAX_MESSAGE_BYTES = 40 * 1024 * 1024;

// RFC 1035 2.3.4 / RFC 5321 4.5.3.1.2: labels of 1-63 LDH characters, 253 octets in all.
const DOMAIN_RE =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;
// A pragmatic mailbox: a dot-atom local part (RFC 5322 3.4.1) and a domain as above.
const LOCAL_RE = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/** An IPv4 or IPv6 network in CIDR notation (a bare address means a single host). */
export function isCidr(value: string): boolean {
  const [address, bits, ...rest] = value.split('/');
  if (rest.length > 0 || !address) return false;
  const version = isIP(address);
  if (version === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (version === 4 ? 32 : 128);
}

/**
 * The widest range a trusted gateway may be given. Whatever connects from a gateway's range is
 * believed about the hops before it (its `Received` field decides SPF), so `0.0.0.0/0` would
 * let anyone who connects to SES straight write the hop that proves a spoof (review of
 * December 2026); no real gateway has more than a /8 of IPv4 or a /16 of IPv6.
 */
export const MIN_GATEWAY_PREFIX = { v4: 8, v6: 16 } as const;

/** A CIDR no wider than {@link MIN_GATEWAY_PREFIX} (a bare address is one host). */
function isGatewaySized(value: string): boolean {
  const [address, bits] = value.split('/');
  if (bits === undefined) return true;
  return Number(bits) >= (isIP(address ?? '') === 4 ? MIN_GATEWAY_PREFIX.v4 : MIN_GATEWAY_PREFIX.v6);
}

export function isValidAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  if (at <= 0 || address.length > 254) return false;
  const local = address.slice(0, at);
  return local.length <= 64 && LOCAL_RE.test(local) && DOMAIN_RE.test(address.slice(at + 1));
}

/** A string compared case-insensitively: trimmed and lower-cased, then checked. */
const lowered = (valid: (s: string) => boolean, message: string) =>
  v.pipe(v.string(), v.trim(), v.toLowerCase(), v.check(valid, message));

const domain = lowered((d) => DOMAIN_RE.test(d), 'must be a domain name such as example.com');
const address = lowered(isValidAddress, 'must be an email address such as alias@example.com');
const routeKey = lowered(
  (k) => (k.startsWith('@') ? DOMAIN_RE.test(k.slice(1)) : isValidAddress(k)),
  'route keys are a full address (alias@example.com) or a catch-all (@example.com)',
);

const boundedInt = (min: number, max = Number.MAX_SAFE_INTEGER, tooBig?: string) =>
  v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max, tooBig));
const positiveInt = () => boundedInt(1);
const ssmName = v.pipe(v.string(), v.regex(/^\/?[A-Za-z0-9_.\-/]+$/, 'must be an SSM parameter name'));
const sesName = () => v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (1-64)'));

const policy = v.strictObject({
  /** Recipients in non-accepted domains per clock hour. */
  externalPerHour: positiveInt(),
  /** Recipients in accepted domains per clock hour. */
  internalPerHour: positiveInt(),
  /** Recipients per UTC day. */
  perDay: positiveInt(),
  /** Recipients of one message after route expansion (a service limit: over it is blocked). */
  recipientsPerMessage: positiveInt(),
  /** What happens when a policy limit is reached (SPEC 4). */
  action: v.picklist(LIMIT_ACTIONS),
});
const policyOverride = v.partial(policy);

// Microsoft's recommended outbound spam policy values (SPEC 4).
const DEFAULT_POLICY: v.InferOutput<typeof policy> = {
  externalPerHour: 500,
  internalPerHour: 1000,
  perDay: 1000,
  recipientsPerMessage: 500,
  action: 'block-for-today',
};

/**
 * SES-managed reputation policies of a tenant (SES "Tenants": `none` never pauses the tenant,
 * `standard` pauses it on high-severity reputation findings, `strict` on lower ones too).
 */
export const REPUTATION_POLICIES = ['none', 'standard', 'strict'] as const;
export type ReputationPolicy = (typeof REPUTATION_POLICIES)[number];

/** A rate between 0 and 1, below SES's own review threshold (`max`). */
const rate = (max: number, what: string) =>
  v.pipe(
    v.number(),
    v.minValue(0.0001, 'must be a rate between 0 and 1, e.g. 0.025 for 2.5 %'),
    v.maxValue(max, `must stay below SES's ${what} review rate (${max})`),
  );

const poolSchema = (defaultName: string, defaultPolicy: ReputationPolicy) =>
  v.pipe(
    v.optional(
      v.strictObject({
        /** SES configuration set whose delivery options name the dedicated IP pool. */
        configurationSet: sesName(),
        /** SES dedicated IP pool name (`ses-shared-pool` for SES's shared IPs). */
        ipPool: v.optional(sesName()),
        /** SES tenant every send of the pool names (`TenantName`); default the configuration set's name. */
        tenant: v.optional(sesName()),
        /** The tenant's SES-managed reputation policy. */
        reputationPolicy: v.optional(v.picklist(REPUTATION_POLICIES)),
      }),
      { configurationSet: defaultName },
    ),
    v.transform((p) => ({
      configurationSet: p.configurationSet,
      ipPool: p.ipPool ?? p.configurationSet,
      tenant: p.tenant ?? p.configurationSet,
      reputationPolicy: p.reputationPolicy ?? defaultPolicy,
    })),
  );

/** Where the ARC signing key comes from: never from the configuration file itself. */
const keySource = v.union(
  [v.strictObject({ file: v.pipe(v.string(), v.minLength(1)) }), v.strictObject({ ssmParameter: ssmName })],
  'must be {"file": PATH} or {"ssmParameter": NAME}',
);

// valibot's `optional(schema, default)` parses the default through the schema (zod's
// "prefault"), so a section left out gets its fields' defaults: `limits: {}` and no `limits`
// both give the default policy.
export const ConfigSchema = v.strictObject({
  /** Optional pointer to a JSON schema, ignored. */
  $schema: v.optional(v.string()),
  /** Domains this platform receives and sends for (SES-verified identities). */
  acceptedDomains: v.pipe(v.array(domain), v.minLength(1, 'at least one accepted domain is required')),
  /** Address or `@domain` → destinations. Recipients with no route get nothing. */
  routes: dictionary(
    routeKey,
    v.pipe(v.array(address), v.minLength(1, 'a route needs at least one destination')),
  ),
  srs: v.strictObject({
    /** Domain of SRS return paths; must receive mail through SES so bounces come back. */
    domain,
    /** HMAC secrets, newest first: the first signs, every one verifies (rotation). */
    secrets: v.optional(
      v.pipe(
        v.array(v.pipe(v.string(), v.minLength(8, 'SRS secrets must be at least 8 characters'))),
        v.minLength(1, 'give at least one secret, or leave srs.secrets out'),
      ),
    ),
    /**
     * An SSM SecureString parameter holding the secrets (one per line, newest first). What a
     * deployment uses: the functions read it at cold start, and the secrets never ship in
     * the code or the template. Local tools use `secrets` when both are given.
     */
    secretsParameter: v.optional(ssmName),
    maxAgeDays: v.optional(boundedInt(1, 1023), 21),
    /**
     * Characters of the HMAC kept in an SRS address (postsrsd `-n`/`-N`). 8 by default: a
     * 4-character hash compared case-insensitively falls to about a million guesses.
     */
    hashLength: v.optional(boundedInt(4, 27), 8),
    separator: v.optional(v.picklist(['=', '-', '+']), '='),
    /** SRS recipients of one message that are honoured (first ones in envelope order); SPEC 2a. */
    maxRecipients: v.optional(boundedInt(1, 50), 5),
  }),
  /**
   * Return path for copies whose bounces must not reach the original sender (unauthenticated
   * relay, NDRs): an address of the SRS domain that is not an SRS address, so a bounce to it
   * is dropped (`srs-invalid`) instead of becoming backscatter.
   */
  bounceSink: v.optional(address),
  maxMessageBytes: v.optional(
    boundedInt(1, SES_MAX_MESSAGE_BYTES, `SES sends at most ${SES_MAX_MESSAGE_BYTES} bytes`),
    SES_MAX_MESSAGE_BYTES,
  ),
  /**
   * Sub-address separator (SPEC 4): `user+tag@` counts as `user@` for the sending limits.
   * One character; `""` turns sub-addressing off.
   */
  subaddressSeparator: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[!#$%&'*+/=?^_`{|}~-]?$/, 'must be one character such as + or -, or "" to turn it off'),
    ),
    '+',
  ),
  /**
   * Extra addresses of one mailbox (SPEC 4): address → the mailbox it counts as. Both must be
   * in accepted domains.
   */
  identities: v.optional(dictionary(address, address), {}),
  /** More `Received` fields than this and the message is blocked, `loop` (Postfix `hopcount_limit`). */
  maxHops: v.optional(boundedInt(1, 1000), 50),
  ndr: v.optional(
    v.strictObject({
      /** NDRs sent to one address per clock hour (counted in the limits table); 0 sends none. */
      perRecipientPerHour: v.optional(boundedInt(0, 100_000), 10),
    }),
    {},
  ),
  /**
   * SPEC 2a, "Hostile input is bounded": what one message may cost before it is blocked or
   * its extra work skipped. Defaults and reasons: docs/hostile-input.md.
   */
  bounds: v.optional(
    v.strictObject({
      /** Header block in bytes (Postfix `header_size_limit`); over it: `hard-limit-headers`. */
      headerBytes: v.optional(boundedInt(1024, 1024 * 1024), 102_400),
      /**
       * Header block in lines; over it: `hard-limit-headers`. At most 10,000: mailauth's header
       * parser, quadratic in a field's lines, still reads a message where ours
       * (`header-rows.ts`) is not in its place (the ARC seal's `dkimVerify` fallback, for a
       * caller without the arrival pass's chain result), and every parser's cost grows with
       * the block.
       */
      headerLines: v.optional(boundedInt(10, 10_000), 2_000),
      /**
       * Bytes of DKIM-Signature and ARC fields together; over it: `hard-limit-headers`. mailauth
       * parses every one of them, tag by tag, before any budget applies.
       */
      signatureFieldBytes: v.optional(boundedInt(1024, 1024 * 1024), 24_576),
      /**
       * Bytes of From, Sender and Reply-To fields together; over it: `hard-limit-headers`. Two
       * address parsers and an encoded-word decoder read every mailbox of them.
       */
      authorFieldBytes: v.optional(boundedInt(1024, 1024 * 1024), 8_192),
      /** DKIM signatures verified per message (RFC 6376 6.1 lets a verifier limit them). */
      dkimSignatures: v.optional(boundedInt(1, 50), 5),
      /** One deadline for all DNS lookups of a message, in ms; a later lookup is a temporary error. */
      dnsDeadlineMs: v.optional(boundedInt(100, 60_000), 10_000),
    }),
    {},
  ),
  limits: v.optional(
    v.strictObject({
      default: v.optional(policyOverride, {}),
      domains: v.optional(dictionary(domain, policyOverride), {}),
      senders: v.optional(dictionary(address, policyOverride), {}),
      service: v.optional(
        v.strictObject({
          /** Recipients per sending identity in any rolling 24 hours (Exchange Online: 10,000). */
          recipientsPer24Hours: v.optional(positiveInt(), 10_000),
        }),
        {},
      ),
    }),
    {},
  ),
  relay: v.optional(
    v.strictObject({
      /** Whether an aligned DKIM pass alone keeps forwarded mail out of the relay pool. */
      dkimAvoidsRelay: v.optional(v.boolean(), true),
    }),
    {},
  ),
  /**
   * Enhanced filtering (the article's "Enhanced Filtering for Connectors"): gateways in front
   * of SES (a third-party filter, an on-premises server). Mail that reached SES from one of
   * them gets SPF recomputed against the first untrusted hop of its Received chain.
   */
  trustedGateways: v.optional(
    v.array(
      v.strictObject({
        name: v.pipe(v.string(), v.minLength(1)),
        cidrs: v.pipe(
          v.array(
            v.pipe(
              v.string(),
              v.check(isCidr, 'must be an IPv4 or IPv6 CIDR such as 203.0.113.0/24'),
              v.check(
                isGatewaySized,
                `a gateway's addresses: /${MIN_GATEWAY_PREFIX.v4} or narrower for IPv4, /${MIN_GATEWAY_PREFIX.v6} for IPv6`,
              ),
            ),
          ),
          v.minLength(1),
        ),
      }),
    ),
    [],
  ),
  /**
   * ARC sealing (RFC 8617) of re-sent mail, carrying the authentication results seen on
   * arrival. Absent: copies are sent without a seal.
   */
  arc: v.optional(
    v.strictObject({
      domain,
      selector: v.pipe(
        v.string(),
        v.regex(/^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/, 'must be a DKIM selector such as arc1'),
      ),
      /** authserv-id of the ARC-Authentication-Results (RFC 8601 2.5); default the SRS domain. */
      authservId: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9.-]+$/))),
      /** RSA (PEM, PKCS#8 or PKCS#1) private key: a file (local) or an SSM SecureString parameter. */
      privateKey: keySource,
    }),
  ),
  trace: v.optional(
    v.strictObject({
      /** Days a message trace record is kept (DynamoDB TTL). */
      retentionDays: v.optional(boundedInt(1, 3650), 30),
      /**
       * File SES's Delivery event of every copy under its trace (issue 16: off by default, one
       * feedback invocation and one write unit per copy). Failures are always filed.
       */
      deliveryEvents: v.optional(v.boolean(), false),
    }),
    {},
  ),
  /**
   * Issue 15: prefix of every deployed SES name (`<namePrefix>-<configurationSet>`, IP pools,
   * tenants, rule set), so several stacks share an account; default the stack name
   * (`functions/core/resource-names.ts`).
   */
  namePrefix: v.optional(
    v.pipe(
      v.string(),
      v.regex(
        /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/,
        '1-32 lowercase letters, digits and -, starting and ending with a letter or digit',
      ),
    ),
  ),
  pools: v.optional(
    v.strictObject({
      normal: poolSchema('outbound-normal', 'standard'),
      'high-risk': poolSchema('outbound-high-risk', 'strict'),
      relay: poolSchema('outbound-relay', 'strict'),
    }),
    {},
  ),
  /**
   * Issue 14: bounce and complaint rates (0-1) at which the account-level and per-pool alarms
   * fire, below SES's review thresholds (5 % bounces, 0.1 % complaints); a pool whose own
   * rate crosses them is paused when `pauseOnAlarm` is on.
   */
  reputation: v.optional(
    v.strictObject({
      bounceRate: v.optional(rate(0.05, 'bounce'), 0.025),
      complaintRate: v.optional(rate(0.001, 'complaint'), 0.0005),
      pauseOnAlarm: v.optional(v.boolean(), true),
    }),
    {},
  ),
});

type ParsedConfig = v.InferOutput<typeof ConfigSchema>;
export type LimitPolicy = v.InferOutput<typeof policy>;

export interface Config extends Omit<ParsedConfig, 'limits' | 'bounceSink' | '$schema' | 'srs'> {
  /** `secrets` is empty until resolved from `secretsParameter` (see the SSM adapter). */
  srs: Omit<ParsedConfig['srs'], 'secrets'> & { secrets: string[] };
  bounceSink: string;
  limits: {
    default: LimitPolicy;
    domains: Record<string, Partial<LimitPolicy>>;
    senders: Record<string, Partial<LimitPolicy>>;
    service: { recipientsPer24Hours: number };
  };
}

/** The domain of an address or of a catch-all key (`@example.org`). */
const domainPart = (address: string) => address.slice(address.lastIndexOf('@') + 1);

/** The rules that relate fields to each other, checked once every field is valid. */
function crossFieldProblems(c: ParsedConfig): Problem[] {
  const problems: Problem[] = [];
  const accepted = new Set(c.acceptedDomains);
  for (const key of Object.keys(c.routes)) {
    const d = domainPart(key);
    if (!accepted.has(d)) {
      problems.push({
        path: ['routes', key],
        message: `routes may only be defined for accepted domains; ${d} is not in acceptedDomains`,
      });
    }
  }
  for (const [alias, mailbox] of Object.entries(c.identities)) {
    for (const a of [alias, mailbox]) {
      const d = domainPart(a);
      if (!accepted.has(d)) {
        problems.push({
          path: ['identities', alias],
          message: `identities may only name addresses in accepted domains; ${d} is not in acceptedDomains`,
        });
        break;
      }
    }
  }
  if (!c.srs.secrets && !c.srs.secretsParameter) {
    problems.push({
      path: ['srs', 'secrets'],
      message: 'give the SRS secrets (srs.secrets) or the SSM parameter holding them (srs.secretsParameter)',
    });
  }
  if (accepted.has(c.srs.domain)) {
    problems.push({
      path: ['srs', 'domain'],
      message: 'the SRS domain must not be an accepted domain (bounces to it are reversed, not routed)',
    });
  }
  problems.push(...mailFlowProblems(c, accepted));
  return problems;
}

/**
 * Routes that forward back to themselves — directly (`a → a`), through others (`a → b → a`),
 * or a catch-all forwarding into its own domain — found from the configuration alone. SES
 * receives for the accepted domains, so each copy comes back in; the loop detection blocks it
 * on the second or third pass, and by design no NDR answers a loop: every message to such a
 * route would be lost with nobody told (review of December 2026). Reported once per cycle, at
 * its first route in file order.
 */
function routeCycleProblems(
  routes: Readonly<Record<string, string[]>>,
  accepted: ReadonlySet<string>,
): Problem[] {
  const routeOf = (address: string): string | undefined => {
    if (routes[address] !== undefined) return address;
    const catchAll = `@${domainPart(address)}`;
    return routes[catchAll] !== undefined ? catchAll : undefined;
  };
  const next = (key: string) =>
    [...new Set(routes[key] ?? [])]
      .filter((d) => accepted.has(domainPart(d)))
      .map(routeOf)
      .filter((k): k is string => k !== undefined);
  const problems: Problem[] = [];
  const done = new Set<string>();
  const reported = new Set<string>();
  const visit = (key: string, path: string[]): void => {
    const at = path.indexOf(key);
    if (at >= 0) {
      const cycle = path.slice(at);
      const id = [...cycle].sort().join(' ');
      if (!reported.has(id)) {
        reported.add(id);
        problems.push({
          path: ['routes', cycle[0]!],
          message: `forwards back to itself (${[...cycle, cycle[0]].join(' → ')}): SES receives the copies again, and a loop is blocked without an NDR`,
        });
      }
      return;
    }
    if (done.has(key)) return;
    for (const k of next(key)) visit(k, [...path, key]);
    done.add(key);
  };
  for (const key of Object.keys(routes)) visit(key, []);
  return problems;
}

/**
 * Keys of the address maps that are one address in two spellings (`Alias@Example.com` and
 * `alias@example.com`): the schema reads keys in lower case, so the later would silently
 * replace the earlier (review of December 2026).
 */
function duplicateKeyProblems(json: unknown): Problem[] {
  const problems: Problem[] = [];
  const object = (x: unknown) =>
    typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
  const root = object(json);
  const limits = object(root?.limits);
  const maps: [string[], Record<string, unknown> | undefined][] = [
    [['routes'], object(root?.routes)],
    [['identities'], object(root?.identities)],
    [['limits', 'senders'], object(limits?.senders)],
    [['limits', 'domains'], object(limits?.domains)],
  ];
  for (const [path, map] of maps) {
    const first = new Map<string, string>();
    for (const key of Object.keys(map ?? {})) {
      const same = first.get(key.trim().toLowerCase());
      if (same === undefined) first.set(key.trim().toLowerCase(), key);
      else
        problems.push({
          path: [...path, key],
          message: `is ${JSON.stringify(same)} again: give each address once`,
        });
    }
  }
  return problems;
}

/**
 * What a configuration may not say because the mail would go round or nowhere (review of
 * December 2026): the bounce sink (where copies' bounces are dropped) routed like mail, or
 * mistaken for an SRS address; a route delivering into the SRS domain (dropped there as
 * `srs-invalid`: the alias's mail reaches nobody); a mailbox mapped in `identities` that is
 * itself mapped (counted under two identities); a sending limit for an address that is never
 * an identity (a sub-address, an alias folded into its mailbox: the limit would never apply).
 */
function mailFlowProblems(c: ParsedConfig, accepted: ReadonlySet<string>): Problem[] {
  const problems: Problem[] = [];
  const sink = c.bounceSink;
  if (sink !== undefined) {
    if (accepted.has(domainPart(sink))) {
      problems.push({
        path: ['bounceSink'],
        message: `must not be in an accepted domain (${domainPart(sink)}): its bounces would be routed as mail, and bounce again`,
      });
    }
    if (isSrsShaped(sink)) {
      problems.push({
        path: ['bounceSink'],
        message: 'must not look like an SRS address (SRS0=… or SRS1=…)',
      });
    }
  }
  const sinkAddress = sink ?? `mailer-daemon@${c.srs.domain}`;
  for (const [key, destinations] of Object.entries(c.routes)) {
    destinations.forEach((d, i) => {
      if (domainPart(d) === c.srs.domain || d === sinkAddress) {
        problems.push({
          path: ['routes', key, i],
          message: `must not be in the SRS domain or be the bounce sink: mail forwarded there is dropped (${d})`,
        });
      }
    });
  }
  problems.push(...routeCycleProblems(c.routes, accepted));
  for (const [alias, mailbox] of Object.entries(c.identities)) {
    if (c.identities[mailbox] !== undefined) {
      problems.push({
        path: ['identities', alias],
        message: `maps to ${mailbox}, which is itself mapped: map ${alias} to the final mailbox`,
      });
    }
  }
  for (const address of Object.keys(c.limits?.senders ?? {})) {
    if (normalizeIdentity(address, c) !== address) {
      problems.push({
        path: ['limits', 'senders', address],
        message:
          'is never a sending identity (a sub-address, or an alias in identities): give the limit to its mailbox',
      });
    }
  }
  return problems;
}

/**
 * Validates a parsed JSON document and returns the defaulted configuration. Throws a
 * {@link ConfigError} naming the first bad field (all problems are listed in the message).
 */
export function parseConfig(json: unknown): Config {
  const result = v.safeParse(ConfigSchema, json);
  const problems = [
    ...duplicateKeyProblems(json),
    ...(result.success ? crossFieldProblems(result.output) : result.issues.map(problemOf)),
  ];
  if (!result.success || problems.length > 0) {
    const field = describePath(problems[0]?.path ?? []);
    const lines = problems.map((p) => `  ${describePath(p.path)}: ${p.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`, {
      field,
      ...(result.success ? {} : { cause: new v.ValiError(result.issues) }),
    });
  }
  const { $schema: _ignored, ...c } = result.output;
  return {
    ...c,
    srs: { ...c.srs, secrets: c.srs.secrets ?? [] },
    bounceSink: c.bounceSink ?? `mailer-daemon@${c.srs.domain}`,
    limits: { ...c.limits, default: { ...DEFAULT_POLICY, ...c.limits.default } },
  };
}

/** Parses configuration text (JSON), reporting syntax errors as {@link ConfigError}. */
export function parseConfigText(text: string, source = 'configuration'): Config {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${source} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  return parseConfig(json);
}

/**
 * The policy that applies to a sending identity: the sender's own override, then its
 * domain's, then the default (SPEC 4: "policies can differ per sender, per domain").
 */
export function policyFor(config: Config, identity: string): LimitPolicy {
  const id = identity.toLowerCase();
  const dom = id.slice(id.lastIndexOf('@') + 1);
  return { ...config.limits.default, ...config.limits.domains[dom], ...config.limits.senders[id] };
}
