/**
 * A big `SendEmail` request body streamed instead of built as one string (issue 16: peak
 * memory on a 10 MB message).
 *
 * SESv2 is a REST-JSON API: the SDK base64-encodes `Content.Raw.Data` into a string (4/3 of
 * the message), serializes the JSON around it into another string and that into the body's
 * bytes: three more copies of 4/3 the message, held together for a moment. (`ses-direct.ts`,
 * the router's `SendEmail` without the SDK, streams its body with `bodyChunks` and
 * `bodySha256` below, without the middleware.) Here the command is serialized with a small placeholder for the data, and a
 * per-command middleware replaces the body with a stream of the same bytes the SDK would have
 * written — the JSON before the data, the message's pieces base64-encoded in chunks aligned to
 * 3 bytes (so the chunks' encodings concatenate to the whole's), the JSON after it — a few
 * 64 KB chunks in memory at a time.
 *
 * Signing. SigV4 signs the hex SHA-256 of the payload ("HashedPayload" of the canonical
 * request, IAM User Guide, "Create a signed AWS API request"). `@smithy/signature-v4` hashes a
 * string or byte body itself but signs a stream as `UNSIGNED-PAYLOAD` (which only S3 accepts)
 * unless the request carries `x-amz-content-sha256`, whose value it then uses as the payload
 * hash (`getPayloadHash`, signature-v4 5.x). So the body is hashed first, over the same
 * stream of bytes, and the hash set in that header. The stock SDK sends that header, signed,
 * on every SESv2 request already (the signer's `applyChecksum` defaults to true; seen in the
 * headers of a stock `SendEmail`), so a streamed request carries exactly the headers of a
 * stock one with the same values; and since the header holds the true hash of the bytes sent,
 * the signature is the one SES computes whether it reads the header or hashes the body.
 *
 * The middleware sits after the SDK's retry middleware and before signing, so every attempt
 * (a retry after a network error) sends a fresh stream, signed for its own date.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type {
  FinalizeHandler,
  FinalizeHandlerArguments,
  FinalizeRequestHandlerOptions,
  FinalizeRequestMiddleware,
  HttpRequest,
  MetadataBearer,
  RelativeMiddlewareOptions,
} from '@smithy/types';

/** Raw bytes per base64 chunk: a multiple of 3, so chunk encodings join without padding. */
export const RAW_CHUNK_BYTES = 48 * 1024;

/**
 * What the command is serialized with in place of the message: random bytes, so no other part
 * of a request can be mistaken for it; only the `"Raw":{"Data":"…"}` it serializes to is
 * replaced (a `"` inside any JSON string is escaped, so that pattern is the field itself).
 */
export const DATA_PLACEHOLDER: Uint8Array = randomBytes(30);
const DATA_KEY = '"Raw":{"Data":"';
const PLACEHOLDER_BASE64 = Buffer.from(DATA_PLACEHOLDER).toString('base64');
const PLACEHOLDER_FIELD = `${DATA_KEY}${PLACEHOLDER_BASE64}"}`;

/** Length of the base64 (with padding, RFC 4648 section 4) of `n` bytes. */
export function base64Length(n: number): number {
  return 4 * Math.ceil(n / 3);
}

