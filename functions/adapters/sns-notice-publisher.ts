/**
 * SNS `Publish` of a notice to the operators' topic (issue 14).
 *
 * The project ships no `@aws-sdk/client-sns` (and installing one is not an option here), so
 * this adapter speaks the SNS Query API itself: one form-encoded POST
 * (`Action=Publish&Version=2010-03-31&TopicArn=…&Subject=…&Message=…`, SNS API Reference,
 * "Publish"), signed with Signature Version 4 by `@smithy/signature-v4` — the signer every
 * SDK v3 client uses — with credentials from the SDK's default chain. Throttling and 5xx are
 * retried a few times with backoff; what still fails is thrown (the notifier logs it).
 *
 * IAM: `sns:Publish` on the topic (and `kms:GenerateDataKey*`/`kms:Decrypt` on its key).
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Provider } from '@smithy/types';
import { TransientDependencyError } from '../core/errors.js';
import type { NoticePublisher } from '../core/ports.js';
import { NodeSha256 } from './node-sha256.js';

export interface SnsNoticePublisherOptions {
  topicArn: string;
  region: string;
  /** Endpoint override (the sandbox's SNS emulator); default `https://sns.<region>.amazonaws.com`. */
  endpoint?: string;
  credentials?: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
  /** Attempts for throttling and 5xx answers. Default 3. */
  maxAttempts?: number;
  fetch?: typeof fetch;
}

const TRANSIENT_CODES = new Set(['Throttling', 'ThrottlingException', 'ThrottledException', 'InternalError']);

export class SnsNoticePublisher implements NoticePublisher {
  readonly #topicArn: string;
  readonly #url: URL;
  readonly #signer: SignatureV4;
  readonly #maxAttempts: number;
  readonly #fetch: typeof fetch;

  constructor(options: SnsNoticePublisherOptions) {
    this.#topicArn = options.topicArn;
    this.#url = new URL(options.endpoint ?? `https://sns.${options.region}.amazonaws.com/`);
    this.#signer = new SignatureV4({
      service: 'sns',
      region: options.region,
      credentials: options.credentials ?? defaultProvider(),
      sha256: NodeSha256,
    });
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#fetch = options.fetch ?? fetch;
  }

  async publish(subject: string, message: string): Promise<void> {
    const body = new URLSearchParams({
      Action: 'Publish',
      Version: '2010-03-31',
      TopicArn: this.#topicArn,
      Subject: subject,
      Message: message,
    }).toString();
    for (let attempt = 1; ; attempt++) {
      const signed = await this.#signer.sign({
        method: 'POST',
        protocol: this.#url.protocol,
        hostname: this.#url.hostname,
        port: this.#url.port ? Number(this.#url.port) : undefined,
        path: this.#url.pathname,
        query: {},
        headers: {
          host: this.#url.host,
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        },
        body,
      });
      let status: number;
      let text: string;
      try {
        const res = await this.#fetch(this.#url, {
          method: 'POST',
          headers: signed.headers as Record<string, string>,
          body,
        });
        status = res.status;
        text = await res.text();
      } catch (error) {
        if (attempt < this.#maxAttempts) {
          await backoff(attempt);
          continue;
        }
        throw new TransientDependencyError('sns', `Publish failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
      if (status >= 200 && status < 300) return;
      const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? `HTTP ${status}`;
      const detail = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? text.slice(0, 200);
      const transient = status >= 500 || status === 429 || TRANSIENT_CODES.has(code);
      if (transient && attempt < this.#maxAttempts) {
        await backoff(attempt);
        continue;
      }
      const error = new Error(`SNS Publish to ${this.#topicArn}: ${code}: ${detail}`);
      error.name = code;
      if (transient) throw new TransientDependencyError('sns', error.message, { cause: error });
      throw error;
    }
  }
}

function backoff(attempt: number): Promise<void> {
  // Full jitter, as the SDK's standard retry mode (100 ms base).
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 100 * 2 ** attempt));
}
