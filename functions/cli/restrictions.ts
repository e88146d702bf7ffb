/**
 * `outbound-pools restrictions list|release`: the senders a sending limit restricted (SPEC 4),
 * and lifting a restriction. Reads and writes the limits table (LIMITS_TABLE or
 * --limits-table) through the same store the router uses.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type Config, isValidAddress } from '../core/config.js';
import { InvalidInputError } from '../core/errors.js';
import { normalizeIdentity } from '../core/identity.js';
import { canonicalDomain } from '../core/message.js';
import type { LimitsStore } from '../core/ports.js';
import { cliLimitsStore, withProgress } from './aws.js';
import { configSource, EXIT, noteSource, painter, parseNow, readConfigFile, table, wantsJson } from './io.js';

export const RESTRICTIONS_USAGE = `Usage: outbound-pools restrictions list [--limits-table NAME] [--now ISO-8601] [--pretty | --json]
       outbound-pools restrictions release ADDRESS|@DOMAIN [--config CONFIG.json] [--limits-table NAME] [--json]

list     the sending identities restricted now: reason (the limit crossed), since, until
         (00:00 UTC for block-for-today, "until released" for block)
release  lifts the restriction of ADDRESS at once (exit 1 when it was not restricted); a
         "block" identity is not restricted again that day, its mail over the limit goes
         through high-risk with an alert. The router's containers see a release within
         RESTRICTION_CACHE_SECONDS (60 s by default; the sandbox at once). ADDRESS is
         normalized as the router does (CONFIG.json's subaddressSeparator and identities,
         lower case, IDN domains as A-labels); a catch-all route's identity is @DOMAIN.`;

/** No configuration: the identity is only lower-cased, its domain in A-labels (no tag cut, no alias). */
const NO_IDENTITY_CONFIG = { subaddressSeparator: '', identities: {} } as const;

/**
 * The identity the router counts and restricts `input` under (`normalizeIdentity`): an
 * address, or a catch-all route key `@example.org`. `config` brings the sub-address separator
 * and the `identities` aliases; without it the address is only lower-cased (domain as
 * A-labels). Throws {@link InvalidInputError} for anything else.
 */
export function operatorIdentity(
  input: string,
  what: string,
  config: Pick<Config, 'subaddressSeparator' | 'identities'> = NO_IDENTITY_CONFIG,
): string {
  const trimmed = input.trim();
  let identity: string;
  try {
    identity = trimmed.startsWith('@')
      ? `@${canonicalDomain(trimmed.slice(1))}`
      : normalizeIdentity(trimmed, config);
  } catch {
    identity = '';
  }
  const valid = identity.startsWith('@') ? isValidAddress(`x${identity}`) : isValidAddress(identity);
  if (!valid) {
    throw new InvalidInputError(
      what,
      `not an email address or a catch-all route key (@example.org): ${JSON.stringify(input)}`,
    );
  }
  return identity;
}

/**
 * The configuration's identity rules for {@link operatorIdentity}: `--config`,
 * OUTBOUND_POOLS_CONFIG, else the default file when there is one (a release must work away
 * from the repository too: then said on stderr, and the address only lower-cased). Only the
 * file is read (no SRS secrets from SSM): a release needs no more permissions than the table.
 */
export function identityConfig(flag: string | undefined): Config | undefined {
  const { path, from } = configSource(flag);
  if (from === 'the default' && !existsSync(path)) {
    noteSource(
      `no configuration (${path}): the address is not folded into its mailbox (sub-address tag, identities); pass --config`,
    );
    return undefined;
  }
  const config = readConfigFile(path);
  noteSource(`configuration ${path} (from ${from})`);
  return config;
}

/** Says on stderr when the identity is not what the operator typed. */
export function noteIdentity(input: string, identity: string): void {
  if (input.trim() !== identity) noteSource(`${input.trim()} → identity ${identity}`);
}

/**
 * Lifts the restriction of `address` (an address or a catch-all route key `@example.org`,
 * normalized as the router does with `config`: see {@link operatorIdentity}): what
 * `restrictions release` and the sandbox console's release button both run. Throws
 * {@link InvalidInputError} for anything else; `released` is false when the identity was not
 * restricted.
 */
export async function releaseRestriction(
  store: Pick<LimitsStore, 'release'>,
  address: string,
  now: Date,
  config?: Pick<Config, 'subaddressSeparator' | 'identities'>,
): Promise<{ identity: string; released: boolean }> {
  const identity = operatorIdentity(address, 'restrictions release', config);
  return { identity, released: await store.release(identity, now) };
}

export async function restrictionsCommand(argv: string[], out: NodeJS.WriteStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      'limits-table': { type: 'string' },
      now: { type: 'string' },
      json: { type: 'boolean' },
      pretty: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [verb, address, ...extra] = positionals;
  const usage = (why: string) => new InvalidInputError('restrictions', `${why}\n\n${RESTRICTIONS_USAGE}`);
  if (verb !== 'list' && verb !== 'release') throw usage('expected "list" or "release ADDRESS"');
  if (verb === 'list' && (address !== undefined || extra.length > 0)) throw usage('"list" takes no address');
  if (verb === 'release' && (address === undefined || extra.length > 0))
    throw usage('"release" takes one address');
  const now = parseNow(values.now);
  const json = wantsJson(values, out);
  const { table: limitsTable, store } = cliLimitsStore(values['limits-table']);
  const paint = painter(out);

  if (verb === 'list') {
    const list = await limitsTable.run(() =>
      withProgress('reading restrictions…', () => store.listRestricted(now)),
    );
    list.sort((a, b) => a.identity.localeCompare(b.identity));
    if (json) {
      out.write(`${JSON.stringify(list)}\n`);
    } else if (list.length === 0) {
      out.write(`${paint('dim', 'no sender is restricted')}\n`);
    } else {
      out.write(
        `${table([
          ['identity', 'reason', 'since', 'until'].map((h) => paint('bold', h)),
          ...list.map((r) => [r.identity, r.reason, r.since, r.until ?? paint('yellow', 'until released')]),
        ])}\n`,
      );
    }
    return EXIT.ok;
  }

  const config = identityConfig(values.config);
  // Refused before the table is touched: a typo is exit 2, not "not restricted".
  noteIdentity(address!, operatorIdentity(address!, 'restrictions release', config));
  const { identity, released } = await limitsTable.run(() =>
    releaseRestriction(store, address!, now, config),
  );
  if (json) out.write(`${JSON.stringify({ identity, released })}\n`);
  else out.write(released ? `released ${identity}\n` : `${identity} is not restricted\n`);
  return released ? EXIT.ok : EXIT.failure;
}
