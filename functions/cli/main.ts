/**
 * `outbound-pools`: the operator CLI. Each subcommand lives in its own module; this one
 * dispatches and turns errors into exit codes (sysexits.h: 2 bad input, 75 try again later).
 */
import { readFileSync } from 'node:fs';
import { ConfigError, InvalidInputError, isRetryable, OutboundPoolsError } from '../core/errors.js';
import { CONFIG_USAGE, configCommand } from './config.js';
import { DOCTOR_USAGE, doctorCommand } from './doctor.js';
import { DRY_RUN_USAGE, dryRun } from './dry-run.js';
import { cliEnv, EXIT, InputDataError, networkFault, runWithCliContext } from './io.js';
import { LIMITS_USAGE, limitsCommand } from './limits.js';
import { POOLS_USAGE } from './pools-usage.js';
import { REDRIVE_USAGE } from './redrive-usage.js';
import { RESTRICTIONS_USAGE, restrictionsCommand } from './restrictions.js';
import { SIMULATE_USAGE, simulateCommand } from './simulate.js';
import { SRS_USAGE, srsCommand } from './srs.js';
import { terminalSafe } from './terminal-safe.js';
import { TRACE_USAGE, traceCommand } from './trace.js';

const USAGE = `outbound-pools — outbound delivery pools for Amazon SES

Commands:
  dry-run       which pool a received message would leave through, and why
  config        check a configuration file, or print its JSON Schema
  srs           rewrite (forward) or decode (reverse) an SRS address
  trace         look messages up in the message trace: pool, reasons, sends, delivery events
  restrictions  list the senders a sending limit restricted, or release one
  limits        a sending identity's counters against its policy
  doctor        check DNS and SES setup for every domain, with the fix for each problem
  simulate      a seeded, labelled traffic mix through the local sandbox: leak and collateral per class
  pools         which pools are paused; pause or resume one (issue 14)
  redrive       send the router's dead letters back to it; --dry-run lists them

${DRY_RUN_USAGE}

${CONFIG_USAGE}

${SRS_USAGE}

${TRACE_USAGE}

${RESTRICTIONS_USAGE}

${LIMITS_USAGE}

${DOCTOR_USAGE}

${SIMULATE_USAGE}

${POOLS_USAGE}

${REDRIVE_USAGE}

trace, restrictions and limits read the DynamoDB tables of a deployment, or of the sandbox
(npm start prints the environment to export), through the standard AWS configuration:
AWS_REGION, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_DYNAMODB;
table names from TRACE_TABLE/LIMITS_TABLE or --trace-table/--limits-table.

COMMAND --help (or -h) prints one command's usage; --version prints the version.

Every command says on stderr which configuration file (--config, else OUTBOUND_POOLS_CONFIG,
a path, else config/outbound-pools.json) and which table and endpoint it used.

Exit codes: 0 done, 1 failed, 2 bad input or configuration, 65 malformed input data (a message
with no header section), 75 temporary failure: network or throttling (retry).`;

/** Errors of `node:util` parseArgs (unknown option, missing value) are bad input. */
function isArgError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/**
 * Each command's usage, for `COMMAND --help` (or `-h`) wherever it stands on the line.
 * `simulate` answers `--help` itself (it adds its traffic classes to the usage).
 */
const COMMAND_USAGE: Readonly<Record<string, string>> = {
  'dry-run': DRY_RUN_USAGE,
  config: CONFIG_USAGE,
  srs: SRS_USAGE,
  trace: TRACE_USAGE,
  restrictions: RESTRICTIONS_USAGE,
  limits: LIMITS_USAGE,
  doctor: DOCTOR_USAGE,
  pools: POOLS_USAGE,
  redrive: REDRIVE_USAGE,
};

/** The package's version (package.json next to `functions/`), for `--version`. */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    name: string;
    version: string;
  };
  return `${pkg.name} ${pkg.version}`;
}

/**
 * Runs one command line. `env` is the environment the commands read (configuration path,
 * table names, AWS settings): the process's for the binary; tests pass their own so that
 * commands run side by side in one process.
 */
export function main(
  argv: string[],
  out: NodeJS.WriteStream = process.stdout,
  err: NodeJS.WriteStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  // Every line goes through the control-character guard (`terminal-safe.ts`).
  const [safeOut, safeErr] = [terminalSafe(out), terminalSafe(err)];
  return runWithCliContext({ env, notes: safeErr }, () => run(argv, safeOut, safeErr));
}

async function run(argv: string[], out: NodeJS.WriteStream, err: NodeJS.WriteStream): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-V' || command === 'version') {
    out.write(`${cliVersion()}
`);
    return EXIT.ok;
  }
  // Operators' convention: `--help`/`-h` anywhere after a command prints its usage, exit 0.
  const usage = command === undefined ? undefined : COMMAND_USAGE[command];
  if (usage && rest.some((a) => a === '--help' || a === '-h')) {
    out.write(`${usage}
`);
    return EXIT.ok;
  }
  try {
    switch (command) {
      case 'dry-run':
        await dryRun(rest, out);
        return EXIT.ok;
      case 'config':
        return await configCommand(rest, out, err);
      case 'srs':
        return await srsCommand(rest, out);
      case 'trace':
        return await traceCommand(rest, out, err);
      case 'restrictions':
        return await restrictionsCommand(rest, out);
      case 'limits':
        return await limitsCommand(rest, out);
      case 'doctor':
        return await doctorCommand(rest, out);
      case 'simulate':
        return await simulateCommand(rest, out, err);
      case 'pools': {
        // Loaded on use: its SDK clients and signer would slow every other command's start.
        const { poolsCommand } = await import('./pools.js');
        return await poolsCommand(rest, out, cliEnv(), err);
      }
      case 'redrive': {
        // Loaded on use, like pools: the SQS and Lambda clients.
        const { redriveCommand } = await import('./redrive.js');
        return await redriveCommand(rest, out, err);
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out.write(`${USAGE}\n`);
        return command === undefined ? EXIT.badInput : EXIT.ok;
      default:
        err.write(`outbound-pools: unknown command "${command}"\n\n${USAGE}\n`);
        return EXIT.badInput;
    }
  } catch (error) {
    const network = isRetryable(error) ? undefined : networkFault(error);
    if (network !== undefined) {
      // An SDK call that never reached its endpoint: one line, "try again" (EX_TEMPFAIL).
      out.write(`${JSON.stringify({ error: network, retryable: true })}\n`);
      err.write(`outbound-pools: ${network} (temporary; try again)\n`);
      return EXIT.tempFail;
    }
    if (isRetryable(error)) {
      // Machine-readable on stdout, like the success case: callers (an MTA, a script)
      // see "try again" rather than a verdict.
      out.write(`${JSON.stringify({ error: (error as Error).message, retryable: true })}\n`);
      err.write(`outbound-pools: ${(error as Error).message} (temporary; try again)\n`);
      return EXIT.tempFail;
    }
    if (error instanceof InputDataError) {
      err.write(`outbound-pools: ${error.message}\n`);
      return EXIT.dataErr;
    }
    if (error instanceof ConfigError || error instanceof InvalidInputError || isArgError(error)) {
      err.write(`outbound-pools: ${(error as Error).message}\n`);
      return EXIT.badInput;
    }
    if (error instanceof OutboundPoolsError) {
      // A fault the command named (access denied, …): one line, exit 1.
      err.write(`outbound-pools: ${error.message}\n`);
      return EXIT.failure;
    }
    err.write(`outbound-pools: unexpected error: ${String((error as Error)?.stack ?? error)}\n`);
    return EXIT.failure;
  }
}
