/**
 * `s3DirectGet`: a GetObject sent without the SDK's S3 client is the request the SDK sends,
 * signed right, and its answers — bytes, errors, retries, checksums — are read as the SDK
 * reads them, through the mail store the router builds over it (`ObjectMailStore`).
 *
 * Oracles: the SDK itself (the same GetObject through `S3Client.send`, on the same captured
 * transport or the same S3 emulator, s3rver), and an independent SigV4 (`helpers/sigv4.ts`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { crc32 } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpRequest } from '@smithy/types';
import { crc64nvme } from '../../bench/transport.js';
import { objectLocation, s3DirectGet } from '../../functions/adapters/s3-direct-get.js';
import { ObjectMailStore, S3MailStore } from '../../functions/adapters/s3-mail-store.js';
import { isRetryable, MessageNotFoundError, TransientDependencyError } from '../../functions/core/errors.js';
import { type S3Emulator, S3RVER_CREDENTIALS, startS3 } from '../../sandbox/emulators/s3.js';
import { requestHandler } from '../helpers/request-handler.js';
import { type Scripted, scriptedTransport } from '../helpers/scripted-transport.js';
import { expectedAuthorization, TEST_CREDENTIALS } from '../helpers/sigv4.js';

const NOW = Date.parse('2026-12-07T10:00:00Z');

const ok = (body: Buffer | string = 'From: a@b\r\n\r\nhello\r\n', headers: Record<string, string> = {}) => ({
  status: 200,
  body,
  headers: { 'content-type': 'application/octet-stream', ...headers },
});
const xmlError = (status: number, code: string, message: string, headers: Record<string, string> = {}) => ({
  status,
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>R-1</RequestId><HostId>H-1</HostId></Error>`,
  headers: { 'content-type': 'application/xml', 'x-amz-request-id': 'R-1', 'x-amz-id-2': 'H-1', ...headers },
});
const networkError = (code: string) => Object.assign(new Error(`socket: ${code}`), { code });

/** The SDK's client and the direct reader over one configuration, each on its own transport. */
function pair(config: S3ClientConfig, answers: Scripted[]) {
  const sdkSide = scriptedTransport(answers);
  const directSide = scriptedTransport(answers);
  const retryStrategy = () => new ConfiguredRetryStrategy(4, () => 0);
  const sdk = new S3Client({
    region: 'eu-west-1',
    credentials: { ...TEST_CREDENTIALS },
    retryStrategy: retryStrategy(),
    ...config,
    requestHandler: sdkSide.handler,
  });
  const direct = s3DirectGet({
    requestHandler: directSide.handler,
    credentials: { ...TEST_CREDENTIALS },
    region: (config.region as string | undefined) ?? 'eu-west-1',
    retryStrategy: retryStrategy(),
    ...(typeof config.endpoint === 'string' ? { endpoint: config.endpoint } : {}),
    ...(config.forcePathStyle ? { forcePathStyle: true } : {}),
    ...(config.useFipsEndpoint ? { useFipsEndpoint: true } : {}),
    ...(config.useDualstackEndpoint ? { useDualstackEndpoint: async () => true } : {}),
  });
  return { sdk, sdkSide, direct, directSide };
}

/** A read as data: the bytes, or the error as the project and smithy see it. */
async function outcome(read: () => Promise<{ raw: Buffer; truncated: boolean; sizeBytes: number }>) {
  try {
    const got = await read();
    return { raw: got.raw.toString('base64'), truncated: got.truncated, sizeBytes: got.sizeBytes };
  } catch (error) {
    const e = error as Error;
    const cause = e.cause as
      | (Error & { $fault?: string; $metadata?: { httpStatusCode?: number; attempts?: number } })
      | undefined;
    const sdkShaped = (e as { $metadata?: unknown }).$metadata ? (e as typeof cause)! : cause;
    return {
      // The project's errors by class; an AWS error re-thrown as it is, by its shape below (the
      // SDK's has a class per code, the direct one is an Error named as the code).
      error:
        e instanceof TransientDependencyError || e instanceof MessageNotFoundError
          ? e.constructor.name
          : 'AWS',
      retryable: isRetryable(e),
      // The AWS error under it (the store maps some, re-throws others as they are).
      name: sdkShaped?.name,
      message: e.message,
      status: sdkShaped?.$metadata?.httpStatusCode,
      fault: sdkShaped?.$fault,
      attempts: sdkShaped?.$metadata?.attempts,
    };
  }
}

