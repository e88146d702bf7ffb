/**
 * Synth-time validation of the infrastructure: one error class (part of the project's error
 * hierarchy) naming the offending configuration field or construct prop, and the small
 * checks the constructs share. Every check is skipped for unresolved tokens, as aws-cdk-lib
 * does: a value only known at deploy time cannot be judged at synth time.
 */
import { Token } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { OutboundPoolsError } from '../functions/core/errors.js';

/**
 * A combination the stack cannot deploy (or must not: pools that would share IPs). The
 * message starts with the field — a configuration path such as `pools.relay.configurationSet`
 * or a prop name such as `reservedConcurrency` — like the configuration file's own errors.
 */
export class InfrastructureValidationError extends OutboundPoolsError {
  /** Configuration path or prop name, e.g. `pools.normal.ipPool`. */
  readonly field: string;
  /** Path of the construct that rejected it, when there is one. */
  readonly constructPath: string | undefined;

  constructor(field: string, message: string, scope?: IConstruct, options?: ErrorOptions) {
    super(`${field}: ${message}`, options);
    this.name = 'InfrastructureValidationError';
    this.field = field;
    this.constructPath = scope?.node.path;
  }
}

/** An integer within bounds (inclusive), unless it is a token. */
export function checkInteger(
  scope: IConstruct,
  field: string,
  value: number | undefined,
  bounds: { min: number; max?: number },
): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  const { min, max } = bounds;
  if (!Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`;
    throw new InfrastructureValidationError(field, `must be ${range} (got ${value})`, scope);
  }
}

/** A name matching a pattern, unless it is a token. */
export function checkName(
  scope: IConstruct,
  field: string,
  value: string | undefined,
  pattern: RegExp,
  rule: string,
): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!pattern.test(value)) {
    throw new InfrastructureValidationError(field, `${rule} (got "${value}")`, scope);
  }
}

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS: readonly number[] = Object.values(RetentionDays)
  .filter((v): v is number => typeof v === 'number' && v !== RetentionDays.INFINITE)
  .sort((a, b) => a - b);

/** A number of days as a CloudWatch Logs retention, or a clear error listing the valid ones. */
export function logRetentionFromDays(field: string, days: number, scope?: IConstruct): RetentionDays {
  if (!LOG_RETENTION_DAYS.includes(days)) {
    throw new InfrastructureValidationError(
      field,
      `CloudWatch Logs keeps logs for one of ${LOG_RETENTION_DAYS.join(', ')} days (got ${days})`,
      scope,
    );
  }
  return days as RetentionDays;
}
