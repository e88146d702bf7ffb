/**
 * The Lambda's runtime settings, read from the environment once at cold start and validated
 * with a message naming the bad variable (the CDK stack sets them; the sandbox too).
 */
import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import { type Config, parseConfigText } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { envInteger, parseEnvironment } from '../core/validation.js';
import { DEFAULT_LEASE_SECONDS, DEFAULT_MAX_ATTEMPTS } from './retries.js';

const SettingsSchema = v.object({
  /** The configuration document itself (JSON text: local runs, the sandbox), or … */
  OUTBOUND_POOLS_CONFIG_JSON: v.optional(v.string()),
  /**
   * … a path to it, as for the CLI (one meaning everywhere: a path; issue 15 item 8), or …
   * JSON text here is refused with a pointer to `OUTBOUND_POOLS_CONFIG_JSON`.
   */
  OUTBOUND_POOLS_CONFIG: v.optional(
    v.pipe(
      v.string(),
      v.check(
        (p) => !p.trimStart().startsWith('{'),
        'is a path to the configuration file; put JSON text in OUTBOUND_POOLS_CONFIG_JSON',
      ),
    ),
  ),
  /** … the stack's path; default: the file bundled next to the handler. */
  OUTBOUND_POOLS_CONFIG_FILE: v.optional(v.string(), 'outbound-pools.json'),
  MAIL_BUCKET: v.pipe(v.string(), v.minLength(3)),
  /** The receipt rule's S3 object key prefix. */
  MAIL_PREFIX: v.optional(v.string(), ''),
  LIMITS_TABLE: v.pipe(v.string(), v.minLength(3)),
  TRACE_TABLE: v.pipe(v.string(), v.minLength(3)),
  /** A claim protects a message this long: the function timeout plus a margin. */
  LEASE_SECONDS: envInteger(10, 3600, DEFAULT_LEASE_SECONDS),
  /**
   * Attempts Lambda makes per event (1 + the function's `retryAttempts`, which Lambda allows
   * from 0 to 2): the claim's attempt counter reaching it marks the last attempt, on which a DNS
   * temporary failure is decided instead of retried (SPEC 2a, docs/retries.md).
   */
  MAX_ATTEMPTS: envInteger(1, 3, DEFAULT_MAX_ATTEMPTS),
  /** How long a container trusts a restriction it saw before asking DynamoDB again. */
  RESTRICTION_CACHE_SECONDS: envInteger(0, 3600, 60),
  /** How long a container trusts which pools are paused before asking SES again (issue 14). */
  POOL_STATUS_CACHE_SECONDS: envInteger(0, 3600, 30),
  /** The operators' SNS topic for notices (issue 14); absent: no notices. */
  NOTICE_TOPIC_ARN: v.optional(
    v.pipe(v.string(), v.regex(/^arn:[a-z-]+:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/)),
  ),
});

export interface RouterSettings {
  config: Config;
  mailBucket: string;
  mailPrefix: string;
  limitsTable: string;
  traceTable: string;
  leaseMs: number;
  maxAttempts: number;
  restrictionCacheMs: number;
  poolStatusCacheMs: number;
  noticeTopicArn: string | undefined;
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): RouterSettings {
  const s = parseEnvironment(SettingsSchema, env);
  let text = s.OUTBOUND_POOLS_CONFIG_JSON;
  let source = 'OUTBOUND_POOLS_CONFIG_JSON';
  if (text === undefined) {
    source = s.OUTBOUND_POOLS_CONFIG || s.OUTBOUND_POOLS_CONFIG_FILE;
    try {
      text = readFileSync(source, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read configuration ${source}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return {
    config: parseConfigText(text, source),
    mailBucket: s.MAIL_BUCKET,
    mailPrefix: s.MAIL_PREFIX,
    limitsTable: s.LIMITS_TABLE,
    traceTable: s.TRACE_TABLE,
    leaseMs: s.LEASE_SECONDS * 1000,
    maxAttempts: s.MAX_ATTEMPTS,
    restrictionCacheMs: s.RESTRICTION_CACHE_SECONDS * 1000,
    poolStatusCacheMs: s.POOL_STATUS_CACHE_SECONDS * 1000,
    noticeTopicArn: s.NOTICE_TOPIC_ARN,
  };
}

/** What {@link settingsEnvironment} writes: the router's settings before validation. */
export interface RouterEnvironmentInput {
  /** The configuration document (JSON value, written inline). */
  config: unknown;
  mailBucket: string;
  mailPrefix: string;
  limitsTable: string;
  traceTable: string;
  leaseSeconds: number;
  /** Default {@link DEFAULT_MAX_ATTEMPTS} (the variable is left out). */
  maxAttempts?: number;
  restrictionCacheSeconds: number;
  /** Default: the router's default (30 s). */
  poolStatusCacheSeconds?: number;
  /** Default: no notices. */
  noticeTopicArn?: string;
}

/**
 * The environment {@link readSettings} reads, for local runs of the real handler (sandbox,
 * benchmarks, integration tests); the CDK stack sets the same variables.
 */
export function settingsEnvironment(s: RouterEnvironmentInput): Record<string, string> {
  return {
    OUTBOUND_POOLS_CONFIG_JSON: JSON.stringify(s.config),
    MAIL_BUCKET: s.mailBucket,
    MAIL_PREFIX: s.mailPrefix,
    LIMITS_TABLE: s.limitsTable,
    TRACE_TABLE: s.traceTable,
    LEASE_SECONDS: String(s.leaseSeconds),
    ...(s.maxAttempts !== undefined ? { MAX_ATTEMPTS: String(s.maxAttempts) } : {}),
    RESTRICTION_CACHE_SECONDS: String(s.restrictionCacheSeconds),
    ...(s.poolStatusCacheSeconds === undefined
      ? {}
      : { POOL_STATUS_CACHE_SECONDS: String(s.poolStatusCacheSeconds) }),
    ...(s.noticeTopicArn === undefined ? {} : { NOTICE_TOPIC_ARN: s.noticeTopicArn }),
  };
}
