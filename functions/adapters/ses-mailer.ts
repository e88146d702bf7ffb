/**
 * SESv2 `SendEmail` with `Content.Raw` through a pool's configuration set.
 *
 * Over the account's maximum send rate SES answers `TooManyRequestsException` (429) and does
 * not send; the SDK's standard retry mode retries that (and 5xx) with backoff and jitter, and
 * what still fails becomes a retryable error for Lambda to retry the event. Refusals that a
 * retry cannot fix (`MessageRejected`, an unverified From, a paused account) become
 * {@link SendRejectedError}: the copy is recorded as failed instead of looping.
 */
import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SendRejectedError } from '../core/errors.js';
import type { Mailer, SendRequest } from '../core/ports.js';
import { isTransientAwsError, rethrowAws } from './aws-errors.js';

/**
 * Refusals of this one message: retrying the same bytes cannot succeed. Everything else
 * that is not transient (an unverified identity, a missing configuration set, a paused
 * account) is a fault of the deployment: the invocation fails and the event is kept in the
 * dead-letter queue, to be redriven once an operator fixed it.
 */
const MESSAGE_REFUSALS = new Set(['MessageRejected', 'BadRequestException']);

/** SES accepts at most 50 recipients per call (SES quotas). */
const MAX_RECIPIENTS = 50;

export class SesMailer implements Mailer {
  readonly #client: SESv2Client;

  constructor(client: SESv2Client) {
    this.#client = client;
  }

  async send(request: SendRequest): Promise<{ messageId: string }> {
    if (request.to.length === 0 || request.to.length > MAX_RECIPIENTS) {
      throw new RangeError(`a send takes 1 to ${MAX_RECIPIENTS} recipients, got ${request.to.length}`);
    }
    try {
      const out = await this.#client.send(
        new SendEmailCommand({
          FromEmailAddress: request.fromAddress,
          Destination: { ToAddresses: request.to },
          Content: { Raw: { Data: request.raw } },
          ConfigurationSetName: request.configurationSet,
          TenantName: request.tenant,
          FeedbackForwardingEmailAddress: request.feedbackForwardingAddress,
          EmailTags: request.tags.map((t) => ({ Name: t.name, Value: t.value })),
        }),
      );
      if (!out.MessageId) throw new SendRejectedError('NoMessageId', 'SES returned no message id');
      return { messageId: out.MessageId };
    } catch (error) {
      const e = error as Error;
      if (!isTransientAwsError(error) && MESSAGE_REFUSALS.has(e.name)) {
        throw new SendRejectedError(e.name, e.message, { cause: error });
      }
      return rethrowAws('ses', 'SendEmail', error);
    }
  }
}
