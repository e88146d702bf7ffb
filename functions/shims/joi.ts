/**
 * Bundle-time stand-in for `joi` (aliased by `lib/lambda-bundling.ts`). The parts of mailauth
 * the router bundles build two joi schemas when they load and only ever call `validate` on
 * them:
 *
 * - `lib/tools.js`: `Joi.string().base64({ paddingRequired: false })`, the `p=` of a DKIM key
 *   record;
 * - `lib/spf/index.js`: `Joi.string().domain({ allowUnicode: false, tlds: false })`, the
 *   domain SPF is evaluated for (trusted-gateway SPF, `functions/core/gateways.ts`).
 *
 * joi with its `@hapi/*` dependencies is about a sixth of the router bundle and builds its
 * whole type system at load time, for these two checks (see bench/README.md, cold start).
 * This module does exactly those checks: joi's own base64 expression (joi 18
 * `lib/types/string.js`) and the same `isDomainValid` of `@hapi/address` joi calls, with joi's
 * `string()` rules around them (`undefined` is valid, as joi's schemas are optional; a
 * non-string or an empty string is not). `test/core/shims.test.ts` compares it with the real
 * joi. Any other schema throws when it is built, so a mailauth that starts using more of joi
 * fails at load, not by validating differently.
 */
// The domain module alone: the package index also loads its e-mail, IP and URI checks and @hapi/hoek.
import { type DomainOptions, isDomainValid } from '@hapi/address/dist/domain.js';

/** joi 18, `internals.base64Regex[paddingRequired][urlSafe]`. */
const BASE64 = {
  padded: /^(?:[A-Za-z0-9+/]{2}[A-Za-z0-9+/]{2})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
  unpadded: /^(?:[A-Za-z0-9+/]{2}[A-Za-z0-9+/]{2})*(?:[A-Za-z0-9+/]{2}(==)?|[A-Za-z0-9+/]{3}=?)?$/,
};

/** What joi's `validate` returns: the value, and an error when it is not valid. */
export interface ValidationResult {
  value: unknown;
  error?: ValidationError;
}

/** joi's error type for a failed validation (`err.isJoi`, `err.details`). */
export class ValidationError extends Error {
  readonly isJoi = true;
  readonly details: { message: string; type: string }[];
  constructor(message: string, type: string) {
    super(message);
    this.name = 'ValidationError';
    this.details = [{ message, type }];
  }
}

interface StringSchema {
  validate(value: unknown): ValidationResult;
}

function schema(rule: (value: string) => boolean, type: string, message: string): StringSchema {
  return {
    validate(value: unknown): ValidationResult {
      if (value === undefined) return { value };
      if (typeof value !== 'string') {
        return { value, error: new ValidationError('"value" must be a string', 'string.base') };
      }
      if (value === '') {
        return { value, error: new ValidationError('"value" is not allowed to be empty', 'string.empty') };
      }
      return rule(value) ? { value } : { value, error: new ValidationError(message, type) };
    },
  };
}

function unsupported(what: string): never {
  throw new Error(`joi is not bundled: ${what} is not supported by functions/shims/joi.ts`);
}

/** `Joi.string()`, with only the two rules mailauth uses. */
export function string() {
  return {
    base64(options: { paddingRequired?: boolean; urlSafe?: boolean } = {}): StringSchema {
      if (options.urlSafe) unsupported('base64({ urlSafe: true })');
      const regex = options.paddingRequired === false ? BASE64.unpadded : BASE64.padded;
      return schema((v) => regex.test(v), 'string.base64', '"value" must be a valid base64 string');
    },
    domain(options: { allowUnicode?: boolean; tlds?: false } = {}): StringSchema {
      const keys = Object.keys(options).filter((k) => k !== 'allowUnicode' && k !== 'tlds');
      if (options.tlds !== false || keys.length > 0) {
        unsupported(`domain(${JSON.stringify(options)})`);
      }
      // joi hands these options to @hapi/address unchanged when `tlds` is false (its types
      // leave `false` out; the code reads a falsy `tlds` as "no TLD check").
      const address = options as unknown as DomainOptions;
      return schema(
        (v) => isDomainValid(v, address),
        'string.domain',
        '"value" must contain a valid domain name',
      );
    },
  };
}
