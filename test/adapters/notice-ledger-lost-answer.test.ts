/**
 * A notice key's claim whose answer is lost after DynamoDB wrote it (a 500 or a reset
 * connection once the put landed) is sent again by the SDK's standard retry mode. The retried
 * put found the claim it had just made and answered "claimed by someone else": the notice was
 * never published and the key stayed taken for its two days (for the pause function, SPEC 7's
 * "pool paused" notice was lost and its invocation succeeded). A claim now recognizes its own
 * put. Found in a review (December 2026). On dynalite.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpRequest } from '@smithy/types';
import { SDK_RETRY } from '../../functions/adapters/aws-errors.js';
import { DynamoNoticeLedger } from '../../functions/adapters/dynamo-notice-ledger.js';
import { createTables } from '../../functions/adapters/tables.js';
import { type DynamoDbEmulator, EMULATOR_CREDENTIALS, startDynamoDb } from '../../sandbox/emulators/index.js';
import { requestHandler } from '../helpers/request-handler.js';

const TABLE = 'limits';
const NOW = new Date('2026-11-23T10:15:00.000Z');
let emu: DynamoDbEmulator;
let client: DynamoDBClient;
/** The next PutItem reaches DynamoDB, and its answer is replaced by a 500. */
let loseNextAnswer = false;
let lost = 0;

before(async () => {
  emu = await startDynamoDb();
  const real = new NodeHttpHandler();
  client = new DynamoDBClient({
    ...SDK_RETRY,
    endpoint: emu.endpoint,
    region: 'us-east-1',
    credentials: { ...EMULATOR_CREDENTIALS },
    requestHandler: requestHandler(async (request: HttpRequest) => {
      const out = await real.handle(request as Parameters<NodeHttpHandler['handle']>[0]);
      if (loseNextAnswer && String(request.headers['x-amz-target']).endsWith('.PutItem')) {
        loseNextAnswer = false;
        lost += 1;
        const error = JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
          message: 'answer lost',
        });
        return {
          response: {
            statusCode: 500,
            headers: { 'content-type': 'application/x-amz-json-1.0' },
            body: Readable.from([Buffer.from(error)]),
          },
        };
      }
      return out;
    }) as unknown as NodeHttpHandler,
  });
  await createTables(client, { limits: TABLE });
});
after(async () => {
  client?.destroy();
  await emu?.stop();
});

it('a claim whose answer was lost and retried by the SDK is still this claim; a racer’s is not', async () => {
  const ledger = new DynamoNoticeLedger({ client, tableName: TABLE });
  loseNextAnswer = true;
  assert.equal(await ledger.claim('pool-paused#normal#t1', NOW, 3600), true, 'the claim that landed is ours');
  assert.equal(lost, 1, 'the fault was injected');
  // Another container's claim of the same key, even in the same millisecond, is refused...
  assert.equal(
    await new DynamoNoticeLedger({ client, tableName: TABLE }).claim('pool-paused#normal#t1', NOW, 3600),
    false,
  );
  // ...and ours can still be given back, then claimed again.
  assert.equal(await ledger.release('pool-paused#normal#t1', NOW), true);
  assert.equal(await ledger.claim('pool-paused#normal#t1', NOW, 3600), true);
});
