/**
 * Review of the requests sent without an SDK client (`dynamo-direct-update.ts`,
 * `s3-direct-get.ts`, `ssm-parameter-reader.ts`, their shared `direct-retries.ts` and
 * `aws-json-answer.ts`) against the SDK itself: each test sends the same request through the
 * SDK's client and the direct path, on the same scripted answers, and compares what each sent
 * and what each made of the answers. Each failed on the code before its fix.
 */
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import * as dynamodb from '@aws-sdk/client-dynamodb';
import { DynamoDBClient, type DynamoDBClientConfig, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import {
  type DirectUpdateInput,
  directUpdater,
  sendUpdatesDirectly,
} from '../../functions/adapters/dynamo-direct-update.js';
import { s3DirectGet } from '../../functions/adapters/s3-direct-get.js';
import { ssmParameterReader } from '../../functions/adapters/ssm-parameter-reader.js';
import { isTransientDynamoError } from '../../functions/adapters/tables.js';
import { type Scripted, type ScriptedAnswer, scriptedTransport } from '../helpers/scripted-transport.js';
import { expectedAuthorization, TEST_CREDENTIALS } from '../helpers/sigv4.js';

const NOW = Date.parse('2026-12-07T10:00:00Z');

const json = (status: number, body: object, headers: Record<string, string> = {}): ScriptedAnswer => ({
  status,
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/x-amz-json-1.0', ...headers },
});
const networkError = (code: string) => () => Object.assign(new Error(`socket: ${code}`), { code });

const INPUT: DirectUpdateInput = {
  TableName: 'limits',
  Key: { pk: { S: 'I#alice@example.com' } },
  UpdateExpression: 'ADD #n :one',
  ExpressionAttributeNames: { '#n': 'n' },
  ExpressionAttributeValues: { ':one': { N: '1' } },
  ReturnValues: 'ALL_NEW',
};

/** An error as data: what the project's mapping and smithy's classifier read of it. */
function errorOutcome(error: unknown) {
  const e = error as Error & {
    $metadata?: { httpStatusCode?: number; attempts?: number };
    $fault?: string;
  };
  return {
    isError: e instanceof Error,
    name: e.name,
    status: e.$metadata?.httpStatusCode,
    attempts: e.$metadata?.attempts,
    fault: e.$fault,
    transient: isTransientDynamoError(e),
  };
}

/** The same UpdateItem through the SDK and the direct path, each over its own scripted transport. */
async function bothUpdates(answers: Scripted[], config: DynamoDBClientConfig = {}, calls = 1) {
  const sdkSide = scriptedTransport(answers);
  const directSide = scriptedTransport(answers);
  const base = {
    region: 'eu-west-1',
    credentials: { ...TEST_CREDENTIALS },
    ...config,
  };
  const sdk = new DynamoDBClient({
    retryStrategy: new ConfiguredRetryStrategy(4, () => 0),
    ...base,
    requestHandler: sdkSide.handler,
  });
  const direct = directUpdater(
    sendUpdatesDirectly(
      new DynamoDBClient({
        retryStrategy: new ConfiguredRetryStrategy(4, () => 0),
        ...base,
        requestHandler: directSide.handler,
      }),
    ),
  )!;
  type Outcome = { attributes: unknown } | ReturnType<typeof errorOutcome>;
  const run = async (send: () => Promise<{ Attributes?: unknown }>) => {
    const outcomes: Outcome[] = [];
    for (let i = 0; i < calls; i++) {
      try {
        outcomes.push({ attributes: (await send()).Attributes });
      } catch (error) {
        outcomes.push(errorOutcome(error));
      }
    }
    return outcomes;
  };
  const sdkOut = await run(() =>
    sdk.send(new UpdateItemCommand(INPUT as unknown as ConstructorParameters<typeof UpdateItemCommand>[0])),
  );
  const directOut = await run(() => direct(INPUT));
  return {
    sdk: sdkOut,
    direct: directOut,
    sdkRequests: sdkSide.requests,
    directRequests: directSide.requests,
  };
}

/** What both sides of {@link bothFailures} are built with: no waits between three attempts. */
interface FailingSide {
  region: string;
  credentials: typeof TEST_CREDENTIALS;
  retryStrategy: ConfiguredRetryStrategy;
  requestHandler: ReturnType<typeof scriptedTransport>['handler'];
}

/** The same request through an SDK client and the direct path, each over its own transport answering `answer`. */
async function bothFailures(
  answer: Scripted,
  viaSdk: (side: FailingSide) => Promise<unknown>,
  viaDirect: (side: FailingSide) => Promise<unknown>,
) {
  const outcome = (run: (side: FailingSide) => Promise<unknown>) => {
    const transport = scriptedTransport([answer]);
    const side = {
      region: 'eu-west-1',
      credentials: { ...TEST_CREDENTIALS },
      retryStrategy: new ConfiguredRetryStrategy(3, () => 0),
      requestHandler: transport.handler,
    };
    const error = run(side).then(
      () => undefined,
      (e: unknown) => errorOutcome(e),
    );
    return { error, requests: transport.requests };
  };
  const sdk = outcome(viaSdk);
  const direct = outcome(viaDirect);
  return {
    sdk: await sdk.error,
    direct: await direct.error,
    sdkRequests: sdk.requests,
    directRequests: direct.requests,
  };
}

describe('direct requests review: DynamoDB errors read as the SDK reads them', () => {
  // The DynamoDB model's @retryable errors: the SDK's classes carry `$retryable`, which smithy
  // classifies as transient (ReplicatedWriteConflictException: a multi-Region strongly
  // consistent global table's conflicting write).
  const retryable = Object.entries(dynamodb)
    .filter(
      ([, value]) =>
        typeof value === 'function' && value.prototype instanceof dynamodb.DynamoDBServiceException,
    )
    .filter(([, Ctor]) => {
      const e = new (Ctor as new (o: object) => { $retryable?: unknown })({ message: 'm', $metadata: {} });
      return e.$retryable !== undefined;
    })
    .map(([name]) => name);

  it('each error the model marks retryable: retried as the SDK retries it, transient when it does not stop', async () => {
    assert.ok(retryable.includes('ReplicatedWriteConflictException'), String(retryable));
    for (const name of retryable) {
      const fault = json(400, { __type: `com.amazonaws.dynamodb.v20120810#${name}`, message: 'conflict' });
      const once = await bothUpdates([fault, json(200, {})]);
      assert.equal(once.directRequests.length, once.sdkRequests.length, `${name}: attempts`);
      assert.equal(once.directRequests.length, 2, name);
      assert.deepEqual(once.direct, once.sdk, name);
      const always = await bothUpdates([fault]);
      assert.equal(always.directRequests.length, always.sdkRequests.length, `${name}: attempts`);
      assert.deepEqual(always.direct, always.sdk, name);
      assert.equal((always.direct[0] as ReturnType<typeof errorOutcome>).transient, true, name);
    }
  });

  const codes: [string, ScriptedAnswer][] = [
    // Several values of one header, joined by the transport: the first is the code.
    [
      'x-amzn-errortype with several values',
      json(
        400,
        { message: 'Rate exceeded' },
        { 'x-amzn-errortype': 'ThrottlingException,ThrottlingException' },
      ),
    ],
    // AWS JSON 1.0: the body's `__type` first, then `code` (any case), then the header.
    [
      '`__type` and a header that disagree',
      json(
        400,
        { __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'Rate exceeded' },
        { 'x-amzn-errortype': 'ValidationException' },
      ),
    ],
    ['the code as `Code`', json(400, { Code: 'ThrottlingException', Message: 'Rate exceeded' })],
  ];
  for (const [name, answer] of codes) {
    it(`the error code: ${name}`, async () => {
      const { sdk, direct, sdkRequests, directRequests } = await bothUpdates([answer, json(200, {})]);
      assert.equal(directRequests.length, sdkRequests.length, 'attempts');
      assert.deepEqual(direct, sdk);
    });
  }
});

describe('direct requests review: retries as the SDK ends them', () => {
  it('DynamoDB: a connection reset on every attempt: the attempts on the error, as the SDK’s', async () => {
    const { sdk, direct, sdkRequests, directRequests } = await bothUpdates([networkError('ECONNRESET')]);
    assert.equal(directRequests.length, sdkRequests.length);
    assert.deepEqual(direct, sdk);
    assert.equal((direct[0] as ReturnType<typeof errorOutcome>).attempts, 4);
  });

  it('DynamoDB: a transport that throws what is not an Error: an Error, as the SDK’s', async () => {
    const { sdk, direct } = await bothUpdates([() => 'socket closed' as unknown as Error]);
    assert.deepEqual(direct, sdk);
    assert.equal((direct[0] as ReturnType<typeof errorOutcome>).isError, true);
  });

  it('S3: a connection reset on every attempt: the attempts on the error, as the SDK’s', async () => {
    const { sdk, direct } = await bothFailures(
      networkError('ECONNRESET'),
      (c) => new S3Client(c).send(new GetObjectCommand({ Bucket: 'mail', Key: 'k' })),
      (c) => s3DirectGet(c)('mail', 'k'),
    );
    assert.deepEqual(direct, sdk);
    assert.equal(direct?.attempts, 3);
  });
});

describe('direct requests review: SSM retries as the SDK retries them', () => {
  const cases: [string, Scripted][] = [
    ['a connection reset', networkError('ECONNRESET')],
    ['throttling', json(400, { __type: 'com.amazonaws.ssm#ThrottlingException', message: 'Rate exceeded' })],
    ['an internal error', json(500, { __type: 'InternalServerError', message: 'no' })],
    ['unavailable', json(503, { __type: 'ServiceUnavailable', message: 'no' })],
    ['a missing parameter', json(400, { __type: 'ParameterNotFound', message: '' })],
    ['access denied', json(400, { __type: 'AccessDeniedException', message: 'no' })],
  ];
  for (const [what, answer] of cases) {
    it(`SSM: ${what} on every attempt: the same attempts and error as the SDK’s`, async () => {
      const { sdk, direct, sdkRequests, directRequests } = await bothFailures(
        answer,
        (c) => new SSMClient(c).send(new GetParameterCommand({ Name: 'p', WithDecryption: true })),
        (c) => ssmParameterReader(c)('p'),
      );
      assert.equal(directRequests.length, sdkRequests.length, 'attempts');
      assert.deepEqual(direct, sdk);
    });
  }
});

describe('direct requests review: the clock', () => {
  it('DynamoDB: a success answer’s Date corrects the clock, as the SDK’s signer does', async () => {
    mock.timers.enable({ apis: ['Date'], now: NOW });
    try {
      const later = new Date(NOW + 3_600_000).toUTCString();
      const { sdkRequests, directRequests } = await bothUpdates([json(200, {}, { date: later })], {}, 2);
      assert.deepEqual(
        directRequests.map((r) => r.headers['x-amz-date']),
        sdkRequests.map((r) => r.headers['x-amz-date']),
      );
      assert.equal(directRequests[1]!.headers['x-amz-date'], '20261207T110000Z');
      assert.equal(directRequests[1]!.headers.authorization, expectedAuthorization(directRequests[1]!));
    } finally {
      mock.timers.reset();
    }
  });

  it('S3: a success answer’s Date corrects the clock, as the SDK’s signer does', async () => {
    mock.timers.enable({ apis: ['Date'], now: NOW });
    try {
      const later = new Date(NOW + 3_600_000).toUTCString();
      const answers = [{ status: 200, body: 'x', headers: { date: later } }];
      const sdkSide = scriptedTransport(answers);
      const directSide = scriptedTransport(answers);
      const sdk = new S3Client({
        region: 'eu-west-1',
        credentials: { ...TEST_CREDENTIALS },
        requestHandler: sdkSide.handler,
      });
      const direct = s3DirectGet({
        requestHandler: directSide.handler,
        credentials: { ...TEST_CREDENTIALS },
        region: 'eu-west-1',
      });
      for (let i = 0; i < 2; i++) {
        const out = await sdk.send(new GetObjectCommand({ Bucket: 'mail', Key: 'k' }));
        await out.Body!.transformToString();
        const got = await direct('mail', 'k');
        for await (const _ of got.body);
      }
      assert.deepEqual(
        directSide.requests.map((r) => r.headers['x-amz-date']),
        sdkSide.requests.map((r) => r.headers['x-amz-date']),
      );
      assert.equal(directSide.requests[1]!.headers['x-amz-date'], '20261207T110000Z');
    } finally {
      mock.timers.reset();
    }
  });
});

describe('direct requests review: a configured endpoint with a path (a proxy)', () => {
  it('DynamoDB: the path the SDK sends (the endpoint’s, ending in /)', async () => {
    mock.timers.enable({ apis: ['Date'], now: NOW });
    try {
      const { sdkRequests, directRequests } = await bothUpdates([json(200, {})], {
        endpoint: 'https://proxy.internal.test/dynamodb',
      });
      const [s, d] = [sdkRequests[0]!, directRequests[0]!];
      assert.equal(d.hostname, s.hostname);
      assert.equal(d.path, s.path);
      assert.equal(d.path, '/dynamodb/');
      assert.equal(d.headers.authorization, expectedAuthorization(d));
    } finally {
      mock.timers.reset();
    }
  });

  it('SSM: the path the SDK sends (the endpoint’s, ending in /)', async () => {
    mock.timers.enable({ apis: ['Date'], now: NOW });
    try {
      const answers = [json(200, { Parameter: { Value: 'v' } })];
      const sdkSide = scriptedTransport(answers);
      const directSide = scriptedTransport(answers);
      const endpoint = 'https://proxy.internal.test/ssm';
      const sdk = new SSMClient({
        region: 'eu-west-1',
        credentials: { ...TEST_CREDENTIALS },
        endpoint,
        requestHandler: sdkSide.handler,
      });
      await sdk.send(new GetParameterCommand({ Name: 'p', WithDecryption: true }));
      const read = ssmParameterReader({
        requestHandler: directSide.handler,
        credentials: { ...TEST_CREDENTIALS },
        region: 'eu-west-1',
        endpoint,
      });
      assert.equal(await read('p'), 'v');
      const [s, d] = [sdkSide.requests[0]!, directSide.requests[0]!];
      assert.equal(d.hostname, s.hostname);
      assert.equal(d.path, s.path);
      assert.equal(d.path, '/ssm/');
      assert.equal(d.headers.authorization, expectedAuthorization(d));
    } finally {
      mock.timers.reset();
    }
  });
});

describe('direct requests review: S3 at a configured endpoint', () => {
  // The S3 endpoint rules address a bucket whose name is several DNS labels (dots) in virtual-
  // hosted style at a configured `http://` endpoint (no certificate to match there).
  const cases: [string, string, boolean?][] = [
    ['http://s3.internal.test:4566', 'mail.example.com'],
    ['http://s3.internal.test:4566', 'ab.example.com'],
    ['http://s3.internal.test:4566', 'Mail.example.com'],
    ['http://s3.internal.test:4566', 'mail-.example.com'],
    ['http://s3.internal.test:4566', 'mail.example.com', true],
    ['https://s3.internal.test', 'mail.example.com'],
    ['http://s3.internal.test/base', 'mail.example.com'],
  ];
  it('a bucket name of several labels: where the SDK sends it (virtual-hosted at an http:// endpoint)', async () => {
    for (const [endpoint, bucket, forcePathStyle] of cases) {
      const label = `${bucket} at ${endpoint}${forcePathStyle ? ' (forcePathStyle)' : ''}`;
      const sdkSide = scriptedTransport([{ status: 200, body: 'x' }]);
      const directSide = scriptedTransport([{ status: 200, body: 'x' }]);
      const config = { region: 'us-east-1', credentials: { ...TEST_CREDENTIALS }, endpoint };
      const sdk = new S3Client({
        ...config,
        forcePathStyle: forcePathStyle ?? false,
        requestHandler: sdkSide.handler,
      });
      await sdk.send(new GetObjectCommand({ Bucket: bucket, Key: 'raw/k' }));
      const direct = s3DirectGet({
        ...config,
        requestHandler: directSide.handler,
        forcePathStyle: forcePathStyle ?? false,
      });
      await direct(bucket, 'raw/k');
      const [s, d] = [sdkSide.requests[0]!, directSide.requests[0]!];
      assert.deepEqual(
        { hostname: d.hostname, port: d.port, path: d.path },
        { hostname: s.hostname, port: s.port, path: s.path },
        label,
      );
    }
  });
});
