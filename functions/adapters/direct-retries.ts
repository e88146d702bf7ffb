/**
 * The retry loop of the requests this project signs and sends without an SDK client
 * (`dynamo-direct-update.ts`, `s3-direct-get.ts`), as the SDK's retry middleware and signer run
 * it: a retry token from the strategy (standard mode: its attempts, backoff and retry quota),
 * each failure classified by smithy's own classifier (`getRetryErrorInfo` of the retry
 * middleware), and the clock skew correction of the SDK's signer ("Clock skew correction",
 * AWS SDKs and Tools Reference Guide): an error answer's `Date` (no `Age`: not a cached answer)
 * against the local clock; a skew over 4 minutes this answer revealed marks the error
 * `clockSkewCorrected`, which smithy classifies as transient, so the request is signed again
 * at the corrected time.
 */
import { getRetryAfterHint, isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { RetryErrorInfo, RetryErrorType, RetryStrategyV2 } from '@smithy/types';
import { type AwsAnswerError, header } from './aws-json-answer.js';

/** Where the clock correction is kept (an SDK client's configuration keeps it there too). */
export interface SkewClock {
  systemClockOffset?: number;
}

/** The SDK's threshold for calling a clock skewed (`AwsSdkSigV4Signer`): 4 minutes. */
const SKEW_THRESHOLD_MS = 240_000;

/** The SDK's retry middleware's classification of a failure (`getRetryErrorInfo`). */
function retryErrorInfo(error: unknown): RetryErrorInfo {
  const e = error as Parameters<typeof isTransientError>[0] & Partial<Pick<AwsAnswerError, '$response'>>;
  const errorType: RetryErrorType = isThrottlingError(e)
    ? 'THROTTLING'
    : isTransientError(e)
      ? 'TRANSIENT'
      : isServerError(e)
        ? 'SERVER_ERROR'
        : 'CLIENT_ERROR';
  const retryAfterHint = e.$response ? getRetryAfterHint(e.$response as never) : undefined;
  return { errorType, ...(retryAfterHint ? { retryAfterHint } : {}) };
}

function correctSkew(clock: SkewClock, error: unknown, offsetBefore: number, sentAt: number): void {
  const e = error as Partial<AwsAnswerError>;
  const headers = e.$response?.headers;
  const date = headers ? header(headers, 'date') : undefined;
  if (!headers || !date || header(headers, 'age') !== undefined) return;
  const server = Date.parse(date);
  const now = Date.now();
  if (Number.isNaN(server) || now - sentAt > 900_000) return;
  const offset = server - now;
  clock.systemClockOffset = offset;
  if (Math.abs(offset) >= SKEW_THRESHOLD_MS && offset !== offsetBefore && e.$metadata) {
    e.$metadata.clockSkewCorrected = true;
  }
}

/**
 * Runs `attempt` (which signs at the date it is given and sends) until it succeeds or the
 * strategy gives up; the last error is thrown with `$metadata.attempts`, as the SDK's.
 */
export async function withRetries<T>(
  strategy: RetryStrategyV2,
  clock: SkewClock,
  attempt: (signingDate: Date) => Promise<T>,
): Promise<T> {
  let retry = await strategy.acquireInitialRetryToken('');
  for (let n = 1; ; n++) {
    const offsetBefore = clock.systemClockOffset ?? 0;
    const sentAt = Date.now();
    try {
      const out = await attempt(new Date(sentAt + offsetBefore));
      strategy.recordSuccess(retry);
      return out;
    } catch (error) {
      correctSkew(clock, error, offsetBefore, sentAt);
      try {
        retry = await strategy.refreshRetryTokenForRetry(retry, retryErrorInfo(error));
      } catch {
        const e = error as Partial<AwsAnswerError>;
        if (e.$metadata) e.$metadata.attempts = n;
        throw error;
      }
      const delay = retry.getRetryDelay();
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
