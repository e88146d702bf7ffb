/**
 * The CDK app's settings that the configuration file does not (yet) carry, read from CDK
 * context: `cdk.json` or `-c key=value` on the command line. Values from `-c` arrive as
 * strings, values from `cdk.json` as JSON; both are accepted. Every error names the key.
 */
import { Duration } from 'aws-cdk-lib';
import * as ses from 'aws-cdk-lib/aws-ses';
import type { Node } from 'constructs';
import { POOLS, type Pool } from '../functions/core/vocabulary.js';
import type { OutboundPoolsProps } from './outbound-pools.js';
import { InfrastructureValidationError, logRetentionFromDays } from './validation.js';

/** Context keys the app reads (besides `config`, the configuration file's path). */
export const CONTEXT_KEYS = [
  'stackName',
  'ipPoolScaling',
  'existingIpPools',
  'logRetentionDays',
  'reservedConcurrency',
  'sesSendRate',
  'routerTimeoutSeconds',
  'routerMemoryMb',
  'mailRetentionDays',
  'alarmEmail',
  'activateRuleSet',
  'createIdentities',
  'ruleSetName',
  'region',
  'tlsPolicy',
  'exactRecipients',
  'terminationProtection',
] as const;

/** Lambda's memory sizes, MB (Lambda Developer Guide, "Configure Lambda function memory"). */
const LAMBDA_MEMORY_MB = { min: 128, max: 10_240 } as const;

/** The configuration file the app reads unless `-c config=...` says otherwise. */
export const DEFAULT_CONFIG_PATH = 'config/outbound-pools.json';
export const DEFAULT_STACK_NAME = 'OutboundPools';

/** Settings from context: the stack name and the props beyond the configuration file. */
export interface ContextSettings {
  readonly configPath: string;
  readonly stackName: string;
  /** `-c region=…`: the stack's region, before `CDK_DEFAULT_REGION` (`lib/regions.ts`). */
  readonly region?: string;
  /**
   * `-c terminationProtection=true`: CloudFormation refuses to delete the stack until it is
   * turned off (a production stack; the stateful resources are retained either way).
   */
  readonly terminationProtection?: boolean;
  readonly props: Omit<OutboundPoolsProps, 'config'>;
}

type Lookup = (key: string) => unknown;

const contextError = (key: string, message: string) =>
  new InfrastructureValidationError(`context ${key}`, message);

function str(get: Lookup, key: string): string | undefined {
  const v = get(key);
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw contextError(key, `must be a string (got ${JSON.stringify(v)})`);
  return v;
}

function bool(get: Lookup, key: string): boolean | undefined {
  const v = get(key);
  if (v === undefined || v === null || v === '') return undefined;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw contextError(key, `must be true or false (got ${JSON.stringify(v)})`);
}

function int(get: Lookup, key: string, min: number): number | undefined {
  const v = get(key);
  if (v === undefined || v === null || v === '') return undefined;
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n < min) {
    throw contextError(key, `must be an integer of at least ${min} (got ${JSON.stringify(v)})`);
  }
  return n;
}

function list(get: Lookup, key: string): string[] | undefined {
  const v = get(key);
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') {
    return v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  throw contextError(key, `must be a comma-separated string or a list of strings (got ${JSON.stringify(v)})`);
}

/** A positive number (`sesSendRate`: SES send rates may be fractional, e.g. 1 in the sandbox). */
function positive(get: Lookup, key: string): number | undefined {
  const v = get(key);
  if (v === undefined || v === null || v === '') return undefined;
  const n =
    typeof v === 'number'
      ? v
      : typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim())
        ? Number(v)
        : Number.NaN;
  if (!(Number.isFinite(n) && n > 0)) {
    throw contextError(key, `must be a number above 0 (got ${JSON.stringify(v)})`);
  }
  return n;
}

const TLS_POLICIES = { OPTIONAL: ses.TlsPolicy.OPTIONAL, REQUIRE: ses.TlsPolicy.REQUIRE } as const;

/** `tlsPolicy`: `Optional` or `Require` (any case), the receipt rule's TLS policy. */
function tlsPolicy(get: Lookup, key: string): ses.TlsPolicy | undefined {
  const v = get(key);
  if (v === undefined || v === null || v === '') return undefined;
  const policy =
    typeof v === 'string' ? TLS_POLICIES[v.trim().toUpperCase() as keyof typeof TLS_POLICIES] : undefined;
  if (!policy) throw contextError(key, `must be Optional or Require (got ${JSON.stringify(v)})`);
  return policy;
}

const SCALING = { STANDARD: ses.ScalingMode.STANDARD, MANAGED: ses.ScalingMode.MANAGED } as const;

function scalingMode(key: string, v: unknown): ses.ScalingMode {
  const mode = typeof v === 'string' ? SCALING[v.trim().toUpperCase() as keyof typeof SCALING] : undefined;
  if (!mode) throw contextError(key, `must be STANDARD or MANAGED (got ${JSON.stringify(v)})`);
  return mode;
}

/**
 * `ipPoolScaling`: `MANAGED` (the normal pool's), or per pool as JSON —
 * `{"normal": "MANAGED", "relay": "STANDARD"}` (also accepted as a JSON string from `-c`).
 */
