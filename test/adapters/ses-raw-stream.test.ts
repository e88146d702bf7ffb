/**
 * The streamed SendEmail body (`ses-raw-stream.ts`): the same bytes the stock SDK would send,
 * signed over their own hash, and accepted by the SES emulator (aws-ses-v2-local parses the
 * JSON body) with the message byte for byte.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import type { HttpRequest } from '@smithy/types';
import fc from 'fast-check';
import { SesMailer } from '../../functions/adapters/ses-mailer.js';
import {
  alignedChunks,
  bodyChunks,
  bodyLength,
  bodySha256,
  DATA_PLACEHOLDER,
  rawSendData,
  STREAM_FROM_BYTES,
  splitAtPlaceholder,
} from '../../functions/adapters/ses-raw-stream.js';
import type { SendRequest } from '../../functions/core/ports.js';
import {
  EMULATOR_CREDENTIALS,
  EMULATOR_REGION,
  type SesEmulator,
  startSes,
} from '../../sandbox/emulators/index.js';

/** Bytes 0..255 in a pattern that never repeats at a multiple of 3 (so misaligned chunks show). */
const bytes = (n: number, seed = 1) => {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + seed) % 251;
  return out;
};

/** Cuts `raw` at `cuts` (sorted offsets) into views. */
const pieces = (raw: Buffer, cuts: number[]) =>
  [0, ...cuts, raw.length].slice(1).map((end, i, ends) => raw.subarray(i === 0 ? 0 : ends[i - 1], end));

const request = (raw: SendRequest['raw']): SendRequest => ({
  raw,
  to: ['d@remote.test'],
  configurationSet: 'outbound-normal',
  tenant: 'outbound-normal-tenant',
  fromAddress: 'a@example.com',
  feedbackForwardingAddress: 'bounce@example.com',
  tags: [
    { name: 'pool', value: 'normal' },
    { name: 'reasons', value: 'dkim-pass_spf-pass' },
  ],
});

describe('aligned base64 chunks', () => {
  it('base64 of the chunks, joined, is the base64 of the whole message, for any cut', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }),
        fc.array(fc.nat(400), { maxLength: 6 }),
        fc.integer({ min: 1, max: 40 }),
        (data, cutsRaw, third) => {
          const raw = Buffer.from(data);
          const cuts = [...new Set(cutsRaw.map((c) => c % (raw.length + 1)))].sort((a, b) => a - b);
          const size = third * 3;
          const chunks = [...alignedChunks(pieces(raw, cuts), size)];
          assert.ok(chunks.slice(0, -1).every((c) => c.length === size));
          assert.ok(Buffer.concat(chunks).equals(raw));
          assert.equal(chunks.map((c) => c.toString('base64')).join(''), raw.toString('base64'));
        },
      ),
    );
  });

  it('a chunk size that is not a positive multiple of 3 is refused', () => {
    for (const size of [0, -3, 4, 65_536]) {
      assert.throws(() => [...alignedChunks([bytes(10)], size)], RangeError);
    }
  });
});

