/**
 * SESv2 `SendEmail` with `Content.Raw` through a pool's configuration set.
 *
 * Errors are sorted by `core/ses-refusals.ts` (SESv2 API Reference, "SendEmail", Errors):
 *
 * - **Throttling** (`TooManyRequestsException`, `LimitExceededException` for the sending rate;
 *   SES "does not send" over the account's maximum send rate) is first retried by the
 *   `SendEmail` itself (smithy's standard retry mode: the SDK client's, or `ses-direct.ts`'s);
 *   what still comes back throttled is retried here with exponential
 *   backoff and full jitter ({@link ThrottleBackoff}) for as long as the budget allows and the
 *   invocation has time left, then fails the invocation as a retryable error: SPEC 8,
 *   "throttling by SES is retried with backoff, never dropped".
 * - A **deployment fault** (account, identity or configuration-set level) becomes
 *   {@link SesDeploymentError}: the invocation fails, Lambda retries, then dead-letters.
 * - A refusal of **this copy** becomes {@link SendRejectedError}: recorded as failed.
 * - Anything else goes through `aws-errors.ts` (5xx and network: retryable; else as is).
 *
 * {@link SesRawMailer} does that over any `SendEmail` (the router's: `ses-direct.ts`, sent
 * without the SDK's client, issue 16); {@link SesMailer} over an SDK client (the bench's, the
 * tests'), kept apart so that a bundle of the router, which imports only the first, leaves the
 * SESv2 client out.
 */
import {
  type SESv2Client,
  SendEmailCommand,
  type SendEmailCommandInput,
  type SendEmailCommandOutput,
} from '@aws-sdk/client-sesv2';
import { SendRejectedError, SesDeploymentError, TransientDependencyError } from '../core/errors.js';
import type { Mailer, SendRequest } from '../core/ports.js';
import { classifySesError, oneLine } from '../core/ses-refusals.js';
import { rethrowAws } from './aws-errors.js';
import type { RawEmailInput } from './ses-direct.js';
import { rawSendData, STREAM_FROM_BYTES, STREAMED_RAW_BODY_OPTIONS } from './ses-raw-stream.js';

/** SES accepts at most 50 recipients per call (SES quotas). */
const MAX_RECIPIENTS = 50;

/**
 * Backoff for throttled sends, beyond the SDK's own retries: attempt n waits a uniformly
 * random time in [0, min(capMs, baseMs · 2ⁿ)] ("full jitter", AWS Architecture Blog,
 * "Exponential Backoff And Jitter"), so throttled concurrent invocations spread out instead of
 * retrying in step.
 */
export interface ThrottleBackoff {
  /** First wait's upper bound. @default 200 */
  baseMs?: number;
  /** Largest upper bound of one wait. @default 5000 */
  capMs?: number;
  /** Total time one send may spend waiting on throttles. @default 30000 */
  budgetMs?: number;
  /**
   * Time the invocation must keep after a wait, to record the send and finish (trace writes,
   * the other copies' compose). @default 10000
   */
  marginMs?: number;
  /** Milliseconds the invocation has left (Lambda's `getRemainingTimeInMillis`); absent: no limit. */
  remainingMs?: () => number | undefined;
  /** Injected for tests. @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
  /** Injected for tests. @default Math.random */
  random?: () => number;
}

export interface SesMailerOptions {
  throttle?: ThrottleBackoff;
  /**
   * Messages of this many bytes or more go out as a streamed request body (`ses-raw-stream.ts`:
   * not held as base64 and JSON strings). @default 1 MiB
   */
  streamFromBytes?: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One `SendEmail` of a raw message; rejects with an SDK-shaped error (`name` the SES error code). */
export type SendRawEmail = (input: RawEmailInput) => Promise<{ MessageId?: string }>;

/** The mailer over a `SendEmail` (above): recipients checked, refusals sorted, throttles retried. */
export class SesRawMailer implements Mailer {
  readonly #sendEmail: SendRawEmail;
  readonly #backoff: Required<Omit<ThrottleBackoff, 'remainingMs'>> & Pick<ThrottleBackoff, 'remainingMs'>;

