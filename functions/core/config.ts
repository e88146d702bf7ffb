/**
 * The configuration file: one JSON document read by the Lambda functions, the CDK app, the
 * sandbox and the CLI. It is validated once, at the edge, by {@link parseConfig}; everything
 * downstream receives a fully defaulted, normalised {@link Config}.
 */
import { isIP } from 'node:net';
import { en } from 'zod/locales';
import * as z from 'zod/mini';

// zod/mini (not the classic API) keeps ~440 KB out of the Lambda bundles; it ships no error
// messages of its own, so load the English ones (only those: a named import tree-shakes).
z.config(en());

import { ConfigError } from './errors.js';
import { LIMIT_ACTIONS } from './vocabulary.js';

/** SES accepts messages of up to 40 MB (SES quotas: "Maximum message size"). */
export const SES_MAX_MESSAGE_BYTES = 40 * 1024 * 1024;

// RFC 1035 2.3.4 / RFC 5321 4.5.3.1.2: labels of 1-63 LDH characters, 253 octets in all.
const DOMAIN_RE =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;
// A pragmatic mailbox: a dot-atom local part (RFC 5322 3.4.1) and a domain as above.
const LOCAL_RE = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

const lower = (s: string) => s.trim().toLowerCase();

/** An IPv4 or IPv6 network in CIDR notation (a bare address means a single host). */
export function isCidr(value: string): boolean {
  const [address, bits, ...rest] = value.split('/');
  if (rest.length > 0 || !address) return false;
  const v = isIP(address);
  if (v === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (v === 4 ? 32 : 128);
}

const domain = z.pipe(
  z.string(),
  z
    .transform(lower)
    .check(z.refine((d: string) => DOMAIN_RE.test(d), 'must be a domain name such as example.com')),
);

export function isValidAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  if (at <= 0 || address.length > 254) return false;
  const local = address.slice(0, at);
  return local.length <= 64 && LOCAL_RE.test(local) && DOMAIN_RE.test(address.slice(at + 1));
}

const address = z.pipe(
  z.string(),
  z.transform(lower).check(z.refine(isValidAddress, 'must be an email address such as alias@example.com')),
);

const routeKey = z.pipe(
  z.string(),
  z
    .transform(lower)
    .check(
      z.refine(
        (k: string) => (k.startsWith('@') ? DOMAIN_RE.test(k.slice(1)) : isValidAddress(k)),
        'route keys are a full address (alias@example.com) or a catch-all (@example.com)',
      ),
    ),
);

const positiveInt = () => z.int().check(z.positive());
const boundedInt = (min: number, max: number) => z.int().check(z.gte(min), z.lte(max));
const ssmName = z.string().check(z.regex(/^\/?[A-Za-z0-9_.\-/]+$/, 'an SSM parameter name'));
const sesName = () => z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (1-64)'));

const policyShape = {
  /** Recipients in non-accepted domains per clock hour. */
  externalPerHour: positiveInt(),
  /** Recipients in accepted domains per clock hour. */
  internalPerHour: positiveInt(),
  /** Recipients per UTC day. */
  perDay: positiveInt(),
  /** Recipients of one message after route expansion (a service limit: over it is blocked). */
  recipientsPerMessage: positiveInt(),
  /** What happens when a policy limit is reached (SPEC 4). */
  action: z.enum(LIMIT_ACTIONS),
};

// Microsoft's recommended outbound spam policy values (SPEC 4).
const DEFAULT_POLICY = {
  externalPerHour: 500,
  internalPerHour: 1000,
  perDay: 1000,
  recipientsPerMessage: 500,
  action: 'block-for-today' as const,
};

const policy = z.strictObject(policyShape);
const policyOverride = z.partial(policy);

const poolSchema = (defaultName: string) =>
  z.pipe(
    z.prefault(
      z.strictObject({
        /** SES configuration set whose delivery options name the dedicated IP pool. */
        configurationSet: sesName(),
        /** SES dedicated IP pool name (`ses-shared-pool` for SES's shared IPs). */
        ipPool: z.optional(sesName()),
      }),
      { configurationSet: defaultName },
    ),
    z.transform((p: { configurationSet: string; ipPool?: string | undefined }) => ({
      configurationSet: p.configurationSet,
      ipPool: p.ipPool ?? p.configurationSet,
    })),
  );

/** Where the ARC signing key comes from: never from the configuration file itself. */
const keySource = z.union([
  z.strictObject({ file: z.string().check(z.minLength(1)) }),
  z.strictObject({ ssmParameter: ssmName }),
]);

