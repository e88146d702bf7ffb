/**
 * `sendUpdatesDirectly`: an `UpdateItem` sent without the SDK's middleware is the request the
 * SDK sends, signed right, answered and retried as the SDK answers and retries it.
 *
 * Oracles: the SDK itself (the same command through `client.send`, on the same captured
 * transport or the same DynamoDB emulator), and an independent SigV4 (`helpers/sigv4.ts`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { DynamoDBClient, type DynamoDBClientConfig, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import type { HttpRequest } from '@smithy/types';
import {
  type DirectUpdateInput,
  directUpdater,
  sendUpdatesDirectly,
} from '../../functions/adapters/dynamo-direct-update.js';
import { createTables, isConditionFailed } from '../../functions/adapters/tables.js';
import { type DynamoDbEmulator, EMULATOR_CREDENTIALS, startDynamoDb } from '../../sandbox/emulators/index.js';
import { type Scripted, type ScriptedAnswer, scriptedTransport } from '../helpers/scripted-transport.js';
import { expectedAuthorization, TEST_CREDENTIALS } from '../helpers/sigv4.js';

/** DynamoDB's answers carry its content type and a request id. */
const dynamoTransport = (answers: readonly Scripted[]) =>
  scriptedTransport(answers, {
    headers: (n) => ({ 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': `req-${n}` }),
  });

const NOW = Date.parse('2026-12-07T10:00:00Z');

const ok = (body: object = { Attributes: { n: { N: '1' } } }): ScriptedAnswer => ({
  status: 200,
  body: JSON.stringify(body),
});
const fault = (
  status: number,
  type: string,
  message = type,
  headers: Record<string, string> = {},
): ScriptedAnswer => ({
  status,
  body: JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message }),
  headers,
});
const networkError = (code: string) => Object.assign(new Error(`socket: ${code}`), { code });

const INPUT: DirectUpdateInput = {
  TableName: 'limits',
  Key: { pk: { S: 'I#alice@example.com' } },
  UpdateExpression: 'ADD #n :one',
  ConditionExpression: 'attribute_not_exists(#d) OR #d <> :done',
  ExpressionAttributeNames: { '#n': 'n', '#d': 'status' },
  ExpressionAttributeValues: { ':one': { N: '1' }, ':done': { S: 'done' } },
  ReturnValues: 'ALL_NEW',
};

/** The same input as the SDK's command takes it. */
const command = (input: DirectUpdateInput = INPUT) =>
  new UpdateItemCommand(input as unknown as ConstructorParameters<typeof UpdateItemCommand>[0]);

/** Two clients of one configuration over one scripted transport each: the SDK's and a direct one. */
function pair(config: DynamoDBClientConfig, answers: Scripted[]) {
  const sdkSide = dynamoTransport(answers);
  const directSide = dynamoTransport(answers);
  const base = {
    region: 'eu-west-1',
    credentials: { ...TEST_CREDENTIALS },
    retryStrategy: new ConfiguredRetryStrategy(4, () => 0),
    ...config,
  };
  const sdk = new DynamoDBClient({ ...base, requestHandler: sdkSide.handler });
  const direct = sendUpdatesDirectly(new DynamoDBClient({ ...base, requestHandler: directSide.handler }));
  return { sdk, sdkSide, direct: directUpdater(direct)!, directSide };
}

/** Runs both; each outcome as data (the answer, or the error's name, status and message). */
async function both(config: DynamoDBClientConfig, answers: Scripted[], input = INPUT) {
  const p = pair(config, answers);
  const outcome = async (run: () => Promise<unknown>) => {
    try {
      const out = (await run()) as { Attributes?: unknown };
      return { attributes: out.Attributes };
    } catch (error) {
      const e = error as Error & {
        $metadata?: { httpStatusCode?: number; attempts?: number };
        $fault?: string;
      };
      return {
        error: e.name,
        message: e.message,
        status: e.$metadata?.httpStatusCode,
        attempts: e.$metadata?.attempts,
        fault: e.$fault,
      };
    }
  };
  const sdk = await outcome(() => p.sdk.send(command(input)));
  const direct = await outcome(() => p.direct(input));
  return { sdk, direct, sdkRequests: p.sdkSide.requests, directRequests: p.directSide.requests };
}

describe('sendUpdatesDirectly: the request', () => {
  const configs: [string, DynamoDBClientConfig][] = [
    ['eu-west-1', {}],
    ['another partition (cn-north-1)', { region: 'cn-north-1' }],
    ['FIPS', { region: 'us-east-1', useFipsEndpoint: true }],
    ['dual-stack', { region: 'us-west-2', useDualstackEndpoint: true }],
    ['a configured endpoint (an emulator)', { endpoint: 'http://127.0.0.1:4567' }],
  ];
  for (const [name, config] of configs) {
    it(`${name}: where it goes, what it says and what is signed are the SDK's`, async () => {
      mock.timers.enable({ apis: ['Date'], now: NOW });
      try {
        const { sdk, direct, sdkRequests, directRequests } = await both(config, [ok()]);
        assert.deepEqual(direct, sdk);
        const [s, d] = [sdkRequests[0]!, directRequests[0]!];
        for (const key of ['method', 'protocol', 'hostname', 'port', 'path'] as const) {
          assert.equal(d[key], s[key], key);
        }
        for (const h of [
          'host',
          'content-type',
          'x-amz-target',
          'x-amz-date',
          'x-amz-security-token',
          'user-agent',
        ]) {
          assert.equal(d.headers[h], s.headers[h]?.replace(/ m\/\S+/, ''), h);
        }
        assert.deepEqual(
          JSON.parse(String(d.body)),
          JSON.parse(new TextDecoder().decode(s.body as Uint8Array)),
        );
        assert.equal(d.headers['content-length'], String(Buffer.byteLength(String(d.body))));
        assert.equal(d.headers.authorization, expectedAuthorization(d));
        // The same credential scope (date, region, service) as the SDK's signature.
        const scope = (r: HttpRequest) =>
          /Credential=[^/]+\/([^,]+),/.exec(String(r.headers.authorization))?.[1];
        assert.equal(scope(d), scope(s));
      } finally {
        mock.timers.reset();
      }
    });
  }
});

