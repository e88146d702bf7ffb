/**
 * `npm start`: the local sandbox (see `server.ts`). Exit codes as the CLI's: 0 stopped
 * cleanly (SIGINT/SIGTERM), 1 failed, 2 bad input or configuration, or a port already in use.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG_PATH, EXIT } from '../functions/cli/io.js';
import { ConfigError, InvalidInputError } from '../functions/core/errors.js';
import { startSandbox } from './server.js';

export const SANDBOX_USAGE = `Usage: npm start -- [--config CONFIG.json] [--zones ZONES.json] [--smtp-port N] [--ses-port N]
                 [--dynamodb-port N] [--s3-port N] [--trace-api-port N] [--console-port N]
                 [--state-dir DIR] [--json | --pretty]

Runs Amazon SES inbound (SMTP), the router Lambda and local DynamoDB, S3 and SES on 127.0.0.1,
and prints one line per message: sender → recipients, pool, reasons, what was sent.

  --config FILE      the configuration (default: see below)
  --zones FILE       answer DNS from a zone map instead of real DNS (see the dry-run's --zones)
  --real-dns         with no --config: config/outbound-pools.json and real DNS
  --smtp-port N      SMTP port (default 2525; 0 = any free port)
  --ses-port N       SES emulator and its web viewer (default: any free port)
  --dynamodb-port N, --s3-port N   fixed ports for the other emulators (default: any free port)
  --trace-api-port N the trace API, GET /messages/ID or /messages?sender=&recipient= (default: any free port)
  --console-port N   the console, a web page to watch the pools work (default: any free port)
  --state-dir DIR    keep S3 objects and the tables in DIR between runs (default: in memory)
  --json             JSON lines (the default when stdout is not a terminal); --pretty for text

With neither --config nor --zones, the sandbox runs the example world of examples/demo/
(its config.json and zones.json: sender.test, example.com, ...), so that what the README
shows is what it prints, on any machine, offline. --config alone, or --real-dns, uses real DNS.

Send mail with any SMTP client; loopback clients may set the client IP used for SPF with
XCLIENT, e.g. swaks --server 127.0.0.1:2525 --xclient-addr 192.0.2.10 --helo mx.sender.test
--from alice@sender.test --to alias@example.com`;

/** The example world: a configuration and the DNS zones its example senders live in. */
export const EXAMPLE_WORLD = { config: 'examples/demo/config.json', zones: 'examples/demo/zones.json' };

/**
 * What the sandbox runs: the example world unless the user named a configuration, zones, or
 * asked for real DNS. (The sample senders of the README live in the example zones; with real
 * DNS they do not exist, and their mail goes `high-risk` with `no-a-mx`.)
 */
export function worldOf(o: { config?: string; zones?: string; realDns?: boolean }): {
  config: string;
  zones?: string;
} {
  if (o.config === undefined && o.zones === undefined && !o.realDns) return { ...EXAMPLE_WORLD };
  return { config: o.config ?? DEFAULT_CONFIG_PATH, ...(o.zones === undefined ? {} : { zones: o.zones }) };
}

const PORT_FLAG: Record<string, string> = {
  smtp: '--smtp-port',
  ses: '--ses-port',
  dynamodb: '--dynamodb-port',
  s3: '--s3-port',
  'trace-api': '--trace-api-port',
  console: '--console-port',
};

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new InvalidInputError(flag, `not a port number (0-65535): ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      zones: { type: 'string' },
      'smtp-port': { type: 'string' },
      'ses-port': { type: 'string' },
      'dynamodb-port': { type: 'string' },
      's3-port': { type: 'string' },
      'trace-api-port': { type: 'string' },
      'console-port': { type: 'string' },
      'state-dir': { type: 'string' },
      'real-dns': { type: 'boolean' },
      json: { type: 'boolean' },
      pretty: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
}

export async function main(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parseOptions>['values'];
  try {
    ({ values } = parseOptions(argv));
  } catch (error) {
    process.stderr.write(`sandbox: ${(error as Error).message}\n\n${SANDBOX_USAGE}\n`);
    return EXIT.badInput;
  }
  if (values.help) {
    process.stdout.write(`${SANDBOX_USAGE}\n`);
    return EXIT.ok;
  }

  // Signals are handled from the start: one that arrives while the sandbox is starting stops
  // it as soon as it is up.
  let signalled: NodeJS.Signals | null = null;
  let onSignal: (signal: NodeJS.Signals) => void = (signal) => {
    signalled = signal;
  };
  const handler = (signal: NodeJS.Signals) => onSignal(signal);
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);

  let sandbox: Awaited<ReturnType<typeof startSandbox>>;
  try {
    if (values['real-dns'] && values.zones !== undefined) {
      throw new InvalidInputError('--real-dns', '--real-dns and --zones exclude each other');
    }
    const world = worldOf({ config: values.config, zones: values.zones, realDns: values['real-dns'] });
    sandbox = await startSandbox({
      config: world.config,
      zones: world.zones,
      smtpPort: port(values['smtp-port'], '--smtp-port') ?? 2525,
      sesPort: port(values['ses-port'], '--ses-port'),
      dynamoPort: port(values['dynamodb-port'], '--dynamodb-port'),
      s3Port: port(values['s3-port'], '--s3-port'),
      traceApiPort: port(values['trace-api-port'], '--trace-api-port'),
      consolePort: port(values['console-port'], '--console-port'),
      statePath: values['state-dir'],
      json: values.json === true || (values.pretty !== true && process.stdout.isTTY !== true),
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { service?: string; port?: number };
    if (e.code === 'EADDRINUSE') {
      const flag = PORT_FLAG[e.service ?? ''] ?? 'another port option';
      process.stderr.write(
        `sandbox: ${e.message}. Stop what listens on port ${e.port} or pass ${flag} with another port (0 = any free port).\n`,
      );
      return EXIT.badInput;
    }
    if (error instanceof ConfigError || error instanceof InvalidInputError) {
      process.stderr.write(`sandbox: ${e.message}\n`);
      return EXIT.badInput;
    }
    process.stderr.write(`sandbox: failed to start: ${e.stack ?? e.message}\n`);
    return EXIT.failure;
  }

  const running = sandbox;
  return await new Promise<number>((resolve) => {
    let stopping = false;
    onSignal = (signal) => {
      if (stopping) {
        // A second Ctrl-C: do not wait any longer.
        process.stderr.write(`sandbox: ${signal} again, exiting now\n`);
        resolve(130);
        return;
      }
      stopping = true;
      if (process.stderr.isTTY) process.stderr.write(`\nsandbox: ${signal}, stopping…\n`);
      running.stop().then(
        () => resolve(EXIT.ok),
        (error: unknown) => {
          process.stderr.write(`sandbox: error while stopping: ${(error as Error).message}\n`);
          resolve(EXIT.failure);
        },
      );
    };
    if (signalled) onSignal(signalled);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exit(await main(process.argv.slice(2)));
}
