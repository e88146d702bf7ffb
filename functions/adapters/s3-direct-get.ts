/**
 * S3 `GetObject` without `@aws-sdk/client-s3` (issue 16): the router reads one object per
 * message, and the S3 client — ~75 KB of code (its schemas, endpoint rules, the S3 and
 * flexible-checksums middleware, its XML builder) run for the first time at every cold start,
 * and a dozen middleware layers on every request — cost more than the request itself.
 *
 * The request is the one the SDK sends (S3 API Reference, "GetObject"; Amazon S3 User Guide,
 * "Virtual hosting of buckets" and "Dual-stack endpoints"; `test/adapters/s3-direct-get.test.ts`
 * compares them):
 *
 * - `GET /<key>?x-id=GetObject` to `<bucket>.s3.<region>.<dnsSuffix>` (virtual-hosted style), or
 *   `GET /<bucket>/<key>` to `s3.<region>.<dnsSuffix>` (path style) for a bucket name that is
 *   not one DNS label (dots, capitals) or with `forcePathStyle`; `s3-fips.` with FIPS,
 *   `.dualstack.` with dual-stack. A configured endpoint (`AWS_ENDPOINT_URL_S3`, an emulator)
 *   replaces the host; an IP address there means path style, as in the SDK's endpoint rules.
 * - the key URI-encoded segment by segment (RFC 3986 unreserved characters kept, `/` kept), and
 *   signed as it is: S3 does not encode the path a second time in the canonical request
 *   (Signature Version 4, "Create a canonical request": "Amazon S3 … do not normalize or
 *   double-encode"), `uriEscapePath: false` in `@smithy/signature-v4`;
 * - `x-amz-content-sha256` of the empty payload (S3 requires the header on every request;
 *   "Authenticating Requests: Using the Authorization Header (AWS Signature Version 4)");
 * - `x-amz-checksum-mode: ENABLED`, as the SDK's default checksum mode asks: S3 then returns
 *   the object's checksum, which the body is checked against as it streams (Amazon S3 User
 *   Guide, "Checking object integrity"). S3 gives every object written since December 2024 a
 *   CRC64NVME, checked with `crc64-nvme.ts` (the SDK's algorithm, ~2.4× faster than the SDK's
 *   JavaScript implementation: it was a third of the CPU of a 10 MB message). A composite checksum (`…-<parts>`, a multipart
 *   upload's checksum of part checksums) says nothing about the bytes of a whole-object read
 *   and is skipped, as the SDK skips it. Always asked and checked: the SDK's
 *   `AWS_RESPONSE_CHECKSUM_VALIDATION=WHEN_REQUIRED` is not read (an object without a checksum,
 *   as the emulator's, is read unchecked as with it).
 *
 * An error answer (`<Error><Code>…</Code><Message>…</Message>…</Error>`, S3 API Reference,
 * "Error responses") becomes an error shaped like the SDK's (`name` the code, `$fault`,
 * `$metadata`, `$response`), so `S3MailStore` and `aws-errors.ts` read it as they read the
 * SDK's. Throttling (503 SlowDown), 5xx and network errors are retried by smithy's standard
 * retry strategy, each failure classified by smithy's classifier as the SDK's retry middleware
 * does; a clock more than 4 minutes off (`RequestTimeTooSkewed`) is corrected from the
 * answer's `Date` and the request signed again, as the SDK's signer does.
 */
import { createHash } from 'node:crypto';
import { Crc32, Crc32c } from '@aws-sdk/checksums/crc';
import { StandardRetryStrategy } from '@smithy/core/retry';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest, HttpResponse, RetryStrategyV2 } from '@smithy/types';
import { SDK_RETRY } from './aws-errors.js';
import { type AwsAnswerError, awsError, bodyText, header } from './aws-json-answer.js';
import { partitionDnsSuffix } from './aws-partitions.js';
import { Crc64Nvme } from './crc64-nvme.js';
import { type SkewClock, withRetries } from './direct-retries.js';
import { NodeSha256 } from './node-sha256.js';
import { encodeRfc3986, resolveOption, type SignedByHandOptions } from './signed-by-hand.js';

/** An object's body as it streams in, and what S3 said of its length. */
export interface ObjectBody {
  /** The bytes; when S3 gave a whole-object checksum, checked at the end (a mismatch throws). */
  body: AsyncIterable<Uint8Array>;
  contentLength?: number;
  /** Stops the transfer (a reader that has what it needs). */
  destroy(): void;
}

/** Reads one object; rejects with an SDK-shaped error (`name` the S3 error code). */
export type ObjectReader = (bucket: string, key: string) => Promise<ObjectBody>;

export interface S3DirectGetOptions extends SignedByHandOptions {
  /** Path-style addressing (`/<bucket>/<key>`) even for buckets that can be a host name. */
  forcePathStyle?: boolean;
  /** Default: smithy's standard mode with the SDK clients' attempts ({@link SDK_RETRY}). */
  retryStrategy?: RetryStrategyV2;
}

