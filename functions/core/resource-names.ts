/**
 * Deployed SES resource names (issue 15 item 4): SES names configuration sets, dedicated IP
 * pools, tenants and receipt rule sets per account and region, so two stacks in one account
 * (staging next to production) must not share them. The configuration's names are suffixes;
 * the deployed name is `<namePrefix>-<name>`. The prefix is the configuration's `namePrefix`,
 * else the stack name made name-safe ({@link prefixFromStackName}).
 *
 * Every component that names an SES resource gets the names from here: the CDK app (the
 * router and pause functions receive the already prefixed configuration), and the CLI
 * (`doctor`, `pools`), which reads the same configuration file and applies the same prefix.
 * Pure: no AWS imports.
 */
import type { Config } from './config.js';
import { ConfigError } from './errors.js';
import { POOLS } from './vocabulary.js';

/** A name prefix: lowercase (dedicated IP pool names allow no capitals), digits and `-`. */
export const NAME_PREFIX_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
export const NAME_PREFIX_RULE =
  '1-32 lowercase letters, digits and -, starting and ending with a letter or digit';

/** SES-managed IP pools: they exist in every account under these names and are never prefixed. */
export const SES_MANAGED_POOL_NAMES: readonly string[] = ['ses-shared-pool', 'ses-default-dedicated-pool'];

/** SES's longest configuration set, IP pool, tenant and rule set name. */
export const SES_NAME_MAX = 64;

/**
 * The prefix a stack name gives: lowercased, every character other than a letter, digit or
 * `-` made `-` (CloudFormation stack names are letters, digits and `-` already). Too long a
 * stack name is an error asking for an explicit `namePrefix`.
 */
export function prefixFromStackName(stackName: string): string {
  const prefix = stackName
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!NAME_PREFIX_PATTERN.test(prefix)) {
    throw new ConfigError(
      `namePrefix: the stack name "${stackName}" gives no usable prefix (${NAME_PREFIX_RULE}); set namePrefix in the configuration`,
      { field: 'namePrefix' },
    );
  }
  return prefix;
}

/** `<prefix>-<name>`, or a one-line error naming the field when SES would refuse its length. */
export function prefixedName(prefix: string, name: string, field: string): string {
  const full = `${prefix}-${name}`;
  if (full.length > SES_NAME_MAX) {
    throw new ConfigError(
      `${field}: "${full}" is longer than SES's ${SES_NAME_MAX} characters; shorten namePrefix or the name`,
      { field },
    );
  }
  return full;
}

/** The receipt rule set's deployed name. */
export const ruleSetNameFor = (prefix: string): string => prefixedName(prefix, 'inbound', 'ruleSetName');
/** The receipt rule's deployed name (unique within its rule set; prefixed all the same). */
export const ruleNameFor = (prefix: string): string => prefixedName(prefix, 'route-to-pools', 'ruleName');

/**
 * The configuration as deployed: every pool's configuration set, IP pool and tenant named
 * `<prefix>-<name>`, except the SES-managed pools and the `keepIpPools` (existing pools
 * referenced by their full name). `namePrefix` is removed from the result, so
 * {@link deployedConfig} of the result (what the CLI does with a file) changes nothing.
 */
export function withNamePrefix(config: Config, prefix: string, keepIpPools: readonly string[] = []): Config {
  if (!NAME_PREFIX_PATTERN.test(prefix)) {
    throw new ConfigError(`namePrefix: must be ${NAME_PREFIX_RULE} (got "${prefix}")`, {
      field: 'namePrefix',
    });
  }
  const keep = new Set([...SES_MANAGED_POOL_NAMES, ...keepIpPools]);
  const pools = { ...config.pools };
  for (const pool of POOLS) {
    const p = config.pools[pool];
    pools[pool] = {
      ...p,
      configurationSet: prefixedName(prefix, p.configurationSet, `pools.${pool}.configurationSet`),
      ipPool: keep.has(p.ipPool) ? p.ipPool : prefixedName(prefix, p.ipPool, `pools.${pool}.ipPool`),
      tenant: prefixedName(prefix, p.tenant, `pools.${pool}.tenant`),
    };
  }
  const { namePrefix: _applied, ...rest } = config;
  return { ...rest, pools };
}

/** What the CLI uses: the configuration's own `namePrefix` applied, or the names as written. */
export function deployedConfig(config: Config): Config {
  return config.namePrefix === undefined ? config : withNamePrefix(config, config.namePrefix);
}
