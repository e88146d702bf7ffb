/**
 * Maps AWS SDK v3 errors to the project's error hierarchy. The SDK has already retried
 * throttling, 5xx and network errors with exponential backoff and jitter (standard retry
 * mode) by the time an error reaches us; what is still transient here fails the invocation
 * so Lambda's asynchronous retries (and then the on-failure destination) keep the event.
 * SES `SendEmail` errors are sorted first by `ses-mailer.ts` (throttles retried again there
 * with backoff, refusals classified by `core/ses-refusals.ts`); what is left comes here.
 */
import { TransientDependencyError } from '../core/errors.js';

/** Error names the SDK and the services use for "slow down" (SESv2, S3, DynamoDB). */
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'LimitExceededException',
]);

const TRANSIENT_NETWORK = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
]);

interface SdkErrorLike {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** True for errors that may succeed if the same call is made later. */
export function isTransientAwsError(error: unknown): boolean {
  const e = error as SdkErrorLike | undefined;
  if (!e || typeof e !== 'object') return false;
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode ?? 0;
  return (
    THROTTLING.has(name) ||
    TRANSIENT_NETWORK.has(name) ||
    TRANSIENT_NETWORK.has(e.code ?? '') ||
    status >= 500 ||
    status === 429 ||
    e.$retryable !== undefined
  );
}

/** Re-throws `error` as a retryable {@link TransientDependencyError} when it is transient. */
export function rethrowAws(dependency: string, action: string, error: unknown): never {
  if (isTransientAwsError(error)) {
    const e = error as SdkErrorLike & Error;
    throw new TransientDependencyError(dependency, `${action} failed: ${e.name ?? 'Error'}: ${e.message}`, {
      cause: error,
    });
  }
  throw error;
}

/** SDK client settings shared by every adapter: more attempts than the default 3. */
export const SDK_RETRY = { maxAttempts: 6, retryMode: 'standard' as const };
