/**
 * `outbound-pools doctor`: checks the DNS and SES set-up the pipeline depends on (MX to SES
 * or a trusted gateway, identities with DKIM, SPF, DMARC, A/MX of our own domains, the
 * configuration sets and their IP pools, the active receipt rule set) and says how to fix
 * what is wrong. The checks live in `functions/core/doctor/checks.ts`.
 */
import { parseArgs } from 'node:util';
import { cachedResolver } from '../core/dns/cached-resolver.js';
import { nodeResolver } from '../core/dns/node-resolver.js';
import type { Resolver } from '../core/dns/resolver.js';
import { parseZones, zoneResolver } from '../core/dns/zone-resolver.js';
import {
  type DoctorRow,
  doctorExitCode,
  runDoctor,
  type SesInspector,
  summarize,
} from '../core/doctor/checks.js';
import { cliEnv, loadConfig, painter, readJsonFile, table } from './io.js';

export const DOCTOR_USAGE = `Usage: outbound-pools doctor [--config CONFIG.json] [--zones ZONES.json]
         [--region REGION] [--rule-set NAME] [--offline] [--json]

Checks, for every accepted domain and the SRS domain, the MX (SES inbound of the region or
a trusted gateway), the SES identity and its DKIM (enabled, verified, CNAMEs published),
SPF/custom MAIL FROM, DMARC and the A/MX rule; and, once, the three configuration sets and
their dedicated IP pools and the active receipt rule set. Prints a table with the fix of
every failed check (JSON with --json or when stdout is not a terminal). Exit 0 when every
check that could be made passed, 1 when one failed. --zones replaces DNS (offline);
--offline (or no region/credentials) skips the AWS checks as unknown. The account (issue 14):
production access and sending enabled, send quota, engagement tracking off, suppression,
IPs in every STANDARD pool, each pool's tenant, the region receives mail, and with
--rule-set (the stack's, e.g. outboundpools-inbound) that it is the active rule set.`;

export interface DoctorDeps {
  /** Replaces the SDK inspector (tests); ignored with --offline. */
  inspector?: SesInspector;
}

const MARK = { true: '✔', false: '✗', null: '?' } as const;
const STYLE = { true: 'green', false: 'red', null: 'yellow' } as const;

function render(rows: DoctorRow[], region: string | null, out: NodeJS.WriteStream): string {
  const paint = painter(out);
  const key = (ok: boolean | null) => String(ok) as 'true' | 'false' | 'null';
  const lines = [
    table([
      ['', 'domain', 'check', 'detail'].map((h) => paint('bold', h)),
      ...rows.map((r) => [paint(STYLE[key(r.ok)], MARK[key(r.ok)]), r.domain, r.check, r.detail]),
    ]),
  ];
  const failed = rows.filter((r) => r.ok === false);
  const unknown = rows.filter((r) => r.ok === null);
  if (failed.length > 0) {
    lines.push('', paint('bold', 'To fix:'));
    for (const r of failed) lines.push(`  ${paint('red', MARK.false)} ${r.domain} ${r.check}: ${r.fix}`);
  }
  if (unknown.length > 0) {
    lines.push('', paint('bold', 'Not checked:'));
    for (const r of unknown) lines.push(`  ${paint('yellow', MARK.null)} ${r.domain} ${r.check}: ${r.fix}`);
  }
  const s = summarize(rows);
  lines.push(
    '',
    `${paint('green', `${s.passed} passed`)}, ${paint(s.failed > 0 ? 'red' : 'dim', `${s.failed} failed`)}, ${s.unknown} unknown${region ? ` (region ${region})` : ''}`,
  );
  return lines.join('\n');
}

/** Returns the exit code: 0 all known checks pass, 1 some failed. */
export async function doctorCommand(
  argv: string[],
  out: NodeJS.WriteStream,
  deps: DoctorDeps = {},
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      zones: { type: 'string' },
      region: { type: 'string' },
      'rule-set': { type: 'string' },
      offline: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  const config = await loadConfig(values.config);
  const region = values.region || cliEnv().AWS_REGION || null;
  const resolver: Resolver = values.zones
    ? zoneResolver(parseZones(await readJsonFile(values.zones, '--zones')))
    : cachedResolver(nodeResolver());

  let inspector: SesInspector | null = null;
  let offlineReason: string | undefined;
  if (values.offline) {
    offlineReason = '--offline';
  } else if (deps.inspector) {
    inspector = deps.inspector;
  } else if (region === null) {
    offlineReason = 'no region: pass --region or set AWS_REGION';
  } else {
    // Loaded only when AWS is consulted, so --offline never loads the SDK.
    const { createSesInspector } = await import('../adapters/ses-inspector.js');
    inspector = createSesInspector(region);
  }

  const rows = await runDoctor({
    config,
    resolver,
    region,
    inspector,
    ...(offlineReason !== undefined && { offlineReason }),
    ...(values['rule-set'] !== undefined && { ruleSetName: values['rule-set'] }),
  });
  const code = doctorExitCode(rows);
  if (values.json || out.isTTY !== true) {
    out.write(`${JSON.stringify({ ok: code === 0, region, summary: summarize(rows), rows })}\n`);
  } else {
    out.write(`${render(rows, region, out)}\n`);
  }
  return code;
}
