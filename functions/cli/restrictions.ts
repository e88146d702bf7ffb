/**
 * `outbound-pools restrictions list|release`: the senders a sending limit restricted (SPEC 4),
 * and lifting a restriction. Reads and writes the limits table (LIMITS_TABLE or
 * --limits-table) through the same store the router uses.
 */
import { parseArgs } from 'node:util';
import { isValidAddress } from '../core/config.js';
import { InvalidInputError } from '../core/errors.js';
import type { LimitsStore } from '../core/ports.js';
import { cliLimitsStore, withProgress } from './aws.js';
import { EXIT, painter, parseNow, table, wantsJson } from './io.js';

export const RESTRICTIONS_USAGE = `Usage: outbound-pools restrictions list [--limits-table NAME] [--now ISO-8601] [--pretty | --json]
       outbound-pools restrictions release ADDRESS [--limits-table NAME] [--json]

list     the sending identities restricted now: reason (the limit crossed), since, until
         (00:00 UTC for block-for-today, "until released" for block)
release  lifts the restriction of ADDRESS at once (exit 1 when it was not restricted); a
         "block" identity is not restricted again that day, its mail over the limit goes
         through high-risk with an alert. The router's containers see a release within
         RESTRICTION_CACHE_SECONDS (60 s by default; the sandbox at once).`;

/**
 * Lifts the restriction of `address` (trimmed, lower-cased): what `restrictions release` and the
 * sandbox console's release button both run. Throws {@link InvalidInputError} for a string that
 * is not an address; `released` is false when the identity was not restricted.
 */
export async function releaseRestriction(
  store: Pick<LimitsStore, 'release'>,
  address: string,
  now: Date,
): Promise<{ identity: string; released: boolean }> {
  const identity = address.trim().toLowerCase();
  if (!isValidAddress(identity)) {
    throw new InvalidInputError('restrictions release', `not an email address: ${JSON.stringify(address)}`);
  }
  return { identity, released: await store.release(identity, now) };
}

export async function restrictionsCommand(argv: string[], out: NodeJS.WriteStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
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

  const { identity, released } = await limitsTable.run(() => releaseRestriction(store, address!, now));
  if (json) out.write(`${JSON.stringify({ identity, released })}\n`);
  else out.write(released ? `released ${identity}\n` : `${identity} is not restricted\n`);
  return released ? EXIT.ok : EXIT.failure;
}