/** The message's pieces in chunks of `size` bytes (a multiple of 3); only the last is shorter. */
export function* alignedChunks(pieces: readonly Uint8Array[], size = RAW_CHUNK_BYTES): Generator<Buffer> {
  if (size <= 0 || size % 3 !== 0)
    throw new RangeError(`chunk size must be a positive multiple of 3, got ${size}`);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for (const piece of pieces) {
    const bytes = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    let offset = 0;
    while (offset < bytes.length) {
      // Whole chunks straight from the piece (views, not copies) when nothing is pending.
      if (pendingBytes === 0 && bytes.length - offset >= size) {
        yield bytes.subarray(offset, offset + size);
        offset += size;
        continue;
      }
      const take = Math.min(size - pendingBytes, bytes.length - offset);
      pending.push(bytes.subarray(offset, offset + take));
      pendingBytes += take;
      offset += take;
      if (pendingBytes === size) {
        yield Buffer.concat(pending, size);
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

/** The request body: the JSON around the data, and the message's pieces base64-encoded. */
export interface StreamedBody {
  prefix: Buffer;
  pieces: readonly Uint8Array[];
  suffix: Buffer;
}

/** The body's bytes, one chunk at a time. */
export function* bodyChunks(body: StreamedBody, size = RAW_CHUNK_BYTES): Generator<Buffer> {
  yield body.prefix;
  for (const chunk of alignedChunks(body.pieces, size)) yield Buffer.from(chunk.toString('base64'), 'latin1');
  yield body.suffix;
}

/** Bytes of the body, without building it. */
export function bodyLength(body: StreamedBody): number {
  const raw = body.pieces.reduce((n, p) => n + p.byteLength, 0);
  return body.prefix.length + base64Length(raw) + body.suffix.length;
}

/** Hex SHA-256 of the body, computed over the same chunks that are sent. */
export function bodySha256(body: StreamedBody, size = RAW_CHUNK_BYTES): string {
  const hash = createHash('sha256');
  hash.update(body.prefix);
  for (const chunk of alignedChunks(body.pieces, size)) hash.update(chunk.toString('base64'), 'latin1');
  hash.update(body.suffix);
  return hash.digest('hex');
}

/**
 * Splits the serialized `SendEmail` JSON at the placeholder's data field.
 * @throws Error when the field is not there exactly once (the command was not built with
 *   {@link DATA_PLACEHOLDER}): sending the placeholder would send the wrong message.
 */
export function splitAtPlaceholder(json: string, pieces: readonly Uint8Array[]): StreamedBody {
  const at = json.indexOf(PLACEHOLDER_FIELD);
  if (at < 0 || json.lastIndexOf(PLACEHOLDER_FIELD) !== at) {
    throw new Error('ses-raw-stream: the serialized SendEmail has no single placeholder data field');
  }
  const dataAt = at + DATA_KEY.length;
  return {
    prefix: Buffer.from(json.slice(0, dataAt), 'utf8'),
    pieces,
    suffix: Buffer.from(json.slice(dataAt + PLACEHOLDER_BASE64.length), 'utf8'),
  };
}

function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array)
    return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  throw new Error(`ses-raw-stream: unexpected serialized body (${typeof body})`);
}

function isHttpRequest(request: unknown): request is HttpRequest {
  const r = request as HttpRequest | undefined;
  return typeof r === 'object' && r !== null && typeof r.headers === 'object' && 'body' in r;
}

/** Where {@link streamedRawBody} goes: after the retry middleware, before signing. */
export const STREAMED_RAW_BODY_OPTIONS: FinalizeRequestHandlerOptions & RelativeMiddlewareOptions = {
  name: 'streamedRawBodyMiddleware',
  step: 'finalizeRequest',
  relation: 'before',
  toMiddleware: 'httpSigningMiddleware',
  override: true,
};

/**
 * The middleware of one `SendEmailCommand` serialized with {@link DATA_PLACEHOLDER} as its
 * raw data: sends `pieces` (the message, in order) in its place, streamed.
 */
export function streamedRawBody<Input extends object, Output extends MetadataBearer>(
  pieces: readonly Uint8Array[],
): FinalizeRequestMiddleware<Input, Output> {
  let body: StreamedBody | undefined;
  let sha256 = '';
  return (next: FinalizeHandler<Input, Output>) => async (args: FinalizeHandlerArguments<Input>) => {
    const request = args.request;
    if (!isHttpRequest(request)) throw new Error('ses-raw-stream: not an HTTP request');
    // The first attempt still holds the SDK's serialized body; a retry gets the same request.
    if (!body) {
      body = splitAtPlaceholder(bodyText(request.body), pieces);
      sha256 = bodySha256(body);
    }
    const headers = { ...request.headers };
    for (const name of Object.keys(headers)) {
      const lower = name.toLowerCase();
      if (lower === 'content-length' || lower === 'x-amz-content-sha256') delete headers[name];
    }
    headers['content-length'] = String(bodyLength(body));
    headers['x-amz-content-sha256'] = sha256;
    const streamed = Object.assign(Object.create(Object.getPrototypeOf(request)) as HttpRequest, request, {
      headers,
      body: Readable.from(bodyChunks(body), { objectMode: false }),
    });
    return next({ ...args, request: streamed });
  };
}

/** Messages from this size on are streamed (below it the stock body costs little). */
export const STREAM_FROM_BYTES = 1024 * 1024;

/**
 * The `Content.Raw.Data` to build a `SendEmailCommand` with for the message `raw` (one buffer
 * or its pieces in order), and for a message of `streamFromBytes` or more the middleware to
 * add to that command ({@link STREAMED_RAW_BODY_OPTIONS}), which sends the message in place
 * of the placeholder data.
 */
export function rawSendData<Input extends object, Output extends MetadataBearer>(
  raw: Buffer | readonly Buffer[],
  streamFromBytes = STREAM_FROM_BYTES,
): { data: Uint8Array; stream: FinalizeRequestMiddleware<Input, Output> | null } {
  const pieces = Buffer.isBuffer(raw) ? [raw] : raw;
  const bytes = pieces.reduce((n, p) => n + p.length, 0);
  if (bytes >= streamFromBytes) return { data: DATA_PLACEHOLDER, stream: streamedRawBody(pieces) };
  return { data: pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, bytes), stream: null };
}
