/**
 * A DynamoDB client on an emulator whose transport can lose the answer to one request after
 * DynamoDB applied it (a 500 in its place, as a reset connection or a front-end fault gives):
 * the SDK's standard retry mode then sends the same request again. For tests of what a write
 * does when it lands twice.
 */
import { Readable } from 'node:stream';
import { after, before } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpRequest } from '@smithy/types';
import { SDK_RETRY } from '../../functions/adapters/aws-errors.js';
import { createTables } from '../../functions/adapters/tables.js';
import { type DynamoDbEmulator, EMULATOR_CREDENTIALS, startDynamoDb } from '../../sandbox/emulators/index.js';
import { requestHandler } from './request-handler.js';

export interface LostAnswerClient {
  client: DynamoDBClient;
  /**
   * The next request of `operation` (`UpdateItem`, `PutItem`…) whose JSON body matches
   * `body` reaches DynamoDB, and its answer is replaced by a 500.
   */
  loseNext(operation: string, body?: RegExp): void;
  /** How many answers were lost so far. */
  readonly lost: number;
}

export function lostAnswerClient(endpoint: string): LostAnswerClient {
  const real = new NodeHttpHandler();
  let pending: { operation: string; body: RegExp | undefined } | null = null;
  let lost = 0;
  const client = new DynamoDBClient({
    ...SDK_RETRY,
    endpoint,
    region: 'us-east-1',
    credentials: { ...EMULATOR_CREDENTIALS },
    requestHandler: requestHandler(async (request: HttpRequest) => {
      const out = await real.handle(request as Parameters<NodeHttpHandler['handle']>[0]);
      const body = request.body === undefined ? '' : new TextDecoder().decode(request.body as Uint8Array);
      if (
        pending &&
        String(request.headers['x-amz-target']).endsWith(`.${pending.operation}`) &&
        (pending.body === undefined || pending.body.test(body))
      ) {
        pending = null;
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
  return {
    client,
    loseNext(operation, body) {
      pending = { operation, body };
    },
    get lost() {
      return lost;
    },
  };
}

/**
 * A limits table `table` on an emulator of its own for the test file, behind
 * {@link lostAnswerClient}: started before its tests, stopped after them.
 */
export function lostAnswerLimitsTable(table: string): LostAnswerClient {
  let emu: DynamoDbEmulator | undefined;
  let faults: LostAnswerClient | undefined;
  before(async () => {
    emu = await startDynamoDb();
    faults = lostAnswerClient(emu.endpoint);
    await createTables(faults.client, { limits: table });
  });
  after(async () => {
    faults?.client.destroy();
    await emu?.stop();
  });
  return {
    get client() {
      return faults!.client;
    },
    loseNext: (operation, body) => faults!.loseNext(operation, body),
    get lost() {
      return faults!.lost;
    },
  };
}
