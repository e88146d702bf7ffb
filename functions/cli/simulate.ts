/**
 * `outbound-pools simulate` (and `npm run simulate`): a seeded, labelled mixed stream through
 * the local sandbox, and how the configuration under test routed it — the class × pool table,
 * leak, collateral, lost and duplicates (docs/simulate.md). The engine is `sandbox/simulate/`.
 */
import { parseArgs } from 'node:util';
import { CLASS_BY_ID, MIN_MESSAGES } from '../../sandbox/simulate/classes.js';
import { COLUMNS, failedChecks, type SimulationReport } from '../../sandbox/simulate/report.js';
import { InvalidInputError } from '../core/errors.js';
import { EXIT, painter, table } from './io.js';

export const MAX_MESSAGES = 100_000;
const DEFAULT_MESSAGES = 2000;

export const SIMULATE_USAGE = `Usage: outbound-pools simulate [--seed N] [--messages N] [--config FILE] [--json] [--fail-on-leak]
       npm run simulate -- [the same options]

Sends a seeded, labelled mix of traffic (good senders, forwarded mail with and without
authentication, a compromised-account burst, spoofs, sub-address variants of a restricted
sender, a bounce storm, domains without A/MX, an alert-only sender) through the local sandbox
and prints how many of each class left through each pool, the leak (bad mail through normal)
and the collateral (good mail pushed out of normal). Same seed, same stream, same table.

  --seed N        the stream's seed, 0-4294967295 (default 1)
  --messages N    messages in the stream, ${MIN_MESSAGES}-${MAX_MESSAGES} (default ${DEFAULT_MESSAGES}; about 20 per second)
  --config FILE   the configuration to try (default examples/simulate/config.json); its
                  accepted domains get the simulation's own DNS records and DKIM key
  --json          the report as one JSON document
  --fail-on-leak  exit 1 when leak > 0, collateral >= 1 %, or a message was lost or duplicated

Progress goes to stderr. Exit codes: 0 done, 1 failed (or --fail-on-leak tripped), 2 bad input.`;

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      messages: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean' },
      'fail-on-leak': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}

/** `--seed`: a decimal integer in 0..2^32-1. */
export function parseSeed(value: string | undefined): number {
  if (value === undefined) return 1;
  if (!/^\d{1,10}$/.test(value) || Number(value) > 0xffffffff) {
    throw new InvalidInputError(
      '--seed',
      `must be an integer from 0 to 4294967295, got ${JSON.stringify(value)}`,
    );
  }
  return Number(value);
}

function parseMessages(value: string | undefined): number {
  if (value === undefined) return DEFAULT_MESSAGES;
  if (!/^\d{1,7}$/.test(value) || Number(value) < MIN_MESSAGES || Number(value) > MAX_MESSAGES) {
    throw new InvalidInputError(
      '--messages',
      `must be an integer from ${MIN_MESSAGES} to ${MAX_MESSAGES}, got ${JSON.stringify(value)}`,
    );
  }
  return Number(value);
}

/** Progress on stderr once a run has taken a few seconds: a line every few seconds. */
function progress(err: NodeJS.WritableStream & { isTTY?: boolean }) {
  const started = Date.now();
  let last = started;
  return {
    tick(done: number, total: number) {
      const now = Date.now();
      if (now - started < 3000 || (now - last < 2000 && done < total)) return;
      last = now;
      const rate = done / ((now - started) / 1000);
      const line = `simulate: ${done}/${total} messages (${Math.floor((done / total) * 100)} %, ${rate.toFixed(0)}/s)`;
      err.write(err.isTTY ? `\r${line}${done === total ? '\n' : ''}` : `${line}\n`);
    },
    seconds: () => (Date.now() - started) / 1000,
  };
}

const pct = (n: number) => `${n.toFixed(2)} %`;