/** The same store, key and cap over both: what each reads, and what each sent. */
async function both(answers: Scripted[], config: S3ClientConfig = {}, key = 'raw/m-1', maxBytes = 1_000_000) {
  const p = pair(config, answers);
  const [prefix, id] = [key.slice(0, key.lastIndexOf('/') + 1), key.slice(key.lastIndexOf('/') + 1)];
  const sdk = await outcome(() =>
    new S3MailStore({ client: p.sdk, bucket: 'mail', prefix }).get(id, maxBytes),
  );
  const direct = await outcome(() =>
    new ObjectMailStore({ read: p.direct, bucket: 'mail', prefix }).get(id, maxBytes),
  );
  return {
    sdk,
    direct,
    sdkRequests: p.sdkSide.requests,
    directRequests: p.directSide.requests,
    directBodies: p.directSide.bodies,
  };
}

const scope = (r: HttpRequest) => /Credential=[^/]+\/([^,]+),/.exec(String(r.headers.authorization))?.[1];
const signedHeaders = (r: HttpRequest) =>
  /SignedHeaders=([^,]+),/.exec(String(r.headers.authorization))?.[1]?.split(';');

describe('s3DirectGet: the request', () => {
  const cases: [string, S3ClientConfig, string, string][] = [
    ['eu-west-1', {}, 'mail', 'raw/m-1'],
    ['us-east-1 (regional, not the global endpoint)', { region: 'us-east-1' }, 'mail', 'raw/m-1'],
    ['another partition (cn-north-1)', { region: 'cn-north-1' }, 'mail', 'raw/m-1'],
    ['FIPS', { region: 'us-east-1', useFipsEndpoint: true }, 'mail', 'raw/m-1'],
    ['FIPS in GovCloud', { region: 'us-gov-west-1', useFipsEndpoint: true }, 'mail', 'raw/m-1'],
    ['dual-stack', { region: 'us-west-2', useDualstackEndpoint: true }, 'mail', 'raw/m-1'],
    [
      'FIPS and dual-stack',
      { region: 'us-east-1', useFipsEndpoint: true, useDualstackEndpoint: true },
      'mail',
      'raw/m-1',
    ],
    ['a bucket with dots (path style)', {}, 'mail.example.com', 'raw/m-1'],
    ['forcePathStyle', { forcePathStyle: true }, 'mail', 'raw/m-1'],
    ['a key with spaces, unicode, + and %', {}, 'mail', 'raw/a b+c%d/\u00e9t\u00e9 \u{1F4E7}.eml'],
    ['a key with reserved characters', {}, 'mail', "raw/x!'()*~/..//y?z#&=;:@$,[]"],
    [
      'a configured endpoint at an IP address (an emulator: path style)',
      { endpoint: 'http://127.0.0.1:4569', region: 'us-east-1' },
      'mail',
      'raw/a b',
    ],
    [
      'a configured endpoint with forcePathStyle',
      { endpoint: 'http://localhost:4569', forcePathStyle: true },
      'mail',
      'raw/m-1',
    ],
    ['a configured endpoint by name (virtual-hosted)', { endpoint: 'https://s3.internal.test' }, 'mail', 'k'],
  ];
  for (const [name, config, bucket, key] of cases) {
    it(`${name}: where it goes, what it says and what is signed are the SDK's`, async () => {
      mock.timers.enable({ apis: ['Date'], now: NOW });
      try {
        const p = pair(config, [ok('x')]);
        await p.sdk.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const got = await p.direct(bucket, key);
        for await (const _ of got.body);
        const [s, d] = [p.sdkSide.requests[0]!, p.directSide.requests[0]!];
        for (const field of ['method', 'protocol', 'hostname', 'port', 'path'] as const) {
          assert.equal(d[field], s[field], field);
        }
        assert.deepEqual(d.query, s.query, 'query');
        for (const h of [
          'host',
          'x-amz-date',
          'x-amz-security-token',
          'x-amz-content-sha256',
          'x-amz-checksum-mode',
        ]) {
          assert.equal(d.headers[h], s.headers[h], h);
        }
        assert.equal(scope(d), scope(s), 'credential scope');
        // What S3 reads of the request is signed (the SDK signs its own telemetry headers too).
        for (const h of ['host', 'x-amz-checksum-mode', 'x-amz-content-sha256', 'x-amz-date'])
          assert.ok(signedHeaders(d)?.includes(h), h);
        // S3 signs the path as sent: the oracle agrees with the SDK's signature that way…
        assert.equal(s.headers.authorization, expectedAuthorization(s, { uriEscapePath: false }));
        assert.equal(d.headers.authorization, expectedAuthorization(d, { uriEscapePath: false }));
      } finally {
        mock.timers.reset();
      }
    });
  }

  it('a key that needs encoding is not signed as DynamoDB signs (no double encoding)', async () => {
    mock.timers.enable({ apis: ['Date'], now: NOW });
    try {
      const p = pair({}, [ok('x')]);
      await p.direct('mail', 'raw/a b');
      const d = p.directSide.requests[0]!;
      assert.equal(d.path, '/raw/a%20b');
      // …and a double-encoding signer would have signed `/raw/a%2520b`, another signature.
      assert.notEqual(d.headers.authorization, expectedAuthorization(d));
    } finally {
      mock.timers.reset();
    }
  });

  it('refuses what the S3 endpoint rules would route elsewhere (ARNs, directory buckets)', () => {
    for (const bucket of ['arn:aws:s3:eu-west-1:123456789012:accesspoint/ap', 'mail--euw1-az1--x-s3']) {
      assert.throws(
        () => objectLocation(bucket, 'k', { region: 'eu-west-1' }),
        /not a general purpose bucket/,
      );
    }
    assert.throws(() => objectLocation('mail', 'k', { region: 'eu-west-1.evil.test/' }), /not a region/);
  });
});

