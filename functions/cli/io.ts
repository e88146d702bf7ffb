/**
 * Small shared pieces of the CLI: reading input files with errors that name the file, the
 * configuration, the clock, and colours that switch off when stdout is not a terminal.
 */
import { readFile } from 'node:fs/promises';
import { styleText } from 'node:util';
import { SSMClient } from '@aws-sdk/client-ssm';
import { resolveSrsSecrets } from '../adapters/ssm-secrets.js';
import { type Config, parseConfigText } from '../core/config.js';
import { ConfigError, InvalidInputError } from '../core/errors.js';
import { deployedConfig } from '../core/resource-names.js';
import { parseInstant } from '../core/validation.js';

/** `EX_USAGE`/`EX_TEMPFAIL` of sysexits.h: what operators' scripts and MTAs understand. */
export const EXIT = { ok: 0, failure: 1, badInput: 2, tempFail: 75 } as const;

/** Where `--config` points by default: the same file `cdk.json` names. */
export const DEFAULT_CONFIG_PATH = process.env.OUTBOUND_POOLS_CONFIG ?? 'config/outbound-pools.json';

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

export async function loadConfig(path: string | undefined): Promise<Config> {
  const file = path ?? DEFAULT_CONFIG_PATH;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read configuration ${file}: ${(error as Error).message}`, { cause: error });
  }
  let config: Config;
  try {
    config = parseConfigText(text, file);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError(`${file}: ${error.message}`, { cause: error, field: error.field ?? '' });
    }
    throw error;
  }
  // Local tools use literal SRS secrets when the file has them, else the deployment's
  // parameter (standard AWS configuration).
  // The SES names as deployed (`namePrefix` applied, as the CDK app applies it): doctor and
  // pools look up the stack's configuration sets, IP pools and tenants.
  return resolveSrsSecrets(deployedConfig(config), () => new SSMClient({}), 'literal');
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
  const enabled = stream.isTTY === true && !process.env.NO_COLOR;
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