/** The report as text: the table, then one line for each measure. */
export function formatReport(r: SimulationReport, paint = painter(process.stdout)): string {
  const header = ['class', 'nature', 'sent', ...COLUMNS, 'leak', 'collateral'].map((h) => paint('bold', h));
  const nature = (good: number, bad: number) =>
    bad === 0 ? 'good' : good === 0 ? 'bad' : `${good}g/${bad}b`;
  const mark = (n: number, style: 'red' | 'yellow') => (n > 0 ? paint(style, String(n)) : '0');
  const rows = r.classes.map((c) => [
    `${c.class}${c.trustModel ? ' *' : ''}`,
    nature(c.good, c.bad),
    String(c.sent),
    ...COLUMNS.map((col) => String(c.pools[col])),
    mark(c.leak, 'red'),
    mark(c.collateral, 'yellow'),
  ]);
  const total = [
    paint('bold', 'total'),
    nature(r.totals.good, r.totals.bad),
    String(r.totals.sent),
    ...COLUMNS.map((col) => String(r.totals.pools[col])),
    mark(r.leak.count, 'red'),
    mark(r.collateral.count, 'yellow'),
  ];
  const leak = `${paint('bold', 'leak')}: ${r.leak.count} of ${r.leak.of} bad messages left through normal (${pct(r.leak.percent)})`;
  const collateral = `${paint('bold', 'collateral')}: ${r.collateral.count} of ${r.collateral.of} good messages were pushed out of normal (${pct(r.collateral.percent)})`;
  const leaking = r.classes.filter((c) => c.leak > 0).map((c) => `${c.class} ${c.leak}/${c.bad}`);
  return [
    table([header, ...rows, total]),
    '',
    `* a class of the trust model's attacks (SPEC 2a). nature: good = entitled to normal, bad = must not use it.`,
    leak + (leaking.length > 0 ? ` — ${leaking.join(', ')}` : ''),
    collateral,
    `${paint('bold', 'lost')}: ${r.lost} · ${paint('bold', 'duplicates')}: ${r.duplicates} · ${paint('bold', 'copies to an address no route produced')}: ${r.strayCopies} · ${paint('bold', 'NDRs to unproved senders')}: ${r.backscatter}`,
    paint(
      'dim',
      `seed ${r.seed} · ${r.messages} messages · config ${r.config} · stream sha256 ${r.streamSha256.slice(0, 16)}…`,
    ),
  ].join('\n');
}

export async function simulateCommand(
  argv: string[],
  out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
  err: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
): Promise<number> {
  let values: ReturnType<typeof parseOptions>['values'];
  try {
    ({ values } = parseOptions(argv));
  } catch (error) {
    // parseArgs explains some mistakes over several lines; the first one says what is wrong.
    throw new InvalidInputError('simulate', (error as Error).message.split('\n')[0]!, { cause: error });
  }
  if (values.help) {
    out.write(
      `${SIMULATE_USAGE}\n\nClasses (* = an attack of the trust model, SPEC 2a):\n${classLegend()}\n`,
    );
    return EXIT.ok;
  }
  const seed = parseSeed(values.seed);
  const messages = parseMessages(values.messages);
  // The sandbox (SMTP server, emulators, the router) loads only for this command.
  const { runSimulation } = await import('../../sandbox/simulate/run.js');
  const meter = progress(err);
  const report = await runSimulation({
    seed,
    messages,
    ...(values.config ? { config: values.config } : {}),
    onProgress: (done, total) => meter.tick(done, total),
  });
  if (values.json) out.write(`${JSON.stringify(report, null, 2)}\n`);
  else out.write(`${formatReport(report, painter(out as NodeJS.WriteStream))}\n`);
  if (meter.seconds() >= 3) {
    err.write(`simulate: ${messages} messages in ${meter.seconds().toFixed(1)} s\n`);
  }
  const failed = failedChecks(report);
  if (values['fail-on-leak'] && failed.length > 0) {
    err.write(`simulate: --fail-on-leak: ${failed.join(', ')}\n`);
    return EXIT.failure;
  }
  return EXIT.ok;
}

/** One line per class, for `--help`. */
export function classLegend(): string {
  return Object.values(CLASS_BY_ID)
    .map((c) => `  ${`${c.id}${c.trustModel ? ' *' : ''}`.padEnd(27)} ${c.description}`)
    .join('\n');
}