describe('s3DirectGet: answers, failures and retries as the SDK has them', () => {
  const body = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256));

  it('a body with its full-object CRC64NVME: read, byte for byte', async () => {
    const answers = [
      ok(body, { 'x-amz-checksum-crc64nvme': await crc64nvme(body), 'x-amz-checksum-type': 'FULL_OBJECT' }),
    ];
    const { sdk, direct } = await both(answers);
    assert.deepEqual(direct, sdk);
    assert.equal(direct.raw, body.toString('base64'));
  });

  it('a body whose CRC64NVME does not match: the checksum error, retryable', async () => {
    const other = Buffer.from(body);
    other[12_345] = other[12_345]! ^ 1;
    const answers = [
      ok(other, { 'x-amz-checksum-crc64nvme': await crc64nvme(body), 'x-amz-checksum-type': 'FULL_OBJECT' }),
    ];
    const { sdk, direct } = await both(answers);
    assert.deepEqual(direct, sdk);
    assert.equal(direct.error, 'TransientDependencyError');
    assert.match(String(direct.message), /Checksum mismatch/);
  });

  it('a body whose CRC32 does not match (an object uploaded with CRC32): the checksum error', async () => {
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body) ^ 1);
    const { sdk, direct } = await both([ok(body, { 'x-amz-checksum-crc32': crc.toString('base64') })]);
    assert.deepEqual(direct, sdk);
    assert.match(String(direct.message), /Checksum mismatch/);
  });

  it('a composite checksum (a multipart upload’s): not validated, the body read', async () => {
    const answers = [ok(body, { 'x-amz-checksum-crc32': 'AAAAAA==-3', 'x-amz-checksum-type': 'COMPOSITE' })];
    const { sdk, direct } = await both(answers);
    assert.deepEqual(direct, sdk);
    assert.equal(direct.raw, body.toString('base64'));
  });

  it('truncated at the cap: the checksum not checked (the SDK does not either), the size S3 gave', async () => {
    const answers = [ok(body, { 'x-amz-checksum-crc64nvme': 'AAAAAAAAAAA=' })];
    const { sdk, direct } = await both(answers, {}, 'raw/m-1', 1000);
    assert.deepEqual(direct, sdk);
    assert.deepEqual(
      [direct.truncated, direct.sizeBytes, Buffer.from(direct.raw!, 'base64').length],
      [true, 70_000, 1001],
    );
  });

  it('truncated at the cap: the transfer is stopped (the body destroyed), not drained', async () => {
    // A body that only stops when told (a socket's does not stop because its reader did).
    let destroyed = 0;
    let served = 0;
    const endless = {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          served++;
          yield Buffer.alloc(16_384, 0x61);
        }
      },
      destroy: () => void destroyed++,
    };
    const handler = requestHandler(async () => ({
      response: { statusCode: 200, headers: { 'content-length': '50000000' }, body: endless },
    }));
    const read = s3DirectGet({ requestHandler: handler, credentials: TEST_CREDENTIALS, region: 'eu-west-1' });
    const got = await new ObjectMailStore({ read, bucket: 'mail' }).get('m', 100_000);
    assert.deepEqual([got.truncated, got.raw.length, got.sizeBytes], [true, 100_001, 50_000_000]);
    assert.equal(destroyed, 1);
    assert.equal(served, 7);
  });

  const cases: [string, Scripted[], Partial<Awaited<ReturnType<typeof outcome>>>][] = [
    [
      'throttled (503 SlowDown), then the object: retried',
      [xmlError(503, 'SlowDown', 'Please reduce your request rate.'), ok()],
      { truncated: false },
    ],
    [
      'a server error (500), then the object: retried',
      [xmlError(500, 'InternalError', 'We encountered an internal error.'), ok()],
      { truncated: false },
    ],
    [
      'a reset connection, then the object: retried',
      [networkError('ECONNRESET'), ok()],
      { truncated: false },
    ],
    [
      'access denied (403): not retried, the error as S3 names it',
      [xmlError(403, 'AccessDenied', 'Access Denied')],
      { error: 'AWS', name: 'AccessDenied', status: 403, fault: 'client', attempts: 1, retryable: false },
    ],
    [
      'no such key (404): MessageNotFoundError, not retried',
      [xmlError(404, 'NoSuchKey', 'The specified key does not exist.')],
      { error: 'MessageNotFoundError', name: 'NoSuchKey', status: 404, retryable: false, attempts: 1 },
    ],
    [
      'throttled on every attempt: given up after the attempts, retryable for Lambda',
      [xmlError(503, 'SlowDown', 'Please reduce your request rate.')],
      {
        error: 'TransientDependencyError',
        name: 'SlowDown',
        status: 503,
        fault: 'server',
        attempts: 4,
        retryable: true,
      },
    ],
    [
      'an error answer without a body (404): NotFound',
      [{ status: 404, body: '' }],
      { error: 'AWS', name: 'NotFound', status: 404, attempts: 1 },
    ],
  ];
  for (const [name, answers, expected] of cases) {
    it(name, async () => {
      const { sdk, direct, sdkRequests, directRequests } = await both(answers);
      assert.equal(directRequests.length, sdkRequests.length, 'attempts');
      assert.deepEqual(direct, sdk);
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(direct[k as keyof typeof direct], v, k);
    });
  }

  it('a skewed clock: corrected from the answer, signed again at the server time', async () => {
    mock.timers.enable({ apis: ['Date'], now: NOW });
    try {
      const serverTime = new Date(NOW + 3_600_000).toUTCString();
      const answers = [
        xmlError(
          403,
          'RequestTimeTooSkewed',
          'The difference between the request time and the current time is too large.',
          {
            date: serverTime,
          },
        ),
        ok(),
      ];
      const { sdk, direct, sdkRequests, directRequests } = await both(answers);
      assert.deepEqual(direct, sdk);
      assert.equal(directRequests.length, 2);
      assert.deepEqual(
        directRequests.map((r) => r.headers['x-amz-date']),
        sdkRequests.map((r) => r.headers['x-amz-date']),
      );
      assert.equal(directRequests[1]!.headers['x-amz-date'], '20261207T110000Z');
      assert.equal(
        directRequests[1]!.headers.authorization,
        expectedAuthorization(directRequests[1]!, { uriEscapePath: false }),
      );
    } finally {
      mock.timers.reset();
    }
  });
});

