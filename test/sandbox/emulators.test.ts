import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SESv2Client, SendEmailCommand, TooManyRequestsException } from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type Emulators, startDynamoDb, startEmulators } from '../../sandbox/emulators/index.js';

async function getBytes(s3: S3Client, Bucket: string, Key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket, Key }));
  assert.ok(out.Body);
  return Buffer.from(await out.Body.transformToByteArray());
}

/** Occupy a loopback port; resolves with the server and its port. */
function occupyPort(port = 0): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const addr = server.address();
      assert.ok(addr && typeof addr === 'object');
      resolve({ server, port: addr.port });
    });
  });
}

async function freePort(): Promise<number> {
  const { server, port } = await occupyPort();
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const rawMessage = (headers: string, body = 'Hello from the emulator test.\r\n') =>
  Buffer.from(
    `${headers}Subject: emulator test\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n${body}`,
  );

describe('local AWS emulators', () => {
  let emu: Emulators;

  before(async () => {
    emu = await startEmulators({ buckets: ['inbound', 'other'] });
  });
  after(async () => {
    await emu?.stop();
  });

  it('exposes env and client configs pointing at loopback', () => {
    assert.equal(emu.env.AWS_ENDPOINT_URL_DYNAMODB, emu.dynamodb.endpoint);
    assert.equal(emu.env.AWS_ENDPOINT_URL_S3, emu.s3.endpoint);
    assert.equal(emu.env.AWS_ENDPOINT_URL_SESV2, emu.ses.endpoint);
    assert.equal(emu.env.AWS_REGION, 'us-east-1');
    for (const url of [emu.dynamodb.endpoint, emu.s3.endpoint, emu.ses.endpoint]) {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    }
    const s3 = emu.clientConfig('s3');
    assert.equal(s3.forcePathStyle, true);
    assert.equal(s3.requestChecksumCalculation, 'WHEN_REQUIRED');
    assert.equal(s3.responseChecksumValidation, 'WHEN_REQUIRED');
    assert.equal(emu.clientConfig('sesv2').endpoint, emu.ses.endpoint);
    assert.equal(emu.clientConfig('dynamodb').forcePathStyle, undefined);
  });

  it('env alone is enough for default SDK clients (AWS_ENDPOINT_URL_<SERVICE>)', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, emu.env);
    try {
      emu.dynamodb.resetCounts();
      emu.s3.resetCounts();
      emu.ses.resetCounts();
      await new DynamoDBClient({}).send(new ListTablesCommand({}));
      await new S3Client({}).send(new PutObjectCommand({ Bucket: 'other', Key: 'env.txt', Body: 'env' }));
      const out = await new SESv2Client({}).send(
        new SendEmailCommand({ Content: { Raw: { Data: rawMessage('From: a@sender.example\r\n') } } }),
      );
      assert.equal(emu.ses.sent().at(-1)?.messageId, out.MessageId);
      assert.deepEqual(emu.dynamodb.requests(), { ListTables: 1 });
      assert.deepEqual(emu.s3.requests(), { PutObject: 1 });
      assert.deepEqual(emu.ses.requests(), { SendEmail: 1 });
    } finally {
      for (const key of Object.keys(emu.env)) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });

  describe('DynamoDB (dynalite)', () => {
    it('supports conditional UpdateItem with ADD and surfaces ConditionalCheckFailedException', async () => {
      const ddb = new DynamoDBClient(emu.clientConfig('dynamodb'));
      const doc = DynamoDBDocumentClient.from(ddb);
      await ddb.send(
        new CreateTableCommand({
          TableName: 'counters',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        }),
      );
      // createTableMs defaults to 0 here, so the table turns ACTIVE right away.
      for (let i = 0; ; i++) {
        const d = await ddb.send(new DescribeTableCommand({ TableName: 'counters' }));
        if (d.Table?.TableStatus === 'ACTIVE') break;
        assert.ok(i < 50, 'table did not become ACTIVE');
        await new Promise((r) => setTimeout(r, 10));
      }

      emu.dynamodb.resetCounts();
      const increment = () =>
        doc.send(
          new UpdateCommand({
            TableName: 'counters',
            Key: { pk: 'pool#normal' },
            UpdateExpression: 'ADD #n :one',
            ConditionExpression: 'attribute_not_exists(#n) OR #n < :max',
            ExpressionAttributeNames: { '#n': 'sent' },
            ExpressionAttributeValues: { ':one': 1, ':max': 2 },
            ReturnValues: 'UPDATED_NEW',
          }),
        );
      assert.deepEqual((await increment()).Attributes, { sent: 1 });
      assert.deepEqual((await increment()).Attributes, { sent: 2 });
      await assert.rejects(increment(), (err: Error) => {
        assert.equal(err.name, 'ConditionalCheckFailedException');
        assert.ok(err instanceof ConditionalCheckFailedException);
        return true;
      });
      const item = await ddb.send(
        new GetItemCommand({ TableName: 'counters', Key: { pk: { S: 'pool#normal' } } }),
      );
      assert.equal(item.Item?.sent?.N, '2');

      assert.deepEqual(emu.dynamodb.requests(), { UpdateItem: 3, GetItem: 1 });
      emu.dynamodb.resetCounts();
      assert.deepEqual(emu.dynamodb.requests(), {});
    });
  });

  describe('S3 (s3rver)', () => {
    it('round-trips a 5 MB Buffer and a stream body byte-exactly, and counts requests', async () => {
      const s3 = new S3Client(emu.clientConfig('s3'));
      const data = randomBytes(5 * 1024 * 1024);
      emu.s3.resetCounts();

      await s3.send(new PutObjectCommand({ Bucket: 'inbound', Key: 'mail/buffer.eml', Body: data }));
      assert.ok((await getBytes(s3, 'inbound', 'mail/buffer.eml')).equals(data));

      const stream = Readable.from([data.subarray(0, 1_000_003), data.subarray(1_000_003)]);
      await s3.send(
        new PutObjectCommand({
          Bucket: 'other',
          Key: 'mail/stream.eml',
          Body: stream,
          ContentLength: data.length,
        }),
      );
      assert.ok((await getBytes(s3, 'other', 'mail/stream.eml')).equals(data));

      await assert.rejects(getBytes(s3, 'inbound', 'missing'), { name: 'NoSuchKey' });

      assert.deepEqual(emu.s3.requests(), { PutObject: 2, GetObject: 3 });
      emu.s3.resetCounts();
      assert.deepEqual(emu.s3.requests(), {});
    });
  });

  describe('SESv2 (aws-ses-v2-local behind the recording proxy)', () => {
    it('records Raw SendEmail with all fields and keeps GET /store working', async () => {
      const ses = new SESv2Client(emu.clientConfig('sesv2'));
      await emu.ses.clear();
      emu.ses.resetCounts();
      const raw = rawMessage('From: Alice <alice@sender.example>\r\nTo: bob@rcpt.example\r\n');
      const before = Date.now();
      const out = await ses.send(
        new SendEmailCommand({
          FromEmailAddress: 'alice@sender.example',
          Destination: {
            ToAddresses: ['bob@rcpt.example'],
            CcAddresses: ['carol@rcpt.example'],
            BccAddresses: ['dave@rcpt.example'],
          },
          FeedbackForwardingEmailAddress: 'bounces@sender.example',
          ConfigurationSetName: 'pool-high-risk',
          EmailTags: [
            { Name: 'pool', Value: 'high-risk' },
            { Name: 'tenant', Value: 't-1' },
          ],
          Content: { Raw: { Data: raw } },
        }),
      );
      assert.ok(out.MessageId);

      const sent = emu.ses.sent();
      assert.equal(sent.length, 1);
      const rec = sent[0]!;
      assert.equal(rec.messageId, out.MessageId);
      assert.equal(rec.configurationSetName, 'pool-high-risk');
      assert.equal(rec.fromEmailAddress, 'alice@sender.example');
      assert.deepEqual(rec.destination, {
        ToAddresses: ['bob@rcpt.example'],
        CcAddresses: ['carol@rcpt.example'],
        BccAddresses: ['dave@rcpt.example'],
      });
      assert.equal(rec.feedbackForwardingEmailAddress, 'bounces@sender.example');
      assert.deepEqual(rec.emailTags, [
        { Name: 'pool', Value: 'high-risk' },
        { Name: 'tenant', Value: 't-1' },
      ]);
      assert.equal(rec.content, 'Raw');
      assert.ok(rec.raw.equals(raw));
      assert.ok(Date.parse(rec.at) >= before - 1000 && !Number.isNaN(Date.parse(rec.at)));
      assert.match(rec.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

      const store = (await (await fetch(`${emu.ses.endpoint}/store`)).json()) as {
        emails: { messageId: string; from: string; subject: string; destination: { to: string[] } }[];
      };
      const stored = store.emails.find((e) => e.messageId === out.MessageId);
      assert.ok(stored, 'mail visible in GET /store');
      assert.equal(stored.subject, 'emulator test');
      assert.deepEqual(stored.destination.to, ['bob@rcpt.example']);

      // aws-ses-v2-local's viewer page is not served: it runs scripts found in the mail it shows.
      const viewer = await fetch(`${emu.ses.endpoint}/`);
      assert.equal(viewer.status, 404);
      assert.doesNotMatch(await viewer.text(), /<script/i);

      assert.deepEqual(emu.ses.requests(), { SendEmail: 1, 'GET /store': 1, 'GET /': 1 });
    });

    it('accepts Raw content without a To: header (Destination is not used by the emulator)', async () => {
      const ses = new SESv2Client(emu.clientConfig('sesv2'));
      await emu.ses.clear();
      const out = await ses.send(
        new SendEmailCommand({
          Destination: { ToAddresses: ['hidden@rcpt.example'] },
          Content: { Raw: { Data: rawMessage('From: alice@sender.example\r\n') } },
        }),
      );
      assert.equal(emu.ses.sent()[0]?.messageId, out.MessageId);
      assert.deepEqual(emu.ses.sent()[0]?.destination.ToAddresses, ['hidden@rcpt.example']);
      const store = (await (await fetch(`${emu.ses.endpoint}/store`)).json()) as {
        emails: { messageId: string; destination: { to: string[] } }[];
      };
      assert.deepEqual(store.emails.find((e) => e.messageId === out.MessageId)?.destination.to, []);
    });

    it('failNext makes the SDK throw the named error, then sends succeed again', async () => {
      const ses = new SESv2Client({ ...emu.clientConfig('sesv2'), maxAttempts: 1 });
      await emu.ses.clear();
      emu.ses.resetCounts();
      const send = () =>
        ses.send(
          new SendEmailCommand({
            Destination: { ToAddresses: ['bob@rcpt.example'] },
            Content: { Raw: { Data: rawMessage('From: a@sender.example\r\nTo: bob@rcpt.example\r\n') } },
          }),
        );

      emu.ses.failNext(1, {
        status: 429,
        code: 'TooManyRequestsException',
        message: 'Maximum sending rate exceeded.',
      });
      await assert.rejects(send(), (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.ok(err instanceof TooManyRequestsException);
        assert.equal(err.name, 'TooManyRequestsException');
        assert.equal(err.message, 'Maximum sending rate exceeded.');
        assert.equal(err.$metadata?.httpStatusCode, 429);
        return true;
      });
      assert.ok((await send()).MessageId);

      // A code SESv2 does not model still surfaces by name (as a generic SESv2ServiceException).
      emu.ses.failNext(2, { status: 400, code: 'ThrottlingException' });
      await assert.rejects(send(), { name: 'ThrottlingException' });
      await assert.rejects(send(), { name: 'ThrottlingException' });
      assert.ok((await send()).MessageId);

      assert.equal(emu.ses.sent().length, 2, 'failed attempts are not recorded');
      assert.deepEqual(emu.ses.requests(), { SendEmail: 5 });
    });

    it('the default SDK retry strategy hides a single injected throttle', async () => {
      const ses = new SESv2Client({ ...emu.clientConfig('sesv2'), maxAttempts: 2, retryMode: 'standard' });
      await emu.ses.clear();
      emu.ses.failNext(1, { status: 429, code: 'TooManyRequestsException' });
      const out = await ses.send(
        new SendEmailCommand({
          Content: { Raw: { Data: rawMessage('From: a@sender.example\r\nTo: bob@rcpt.example\r\n') } },
        }),
      );
      assert.equal(out.$metadata.attempts, 2);
      assert.equal(emu.ses.sent().length, 1);
    });
  });
});

describe('emulator lifecycle', () => {
  it('rejects with a clear EADDRINUSE error naming the service and port, leaving nothing running', async () => {
    const blocker = await occupyPort();
    const dynamoPort = await freePort();
    try {
      await assert.rejects(
        startEmulators({ ports: { dynamodb: dynamoPort, s3: blocker.port } }),
        (err: Error) => {
          assert.match(err.message, new RegExp(`^s3 emulator: port ${blocker.port} .*EADDRINUSE`));
          assert.equal((err as NodeJS.ErrnoException).code, 'EADDRINUSE');
          return true;
        },
      );
      await assert.rejects(startDynamoDb({ port: blocker.port }), /dynamodb emulator: port \d+ .*EADDRINUSE/);
      // The DynamoDB emulator started before the failure was stopped again: its port is free.
      const again = await occupyPort(dynamoPort);
      await new Promise<void>((r) => again.server.close(() => r()));
    } finally {
      await new Promise<void>((r) => blocker.server.close(() => r()));
    }
  });

  it('stop() frees the ports: starting again on the same ports works', async () => {
    const first = await startEmulators({ buckets: ['b'] });
    const ports = { dynamodb: first.dynamodb.port, s3: first.s3.port, ses: first.ses.port };
    // Leave a keep-alive connection open on each service before stopping.
    await new S3Client(first.clientConfig('s3')).send(
      new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' }),
    );
    await new DynamoDBClient(first.clientConfig('dynamodb'))
      .send(new DescribeTableCommand({ TableName: 'x' }))
      .catch(() => undefined);
    await fetch(`${first.ses.endpoint}/store`).then((r) => r.arrayBuffer());
    await first.stop();
    await first.stop(); // idempotent

    const second = await startEmulators({ buckets: ['b'], ports });
    try {
      assert.deepEqual({ dynamodb: second.dynamodb.port, s3: second.s3.port, ses: second.ses.port }, ports);
      const s3 = new S3Client(second.clientConfig('s3'));
      await assert.rejects(getBytes(s3, 'b', 'k'), { name: 'NoSuchKey' }, 'temp data dir was discarded');
      await s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'y' }));
      assert.equal((await getBytes(s3, 'b', 'k')).toString(), 'y');
      const res = await fetch(`${second.ses.endpoint}/store`);
      assert.equal(res.status, 200);
    } finally {
      await second.stop();
    }
  });
});
