/**
 * The dead-letter recorder and the trace's `dead-letter` status (issue 15) on the emulators,
 * through the real SDK clients: dynalite for the trace table, the SQS and Lambda emulators for
 * the queue and `Invoke` (their wire protocol is checked by the SDK itself: JSON 1.0 targets,
 * MD5 of bodies, FunctionError headers).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoTraceStore } from '../../functions/adapters/dynamo-trace-store.js';
import { LambdaRouterInvoker } from '../../functions/adapters/lambda-router-invoker.js';
import { SqsDeadLetterQueue } from '../../functions/adapters/sqs-dead-letter-queue.js';
import { createTables } from '../../functions/adapters/tables.js';
import { invocationRecord, parseDeadLetter } from '../../functions/dead-letter/record.js';
import { recordDeadLetter } from '../../functions/dead-letter/recorder.js';
import { redrive } from '../../functions/dead-letter/redrive.js';
import { type Emulators, startEmulators } from '../../sandbox/emulators/index.js';
import { sesEvent } from '../helpers/dead-letter-queue.js';

const TABLE = 'trace';
const QUEUE = 'dead-letters';
const LEASE_MS = 60_000;

const record = (messageId: string) =>
  invocationRecord({
    event: sesEvent(messageId),
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:router',
    requestId: `r-${messageId}`,
    at: new Date('2026-12-01T10:03:00.000Z'),
    attempts: 3,
    error: { errorType: 'TransientDependencyError', errorMessage: 'ses: SendEmail failed' },
  });

describe('dead-letter recorder and redrive adapters on the emulators', () => {
  let emu: Emulators;
  let ddb: DynamoDBClient;
  let sqs: SQSClient;
  let lambda: LambdaClient;
  let store: DynamoTraceStore;
  let queueUrl: string;
  let queue: SqsDeadLetterQueue;
  const clock = () => new Date('2026-12-01T10:04:00.000Z');

  before(async () => {
    emu = await startEmulators();
    ddb = new DynamoDBClient(emu.clientConfig('dynamodb'));
    sqs = new SQSClient(emu.clientConfig('sqs'));
    lambda = new LambdaClient(emu.clientConfig('lambda'));
    await createTables(ddb, { trace: TABLE });
    store = new DynamoTraceStore({ client: ddb, tableName: TABLE, retentionDays: 30 });
    queueUrl = emu.sqs.createQueue(QUEUE);
    queue = new SqsDeadLetterQueue({ client: sqs, queueUrl, waitSeconds: 0 });
  });
  after(async () => {
    ddb?.destroy();
    sqs?.destroy();
    lambda?.destroy();
    await emu?.stop();
  });

  it('marks a message dead-letter with the error, queues the record, and a redrive claims it again', async () => {
    const claimed = await store.claim('m1', new Date('2026-12-01T10:00:01.000Z'), LEASE_MS);
    assert.equal(claimed.state, 'claimed');
    const outcome = await recordDeadLetter(record('m1'), { trace: store, queue, clock });
    assert.deepEqual(outcome, { recorded: true, messageId: 'm1' });

    const traced = await store.get('m1');
    assert.equal(traced?.status, 'dead-letter');
    assert.deepEqual(traced?.deadLetter, {
      at: '2026-12-01T10:04:00.000Z',
      error: 'TransientDependencyError: ses: SendEmail failed',
      condition: 'RetriesExhausted',
      attempts: 3,
    });
    const [queued] = emu.sqs.bodies(QUEUE);
    assert.deepEqual(JSON.parse(queued!), record('m1'), 'the record is queued unchanged');

    // A dead letter is claimed at once, lease or not: the redrive's invocation owns it.
    const again = await store.claim('m1', new Date('2026-12-01T10:05:00.000Z'), LEASE_MS);
    assert.equal(again.state, 'claimed');
    await store.recordSend('m1', (again as { attempt: number }).attempt, null, null, true);
    const done = await store.get('m1');
    assert.equal(done?.status, 'done');
    assert.equal(done?.deadLetter?.attempts, 3, 'the dead letter stays as history');
    // A late duplicate of the failure record leaves a done message alone.
    const late = await recordDeadLetter(record('m1'), { trace: store, queue, clock });
    assert.deepEqual(late, { recorded: false, messageId: 'm1', why: 'already-done' });
    assert.equal((await store.get('m1'))?.status, 'done');
  });

  it('a failure before any claim creates a bare record that expires with the trace', async () => {
    await recordDeadLetter(record('m2'), { trace: store, queue, clock });
    const traced = await store.get('m2');
    assert.equal(traced?.status, 'dead-letter');
    assert.equal(traced?.receivedAt, '2026-12-01T10:00:00.000Z');
    assert.equal(traced?.expiresAt, Date.parse('2026-12-31T10:00:00.000Z') / 1000);
    assert.equal(traced?.summary, null);
  });

  it('a record it cannot read is still queued, not traced', async () => {
    const before = emu.sqs.bodies(QUEUE).length;
    const outcome = await recordDeadLetter({ something: 'else' }, { trace: store, queue, clock });
    assert.equal(outcome.recorded, false);
    assert.equal(emu.sqs.bodies(QUEUE).length, before + 1);
  });

  it('the SQS emulator speaks JSON 1.0 as the SDK expects, errors included', async () => {
    const url = await sqs.send(new GetQueueUrlCommand({ QueueName: QUEUE }));
    assert.equal(url.QueueUrl, queueUrl);
    await assert.rejects(sqs.send(new GetQueueUrlCommand({ QueueName: 'nope' })), {
      name: 'QueueDoesNotExist',
    });
    await assert.rejects(
      sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 11 })),
      { name: 'InvalidParameterValue' },
    );
    const count = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    assert.equal(count.Attributes?.ApproximateNumberOfMessages, String(emu.sqs.bodies(QUEUE).length));
    // A body with multi-byte characters: the SDK checks MD5OfMessageBody and MD5OfBody.
    const other = emu.sqs.createQueue('other');
    await sqs.send(new SendMessageCommand({ QueueUrl: other, MessageBody: 'é ✓ 😀' }));
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: other, VisibilityTimeout: 0 }));
    assert.equal(got.Messages?.[0]?.Body, 'é ✓ 😀');
    const hidden = await sqs.send(new ReceiveMessageCommand({ QueueUrl: other, VisibilityTimeout: 60 }));
    assert.equal(hidden.Messages?.length, 1);
    const none = await sqs.send(new ReceiveMessageCommand({ QueueUrl: other }));
    assert.equal(none.Messages, undefined, 'hidden for its visibility timeout');
  });

  it('the Lambda emulator answers Invoke as Lambda does; the invoker reads a FunctionError', async () => {
    emu.lambda.register('router', async (event) => {
      const d = parseDeadLetter({ requestContext: {}, requestPayload: event });
      if (d.ok && d.deadLetter.messageId.startsWith('bad')) {
        throw Object.assign(new Error('still broken'), { name: 'AccessDeniedException' });
      }
      return { outcome: 'processed' };
    });
    const ok = await lambda.send(
      new InvokeCommand({ FunctionName: 'router', Payload: Buffer.from('{"a":1}') }),
    );
    assert.equal(ok.StatusCode, 200);
    assert.equal(ok.FunctionError, undefined);
    assert.deepEqual(JSON.parse(Buffer.from(ok.Payload!).toString()), { outcome: 'processed' });
    const byArn = await lambda.send(
      new InvokeCommand({
        FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:router',
        InvocationType: 'DryRun',
      }),
    );
    assert.equal(byArn.StatusCode, 204);
    await assert.rejects(lambda.send(new InvokeCommand({ FunctionName: 'missing' })), {
      name: 'ResourceNotFoundException',
    });
    const invoker = new LambdaRouterInvoker(lambda, 'router');
    assert.deepEqual(await invoker.invoke(sesEvent('good')), { ok: true });
    assert.deepEqual(await invoker.invoke(sesEvent('bad1')), {
      ok: false,
      error: 'AccessDeniedException: still broken',
    });
  });

  it('redrive through both adapters: the good record deleted, the failing one back in the queue', async () => {
    const url = emu.sqs.createQueue('redrive');
    const q = new SqsDeadLetterQueue({ client: sqs, queueUrl: url, waitSeconds: 0 });
    for (const id of ['good2', 'bad2']) await q.send(JSON.stringify(record(id)));
    const results = await redrive(q, new LambdaRouterInvoker(lambda, 'router'), {
      dryRun: false,
      visibilitySeconds: 900,
    });
    assert.deepEqual(
      results.map((r) => [r.status, r.deadLetter?.messageId]),
      [
        ['redriven', 'good2'],
        ['failed', 'bad2'],
      ],
    );
    assert.deepEqual(
      emu.sqs.bodies('redrive').map((b) => parseDeadLetter(b).ok && JSON.parse(b).requestContext.requestId),
      ['r-bad2'],
    );
    assert.equal(await q.approximateCount(), 1, 'released: visible again for the next run');
  });
});
