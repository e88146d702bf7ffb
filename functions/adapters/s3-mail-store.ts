/**
 * The raw message the receipt rule's S3 action stored, read with a size cap: the body is
 * streamed and reading stops one byte past the cap, so a hostile 40 MB message never needs
 * more memory than the cap.
 */
import { GetObjectCommand, type GetObjectCommandOutput, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { MessageNotFoundError } from '../core/errors.js';
import type { MailStore } from '../router/ports.js';
import { rethrowAws } from './aws-errors.js';

export interface S3MailStoreOptions {
  client: S3Client;
  bucket: string;
  /** The receipt rule's object key prefix (SES stores `prefix + messageId`). */
  prefix?: string;
}

export class S3MailStore implements MailStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(options: S3MailStoreOptions) {
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? '';
  }

  async get(
    messageId: string,
    maxBytes: number,
  ): Promise<{ raw: Buffer; truncated: boolean; sizeBytes: number }> {
    const key = `${this.#prefix}${messageId}`;
    let response: GetObjectCommandOutput;
    try {
      response = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
    } catch (error) {
      if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') {
        throw new MessageNotFoundError(messageId, { cause: error });
      }
      return rethrowAws('s3', `GetObject s3://${this.#bucket}/${key}`, error);
    }
    const body = response.Body as AsyncIterable<Uint8Array> | undefined;
    if (!body) throw new MessageNotFoundError(messageId);
    const chunks: Buffer[] = [];
    let read = 0;
    let truncated = false;
    try {
      for await (const chunk of body) {
        const room = maxBytes + 1 - read;
        if (chunk.length >= room) {
          chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, room));
          read += room;
          truncated = true;
          break;
        }
        chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
        read += chunk.length;
      }
    } catch (error) {
      return rethrowAws('s3', `reading s3://${this.#bucket}/${key}`, error);
    } finally {
      if (truncated) (body as { destroy?: () => void }).destroy?.();
    }
    const raw = Buffer.concat(chunks, read);
    return { raw, truncated, sizeBytes: response.ContentLength ?? read };
  }
}