describe('sendUpdatesDirectly: failures and retries as the SDK has them', () => {
  const cases: [string, Scripted[]][] = [
    ['a lost answer (500), then the answer', [fault(500, 'InternalServerError'), ok()]],
    ['throttled, then the answer', [fault(400, 'ThrottlingException', 'Rate exceeded'), ok()]],
    [
      'over the table throughput, then the answer',
      [fault(400, 'ProvisionedThroughputExceededException'), ok()],
    ],
    ['a reset connection, then the answer', [networkError('ECONNRESET'), ok()]],
    [
      'a condition that failed: not retried',
      [fault(400, 'ConditionalCheckFailedException', 'The conditional request failed')],
    ],
    ['an invalid request: not retried', [fault(400, 'ValidationException', 'Invalid UpdateExpression')]],
    ['a server error that does not stop: given up after the attempts', [fault(503, 'ServiceUnavailable')]],
    ['an answer that is not JSON', [{ status: 200, body: '<html>proxy</html>' }]],
  ];
  for (const [name, answers] of cases) {
    it(name, async () => {
      const { sdk, direct, sdkRequests, directRequests } = await both({}, answers);
      assert.equal(directRequests.length, sdkRequests.length, 'attempts');
      if ('error' in sdk && name.includes('not JSON')) {
        // The SDK says its deserializer failed; ours names the answer. Neither is retried.
        assert.equal((direct as { error?: string }).error, 'MalformedAnswer');
        return;
      }
      assert.deepEqual(direct, sdk);
    });
  }

  it('a skewed clock: corrected from the answer, signed again at the server time', async () => {
    mock.timers.enable({ apis: ['Date'], now: NOW });
    try {
      const serverTime = new Date(NOW + 3_600_000).toUTCString();
      const answers = [
        fault(400, 'InvalidSignatureException', 'Signature expired', { date: serverTime }),
        ok(),
      ];
      const { sdk, direct, sdkRequests, directRequests } = await both({}, answers);
      assert.deepEqual(direct, sdk);
      assert.equal(directRequests.length, 2);
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
});

describe('sendUpdatesDirectly on the DynamoDB emulator', () => {
  let emu: DynamoDbEmulator;
  let sdk: DynamoDBClient;
  let direct: DynamoDBClient;
  before(async () => {
    emu = await startDynamoDb();
    const config = { endpoint: emu.endpoint, region: 'us-east-1', credentials: { ...EMULATOR_CREDENTIALS } };
    sdk = new DynamoDBClient(config);
    direct = sendUpdatesDirectly(new DynamoDBClient(config));
    await createTables(sdk, { limits: 'limits-sdk' });
    await createTables(sdk, { limits: 'limits-direct' });
  });
  after(async () => {
    sdk?.destroy();
    direct?.destroy();
    await emu?.stop();
  });

  it('the same answers and the same errors as the SDK, update after update', async () => {
    const steps: DirectUpdateInput[] = [
      INPUT,
      INPUT,
      { ...INPUT, UpdateExpression: 'SET #d = :done ADD #n :one', ReturnValues: 'UPDATED_OLD' },
      INPUT, // the condition fails now
      { ...INPUT, ConditionExpression: undefined, ReturnValues: 'NONE' },
      { ...INPUT, UpdateExpression: 'SET #n = #n +' }, // invalid
      {
        ...INPUT,
        ConditionExpression: undefined,
        UpdateExpression: 'SET #n = :s',
        ExpressionAttributeValues: { ':s': { S: 'ü 𝄞 "\\' } },
      },
    ];
    for (const [i, step] of steps.entries()) {
      const run = async (client: DynamoDBClient, table: string) => {
        const input = JSON.parse(JSON.stringify({ ...step, TableName: table })) as DirectUpdateInput;
        try {
          const out =
            client === direct ? await directUpdater(direct)!(input) : await sdk.send(command(input));
          return { attributes: out.Attributes };
        } catch (error) {
          const e = error as Error & { $metadata?: { httpStatusCode?: number } };
          return {
            error: e.name,
            message: e.message,
            status: e.$metadata?.httpStatusCode,
            condition: isConditionFailed(e),
          };
        }
      };
      assert.deepEqual(await run(direct, 'limits-direct'), await run(sdk, 'limits-sdk'), `step ${i}`);
    }
  });
});
