/**
 * `outbound-pools limits show ADDRESS`: a sending identity's counters (limits table) against
 * the policy that applies to it (`policyFor`: the sender's override, its domain's, the
 * default) and the service cap, with its restriction if any.
 */
import { parseArgs } from 'node:util';
import { type Config, type LimitPolicy, policyFor } from '../core/config.js';
import { InvalidInputError } from '../core/errors.js';
import { ZERO_COUNTERS } from '../core/limits.js';
import { cliLimitsStore, withProgress } from './aws.js';
import { EXIT, loadConfig, painter, parseNow, table, wantsJson } from './io.js';
import { noteIdentity, operatorIdentity } from './restrictions.js';

export const LIMITS_USAGE = `Usage: outbound-pools limits show ADDRESS|@DOMAIN [--config CONFIG.json] [--limits-table NAME]
         [--now ISO-8601] [--pretty | --json]

Shows the counters of a sending identity (the sender of an accepted domain, or the alias or list
that forwards) for the current hour, UTC day and rolling 24 hours, against the limits of its
policy in CONFIG.json, and its restriction. ADDRESS is normalized as the router does (sub-address
tag cut, identities aliases, lower case, IDN domains as A-labels); a catch-all route's identity is
@DOMAIN.`;

/** Where the identity's policy comes from. */
function policySource(config: Config, identity: string): 'sender' | 'domain' | 'default' {
  if (config.limits.senders[identity]) return 'sender';
  if (config.limits.domains[identity.slice(identity.lastIndexOf('@') + 1)]) return 'domain';
  return 'default';
}

export async function limitsCommand(argv: string[], out: NodeJS.WriteStream): Promise<number> {
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
  if (verb !== 'show' || address === undefined || extra.length > 0) {
    throw new InvalidInputError('limits', `expected "show ADDRESS"\n\n${LIMITS_USAGE}`);
  }
  operatorIdentity(address, 'limits show'); // a typo is refused before the configuration is read
  const now = parseNow(values.now);
  const config = await loadConfig(values.config);
  const identity = operatorIdentity(address, 'limits show', config);
  noteIdentity(address, identity);
  const json = wantsJson(values, out);
  const { table: limitsTable, store } = cliLimitsStore(values['limits-table']);
  const state = await limitsTable.run(() =>
    withProgress('reading counters…', () => store.peek(identity, now)),
  );

  const policy: LimitPolicy = policyFor(config, identity);
  const counters = state?.counters ?? { ...ZERO_COUNTERS };
  const limits = {
    externalHour: policy.externalPerHour,
    internalHour: policy.internalPerHour,
    day: policy.perDay,
    rolling24h: config.limits.service.recipientsPer24Hours,
  };
  const remaining = {
    externalHour: Math.max(0, limits.externalHour - counters.externalHour),
    internalHour: Math.max(0, limits.internalHour - counters.internalHour),
    day: Math.max(0, limits.day - counters.day),
    rolling24h: Math.max(0, limits.rolling24h - counters.rolling24h),
  };
  const report = {
    identity,
    at: now.toISOString(),
    known: state !== null,
    policy,
    policySource: policySource(config, identity),
    counters,
    limits,
    remaining,
    restriction: state?.restriction ?? null,
    releasedAt: state?.releasedAt ?? null,
  };
  if (json) {
    out.write(`${JSON.stringify(report)}\n`);
    return EXIT.ok;
  }
  const paint = painter(out);
  const row = (label: string, key: keyof typeof limits, note = '') => {
    const over = counters[key] > limits[key];
    return [
      label,
      String(counters[key]),
      String(limits[key]),
      over ? paint('red', `0 (over by ${counters[key] - limits[key]})`) : String(remaining[key]),
      paint('dim', note),
    ];
  };
  const r = report.restriction;
  const lines = [
    `${paint('bold', 'identity')}     ${identity}${report.known ? '' : paint('dim', '  (nothing counted in the last 3 days)')}`,
    `${paint('bold', 'policy')}       ${report.policySource === 'default' ? 'limits.default' : report.policySource === 'sender' ? `limits.senders["${identity}"]` : `limits.domains["${identity.slice(identity.lastIndexOf('@') + 1)}"]`} · action ${policy.action} · at most ${policy.recipientsPerMessage} recipients a message`,
    `${paint('bold', 'restriction')}  ${r ? paint('red', `${r.reason} since ${r.since}, ${r.until ? `until ${r.until}` : 'until released'}`) : 'none'}${report.releasedAt ? `  (last released ${report.releasedAt})` : ''}`,
    '',
    table([
      ['recipients', 'counted', 'limit', 'left', ''].map((h) => paint('bold', h)),
      row('external, this hour (UTC)', 'externalHour'),
      row('internal, this hour (UTC)', 'internalHour'),
      row('today (UTC)', 'day'),
      row('rolling 24 hours', 'rolling24h', 'service limit: over it is blocked whatever the policy'),
    ]),
  ];
  out.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}
