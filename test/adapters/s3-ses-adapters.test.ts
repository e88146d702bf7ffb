/**
 * The S3 and SES adapters: size-capped streaming against s3rver, and error mapping with
 * aws-sdk-client-mock for the faults an emulator cannot produce on demand.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import {
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { SESv2Client, SESv2ServiceException, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { S3MailStore } from '../../functions/adapters/s3-mail-store.js';
import { SesMailer } from '../../functions/adapters/ses-mailer.js';
import {
  isRetryable,
  MessageNotFoundError,
  SendRejectedError,
  SesDeploymentError,
  TransientDependencyError,
} from '../../functions/core/errors.js';
import { type Emulators, startEmulators } from '../../sandbox/emulators/index.js';

const sdkError = <T extends new (...a: never[]) => Error>(
  Base: T,
  name: string,
  status: number,
): InstanceType<T> =>
  new (Base as unknown as new (o: object) => Error)({
    name,
    message: `${name} injected`,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  }) as InstanceType<T>;

describe('S3MailStore against s3rver', () => {
  let emu: Emulators;
  let s3: S3Client;
  before(async () => {
    emu = await startEmulators({ buckets: ['mail'] });
    s3 = new S3Client({ ...emu.clientConfig('s3'), maxAttempts: 1 });
  });
  after(() => emu.stop());

  it('reads a stored message byte for byte, with the prefix', async () => {
    const raw = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    await s3.send(new PutObjectCommand({ Bucket: 'mail', Key: 'raw/m1', Body: raw }));
    const got = await new S3MailStore({ client: s3, bucket: 'mail', prefix: 'raw/' }).get('m1', 1_000_000);
    assert.equal(got.truncated, false);
    assert.equal(got.sizeBytes, raw.length);
    assert.ok(got.raw.equals(raw));
  });

  it('stops reading one byte past the cap and reports the real size', async () => {
    const raw = Buffer.alloc(2_000_000, 0x61);
    await s3.send(new PutObjectCommand({ Bucket: 'mail', Key: 'raw/big', Body: raw }));
    const got = await new S3MailStore({ client: s3, bucket: 'mail', prefix: 'raw/' }).get('big', 100_000);
    assert.equal(got.truncated, true);
    assert.equal(got.raw.length, 100_001);
    assert.equal(got.sizeBytes, 2_000_000);
  });

  it('a missing object is MessageNotFoundError (not retryable)', async () => {
    await assert.rejects(
      new S3MailStore({ client: s3, bucket: 'mail', prefix: 'raw/' }).get('nope', 10),
      (e: unknown) => e instanceof MessageNotFoundError && !e.retryable && e.messageId === 'nope',
    );
  });
});

describe('S3MailStore fault mapping', () => {
  // mockClient patches every S3Client, so it is created only once the emulator tests are done.
  let mock: ReturnType<typeof mockClient>;
  before(() => {
    mock = mockClient(S3Client);
  });
  after(() => mock.restore());
  const store = () => new S3MailStore({ client: new S3Client({ region: 'us-east-1' }), bucket: 'b' });

  it('SlowDown / 503 after the SDK retries → retryable TransientDependencyError', async () => {
    mock.reset();
    mock.on(GetObjectCommand).rejects(sdkError(S3ServiceException, 'SlowDown', 503));
    await assert.rejects(
      store().get('m', 10),
      (e: unknown) => e instanceof TransientDependencyError && e.retryable,
    );
  });

  it('NoSuchKey → MessageNotFoundError', async () => {
    mock.reset();
    mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'gone', $metadata: {} }));
    await assert.rejects(store().get('m', 10), MessageNotFoundError);
  });

  it('AccessDenied is re-thrown unchanged (a deployment fault, not a message fault)', async () => {
    mock.reset();
    mock.on(GetObjectCommand).rejects(sdkError(S3ServiceException, 'AccessDenied', 403));
    await assert.rejects(store().get('m', 10), (e: unknown) => (e as Error).name === 'AccessDenied');
  });

  for (const [name, contentLength] of [
    ['a wrong (too small) Content-Length', 10],
    ['no Content-Length', undefined],
  ] as const) {
    it(`${name}: the whole body is still read, byte for byte`, async () => {
      mock.reset();
      const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
      const chunks = [data.subarray(0, 1000), data.subarray(1000, 150_000), data.subarray(150_000)];
      mock
        .on(GetObjectCommand)
        .resolves({ Body: Readable.from(chunks) as never, ContentLength: contentLength });
      const got = await store().get('m', 1_000_000);
      assert.equal(got.truncated, false);
      assert.ok(got.raw.equals(data));
    });
  }

  it('a stream that breaks mid-body → retryable', async () => {
    mock.reset();
    const broken = new Readable({
      read() {
        this.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', name: 'ECONNRESET' }));
      },
    });
    mock.on(GetObjectCommand).resolves({ Body: broken as never, ContentLength: 10 });
    await assert.rejects(store().get('m', 100), TransientDependencyError);
  });
});

describe('SesMailer fault mapping', () => {
  let mock: ReturnType<typeof mockClient>;
  before(() => {
    mock = mockClient(SESv2Client);
  });
  after(() => mock.restore());
  const mailer = () => new SesMailer(new SESv2Client({ region: 'us-east-1' }));
  const request = {
    raw: Buffer.from('From: a@example.com\r\n\r\nx'),
    to: ['d@remote.test'],
    configurationSet: 'outbound-normal',
    tenant: 'outbound-normal-tenant',
    fromAddress: 'a@example.com',
    feedbackForwardingAddress: 'a@example.com',
    tags: [{ name: 'pool', value: 'normal' }],
  };

  it('passes the configuration set, tenant, destination, feedback address and tags', async () => {
    mock.reset();
    mock.on(SendEmailCommand).resolves({ MessageId: 'ses-1' });
    assert.deepEqual(await mailer().send(request), { messageId: 'ses-1' });
    const input = mock.commandCalls(SendEmailCommand)[0]!.args[0].input;
    assert.equal(input.ConfigurationSetName, 'outbound-normal');
    assert.equal(input.TenantName, 'outbound-normal-tenant');
    assert.deepEqual(input.Destination, { ToAddresses: ['d@remote.test'] });
    assert.equal(input.FeedbackForwardingEmailAddress, 'a@example.com');
    assert.deepEqual(input.EmailTags, [{ Name: 'pool', Value: 'normal' }]);
  });

  // Throttles are retried with backoff (test/adapters/ses-mailer-throttle.test.ts); here the
  // budget is zero, so a throttle fails at once, retryably.
  const noWait = () =>
    new SesMailer(new SESv2Client({ region: 'us-east-1' }), { throttle: { budgetMs: 0, random: () => 1 } });
  const cases = [
    {
      name: 'TooManyRequestsException (429)',
      error: 'TooManyRequestsException',
      status: 429,
      expect: 'transient',
    },
    { name: 'InternalFailure (500)', error: 'InternalFailure', status: 500, expect: 'transient' },
    { name: 'MessageRejected', error: 'MessageRejected', status: 400, expect: 'copy' },
    { name: 'BadRequestException', error: 'BadRequestException', status: 400, expect: 'copy' },
    {
      name: 'MailFromDomainNotVerifiedException',
      error: 'MailFromDomainNotVerifiedException',
      status: 400,
      expect: 'identity',
    },
    {
      name: 'NotFoundException (missing configuration set)',
      error: 'NotFoundException',
      status: 404,
      expect: 'configuration-set',
    },
    { name: 'AccountSuspendedException', error: 'AccountSuspendedException', status: 400, expect: 'account' },
    { name: 'AccessDeniedException (IAM)', error: 'AccessDeniedException', status: 403, expect: 'as-is' },
  ] as const;
  for (const c of cases) {
    it(`${c.name} → ${c.expect}`, async () => {
      mock.reset();
      mock.on(SendEmailCommand).rejects(sdkError(SESv2ServiceException, c.error, c.status));
      await assert.rejects(noWait().send(request), (e: unknown) => {
        if (c.expect === 'transient') return e instanceof TransientDependencyError && e.retryable;
        if (c.expect === 'copy') return e instanceof SendRejectedError && e.code === c.error && !e.retryable;
        if (c.expect === 'as-is') {
          return (e as Error).name === c.error && !(e instanceof SendRejectedError) && !isRetryable(e);
        }
        return (
          e instanceof SesDeploymentError &&
          e.scope === c.expect &&
          e.retryable &&
          e.message.includes(`${c.expect}-level fault (${c.error}`)
        );
      });
    });
  }

  it('refuses more than 50 recipients before calling SES', async () => {
    mock.reset();
    await assert.rejects(
      mailer().send({ ...request, to: Array.from({ length: 51 }, (_, i) => `r${i}@remote.test`) }),
      RangeError,
    );
    assert.equal(mock.commandCalls(SendEmailCommand).length, 0);
  });
});

describe('S3MailStore: the SDK still validates the object checksum', () => {
  // S3 returns the object's checksum (`x-amz-checksum-*`) and the SDK checks the bytes against
  // it as they stream (its default `responseChecksumValidation: WHEN_SUPPORTED`); the store
  // reads that stream to its end, so a corrupted transfer must still fail the read. A transport
  // that answers GetObject with a body and a CRC32, right or wrong:
  const answering = (body: Buffer, crc32: number) =>
    new S3Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
      requestHandler: {
        handle: async () => {
          const sum = Buffer.alloc(4);
          sum.writeUInt32BE(crc32 >>> 0);
          return {
            response: {
              statusCode: 200,
              headers: {
                'content-length': String(body.length),
                'content-type': 'message/rfc822',
                'x-amz-checksum-crc32': sum.toString('base64'),
                'x-amz-checksum-type': 'FULL_OBJECT',
              },
              body: Readable.from([body.subarray(0, 40_000), body.subarray(40_000)]),
            },
          };
        },
      },
    });
  const data = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 13) % 256));

  it('the right checksum: read byte for byte', async () => {
    const got = await new S3MailStore({ client: answering(data, crc32(data)), bucket: 'b' }).get(
      'm',
      1_000_000,
    );
    assert.ok(got.raw.equals(data));
  });

  it('a wrong checksum: the read fails, retryably (nothing is classified from corrupted bytes)', async () => {
    await assert.rejects(
      new S3MailStore({ client: answering(data, crc32(data) ^ 1), bucket: 'b' }).get('m', 1_000_000),
      (e: unknown) =>
        e instanceof TransientDependencyError && e.retryable && /checksum mismatch/i.test(e.message),
    );
  });
});
