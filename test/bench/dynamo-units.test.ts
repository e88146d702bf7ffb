/**
 * Issue 16's target, DynamoDB ≤ 4 write units per message all in (router + feedback path with
 * the stack's defaults), checked on the real code: the router's middy handler over the real
 * adapters (`bench/entries/router.ts`, unbundled) and the feedback handler, both over the
 * bench's in-memory AWS, whose DynamoDB bills by DynamoDB's rules (1 WRU per started KB of the
 * larger of the item before and after, 1 per started KB of each index entry put:
 * `bench/transport-dynamo.ts`, checked in `transport.test.ts`). The feedback function gets
 * only the events the stack's rule matches (`functions/feedback/filed-events.ts`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { buildCorpus, type Corpus, receiptEvent, routerEnvironment } from '../../bench/corpus.js';
import { itemSize } from '../../bench/dynamo-expressions.js';
import { makeFeedback } from '../../bench/entries/feedback.js';
import { InMemoryAws, makeRouter } from '../../bench/entries/router.js';
import { feedbackEvents, lambdaContext } from '../../bench/runners.js';
import { DynamoTraceStore } from '../../functions/adapters/dynamo-trace-store.js';
import { LIMITS_TABLE, TRACE_TABLE } from '../../functions/adapters/tables.js';
import type { TraceSummary } from '../../functions/core/ports.js';
import { feedbackDetailTypes } from '../../functions/feedback/filed-events.js';

const BUCKET = 'bench-inbound';
const TABLES = { limits: LIMITS_TABLE, trace: TRACE_TABLE };
const awsConfig = (aws: InMemoryAws) => ({
  requestHandler: aws,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
});

describe('DynamoDB write units per message (issue 16: ≤ 4 all in)', () => {
  let corpus: Corpus;
  let aws: InMemoryAws;
  let router: ReturnType<typeof makeRouter>;
  const saved = { ...process.env };

  before(async () => {
    corpus = await buildCorpus({
      dir: mkdtempSync(join(tmpdir(), 'dynamo-units-')),
      shapes: ['plain'],
      signatureCounts: [1],
    });
    const env = routerEnvironment(
      corpus,
      { AWS_REGION: 'us-east-1' },
      { bucket: BUCKET, prefix: 'raw/', tables: { limits: 'limits', trace: 'trace' } },
    );
    Object.assign(process.env, { TRACE_TABLE: 'trace', TRACE_RETENTION_DAYS: '30' });
    aws = new InMemoryAws({ tables: TABLES });
    router = makeRouter({ env, zones: corpus.zones, transport: aws, now: corpus.now.toISOString() });
  });
  after(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  });

  const route = async (id: string) => {
    await aws.putObject(BUCKET, `raw/${id}`, corpus.messages[0]!.raw);
    await router(receiptEvent({ messageId: id }), lambdaContext('router') as never);
  };

  it('the plain message: claim + count + final record = 4 WRU, one of them the index entry', async () => {
    await route('units-first'); // creates the sender's limits item (the bench leaves it out too)
    aws.resetTally();
    const id = 'units-0100019a2b3c4d5e-6f708192-a3b4-c5d6-e7f8-09a1b2c3d4e5-000000';
    await route(id);
    const t = aws.tally.dynamo;
    assert.deepEqual(t.requests, { UpdateItem: 3 }, 'claim, limits count, final record');
    assert.equal(t.gsiWru, 1, 'one index entry');
    assert.equal(t.wru, 4);
    assert.equal(t.conditionalFailures, 0);
    // The main item stays under 1 KB (the final write is billed on the item after it).
    const client = new DynamoDBClient(awsConfig(aws));
    const item = (
      await client.send(
        new GetItemCommand({ TableName: 'trace', Key: { pk: { S: `M#${id}` }, sk: { S: 'MSG' } } }),
      )
    ).Item;
    const bytes = itemSize(item as never);
    assert.ok(bytes > 500 && bytes <= 1024, `main item ${bytes} bytes`);

    // Feedback, as the default rule delivers: Send and Delivery do not reach the function.
    const feedback = makeFeedback(aws);
    const filed = new Set(feedbackDetailTypes(false));
    const events = feedbackEvents(aws.sent.at(-1)!, corpus.now) as { 'detail-type': string }[];
    assert.deepEqual(
      events.map((e) => e['detail-type']),
      ['Email Sent', 'Email Delivered'],
    );
    aws.resetTally();
    for (const e of events.filter((x) => filed.has(x['detail-type']))) {
      await feedback(e, lambdaContext('feedback') as never);
    }
    assert.equal(aws.tally.dynamo.wru, 0, 'a delivered message costs the feedback path nothing');

    // A bounce does reach it: one event item, 1 WRU (+ one consistent read of the main item).
    const [, delivery] = events as unknown as { detail: Record<string, unknown> }[];
    const bounce = {
      ...delivery,
      'detail-type': 'Email Bounced',
      detail: {
        eventType: 'Bounce',
        mail: delivery!.detail.mail,
        bounce: {
          bounceType: 'Permanent',
          bounceSubType: 'General',
          bouncedRecipients: [
            { emailAddress: 'dest@remote.test', diagnosticCode: 'smtp; 550 5.1.1 no such user' },
          ],
          timestamp: corpus.now.toISOString(),
        },
      },
    };
    assert.ok(filed.has(bounce['detail-type']));
    const result = (await feedback(bounce, lambdaContext('feedback') as never)) as { appended: number };
    assert.equal(result.appended, 1);
    assert.equal(aws.tally.dynamo.wru, 1);
    assert.equal(aws.tally.dynamo.gsiWru, 0);
  });

  it('a message to 50 destinations: one item and one index entry of 2 KB each, 4 WRU for the final record', async () => {
    const store = new DynamoTraceStore({
      client: new DynamoDBClient(awsConfig(aws)),
      tableName: 'trace',
      retentionDays: 30,
    });
    const fifty = Array.from(
      { length: 50 },
      (_, k) => `member-${String(k).padStart(2, '0')}@lists.example.org`,
    );
    const summary: TraceSummary = {
      messageId: 'units-fifty',
      receivedAt: corpus.now.toISOString(),
      sender: 'alice@sender.test',
      recipients: ['team@example.com'],
      destinations: fifty,
      unrouted: [],
      pool: 'normal',
      outboundIpPoolName: 'outbound-normal',
      configurationSet: 'outbound-normal',
      reasons: ['spf-pass', 'dkim-aligned-pass', 'srs-rewritten'],
      plan: [
        {
          kind: 'forward',
          to: fifty,
          pool: 'normal',
          configurationSet: 'outbound-normal',
          envelopeFrom: 'SRS0=beFX=JM=sender.test=alice@fwd.example.com',
          from: '"Alice via example.com" <team@example.com>',
          fromRewritten: true,
          replyTo: '"Alice" <alice@sender.test>',
          identity: 'team@example.com',
          routes: ['team@example.com'],
        },
      ],
      sizeBytes: 3226,
      decisionMs: 1,
    };
    await store.claim('units-fifty', corpus.now, 60_000);
    aws.resetTally();
    await store.recordSend(
      'units-fifty',
      1,
      {
        index: 0,
        kind: 'forward',
        to: fifty,
        pool: 'normal',
        configurationSet: 'outbound-normal',
        tenant: 'outbound-normal',
        envelopeFrom: summary.plan[0]!.envelopeFrom,
        status: 'sent',
        sesMessageId: '0100019a-fifty',
        at: corpus.now.toISOString(),
      },
      summary,
      true,
    );
    const t = aws.tally.dynamo;
    assert.deepEqual(t.requests, { UpdateItem: 1 }, 'no pointer items, whatever the recipients');
    // The destinations are on the item and in its index entry once each (the plan's and the
    // send's `to` are left out: they are the destinations): 2 KB item, 2 KB index entry.
    assert.equal(t.gsiWru, 2);
    assert.equal(t.wru, 4);
    assert.deepEqual((await store.get('units-fifty'))?.summary, summary);
  });
});