describe('s3DirectGet on the S3 emulator (s3rver)', () => {
  let emu: S3Emulator;
  let sdk: S3Client;
  let direct: ObjectMailStore;
  const handler = new NodeHttpHandler();
  before(async () => {
    emu = await startS3({ buckets: ['mail'] });
    sdk = new S3Client({
      endpoint: emu.endpoint,
      region: 'us-east-1',
      credentials: { ...S3RVER_CREDENTIALS },
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1,
    });
    direct = new ObjectMailStore({
      read: s3DirectGet({
        requestHandler: handler,
        credentials: { ...S3RVER_CREDENTIALS },
        region: 'us-east-1',
        endpoint: emu.endpoint,
      }),
      bucket: 'mail',
      prefix: 'raw/',
    });
  });
  after(async () => {
    sdk?.destroy();
    handler.destroy();
    await emu?.stop();
  });

  const objects: [string, Buffer][] = [
    ['small', Buffer.from('From: a@sender.test\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n')],
    ['1 MB', Buffer.alloc(1_000_000, 'mail body line\r\n')],
    ['binary', Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7 + (i >> 9)) % 256))],
    ['key a b+c%d \u00e9\u{1F4E7}', Buffer.from('a key that needs encoding')],
  ];
  for (const [id, raw] of objects) {
    it(`${id}: the bytes the SDK reads`, async () => {
      await sdk.send(new PutObjectCommand({ Bucket: 'mail', Key: `raw/${id}`, Body: raw }));
      const viaSdk = await new S3MailStore({ client: sdk, bucket: 'mail', prefix: 'raw/' }).get(
        id,
        2_000_000,
      );
      const got = await direct.get(id, 2_000_000);
      assert.ok(got.raw.equals(raw));
      assert.ok(got.raw.equals(viaSdk.raw));
      assert.deepEqual([got.truncated, got.sizeBytes], [false, raw.length]);
    });
  }

  it('stops reading one byte past the cap and reports the real size', async () => {
    await sdk.send(
      new PutObjectCommand({ Bucket: 'mail', Key: 'raw/big', Body: Buffer.alloc(2_000_000, 0x61) }),
    );
    const got = await direct.get('big', 100_000);
    assert.deepEqual([got.truncated, got.raw.length, got.sizeBytes], [true, 100_001, 2_000_000]);
    // The connection the truncated read left is not in the way of the next read.
    assert.equal((await direct.get('small', 1000)).truncated, false);
  });

  it('a missing object is MessageNotFoundError (not retryable)', async () => {
    await assert.rejects(
      direct.get('nope', 10),
      (e: unknown) => e instanceof MessageNotFoundError && !e.retryable && e.messageId === 'nope',
    );
  });

  it('a missing bucket: the SDK’s error (NoSuchBucket), not a missing message', async () => {
    const store = new ObjectMailStore({
      read: s3DirectGet({
        requestHandler: handler,
        credentials: { ...S3RVER_CREDENTIALS },
        region: 'us-east-1',
        endpoint: emu.endpoint,
      }),
      bucket: 'no-such-bucket',
    });
    const viaSdk = await outcome(() =>
      new S3MailStore({ client: sdk, bucket: 'no-such-bucket' }).get('m', 10),
    );
    const got = await outcome(() => store.get('m', 10));
    assert.deepEqual([got.error, got.name], ['AWS', 'NoSuchBucket']);
    assert.deepEqual({ ...got, attempts: undefined }, { ...viaSdk, attempts: undefined });
  });
});
