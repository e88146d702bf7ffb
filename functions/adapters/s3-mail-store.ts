/**
 * The raw message the receipt rule's S3 action stored, read with a size cap: the body is
 * streamed and reading stops one byte past the cap, so a hostile 40 MB message never needs
 * more memory than the cap.
 *
 * Two ways to the object, one store: {@link ObjectMailStore} over an {@link ObjectReader} — the
 * router's is `s3-direct-get.ts`, GetObject without the SDK's S3 client (issue 16) — and
 * {@link S3MailStore}, the same over the SDK's client (tests, the bench's per-message measure).
 * The router never names `S3MailStore`, so its bundle leaves `@aws-sdk/client-s3` out.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { MessageNotFoundError, TransientDependencyError } from '../core/errors.js';
import type { MailStore } from '../core/ports.js';
import { rethrowAws } from './aws-errors.js';
import type { ObjectBody, ObjectReader } from './s3-direct-get.js';

export interface ObjectMailStoreOptions {
  read: ObjectReader;
  bucket: string;
  /** The receipt rule's object key prefix (SES stores `prefix + messageId`). */
  prefix?: string;
}

export class ObjectMailStore implements MailStore {
  readonly #read: ObjectReader;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(options: ObjectMailStoreOptions) {
    this.#read = options.read;
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? '';
  }

  async get(
    messageId: string,
    maxBytes: number,
  ): Promise<{ raw: Buffer; truncated: boolean; sizeBytes: number }> {
    const key = `${this.#prefix}${messageId}`;
    // The checksum mode stays on (the SDK's default, and `s3-direct-get.ts`): S3 returns the
    // object's CRC64NVME and the body is checked against it as it streams (S3 User Guide,
    // "Checking object integrity"). Issue 16 measured its cost on small mail: none that shows
    // (a plain message's GetObject takes ~0.3 ms of CPU with and without), and the peer's
    // client pays it too.
    let response: ObjectBody;
    try {
      response = await this.#read(this.#bucket, key);
    } catch (error) {
      if ((error as Error)?.name === 'NoSuchKey') {
        throw new MessageNotFoundError(messageId, { cause: error });
      }
      return rethrowAws('s3', `GetObject s3://${this.#bucket}/${key}`, error);
    }
    const body = response.body;
    // One buffer of the announced size (capped), filled in place: the message is held once,
    // not once as chunks and again as their concatenation. It grows only if S3's
    // Content-Length was wrong.
    const cap = maxBytes + 1;
    let out = Buffer.allocUnsafe(Math.min(response.contentLength ?? 64 * 1024, cap));
    let read = 0;
    let truncated = false;
    try {
      for await (const chunk of body) {
        const take = Math.min(chunk.length, cap - read);
        if (read + take > out.length) {
          const bigger = Buffer.allocUnsafe(Math.min(cap, Math.max(out.length * 2, read + take)));
          out.copy(bigger, 0, 0, read);
          out = bigger;
        }
        out.set(chunk.subarray(0, take), read);
        read += take;
        if (read >= cap) {
          truncated = true;
          break;
        }
      }
    } catch (error) {
      // The bytes are checked against the object's checksum as they stream (S3 User Guide,
      // "Checking object integrity"): a mismatch is a transfer corrupted on the way, which a
      // later read (Lambda's retry) gets right.
      const message = (error as Error)?.message ?? '';
      if (/^Checksum mismatch/i.test(message)) {
        throw new TransientDependencyError('s3', `reading s3://${this.#bucket}/${key}: ${message}`, {
          cause: error,
        });
      }
      return rethrowAws('s3', `reading s3://${this.#bucket}/${key}`, error);
    } finally {
      if (truncated) response.destroy();
    }
    const raw = out.subarray(0, read);
    return { raw, truncated, sizeBytes: response.contentLength ?? read };
  }
}

export interface S3MailStoreOptions {
  client: S3Client;
  bucket: string;
  /** The receipt rule's object key prefix (SES stores `prefix + messageId`). */
  prefix?: string;
}

/** {@link ObjectMailStore} over the SDK's S3 client, which validates the checksum itself. */
export class S3MailStore implements MailStore {
  readonly #store: ObjectMailStore;

  constructor(options: S3MailStoreOptions) {
    const client = options.client;
    this.#store = new ObjectMailStore({
      bucket: options.bucket,
      ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
      read: async (Bucket, Key) => {
        const response = await client.send(new GetObjectCommand({ Bucket, Key }));
        const body = response.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
        // No body: nothing stored to read, as for a missing key.
        if (!body) throw Object.assign(new Error(`no body for s3://${Bucket}/${Key}`), { name: 'NoSuchKey' });
        return {
          body,
          ...(response.ContentLength !== undefined ? { contentLength: response.ContentLength } : {}),
          destroy: () => body.destroy?.(),
        };
      },
    });
  }

  get(messageId: string, maxBytes: number): Promise<{ raw: Buffer; truncated: boolean; sizeBytes: number }> {
    return this.#store.get(messageId, maxBytes);
  }
}
