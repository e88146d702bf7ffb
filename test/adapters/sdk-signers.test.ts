/**
 * `reuseSigners`: a client signs every request exactly as it did without (the same signed
 * headers, byte for byte, at a frozen clock), while its SDK configuration builds one signer per
 * auth scheme instead of one per request.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it, mock } from 'node:test';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { HttpRequest, HttpResponse } from '@smithy/types';
import { reuseSigners } from '../../functions/adapters/sdk-signers.js';
import { expectedAuthorization, TEST_CREDENTIALS } from '../helpers/sigv4.js';

function capturing(body: string) {
  const requests: HttpRequest[] = [];
  return {
    requests,
    config: {
      region: 'eu-west-1',
      credentials: { ...TEST_CREDENTIALS },
      requestHandler: {
        async handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
          requests.push(request);
          return {
            response: {
              statusCode: 200,
              headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
              body: Readable.from([Buffer.from(body)]),
            },
          };
        },
      },
    },
  };
}

/** Counts how often the SDK's own signer provider builds a signer. */
function countBuilds(client: { config: object }) {
  const config = client.config as { signer: (scheme?: unknown) => Promise<unknown> };
  const build = config.signer;
  const counter = { builds: 0 };
  config.signer = (scheme?: unknown) => {
    counter.builds++;
    return build(scheme);
  };
  return counter;
}

/** What a request says besides its per-request id (signed, so its signature differs). */
const unsigned = (r: HttpRequest) => {
  const { authorization: _a, 'amz-sdk-invocation-id': _i, ...headers } = r.headers;
  return { method: r.method, hostname: r.hostname, path: r.path, headers };
};

describe('reuseSigners', () => {
  const cases = [
    {
      name: 'DynamoDB',
      body: '{}',
      make: (c: object) => new DynamoDBClient(c),
      command: () => new GetItemCommand({ TableName: 't', Key: { pk: { S: 'x' } } }),
    },
    {
      name: 'S3',
      body: '',
      make: (c: object) => new S3Client(c),
      command: () => new HeadObjectCommand({ Bucket: 'bucket', Key: 'raw/x' }),
    },
    {
      name: 'SESv2',
      body: '{"MessageId":"m"}',
      make: (c: object) => new SESv2Client(c),
      command: () =>
        new SendEmailCommand({
          FromEmailAddress: 'a@b.example',
          Destination: { ToAddresses: ['c@d.example'] },
          Content: { Raw: { Data: Buffer.from('Subject: x\r\n\r\nbody\r\n') } },
        }),
    },
  ];

  for (const c of cases) {
    it(`${c.name}: the same signatures, one signer built for many requests`, async () => {
      mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-12-07T10:00:00Z') });
      try {
        const plain = capturing(c.body);
        const reused = capturing(c.body);
        const client = c.make(reused.config) as { send(x: unknown): Promise<unknown>; config: object };
        const counter = countBuilds(client);
        reuseSigners(client);
        const baseline = c.make(plain.config) as { send(x: unknown): Promise<unknown> };
        for (let i = 0; i < 3; i++) {
          await client.send(c.command());
          await baseline.send(c.command());
        }
        assert.equal(counter.builds, 1);
        assert.equal(reused.requests.length, 3);
        assert.deepEqual(reused.requests.map(unsigned), plain.requests.map(unsigned));
        for (const r of [...reused.requests, ...plain.requests]) {
          assert.equal(r.headers.authorization, expectedAuthorization(r));
        }
      } finally {
        mock.timers.reset();
      }
    });
  }

  it('builds a signer per distinct auth scheme, and does not keep a failed build', async () => {
    let builds = 0;
    let fail = true;
    const client = {
      config: {
        signer: async (scheme?: unknown) => {
          builds++;
          if (fail) throw new Error('no credentials yet');
          return { scheme };
        },
      },
    };
    reuseSigners(client);
    const signer = client.config.signer;
    await assert.rejects(signer({ name: 'sigv4', signingRegion: 'eu-west-1' }), /no credentials/);
    fail = false;
    const a = await signer({ name: 'sigv4', signingRegion: 'eu-west-1' });
    const b = await signer({ name: 'sigv4', signingRegion: 'eu-west-1' });
    const c = await signer({ name: 'sigv4', signingRegion: 'us-east-1' });
    const d = await signer();
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.deepEqual(d, { scheme: undefined });
    assert.equal(builds, 4);
  });
});
