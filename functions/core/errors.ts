/**
 * The one error hierarchy of the project.
 *
 * Verdicts (pool, reasons, "no record", "spam") are *values*; exceptions are for faults the
 * caller must handle: bad input it can report, or an infrastructure fault it may retry.
 * Every subclass sets `name`, accepts `ErrorOptions` (so a `cause` is never lost) and carries
 * its data, following Powertools' idempotency `errors.ts`.
 */
import {
  type CopyRefusal,
  DEPLOYMENT_FAULT_ACTIONS,
  type DeploymentFaultScope,
  oneLine,
} from './ses-refusals.js';

export class OutboundPoolsError extends Error {
  /** True when the same input may succeed later (DNS SERVFAIL, throttling, a 5xx). */
  readonly retryable: boolean;

  constructor(message: string, options?: ErrorOptions & { retryable?: boolean }) {
    super(message, options);
    this.name = 'OutboundPoolsError';
    this.retryable = options?.retryable ?? false;
  }
}

/** The configuration file is missing, unreadable or fails validation. */
export class ConfigError extends OutboundPoolsError {
  /** Dotted path of the offending field, e.g. `limits.default.action`. */
  readonly field: string | undefined;

  constructor(message: string, options?: ErrorOptions & { field?: string }) {
    super(message, options);
    this.name = 'ConfigError';
    this.field = options?.field;
  }
}

/** An input (SES event, raw message, CLI argument) is malformed. Never retryable. */
export class InvalidInputError extends OutboundPoolsError {
  /** What was being read, e.g. `event`, `message`, `--now`. */
  readonly input: string;

  constructor(input: string, message: string, options?: ErrorOptions) {
    super(`${input}: ${message}`, options);
    this.name = 'InvalidInputError';
    this.input = input;
  }
}

/**
 * DNS answered with a temporary failure (SERVFAIL, timeout, refused). RFC 7208 2.6.6/RFC 7489
 * call this `temperror`: it is never "no record", so the decision must not downgrade on it.
 */
export class DnsTemporaryError extends OutboundPoolsError {
  readonly domain: string;
  readonly rrtype: string;

  constructor(domain: string, rrtype: string, options?: ErrorOptions) {
    super(`temporary DNS failure looking up ${rrtype} ${domain}`, { ...options, retryable: true });
    this.name = 'DnsTemporaryError';
    this.domain = domain;
    this.rrtype = rrtype;
  }
}

/** A call to a dependency (S3, SES, DynamoDB) failed in a way worth retrying later. */
export class TransientDependencyError extends OutboundPoolsError {
  readonly dependency: string;

  constructor(dependency: string, message: string, options?: ErrorOptions) {
    super(`${dependency}: ${message}`, { ...options, retryable: true });
    this.name = 'TransientDependencyError';
    this.dependency = dependency;
  }
}

/** True for errors the caller should retry (ours, flagged retryable). */
export function isRetryable(error: unknown): boolean {
  return error instanceof OutboundPoolsError && error.retryable;
}

/** The receipt rule's S3 action stored no object for this message id. */
export class MessageNotFoundError extends OutboundPoolsError {
  readonly messageId: string;

  constructor(messageId: string, options?: ErrorOptions) {
    super(`no raw message stored for ${messageId}`, options);
    this.name = 'MessageNotFoundError';
    this.messageId = messageId;
  }
}

/**
 * Another invocation owns the message now (its lease expired and was taken over, or it is
 * still being processed): stop without side effects. Retryable, so the event comes back
 * later and finds the message either done or free.
 */
export class LeaseLostError extends OutboundPoolsError {
  readonly messageId: string;

  constructor(messageId: string, message = 'another invocation owns this message', options?: ErrorOptions) {
    super(`${messageId}: ${message}`, { ...options, retryable: true });
    this.name = 'LeaseLostError';
    this.messageId = messageId;
  }
}

/**
 * SES refused this one copy (its content, the request made of it, its size): retrying the same
 * bytes will not help, so the copy is recorded as failed (`ses-refusals.ts`).
 */
export class SendRejectedError extends OutboundPoolsError {
  readonly code: string;
  readonly refusal: CopyRefusal;

  constructor(code: string, message: string, options?: ErrorOptions & { refusal?: CopyRefusal }) {
    super(`SES rejected the copy (${code}): ${message}`, options);
    this.name = 'SendRejectedError';
    this.code = code;
    this.refusal = options?.refusal ?? 'content';
  }
}

/**
 * SES refused to send for a reason that is not this message's: the account, a sending
 * identity or the pool's configuration set (`ses-refusals.ts`). Every copy would fail the
 * same way, so the invocation fails (retryable: Lambda retries, then dead-letters and the
 * dead-letter alarm fires) and the message names the class, the cause and the fix in one line.
 */
export class SesDeploymentError extends OutboundPoolsError {
  readonly scope: DeploymentFaultScope;
  readonly code: string;

  constructor(scope: DeploymentFaultScope, code: string, cause: string, options?: ErrorOptions) {
    super(
      oneLine(
        `SES refused to send: ${scope}-level fault (${code}: ${cause}); ${DEPLOYMENT_FAULT_ACTIONS[scope]}`,
      ),
      { ...options, retryable: true },
    );
    this.name = 'SesDeploymentError';
    this.scope = scope;
    this.code = code;
  }
}
