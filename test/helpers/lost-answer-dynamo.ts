/**
 * A DynamoDB client on an emulator whose transport can lose the answer to one request after
 * DynamoDB applied it (a 500 in its place, as a reset connection or a front-end fault gives):
 * the client's standard retry mode then sends the same request again. Its UpdateItems go out
 * directly, as the router's (`sendUpdatesDirectly`). For tests of what a write
 * does when it lands twice.
 */
import { Readable } from 'node:stream';
import { after, before } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpRequest } from '@smithy/types';
import { SDK_RETRY } from '../../functions/adapters/aws-errors.js';
import { sendUpdatesDirectly } from '../../functions/adapters/dynamo-direct-update.js';
import { createTables } from '../../functions/adapters/tables.js';
import { type DynamoDbEmulator, EMULATOR_CREDENTIALS, startDynamoDb } from '../../sandbox/emulators/index.js';
import { requestHandler } from './request-handler.js';

export interface LostAnswerClient {
  client: DynamoDBClient;
  /**
   * The next request of `operation` (`UpdateItem`, `PutItem`…) whose JSON body matches
   * `body` reaches DynamoDB, and its answer is replaced by a 500. With `thenFail`, the next
   * `thenFail` requests of that operation and body (the SDK's retries of it) never reach
   * DynamoDB and are answered 500 too: a write that landed although every attempt failed.
   */
  loseNext(operation: string, body?: RegExp, thenFail?: number): void;
  /** How many answers were lost so far. */
  readonly lost: number;
}

export function lostAnswerClient(endpoint: string): LostAnswerClient {
  const real = new NodeHttpHandler();
  let pending: { operation: string; body: RegExp | undefined; failAfter: number } | null = null;
  // The requests answered 500 without reaching DynamoDB, after the lost one (`thenFail`).
  let failing: { operation: string; body: RegExp | undefined; left: number } | null = null;
  let lost = 0;
  const matches = (request: HttpRequest, body: string, m: { operation: string; body: RegExp | undefined }) =>
    String(request.headers['x-amz-target']).endsWith(`.${m.operation}`) &&
    (m.body === undefined || m.body.test(body));
  const internalError = () => ({
    response: {
      statusCode: 500,
      headers: { 'content-type': 'application/x-amz-json-1.0' },
      body: Readable.from([
        Buffer.from(
          JSON.stringify({
            __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
            message: 'answer lost',
          }),
        ),
      ]),
    },
  });
  // The router's UpdateItems go out directly (`dynamo-direct-update.ts`), retried by the
  // client's retry strategy: that is what these lost answers test; its other requests go
  // through the SDK.
  const client = sendUpdatesDirectly(
    new DynamoDBClient({
      ...SDK_RETRY,
      endpoint,
      region: 'us-east-1',
      credentials: { ...EMULATOR_CREDENTIALS },
      requestHandler: requestHandler(async (request: HttpRequest) => {
        const body =
          request.body === undefined
            ? ''
            : typeof request.body === 'string'
              ? request.body
              : new TextDecoder().decode(request.body as Uint8Array);
        if (failing && matches(request, body, failing)) {
          failing.left -= 1;
          if (failing.left <= 0) failing = null;
          return internalError();
        }
        const out = await real.handle(request as Parameters<NodeHttpHandler['handle']>[0]);
        if (pending && matches(request, body, pending)) {
          if (pending.failAfter > 0) failing = { ...pending, left: pending.failAfter };
          pending = null;
          lost += 1;
          return internalError();
        }
        return out;
      }) as unknown as NodeHttpHandler,
    }),
  );
  return {
    client,
    loseNext(operation, body, thenFail = 0) {
      pending = { operation, body, failAfter: thenFail };
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
    loseNext: (operation, body, thenFail) => faults!.loseNext(operation, body, thenFail),
    get lost() {
      return faults!.lost;
    },
  };
}