/** SHA-256 of the empty payload: a GET's `x-amz-content-sha256`, as the SDK sends it. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** A bucket name that is one DNS label (`isVirtualHostableS3Bucket`, without sub-domains). */
const isVirtualHostable = (bucket: string) =>
  /^(?!-)[a-z0-9-]{3,63}$/.test(bucket) && !bucket.endsWith('-') && !/^\d+\.\d+\.\d+\.\d+$/.test(bucket);

const isIpHost = (hostname: string) => /^\d+\.\d+\.\d+\.\d+$/.test(hostname) || hostname.startsWith('[');

/** Where a GetObject goes: scheme, host, port and the encoded path (query aside). */
export interface ObjectLocation {
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
}

/**
 * The S3 endpoint rules' answer for GetObject, for the cases this project meets: a bucket by
 * name (not an access point ARN, not a directory bucket), in a region or at a configured
 * endpoint.
 */
export function objectLocation(
  bucket: string,
  key: string,
  where: { region: string; endpoint?: string; forcePathStyle?: boolean; fips?: boolean; dualstack?: boolean },
): ObjectLocation {
  if (bucket.startsWith('arn:') || bucket.endsWith('--x-s3') || bucket.includes('/')) {
    throw new Error(`S3: not a general purpose bucket name: ${JSON.stringify(bucket)}`);
  }
  const encodedKey = key.split('/').map(encodeRfc3986).join('/');
  let base: URL;
  if (where.endpoint !== undefined) {
    base = new URL(where.endpoint);
  } else {
    const suffix = partitionDnsSuffix(where.region, 'S3');
    const service = `${where.fips ? 's3-fips' : 's3'}${where.dualstack ? '.dualstack' : ''}`;
    base = new URL(`https://${service}.${where.region}.${suffix}`);
  }
  // A bucket name of several labels (dots) is a host name only where no certificate has to
  // match it: at a configured `http://` endpoint (`isVirtualHostableS3Bucket(Bucket, true)` in
  // S3's endpoint rules). At an IP address, path style (the SDK builds a host name there that
  // is no URL).
  const hostable =
    isVirtualHostable(bucket) ||
    (where.endpoint !== undefined && base.protocol === 'http:' && bucket.split('.').every(isVirtualHostable));
  const pathStyle = where.forcePathStyle || !hostable || isIpHost(base.hostname);
  const basePath = base.pathname;
  return {
    protocol: base.protocol,
    hostname: pathStyle ? base.hostname : `${bucket}.${base.hostname}`,
    ...(base.port ? { port: Number(base.port) } : {}),
    path: pathStyle
      ? `${basePath.endsWith('/') ? basePath : `${basePath}/`}${encodeRfc3986(bucket)}/${encodedKey}`
      : `${basePath === '/' ? '' : basePath}/${encodedKey}`,
  };
}

/** The XML entities of an S3 error's text. */
const unescapeXml = (text: string) =>
  text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, entity: string) => {
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (entity[0] !== '#') return named[entity.toLowerCase()]!;
    return String.fromCodePoint(
      entity[1] === 'x' || entity[1] === 'X' ? Number.parseInt(entity.slice(2), 16) : Number(entity.slice(1)),
    );
  });

/**
 * An error answer as the SDK's S3 client throws it: `name` the `<Code>` (no code: `NotFound`
 * for a 404, as for a HEAD, else `Unknown`), `message` the `<Message>`, the other elements of
 * `<Error>` kept as members (`Code`, `RequestId`, `HostId`, `Key`…), and `$metadata` with S3's
 * request ids (`x-amz-request-id`, `x-amz-id-2`).
 */
async function s3Error(response: HttpResponse): Promise<AwsAnswerError> {
  const text = await bodyText(response.body);
  const inner = /<Error>([\s\S]*)<\/Error>/.exec(text)?.[1] ?? '';
  const members: Record<string, string> = {};
  for (const [, name, value] of inner.matchAll(/<(\w+)>([^<]*)<\/\1>/g)) {
    members[name!] = unescapeXml(value!);
  }
  const { Message: message, ...extra } = members;
  const code = members.Code ?? (response.statusCode === 404 ? 'NotFound' : 'Unknown');
  const error = awsError(code, message ?? 'UnknownError', response, extra);
  const requestId = header(response.headers, 'x-amz-request-id');
  const extendedRequestId = header(response.headers, 'x-amz-id-2');
  Object.assign(error.$metadata, {
    ...(requestId ? { requestId } : {}),
    ...(extendedRequestId ? { extendedRequestId } : {}),
  });
  return error;
}

interface Digest {
  update(data: Uint8Array): void;
  digest(): Promise<Uint8Array> | Uint8Array;
}

const nodeHash = (algorithm: string) => () => {
  const hash = createHash(algorithm);
  return { update: (data: Uint8Array) => void hash.update(data), digest: () => hash.digest() };
};

