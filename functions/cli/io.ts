/**
 * Small shared pieces of the CLI: reading input files with errors that name the file, the
 * configuration, the clock, and colours that switch off when stdout is not a terminal.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { styleText } from 'node:util';
import { SSMClient } from '@aws-sdk/client-ssm';
import { ssmClientReader } from '../adapters/ssm-client-reader.js';
import { resolveSrsSecrets } from '../adapters/ssm-secrets.js';
import { type Config, parseConfigText } from '../core/config.js';
import { ConfigError, InvalidInputError } from '../core/errors.js';
import { deployedConfig } from '../core/resource-names.js';
import { parseInstant } from '../core/validation.js';

/**
 * Exit codes operators' scripts and MTAs understand: 2 bad usage or configuration, and from
 * sysexits.h `EX_DATAERR` (65, the input data is malformed) and `EX_TEMPFAIL` (75, try again).
 */
export const EXIT = { ok: 0, failure: 1, badInput: 2, dataErr: 65, tempFail: 75 } as const;

/**
 * An input file's content is not what it must be (a message with no header section): exit 65
 * (`EX_DATAERR`), not 2, so a script can tell a bad file from a bad command line.
 */
export class InputDataError extends InvalidInputError {
  constructor(input: string, message: string, options?: ErrorOptions) {
    super(input, message, options);
    this.name = 'InputDataError';
  }
}

/** Node's and the SDK's names for "the network did not answer" (connect, DNS, timeouts). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'TimeoutError',
  'RequestTimeout',
]);

/**
 * The network fault behind `error` (its own code or name, or its causes'), as one line, or
 * undefined when it is no network fault. The SDK throws Node's own `getaddrinfo ENOTFOUND`
 * errors, whose stack would otherwise reach the operator.
 */
export function networkFault(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    const { code, name, message, hostname } = e as {
      code?: unknown;
      name?: unknown;
      message?: unknown;
      hostname?: unknown;
    };
    const hit = [code, name].find((c): c is string => typeof c === 'string' && NETWORK_CODES.has(c));
    if (hit) {
      const text = typeof message === 'string' ? message.split('\n')[0] : hit;
      return `network error: ${text}${typeof hostname === 'string' && !String(text).includes(hostname) ? ` (${hostname})` : ''}`;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The endpoint the AWS SDK talks to for `service` (its endpoint variable, else AWS's). */
export function awsEndpoint(service: 'dynamodb' | 'ssm' | 'sesv2'): string {
  const env = cliEnv();
  const variable = `AWS_ENDPOINT_URL_${service.toUpperCase()}`;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'the default region';
  const endpoint = env[variable] ?? env.AWS_ENDPOINT_URL;
  return endpoint ? `${endpoint} (${variable}), region ${region}` : `AWS, region ${region}`;
}

/** Where `--config` points by default: the same file `cdk.json` names. */
export const DEFAULT_CONFIG_PATH = 'config/outbound-pools.json';
/** The environment variable naming the configuration file's path (the Lambda's is `..._JSON`). */
export const CONFIG_PATH_VARIABLE = 'OUTBOUND_POOLS_CONFIG';

/** The configuration file a command reads, and why that one: `--config`, the variable, the default. */
export function configSource(flag: string | undefined): { path: string; from: string } {
  if (flag !== undefined) return { path: flag, from: '--config' };
  const env = cliEnv()[CONFIG_PATH_VARIABLE];
  if (env !== undefined && env !== '') return { path: env, from: CONFIG_PATH_VARIABLE };
  return { path: DEFAULT_CONFIG_PATH, from: 'the default' };
}

/**
 * What one run of `main` gives the commands besides their arguments: the environment they
 * read (the process's for the binary; tests pass their own and run commands side by side in
 * one process) and where they say what they read (configuration file, table, endpoint): the
 * CLI's stderr while `main` runs a command, nowhere otherwise (the sandbox loads
 * configurations too). Always stderr, `--json` included: stdout stays the command's output.
 * Async-local, so that concurrent runs in one process each see their own.
 */
export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  readonly notes?: NodeJS.WritableStream;
}

const context = new AsyncLocalStorage<CliContext>();

/** Runs `fn` (one command) with `ctx` as its environment and notes stream. */
export function runWithCliContext<T>(ctx: CliContext, fn: () => Promise<T>): Promise<T> {
  return context.run(ctx, fn);
}

/** The environment of the running command: `main`'s `env`, else the process's. */
export function cliEnv(): NodeJS.ProcessEnv {
  return context.getStore()?.env ?? process.env;
}

/**
 * Constructor settings for an AWS SDK client of `service` from the command's environment.
 * Empty for the process's own environment: the SDK then applies its standard configuration
 * (profiles, config files, the credential chain) exactly as it documents. For an environment
 * passed to `main` (tests), the SDK's environment variables are applied from it — region,
 * the service's endpoint (`AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`) and static
 * keys — since the SDK itself reads only `process.env`.
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
 */
export function sdkClientConfig(service: string): {
  region?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
} {
  const env = cliEnv();
  if (env === process.env) return {};
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const endpoint = env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] ?? env.AWS_ENDPOINT_URL;
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  const sessionToken = env.AWS_SESSION_TOKEN;
  return {
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(accessKeyId && secretAccessKey
      ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } }
      : {}),
  };
}

