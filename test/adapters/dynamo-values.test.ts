/**
 * The hot path's low-level DynamoDB values (`dynamo-values.ts`, `tables.ts` `updateItem`)
 * against the document client as the oracle: for any plain value, the low-level request puts
 * the same JSON on the wire as lib-dynamodb's `UpdateCommand` (removeUndefinedValues), and an
 * answer reads back as the document client reads it. Both clients send through one capturing
 * request handler; nothing is mocked inside the SDK.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { HttpRequest, HttpResponse } from '@smithy/types';
import fc from 'fast-check';
import { DynamoClients, updateItem } from '../../functions/adapters/dynamo-clients.js';
import { fromAttributes, toAttribute, toAttributes } from '../../functions/adapters/dynamo-values.js';

/** Answers every request with `answer` and keeps the JSON bodies it was sent. */
function capturing() {
  const bodies: Record<string, unknown>[] = [];
  let answer = '{}';
  const handler = {
    async handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
      bodies.push(JSON.parse(String(request.body)));
      const response = {
        statusCode: 200,
        headers: { 'content-type': 'application/x-amz-json-1.0' },
        body: Readable.from([Buffer.from(answer)]),
      };
      return { response };
    },
  };
  const config = {
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
    requestHandler: handler,
  };
  const low = new DynamoDBClient(config);
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return {
    low,
    doc,
    bodies,
    answer: (json: unknown) => {
      answer = JSON.stringify(json);
    },
  };
}

// Plain data as the trace and limits items hold it, with members the document client drops.
const scalar = fc.oneof(
  fc.string(),
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e15, max: 1e15 }),
  fc.boolean(),
  fc.constant(null),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('list'), tie('map')),
  list: fc.array(fc.oneof(tie('value'), fc.constant(undefined)), { maxLength: 4 }),
  map: fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(tie('value'), fc.constant(undefined)), {
    maxKeys: 4,
  }),
}));
const values = fc.dictionary(fc.stringMatching(/^:v[0-9]{1,2}$/), fc.oneof(value, fc.constant(undefined)), {
  minKeys: 1,
  maxKeys: 5,
});

/** What a value is once stored: undefined members gone, -0 written as "0". */
function stored(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => x !== undefined).map(stored);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [k, stored(x)]),
    );
  }
  return Object.is(v, -0) ? 0 : v;
}

const input = (eav: Record<string, unknown>) => ({
  TableName: 't',
  Key: { pk: 'M#x', sk: 'MSG' },
  UpdateExpression: 'SET a = :v0',
  ExpressionAttributeValues: eav,
});

describe('dynamo-values: the document client as the oracle', () => {
  it('a low-level UpdateItem sends the JSON the document client sends, for any plain values', async () => {
    const c = capturing();
    await fc.assert(
      fc.asyncProperty(values, async (eav) => {
        c.bodies.length = 0;
        await c.doc.send(new UpdateCommand(input(eav)));
        const i = input(eav);
        await c.low.send(
          new UpdateItemCommand({
            ...i,
            Key: toAttributes(i.Key),
            ExpressionAttributeValues: toAttributes(i.ExpressionAttributeValues),
          }),
        );
        await updateItem(c.low, input(eav));
        assert.equal(c.bodies.length, 3);
        assert.deepEqual(c.bodies[1], c.bodies[0]);
        assert.deepEqual(c.bodies[2], c.bodies[0]);
      }),
      { numRuns: 150 },
    );
  });

  it('an answer reads back as the document client reads it', async () => {
    const c = capturing();
    await fc.assert(
      fc.asyncProperty(values, async (eav) => {
        // The document client's own marshalling of the values, answered back as the item.
        c.bodies.length = 0;
        await c.doc.send(new UpdateCommand(input(eav)));
        const sent = (c.bodies[0]!.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
        c.answer({ Attributes: sent });
        const byDoc = (await c.doc.send(new UpdateCommand({ ...input(eav), ReturnValues: 'ALL_NEW' })))
          .Attributes;
        const byLow = await updateItem(c.low, { ...input(eav), ReturnValues: 'ALL_NEW' });
        assert.deepEqual(byLow, byDoc);
        // And what was written comes back, without its undefined members.
        assert.deepEqual(byLow, stored(eav));
        c.answer({});
      }),
      { numRuns: 100 },
    );
  });

  it('reads every DynamoDB type as the document client does (sets, binary, numbers beyond 2^53)', async () => {
    const c = capturing();
    const attributes = {
      s: { S: 'x' },
      n: { N: '-12.5' },
      big: { N: '123456789012345678901234567890' },
      huge: { N: '1e400' },
      b: { B: Buffer.from('hi').toString('base64') },
      ss: { SS: ['a', 'b'] },
      ns: { NS: ['1', '99999999999999999999'] },
      bs: { BS: [Buffer.from('a').toString('base64')] },
      t: { BOOL: true },
      z: { NULL: true },
      l: { L: [{ S: 'a' }, { M: { k: { N: '1' } } }] },
    };
    c.answer({ Attributes: attributes });
    const byDoc = (await c.doc.send(new UpdateCommand({ ...input({ ':v0': 1 }), ReturnValues: 'ALL_NEW' })))
      .Attributes;
    const byLow = await updateItem(c.low, { ...input({ ':v0': 1 }), ReturnValues: 'ALL_NEW' });
    assert.deepEqual(byLow, byDoc);
    assert.equal(byLow?.big, 123456789012345678901234567890n);
    assert.equal(byLow?.huge, Number.POSITIVE_INFINITY);
  });

  it('refuses what the hot path never stores, where the document client refuses it too', async () => {
    const c = capturing();
    for (const bad of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -Number.POSITIVE_INFINITY,
      2 ** 53,
      -(2 ** 53),
    ]) {
      assert.throws(() => toAttribute(bad), TypeError, String(bad));
      await assert.rejects(c.doc.send(new UpdateCommand(input({ ':v0': bad }))), Error);
      await assert.rejects(updateItem(c.low, input({ ':v0': bad })), TypeError);
    }
    // Types the document client would convert but this path never writes: a loud refusal.
    for (const other of [new Set(['a']), new Map([['a', 1]]), Buffer.from('x'), 1n, new Date(0), undefined]) {
      assert.throws(() => toAttribute(other), TypeError);
    }
    assert.throws(() => toAttribute({ nested: [new Set([1])] }), /Set/);
  });

  it('drops undefined and function members as the document client does', () => {
    assert.deepEqual(toAttributes({ a: undefined, b: () => 1, c: [1, undefined, () => 2] }), {
      c: { L: [{ N: '1' }] },
    });
    assert.deepEqual(fromAttributes({ m: { M: { x: { S: '' } } } }), { m: { x: '' } });
  });
});

describe('DynamoClients', () => {
  it('builds the document client only when something asks for it', async () => {
    const c = capturing();
    let built = 0;
    const clients = new DynamoClients({
      client: c.low,
      documents: () => {
        built++;
        return c.doc;
      },
    });
    assert.equal(built, 0);
    assert.equal(clients.doc, c.doc);
    assert.equal(clients.doc, c.doc);
    assert.equal(built, 1);
  });

  it('refuses a client that caches its middleware without a document client of its own', () => {
    const cached = new DynamoDBClient({ region: 'us-east-1', cacheMiddleware: true });
    assert.throws(() => new DynamoClients({ client: cached }), /cacheMiddleware/);
    const plain = new DynamoDBClient({ region: 'us-east-1' });
    assert.ok(new DynamoClients({ client: plain }).doc instanceof DynamoDBDocumentClient);
  });
});