describe('the streamed body against the stock SDK request', () => {
  /** Every request the SDK hands its HTTP layer, body read out, answered with an error. */
  const capture = () => {
    const seen: { headers: Record<string, string>; body: Buffer; streamed: boolean }[] = [];
    const client = new SESv2Client({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
      requestHandler: {
        handle: async (req: HttpRequest) => {
          const body = req.body as unknown;
          const streamed = typeof (body as { pipe?: unknown }).pipe === 'function';
          const parts: Buffer[] = [];
          if (streamed) for await (const c of body as AsyncIterable<Uint8Array>) parts.push(Buffer.from(c));
          else {
            const u = body as Uint8Array;
            parts.push(Buffer.from(u.buffer, u.byteOffset, u.byteLength));
          }
          seen.push({ headers: { ...req.headers }, body: Buffer.concat(parts), streamed });
          throw Object.assign(new Error('captured'), { name: 'Captured' });
        },
      },
    });
    return { client, seen };
  };

  it('sends the stock body byte for byte, with its length and its SHA-256 signed', async () => {
    // Prepare: the stock request (one buffer, stock path) and the streamed one (three pieces).
    const raw = bytes(100_003);
    const { client, seen } = capture();
    // Act
    await assert.rejects(new SesMailer(client, { streamFromBytes: Infinity }).send(request(raw)));
    await assert.rejects(
      new SesMailer(client, { streamFromBytes: 0 }).send(request(pieces(raw, [5, 70_001]))),
    );
    // Assess
    const [stock, streamed] = seen;
    assert.equal(stock?.streamed, false);
    assert.equal(streamed?.streamed, true);
    assert.ok(streamed.body.equals(stock.body));
    assert.equal(streamed.headers['content-length'], String(streamed.body.length));
    assert.equal(streamed.headers['content-length'], stock.headers['content-length']);
    const sha = createHash('sha256').update(streamed.body).digest('hex');
    assert.equal(streamed.headers['x-amz-content-sha256'], sha);
    assert.equal(stock.headers['x-amz-content-sha256'], sha);
    // The same headers as the stock request, all signed alike.
    const signed = (h: Record<string, string>) => /SignedHeaders=([^,]+)/.exec(h.authorization ?? '')?.[1];
    assert.equal(signed(streamed.headers), signed(stock.headers));
    assert.match(signed(streamed.headers) ?? '', /(^|;)x-amz-content-sha256(;|$)/);
    assert.deepEqual(Object.keys(streamed.headers).sort(), Object.keys(stock.headers).sort());
  });

  it('only messages of the threshold and more are streamed', () => {
    assert.equal(rawSendData(bytes(STREAM_FROM_BYTES - 1)).stream, null);
    assert.ok(rawSendData(bytes(10), 0).stream);
    const big = rawSendData([bytes(STREAM_FROM_BYTES - 1), bytes(1)]);
    assert.ok(big.stream);
    assert.equal(big.data, DATA_PLACEHOLDER);
    // Below it the pieces go out joined.
    assert.ok(
      Buffer.from(rawSendData([bytes(3), bytes(4, 9)]).data).equals(Buffer.concat([bytes(3), bytes(4, 9)])),
    );
  });

  it('length and hash are those of the bytes streamed', () => {
    const body = splitAtPlaceholder(
      JSON.stringify({
        Content: { Raw: { Data: Buffer.from(DATA_PLACEHOLDER).toString('base64') } },
        X: 'é',
      }),
      pieces(bytes(1_000), [1, 2, 500]),
    );
    const all = Buffer.concat([...bodyChunks(body, 6)]);
    assert.equal(bodyLength(body), all.length);
    assert.equal(bodySha256(body, 6), createHash('sha256').update(all).digest('hex'));
    assert.equal(bodySha256(body), bodySha256(body, 6));
    const parsed = JSON.parse(all.toString('utf8')) as { Content: { Raw: { Data: string } }; X: string };
    assert.ok(Buffer.from(parsed.Content.Raw.Data, 'base64').equals(bytes(1_000)));
    assert.equal(parsed.X, 'é');
  });

  it('a body without the placeholder exactly once is refused (never sent with the wrong data)', () => {
    const field = `"Raw":{"Data":"${Buffer.from(DATA_PLACEHOLDER).toString('base64')}"}`;
    for (const json of ['{"Content":{"Raw":{"Data":"AAAA"}}}', `{"A":{${field}},"B":{${field}}}`, '']) {
      assert.throws(() => splitAtPlaceholder(json, [bytes(3)]), /no single placeholder/);
    }
  });
});

describe('streamed SendEmail against the SES emulator', () => {
  let ses: SesEmulator;
  let client: SESv2Client;
  before(async () => {
    ses = await startSes();
    client = new SESv2Client({
      endpoint: ses.endpoint,
      region: EMULATOR_REGION,
      credentials: { ...EMULATOR_CREDENTIALS },
    });
  });
  after(() => ses.stop());

  const message = (bodyBytes: number) =>
    Buffer.concat([
      Buffer.from(
        'From: a@example.com\r\nTo: d@remote.test\r\nSubject: big\r\nContent-Type: application/octet-stream\r\n\r\n',
      ),
      bytes(bodyBytes, 3),
    ]);

  for (const [name, raw, cuts, options] of [
    [
      'a small message streamed (threshold 0), cut off the 3-byte grid',
      message(10_000),
      [1, 97, 5_000],
      { streamFromBytes: 0 },
    ],
    ['a 1 MiB message at the default threshold, as header + body', message(1024 * 1024), [97], {}],
  ] as const) {
    it(`${name}: received byte for byte`, async () => {
      // Prepare
      await ses.clear();
      // Act
      const { messageId } = await new SesMailer(client, options).send(request(pieces(raw, [...cuts])));
      // Assess: what the emulator decoded from the JSON it parsed is the message.
      const sent = ses.sent();
      assert.equal(sent.length, 1);
      assert.equal(sent[0]!.messageId, messageId);
      assert.equal(sent[0]!.content, 'Raw');
      assert.ok(sent[0]!.raw.equals(raw));
      assert.deepEqual(sent[0]!.destination.ToAddresses, ['d@remote.test']);
      assert.equal(sent[0]!.configurationSetName, 'outbound-normal');
      assert.deepEqual(
        sent[0]!.emailTags,
        request(raw).tags.map((t) => ({ Name: t.name, Value: t.value })),
      );
    });
  }

  it('a retried attempt (after a 500) sends a fresh stream of the whole message', async () => {
    // Prepare: the first attempt fails on the server side; the SDK retries.
    await ses.clear();
    ses.resetCounts();
    ses.failNext(1, { status: 500, code: 'InternalFailure' });
    const raw = message(50_000);
    // Act
    await new SesMailer(client, { streamFromBytes: 0 }).send(request(pieces(raw, [100])));
    // Assess
    assert.equal(ses.requests().SendEmail, 2);
    assert.equal(ses.sent().length, 1);
    assert.ok(ses.sent()[0]!.raw.equals(raw));
  });
});