/** One `outbound-pools: …` line on the notes stream, when there is one. */
export function noteSource(text: string): void {
  context.getStore()?.notes?.write(`outbound-pools: ${text}\n`);
}

export async function readInputFile(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    throw new InvalidInputError(what, `cannot read ${path}: ${why}`, { cause: error });
  }
}

export async function readJsonFile(path: string, what: string): Promise<unknown> {
  const text = (await readInputFile(path, what)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(what, `${path} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The configuration file `file`, read and checked; its errors name the file (and the field). */
export function readConfigFile(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read configuration ${file}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return parseConfigText(text, file);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError(`${file}: ${error.message}`, { cause: error, field: error.field ?? '' });
    }
    throw error;
  }
}

export async function loadConfig(path: string | undefined): Promise<Config> {
  const { path: file, from } = configSource(path);
  const config = readConfigFile(file);
  // Operators otherwise cannot tell the sandbox's policy from the repository's.
  noteSource(`configuration ${file} (from ${from})`);
  // Local tools use literal SRS secrets when the file has them, else the deployment's
  // parameter (standard AWS configuration).
  // The SES names as deployed (`namePrefix` applied, as the CDK app applies it): doctor and
  // pools look up the stack's configuration sets, IP pools and tenants.
  return resolveSrsSecrets(
    deployedConfig(config),
    ssmClientReader(() => new SSMClient(sdkClientConfig('ssm'))),
    'literal',
  );
}

/** JSON unless a person is looking (or `--pretty` says so). */
export function wantsJson(values: { json?: boolean; pretty?: boolean }, out: NodeJS.WriteStream): boolean {
  if (values.json) return true;
  if (values.pretty) return false;
  return out.isTTY !== true;
}

/** `--now`: an ISO-8601 instant, or the real clock. */
export function parseNow(value: string | undefined): Date {
  return parseInstant(value, '--now') ?? new Date();
}

type Style = Parameters<typeof styleText>[0];

/** Colours for people; plain text for pipes, files and NO_COLOR (https://no-color.org). */
export function painter(stream: NodeJS.WriteStream): (style: Style, text: string) => string {
  const enabled = stream.isTTY === true && !cliEnv().NO_COLOR;
  return (style, text) => (enabled ? styleText(style, text) : text);
}

/** Renders rows as an aligned text table (the first row is the header). */
export function table(rows: string[][]): string {
  const visible = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').length;
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visible(cell));
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell + ' '.repeat((widths[i] ?? 0) - visible(cell)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A command that takes no positional arguments: the first one is an error, with the usage. */
export function rejectPositionals(command: string, positionals: readonly string[], usage: string): void {
  if (positionals.length > 0) {
    throw new InvalidInputError(command, `unexpected argument ${JSON.stringify(positionals[0])}\n\n${usage}`);
  }
}