export const ConfigSchema = z
  .strictObject({
    /** Optional pointer to a JSON schema, ignored. */
    $schema: z.optional(z.string()),
    /** Domains this platform receives and sends for (SES-verified identities). */
    acceptedDomains: z.array(domain).check(z.minLength(1, 'at least one accepted domain is required')),
    /** Address or `@domain` → destinations. Recipients with no route get nothing. */
    routes: z.record(
      routeKey,
      z.array(address).check(z.minLength(1, 'a route needs at least one destination')),
    ),
    srs: z.strictObject({
      /** Domain of SRS return paths; must receive mail through SES so bounces come back. */
      domain,
      /** HMAC secrets, newest first: the first signs, every one verifies (rotation). */
      secrets: z.optional(
        z
          .array(z.string().check(z.minLength(8, 'SRS secrets must be at least 8 characters')))
          .check(z.minLength(1)),
      ),
      /**
       * An SSM SecureString parameter holding the secrets (one per line, newest first). What a
       * deployment uses: the functions read it at cold start, and the secrets never ship in
       * the code or the template. Local tools use `secrets` when both are given.
       */
      secretsParameter: z.optional(ssmName),
      maxAgeDays: z._default(boundedInt(1, 1023), 21),
      hashLength: z._default(boundedInt(4, 27), 4),
      separator: z._default(z.enum(['=', '-', '+']), '='),
    }),
    /**
     * Return path for copies whose bounces must not reach the original sender (unauthenticated
     * relay, NDRs): an address of the SRS domain that is not an SRS address, so a bounce to it
     * is dropped (`srs-invalid`) instead of becoming backscatter.
     */
    bounceSink: z.optional(address),
    maxMessageBytes: z._default(
      positiveInt().check(z.lte(SES_MAX_MESSAGE_BYTES, `SES sends at most ${SES_MAX_MESSAGE_BYTES} bytes`)),
      SES_MAX_MESSAGE_BYTES,
    ),
    limits: z.prefault(
      z.strictObject({
        default: z.prefault(policyOverride, {}),
        domains: z._default(z.record(domain, policyOverride), {}),
        senders: z._default(z.record(address, policyOverride), {}),
        service: z.prefault(
          z.strictObject({
            /** Recipients per sending identity in any rolling 24 hours (Exchange Online: 10,000). */
            recipientsPer24Hours: z._default(positiveInt(), 10_000),
          }),
          {},
        ),
      }),
      {},
    ),
    relay: z.prefault(
      z.strictObject({
        /** Whether an aligned DKIM pass alone keeps forwarded mail out of the relay pool. */
        dkimAvoidsRelay: z._default(z.boolean(), true),
      }),
      {},
    ),
    /**
     * Enhanced filtering (the article's "Enhanced Filtering for Connectors"): gateways in front
     * of SES (a third-party filter, an on-premises server). Mail that reached SES from one of
     * them gets SPF recomputed against the first untrusted hop of its Received chain.
     */
    trustedGateways: z._default(
      z.array(
        z.strictObject({
          name: z.string().check(z.minLength(1)),
          cidrs: z
            .array(z.string().check(z.refine(isCidr, 'an IPv4 or IPv6 CIDR such as 203.0.113.0/24')))
            .check(z.minLength(1)),
        }),
      ),
      [],
    ),
    /**
     * ARC sealing (RFC 8617) of re-sent mail, carrying the authentication results seen on
     * arrival. Absent: copies are sent without a seal.
     */
    arc: z.optional(
      z.strictObject({
        domain,
        selector: z
          .string()
          .check(z.regex(/^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/, 'a DKIM selector such as arc1')),
        /** authserv-id of the ARC-Authentication-Results (RFC 8601 2.5); default the SRS domain. */
        authservId: z.optional(z.string().check(z.regex(/^[A-Za-z0-9.-]+$/))),
        /** RSA (PEM, PKCS#8 or PKCS#1) private key: a file (local) or an SSM SecureString parameter. */
        privateKey: keySource,
      }),
    ),
    trace: z.prefault(
      z.strictObject({
        /** Days a message trace record is kept (DynamoDB TTL). */
        retentionDays: z._default(boundedInt(1, 3650), 30),
      }),
      {},
    ),
    pools: z.prefault(
      z.strictObject({
        normal: poolSchema('outbound-normal'),
        'high-risk': poolSchema('outbound-high-risk'),
        relay: poolSchema('outbound-relay'),
      }),
      {},
    ),
  })
  .check(
    z.superRefine((c, ctx) => {
      const accepted = new Set(c.acceptedDomains);
      for (const key of Object.keys(c.routes)) {
        const d = key.startsWith('@') ? key.slice(1) : key.slice(key.lastIndexOf('@') + 1);
        if (!accepted.has(d)) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', key],
            message: `routes may only be defined for accepted domains; ${d} is not in acceptedDomains`,
          });
        }
      }
      if (!c.srs.secrets && !c.srs.secretsParameter) {
        ctx.addIssue({
          code: 'custom',
          path: ['srs', 'secrets'],
          message:
            'give the SRS secrets (srs.secrets) or the SSM parameter holding them (srs.secretsParameter)',
        });
      }
      if (accepted.has(c.srs.domain)) {
        ctx.addIssue({
          code: 'custom',
          path: ['srs', 'domain'],
          message: 'the SRS domain must not be an accepted domain (bounces to it are reversed, not routed)',
        });
      }
    }),
  );

type ParsedConfig = z.output<typeof ConfigSchema>;
export type LimitPolicy = z.output<typeof policy>;

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

function describePath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.') || '(root)';
}

/**
 * Validates a parsed JSON document and returns the defaulted configuration. Throws a
 * {@link ConfigError} naming the first bad field (all problems are listed in the message).
 */
export function parseConfig(json: unknown): Config {
  const result = ConfigSchema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues;
    const first = issues[0];
    const field = first ? describePath(first.path) : '(root)';
    // A bad record key is reported by zod as "Invalid key in record"; say why instead.
    const why = (i: (typeof issues)[number]) =>
      i.code === 'invalid_key' ? (i.issues[0]?.message ?? i.message) : i.message;
    const lines = issues.map((i) => `  ${describePath(i.path)}: ${why(i)}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`, { field, cause: result.error });
  }
  const { $schema: _ignored, ...c } = result.data;
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