  constructor(sendEmail: SendRawEmail, options: Pick<SesMailerOptions, 'throttle'> = {}) {
    this.#sendEmail = sendEmail;
    const t = options.throttle ?? {};
    this.#backoff = {
      baseMs: t.baseMs ?? 200,
      capMs: t.capMs ?? 5_000,
      budgetMs: t.budgetMs ?? 30_000,
      marginMs: t.marginMs ?? 10_000,
      remainingMs: t.remainingMs,
      sleep: t.sleep ?? defaultSleep,
      random: t.random ?? Math.random,
    };
  }

  async send(request: SendRequest): Promise<{ messageId: string }> {
    if (request.to.length === 0 || request.to.length > MAX_RECIPIENTS) {
      throw new RangeError(`a send takes 1 to ${MAX_RECIPIENTS} recipients, got ${request.to.length}`);
    }
    const b = this.#backoff;
    let waited = 0;
    for (let retry = 0; ; retry++) {
      try {
        return await this.#sendOnce(request);
      } catch (error) {
        const e = error as Error;
        const verdict = classifySesError(
          { name: e?.name ?? '', message: e?.message ?? '' },
          {
            recipients: request.to,
          },
        );
        if (verdict.kind === 'deployment') {
          throw new SesDeploymentError(verdict.scope, e.name, e.message, { cause: error });
        }
        if (verdict.kind === 'copy') {
          throw new SendRejectedError(e.name, oneLine(e.message), { cause: error, refusal: verdict.refusal });
        }
        if (verdict.kind === 'other') return rethrowAws('ses', 'SendEmail', error);
        const wait = Math.floor(b.random() * Math.min(b.capMs, b.baseMs * 2 ** retry));
        const remaining = b.remainingMs?.();
        if (waited + wait > b.budgetMs || (remaining !== undefined && remaining - wait < b.marginMs)) {
          throw new TransientDependencyError(
            'ses',
            oneLine(
              `SendEmail still throttled (${e.name}: ${e.message}) after ${retry} backoff retries over ${waited} ms; Lambda retries the event`,
            ),
            { cause: error },
          );
        }
        await b.sleep(wait);
        waited += wait;
      }
    }
  }

  async #sendOnce(request: SendRequest): Promise<{ messageId: string }> {
    const out = await this.#sendEmail({
      FromEmailAddress: request.fromAddress,
      Destination: { ToAddresses: request.to },
      raw: request.raw,
      ConfigurationSetName: request.configurationSet,
      TenantName: request.tenant,
      FeedbackForwardingEmailAddress: request.feedbackForwardingAddress,
      EmailTags: request.tags.map((t) => ({ Name: t.name, Value: t.value })),
    });
    if (!out.MessageId) throw new TransientDependencyError('ses', 'SendEmail returned no message id');
    return { messageId: out.MessageId };
  }
}

/** `SendEmail` through an SDK client, a message of `streamFromBytes` or more streamed. */
export function sdkSendRawEmail(client: SESv2Client, streamFromBytes = STREAM_FROM_BYTES): SendRawEmail {
  return async ({ raw: message, ...input }) => {
    const raw = rawSendData<SendEmailCommandInput, SendEmailCommandOutput>(message, streamFromBytes);
    const command = new SendEmailCommand({ ...input, Content: { Raw: { Data: raw.data } } });
    if (raw.stream) command.middlewareStack.addRelativeTo(raw.stream, STREAMED_RAW_BODY_OPTIONS);
    // A command with a middleware of its own is sent with options (`{}`): a client built with
    // `cacheMiddleware` then resolves this command's own stack instead of the handler it
    // cached for the class (smithy `Client.send`), which would replay another command's body.
    return raw.stream ? client.send(command, {}) : client.send(command);
  };
}

/** The mailer over an SDK client's `SendEmail` ({@link SesRawMailer}, {@link sdkSendRawEmail}). */
export class SesMailer implements Mailer {
  readonly #mailer: SesRawMailer;

  constructor(client: SESv2Client, options: SesMailerOptions = {}) {
    this.#mailer = new SesRawMailer(sdkSendRawEmail(client, options.streamFromBytes), options);
  }

  send(request: SendRequest): Promise<{ messageId: string }> {
    return this.#mailer.send(request);
  }
}
