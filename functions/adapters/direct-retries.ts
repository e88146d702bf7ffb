/**
 * The retry loop of the requests this project signs and sends without an SDK client
 * (`dynamo-direct-update.ts`, `s3-direct-get.ts`, `ses-direct.ts`), as the SDK's retry middleware and signer run
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

/**
 * The clock correction an answer teaches (`getUpdatedSystemClockOffset`, @aws-sdk/core): its
 * `Date` (not a cached answer's: no `Age`; not an answer that took over 15 minutes) against the
 * local clock. Success and error answers alike (the SDK's signer `successHandler` and
 * `errorHandler`); the new offset, or undefined when the answer teaches nothing.
 */
function sampledOffset(headers: Record<string, string | undefined>, sentAt: number): number | undefined {
  const date = header(headers, 'date');
  if (!date || header(headers, 'age') !== undefined) return undefined;
  const server = Date.parse(date);
  const now = Date.now();
  if (Number.isNaN(server) || now - sentAt > 900_000) return undefined;
  return server - now;
}

function correctSkew(clock: SkewClock, error: AwsAnswerError, offsetBefore: number, sentAt: number): void {
  const headers = error.$response?.headers;
  const offset = headers ? sampledOffset(headers, sentAt) : undefined;
  if (offset === undefined) return;
  clock.systemClockOffset = offset;
  if (Math.abs(offset) >= SKEW_THRESHOLD_MS && offset !== offsetBefore && error.$metadata) {
    error.$metadata.clockSkewCorrected = true;
  }
}

/** What the SDK's retry middleware throws for what was thrown (`asSdkError`): an Error. */
function asSdkError(error: unknown): Partial<AwsAnswerError> & Error {
  if (error instanceof Error) return error;
  if (error instanceof Object) return Object.assign(new Error(), error);
  if (typeof error === 'string') return new Error(error);
  return new Error(`AWS SDK error wrapper for ${error}`);
}

/** Called by an attempt with the headers of its success answer (the clock is sampled from them). */
export type Answered = (headers: Record<string, string | undefined>) => void;

/**
 * Runs `attempt` (which signs at the date it is given, sends, and hands its success answer's
 * headers to `answered`) until it succeeds or the strategy gives up; the last error is thrown
 * with `$metadata.attempts` and `totalRetryDelay`, as the SDK's retry middleware throws it.
 */
export async function withRetries<T>(
  strategy: RetryStrategyV2,
  clock: SkewClock,
  attempt: (signingDate: Date, answered: Answered) => Promise<T>,
): Promise<T> {
  let retry = await strategy.acquireInitialRetryToken('');
  let totalRetryDelay = 0;
  for (let n = 1; ; n++) {
    const offsetBefore = clock.systemClockOffset ?? 0;
    const sentAt = Date.now();
    try {
      const out = await attempt(new Date(sentAt + offsetBefore), (headers) => {
        const offset = sampledOffset(headers, sentAt);
        if (offset !== undefined) clock.systemClockOffset = offset;
      });
      strategy.recordSuccess(retry);
      return out;
    } catch (thrown) {
      const error = asSdkError(thrown);
      correctSkew(clock, error as AwsAnswerError, offsetBefore, sentAt);
      try {
        retry = await strategy.refreshRetryTokenForRetry(retry, retryErrorInfo(error));
      } catch {
        error.$metadata ??= {} as AwsAnswerError['$metadata'];
        Object.assign(error.$metadata, { attempts: n, totalRetryDelay });
        throw error;
      }
      const delay = retry.getRetryDelay();
      totalRetryDelay +=
        ((retry as { $retryLog?: { acquisitionDelay?: number } }).$retryLog?.acquisitionDelay ?? 0) + delay;
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
