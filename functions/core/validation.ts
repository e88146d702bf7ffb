/**
 * What the edges (configuration, environment, SES events) share when validation fails: an
 * input's problems as plain data, each with where it is and why, in words an operator reads.
 */
import * as v from 'valibot';
import { ConfigError, InvalidInputError } from './errors.js';

/** One problem with an input: where it is (object keys, array indices) and why. */
export interface Problem {
  path: readonly (string | number)[];
  message: string;
}

/**
 * A valibot issue as a {@link Problem}. Its stock messages read "Invalid key: Expected
 * never but received \"x\"" for a field the schema does not know, and "Invalid type: Expected
 * Array but received undefined" for a missing one; say that plainly.
 */
export function problemOf(issue: v.BaseIssue<unknown>): Problem {
  const path = (issue.path ?? []).map((p) => p.key as string | number);
  if (issue.kind === 'schema' && issue.type.startsWith('strict_object') && issue.expected === 'never') {
    return { path, message: 'unknown field (misspelt, or not a setting of this version)' };
  }
  if (issue.kind === 'schema' && issue.received === 'undefined' && path.length > 0) {
    return { path, message: 'required field is missing' };
  }
  return { path, message: issue.message };
}

/** `limits.default.perDay`, `acceptedDomains[0]`; `(root)` for the input itself. */
export function describePath(path: readonly PropertyKey[]): string {
  const text = path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  return text.replace(/^\./, '') || '(root)';
}

/**
 * An integer read from an environment variable (text), within bounds, `fallback` when unset.
 * `Number()` as the conversion: an empty or non-numeric value fails as "not a number".
 */
export const envInteger = (min: number, max: number, fallback: number) =>
  v.optional(
    v.pipe(v.string(), v.transform(Number), v.number(), v.integer(), v.minValue(min), v.maxValue(max)),
    String(fallback),
  );

/**
 * Validates a function's environment once, at cold start. Throws a {@link ConfigError} naming
 * the first bad variable, e.g. `environment variable LEASE_SECONDS: Invalid value: ...`.
 */
export function parseEnvironment<const S extends v.GenericSchema>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): v.InferOutput<S> {
  const result = v.safeParse(schema, env);
  if (result.success) return result.output;
  const problem = problemOf(result.issues[0]);
  const name = String(problem.path[0] ?? '');
  throw new ConfigError(`environment variable ${name}: ${problem.message}`, {
    field: name,
    cause: new v.ValiError(result.issues),
  });
}

const isDictionary = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * A JSON object used as a map (`routes`, a zone file): valibot's `record` alone would take an
 * array as a map of indices.
 */
export const dictionary = <
  const K extends v.GenericSchema<string, string | number | symbol>,
  const V extends v.GenericSchema,
>(
  key: K,
  value: V,
) =>
  v.pipe(
    v.custom<Record<string, unknown>>(
      isDictionary,
      (issue) =>
        `Invalid type: Expected Object but received ${Array.isArray(issue.input) ? 'Array' : issue.received}`,
    ),
    v.record(key, value),
  );

/**
 * An ISO-8601 time given as `name` (a command-line flag, a URL parameter); a date alone means
 * its 00:00 UTC. Undefined when absent.
 */
export function parseInstant(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t)) {
    throw new InvalidInputError(name, `not an ISO-8601 time: ${JSON.stringify(value)}`);
  }
  return new Date(t);
}
