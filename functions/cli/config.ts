/**
 * `outbound-pools config validate FILE` and `outbound-pools config schema`: check a
 * configuration before it is deployed, and print the JSON Schema editors use to complete it.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseConfigText } from '../core/config.js';
import { SCHEMA_FILE } from '../core/config-schema.js';
import { ConfigError, InvalidInputError } from '../core/errors.js';
import { EXIT, readInputFile } from './io.js';

export const CONFIG_USAGE = `Usage: outbound-pools config validate FILE [--json]
       outbound-pools config schema

validate  checks FILE as every component reads it (types, unknown fields, the rules between
          fields): exit 0 and "FILE: valid", or exit 2 and one line naming the first bad field
          (--json: {"valid", "field", "problems"} on stdout)
schema    prints the JSON Schema of the configuration (${SCHEMA_FILE}; name it in a
          configuration's "$schema" so that editors complete and check it)`;

const UNKNOWN = /: unknown field/;

/** The committed schema, found from this module so the command works from any directory. */
const SCHEMA_URL = new URL(`../../${SCHEMA_FILE}`, import.meta.url);

export async function configCommand(
  argv: string[],
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    out.write(`${CONFIG_USAGE}\n`);
    return EXIT.ok;
  }
  const [verb, file, ...extra] = positionals;
  if (verb === 'schema' && file === undefined) {
    out.write(await readFile(SCHEMA_URL, 'utf8'));
    return EXIT.ok;
  }
  if (verb !== 'validate' || file === undefined || extra.length > 0) {
    throw new InvalidInputError('config', `expected "validate FILE" or "schema"\n\n${CONFIG_USAGE}`);
  }
  const text = (await readInputFile(file, 'config')).toString('utf8');
  try {
    parseConfigText(text, file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // "invalid configuration:\n  field: message\n  …": one line per problem.
    // A misspelt field is reported both as unknown and (when required) as missing: the
    // unknown one names what to fix, so it comes first.
    const problems = error.message
      .split('\n')
      .slice(1)
      .map((l) => l.trim())
      .filter(Boolean)
      .sort((a, b) => Number(UNKNOWN.test(b)) - Number(UNKNOWN.test(a)));
    const first = problems[0] ?? error.message;
    const field = problems[0] ? problems[0].slice(0, problems[0].indexOf(': ')) : (error.field ?? null);
    if (values.json) {
      out.write(
        `${JSON.stringify({ valid: false, field, problems: problems.length ? problems : [error.message] })}\n`,
      );
    }
    const more =
      problems.length > 1
        ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})`
        : '';
    err.write(`outbound-pools: ${file}: ${first}${more}\n`);
    return EXIT.badInput;
  }
  out.write(values.json ? `${JSON.stringify({ valid: true })}\n` : `${file}: valid\n`);
  return EXIT.ok;
}