/**
 * The checksums S3 may return for GetObject, in the order the SDK looks for them
 * (`PRIORITY_ORDER_ALGORITHMS`, flexible checksums), each with the SDK's implementation (the
 * CRC32s from `@aws-sdk/checksums`), Node's hash (SHA) or, for the one SES's objects carry,
 * `crc64-nvme.ts`.
 */
const CHECKSUMS: readonly [string, () => Digest][] = [
  ['x-amz-checksum-sha256', nodeHash('sha256')],
  ['x-amz-checksum-sha1', nodeHash('sha1')],
  ['x-amz-checksum-crc32', () => new Crc32()],
  ['x-amz-checksum-crc32c', () => new Crc32c()],
  ['x-amz-checksum-crc64nvme', () => new Crc64Nvme()],
];

/** `…-<n>`, n in 1..10000 without a leading 0: the SDK's `isChecksumWithPartNumber`. */
const isComposite = (checksum: string) => {
  const part = checksum.slice(checksum.lastIndexOf('-') + 1);
  return checksum.includes('-') && /^[1-9]\d*$/.test(part) && Number(part) <= 10_000;
};

/** The bytes of `source`, checked against `expected` at the end (the SDK's `ChecksumStream`). */
async function* checked(
  source: AsyncIterable<Uint8Array>,
  digest: Digest,
  expected: string,
  location: string,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    digest.update(chunk);
    yield chunk;
  }
  const received = Buffer.from(await digest.digest()).toString('base64');
  if (received !== expected) {
    throw new Error(
      `Checksum mismatch: expected "${expected}" but received "${received}" in response header "${location}".`,
    );
  }
}

/** The body, checked against the first checksum S3 gave, unless all it gave are composite. */
function checkedBody(response: HttpResponse): AsyncIterable<Uint8Array> {
  const raw = response.body as AsyncIterable<Uint8Array> | Uint8Array | string | undefined;
  const source: AsyncIterable<Uint8Array> =
    raw === undefined || raw === null
      ? (async function* () {})()
      : typeof raw === 'string' || raw instanceof Uint8Array
        ? (async function* () {
            yield Buffer.from(raw);
          })()
        : raw;
  const given = CHECKSUMS.flatMap(([name, make]) => {
    const value = header(response.headers, name);
    return value ? [{ name, make, value }] : [];
  });
  if (given.length === 0 || given.every(({ value }) => isComposite(value))) return source;
  const [first] = given;
  return checked(source, first!.make(), first!.value, first!.name);
}

/** An {@link ObjectReader} sending GetObject signed by hand (above). */
export function s3DirectGet(options: S3DirectGetOptions): ObjectReader {
  const strategy = options.retryStrategy ?? new StandardRetryStrategy(SDK_RETRY.maxAttempts);
  // The clock correction the answers taught (server time - local time), as an SDK client's
  // `systemClockOffset`.
  const clock: SkewClock = {};
  let prepared: Promise<{ signer: SignatureV4; where: Parameters<typeof objectLocation>[2] }> | undefined;
  const prepare = async () => {
    const region = (await resolveOption(options.region))!;
    const endpoint = options.endpoint;
    return {
      where: {
        region,
        ...(endpoint !== undefined ? { endpoint } : {}),
        forcePathStyle: options.forcePathStyle ?? false,
        fips: endpoint === undefined && ((await resolveOption(options.useFipsEndpoint)) ?? false),
        dualstack: endpoint === undefined && ((await resolveOption(options.useDualstackEndpoint)) ?? false),
      },
      signer: new SignatureV4({
        service: 's3',
        region,
        credentials: options.credentials,
        sha256: NodeSha256,
        uriEscapePath: false,
        applyChecksum: false,
      }),
    };
  };
  return async (bucket, key) => {
    prepared ??= prepare().catch((error: unknown) => {
      prepared = undefined;
      throw error;
    });
    const { signer, where } = await prepared;
    const location = objectLocation(bucket, key, where);
    const host = location.port ? `${location.hostname}:${location.port}` : location.hostname;
    return withRetries(strategy, clock, async (signingDate, answered) => {
      const signed = await signer.sign(
        {
          method: 'GET',
          ...location,
          query: { 'x-id': 'GetObject' },
          headers: {
            host,
            'x-amz-checksum-mode': 'ENABLED',
            'x-amz-content-sha256': EMPTY_SHA256,
          },
        } as HttpRequest,
        { signingDate },
      );
      const { response } = await options.requestHandler.handle(signed);
      if (response.statusCode < 200 || response.statusCode >= 300) throw await s3Error(response);
      answered(response.headers);
      const announced = header(response.headers, 'content-length');
      const length = announced === undefined ? Number.NaN : Number(announced);
      const stream = response.body as { destroy?: () => void } | undefined;
      return {
        body: checkedBody(response),
        ...(Number.isSafeInteger(length) && length >= 0 ? { contentLength: length } : {}),
        destroy: () => stream?.destroy?.(),
      };
    });
  };
}
