/**
 * How often, and when, Lambda runs the router again for one SES receipt event: the numbers the
 * lease, the last-attempt rule and the fault tests are built on (docs/retries.md). No CDK and
 * no SDK import, so the function bundle, the stack and the tests share them.
 *
 * The receipt rule invokes the router asynchronously (`InvocationType: Event`). For an
 * asynchronous invocation that fails — an error thrown by the code or by the runtime, a
 * timeout included — "by default Lambda attempts to run it two more times, with a one-minute
 * wait between the first two attempts, and two minutes between the second and third attempts"
 * (AWS Lambda Developer Guide, "How Lambda handles errors and retries with asynchronous
 * invocation", https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
 * The same page warns that an event may also arrive more than once without any error.
 */

/** `retryAttempts` of the router's asynchronous invocation config (Lambda allows 0 to 2). */
export const ROUTER_RETRY_ATTEMPTS = 2;

/** Attempts Lambda makes for one event: the first one plus the retries. */
export const DEFAULT_MAX_ATTEMPTS = 1 + ROUTER_RETRY_ATTEMPTS;

/**
 * Lambda's waits after a failed attempt, in order (AWS doc above): after attempt 1, one
 * minute; after attempt 2, two minutes. Approximate: the queue may add to them, never less.
 */
export const LAMBDA_RETRY_WAITS_MS: readonly number[] = [60_000, 120_000];

/**
 * Seconds a claim outlives the function timeout (`LEASE_SECONDS` = timeout + margin). An
 * invocation cannot run past its timeout, so the margin only has to cover clocks and requests
 * in flight; it must stay well under Lambda's one-minute wait, so that the retry of an attempt
 * that timed out (which could not release its lease) finds the lease expired and does real
 * work: the retry comes at least timeout + 60 s after the claim, the lease ends timeout + 20 s
 * after it.
 */
export const LEASE_MARGIN_SECONDS = 20;

/** The router's default timeout (seconds), as the stack sets it. */
export const DEFAULT_ROUTER_TIMEOUT_SECONDS = 90;

/** `LEASE_SECONDS` for the default timeout. */
export const DEFAULT_LEASE_SECONDS = DEFAULT_ROUTER_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS;

/**
 * Whether attempt number `attempt` (1-based, the trace claim's counter) is the last one
 * Lambda will make: from then on a DNS temporary failure is decided, not retried (SPEC 2a).
 * `>=`, not `===`: a duplicate delivery or a redrive from the dead-letter queue claims again
 * and counts past the budget, and must not fail the same way a second time.
 */
export function isFinalAttempt(attempt: number, maxAttempts: number): boolean {
  return attempt >= maxAttempts;
}