function poolScaling(get: Lookup, key: string): Partial<Record<Pool, ses.ScalingMode>> | undefined {
  let v = get(key);
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string' && v.trim().startsWith('{')) {
    try {
      v = JSON.parse(v);
    } catch (error) {
      throw contextError(key, `is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (typeof v === 'string') return { normal: scalingMode(key, v) };
  if (typeof v !== 'object' || Array.isArray(v) || v === null) {
    throw contextError(key, `must be STANDARD, MANAGED or an object of pools (got ${JSON.stringify(v)})`);
  }
  const out: Partial<Record<Pool, ses.ScalingMode>> = {};
  for (const [pool, mode] of Object.entries(v)) {
    if (!(POOLS as readonly string[]).includes(pool)) {
      throw contextError(`${key}.${pool}`, `is not a pool (${POOLS.join(', ')})`);
    }
    out[pool as Pool] = scalingMode(`${key}.${pool}`, mode);
  }
  return out;
}

/** Reads the app's settings from a construct node's context (the `App`'s). */
export function readContextSettings(node: Node): ContextSettings {
  rejectUnknownContextKeys(node);
  const get: Lookup = (key) => node.tryGetContext(key);
  const logDays = int(get, 'logRetentionDays', 1);
  const timeout = int(get, 'routerTimeoutSeconds', 1);
  const memory = int(get, 'routerMemoryMb', LAMBDA_MEMORY_MB.min);
  if (memory !== undefined && memory > LAMBDA_MEMORY_MB.max) {
    throw contextError('routerMemoryMb', `must be at most ${LAMBDA_MEMORY_MB.max} (got ${memory})`);
  }
  const mailDays = int(get, 'mailRetentionDays', 1);
  const scaling = poolScaling(get, 'ipPoolScaling');
  const existing = list(get, 'existingIpPools');
  const reserved = int(get, 'reservedConcurrency', 1);
  const sendRate = positive(get, 'sesSendRate');
  const alarmEmail = str(get, 'alarmEmail');
  const activate = bool(get, 'activateRuleSet');
  const identities = bool(get, 'createIdentities');
  const ruleSetName = str(get, 'ruleSetName');
  const region = str(get, 'region');
  const tls = tlsPolicy(get, 'tlsPolicy');
  const exact = bool(get, 'exactRecipients');
  const protect = bool(get, 'terminationProtection');
  return {
    configPath: str(get, 'config') ?? DEFAULT_CONFIG_PATH,
    stackName: str(get, 'stackName') ?? DEFAULT_STACK_NAME,
    ...(region !== undefined ? { region } : {}),
    ...(protect !== undefined ? { terminationProtection: protect } : {}),
    props: {
      ...(scaling ? { ipPoolScaling: scaling } : {}),
      ...(existing ? { existingIpPools: existing } : {}),
      ...(logDays !== undefined
        ? { logRetention: logRetentionFromDays('context logRetentionDays', logDays) }
        : {}),
      ...(reserved !== undefined ? { reservedConcurrency: reserved } : {}),
      ...(sendRate !== undefined ? { sesSendRate: sendRate } : {}),
      ...(timeout !== undefined ? { routerTimeout: Duration.seconds(timeout) } : {}),
      ...(memory !== undefined ? { routerMemorySize: memory } : {}),
      ...(mailDays !== undefined ? { mailRetention: Duration.days(mailDays) } : {}),
      ...(alarmEmail !== undefined ? { alarmEmail } : {}),
      ...(activate !== undefined ? { activateRuleSet: activate } : {}),
      ...(identities !== undefined ? { createIdentities: identities } : {}),
      ...(ruleSetName !== undefined ? { ruleSetName } : {}),
      ...(tls !== undefined ? { tlsPolicy: tls } : {}),
      ...(exact !== undefined ? { exactRecipients: exact } : {}),
    },
  };
}

/**
 * Context keys the CDK toolkit or a library sets without a namespace (`cdk.context.json`
 * keeps the acknowledged notices there). Namespaced keys (`@aws-cdk/...`, `aws:cdk:...`,
 * `availability-zones:account=...`, `cdk-nag...`) are not ours to judge and pass.
 */
const FOREIGN_CONTEXT_KEYS = new Set(['acknowledged-issue-numbers']);

function isForeignContextKey(key: string): boolean {
  return (
    FOREIGN_CONTEXT_KEYS.has(key) ||
    key.startsWith('@') ||
    key.includes(':') ||
    key.includes('/') ||
    key.startsWith('cdk-nag')
  );
}

/** Levenshtein distance (insertions, deletions, substitutions), for "did you mean". */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * A typo'd `-c` key (`reservedConcurency`) would otherwise be ignored silently and the stack
 * synthesized with the default: every context key must be one of {@link CONTEXT_KEYS},
 * `config`, or a namespaced key of CDK or a library. The nearest known key is suggested.
 */
export function rejectUnknownContextKeys(node: Node): void {
  const known: readonly string[] = ['config', ...CONTEXT_KEYS];
  for (const key of Object.keys(node.getAllContext() as Record<string, unknown>)) {
    if (known.includes(key) || isForeignContextKey(key)) continue;
    const nearest = known
      .map((k) => ({ k, d: editDistance(key.toLowerCase(), k.toLowerCase()) }))
      .sort((a, b) => a.d - b.d)[0];
    const hint =
      nearest && nearest.d <= Math.max(2, Math.floor(nearest.k.length / 3))
        ? ` (did you mean "${nearest.k}"?)`
        : ` (known keys: ${known.join(', ')})`;
    throw new InfrastructureValidationError('context', `unknown context key "${key}"${hint}`);
  }
}
