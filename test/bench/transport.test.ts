/**
 * The bench's in-memory AWS (`bench/transport.ts`): requests round-trip through the real SDK
 * clients (so the SDK's own serializers, signers and checksum validation accept the answers),
 * and what it counts follows DynamoDB's published rules. Oracles: the CRC-64/NVME check value
 * of "123456789" (0xAE8B14860A799888, the catalogue value the SDK's tests also use), the SDK
 * rejecting a body that no longer matches its checksum, unit arithmetic from the AWS docs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { applyUpdate, evaluateCondition } from '../../bench/dynamo-expressions.js';
import { crc64nvme, InMemoryAws } from '../../bench/transport.js';
import { TRACE_TABLE } from '../../functions/adapters/tables.js';

const config = (aws: InMemoryAws) => ({
  requestHandler: aws,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
});

describe('bench transport', () => {
  it('computes CRC64NVME as S3 does (check value of "123456789")', async () => {
    const digest = Buffer.from(await crc64nvme(Buffer.from('123456789')), 'base64');
    assert.equal(digest.toString('hex'), 'ae8b14860a799888');
  });

  it('S3 GetObject streams the bytes, and the SDK validates the checksum it sends', async () => {
    const aws = new InMemoryAws();
    const body = Buffer.alloc(200_000, 'a');
    await aws.putObject('bucket', 'raw/m1', body);
    const s3 = new S3Client(config(aws));
    const out = await s3.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'raw/m1' }));
    assert.deepEqual(Buffer.from(await out.Body!.transformToByteArray()), body);
    assert.equal(aws.tally.requests['s3:GetObject'], 1);
    // The stored bytes change behind the checksum: the SDK must notice.
    body[10] = 0x62;
    const again = await s3.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'raw/m1' }));
    await assert.rejects(again.Body!.transformToByteArray(), /checksum/i);
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'nope' })), {
      name: 'NoSuchKey',
    });
  });

  it('SESv2 SendEmail answers a MessageId and records the request without the raw message', async () => {
    const aws = new InMemoryAws();
    const ses = new SESv2Client(config(aws));
    const out = await ses.send(
      new SendEmailCommand({
        Destination: { ToAddresses: ['dest@remote.test'] },
        Content: { Raw: { Data: Buffer.from('From: a@b\r\n\r\nhello\r\n') } },
        ConfigurationSetName: 'normal',
        EmailTags: [{ Name: 'inbound_id', Value: 'm-1' }],
      }),
    );
    assert.ok(out.MessageId);
    assert.equal(aws.sent[0]!.messageId, out.MessageId);
    assert.deepEqual(aws.sent[0]!.EmailTags, [{ Name: 'inbound_id', Value: 'm-1' }]);
    assert.equal(
      aws.sent[0]!.rawBase64Bytes,
      Buffer.from('From: a@b\r\n\r\nhello\r\n').toString('base64').length,
    );
  });

  it('DynamoDB: conditions, updates, units (table and GSI) and queries through the document client', async () => {
    const aws = new InMemoryAws({ tables: { trace: TRACE_TABLE } });
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient(config(aws)));
    const key = { pk: 'M#1', sk: 'MSG' };
    // A 1.5 KB item with the index key: 2 WRU for the table + 1 for the index entry, which
    // projects the keys and `sender` but not `pad` (INCLUDE), so it stays under 1 KB.
    const put = await doc.send(
      new PutCommand({
        TableName: 'trace',
        Item: { ...key, pad: 'x'.repeat(1500), gsiPool: 'p', sender: 's', receivedAt: 't' },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    assert.equal(put.ConsumedCapacity?.CapacityUnits, 3);
    assert.equal(aws.tally.dynamo.gsiWru, 1);
    await assert.rejects(
      doc.send(
        new PutCommand({ TableName: 'trace', Item: key, ConditionExpression: 'attribute_not_exists(pk)' }),
      ),
      { name: 'ConditionalCheckFailedException' },
    );
    const updated = await doc.send(
      new UpdateCommand({
        TableName: 'trace',
        Key: key,
        UpdateExpression: 'ADD #n :one SET #s = if_not_exists(#s, :zero) + :one REMOVE pad',
        ExpressionAttributeNames: { '#n': 'n', '#s': 's' },
        ExpressionAttributeValues: { ':one': 1, ':zero': 10 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    assert.equal(updated.Attributes?.n, 1);
    assert.equal(updated.Attributes?.s, 11);
    assert.equal(updated.Attributes?.pad, undefined);
    const got = await doc.send(new GetCommand({ TableName: 'trace', Key: key, ConsistentRead: true }));
    assert.equal(got.Item?.gsiPool, 'p');
    const q = await doc.send(
      new QueryCommand({
        TableName: 'trace',
        IndexName: 'byPoolDay',
        KeyConditionExpression: 'gsiPool = :s AND receivedAt BETWEEN :a AND :b',
        ExpressionAttributeValues: { ':s': 'p', ':a': 'a', ':b': 'z' },
      }),
    );
    assert.equal(q.Count, 1);
    assert.equal(aws.tally.dynamo.conditionalFailures, 1);
  });

  it('evaluates expressions as DynamoDB defines them, and refuses unknown placeholders', () => {
    const item = { a: { N: '3' }, s: { S: 'abc' }, m: { M: { x: { N: '1' } } } };
    const ctx = {
      names: { '#a': 'a', '#m': 'm', '#x': 'x' },
      values: { ':two': { N: '2' }, ':p': { S: 'ab' } },
    };
    assert.equal(evaluateCondition('#a > :two AND begins_with(s, :p)', item, ctx), true);
    assert.equal(evaluateCondition('NOT (#a > :two) OR attribute_not_exists(#m.#x)', item, ctx), false);
    assert.equal(evaluateCondition('#a IN (:two, :two)', item, ctx), false);
    assert.deepEqual(applyUpdate('SET #m.#x = #m.#x + :two, #a = #a - :two', item, ctx).m, {
      M: { x: { N: '3' } },
    });
    assert.throws(() => evaluateCondition('#zz = :two', item, ctx), /undefined name/);
    assert.throws(() => applyUpdate('SET s = s + :two', item, ctx), /incorrect data type/);
  });
});
