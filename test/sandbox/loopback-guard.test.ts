/**
 * The loopback servers of the sandbox refuse what only a web page would send them
 * (`sandbox/loopback-guard.ts`): a Host header naming another site (DNS rebinding) is answered
 * 421 by all of them; a request with an `Origin` header, or a CORS preflight, is answered 403 by
 * the emulators, which serve SDK clients only. Each emulator is checked on its own, without a
 * browser (a browser run over a whole sandbox is in web-surfaces.test.ts).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { GetConfigurationSetCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import type { TraceRecord } from '../../functions/adapters/dynamo-trace-store.js';
import { type Emulators, startEmulators } from '../../sandbox/emulators/index.js';
import { ownHosts } from '../../sandbox/loopback-guard.js';
import { startTraceApiServer, type TraceApiServer } from '../../sandbox/trace-api-server.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One raw HTTP request, with exactly the headers given (Host included). */
function send(
  endpoint: string,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<Answer> {
  const u = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: { host: u.host, ...opts.headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const DYNAMO_HEADERS = {
  'content-type': 'application/x-amz-json-1.0',
  'x-amz-target': 'DynamoDB_20120810.ListTables',
  authorization:
    'AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00',
  'x-amz-date': '20261207T000000Z',
};

describe('ownHosts', () => {
  it('names the loopback server by address and by localhost, with its port', () => {
    assert.deepEqual([...ownHosts(4321)].sort(), ['127.0.0.1:4321', 'localhost:4321']);
    assert.ok(ownHosts(4321, '::1').has('[::1]:4321'));
    assert.ok(ownHosts(80).has('localhost'));
    assert.ok(!ownHosts(4321).has('localhost'));
  });
});

describe('the trace API server and a foreign Host', () => {
  const record: TraceRecord = {
    messageId: 'secret-1',
    receivedAt: new Date().toISOString(),
    status: 'done',
    attempt: 1,
    leaseUntil: '',
    expiresAt: 0,
    summary: null,
    sends: [],
    events: [],
    eventsTruncated: false,
  };
  let server: TraceApiServer;
  before(async () => {
    server = await startTraceApiServer({
      get: async (id) => (id === record.messageId ? record : null),
      query: async () => [record],
    });
  });
  after(() => server.close());

  it('answers its own host, by address or as localhost', async () => {
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`]) {
      const r = await send(server.url, { path: '/messages/secret-1', headers: { host } });
      assert.equal(r.status, 200, host);
    }
  });

  it('refuses a rebound name with 421, before reading anything', async () => {
    const r = await send(server.url, {
      path: '/messages/secret-1',
      headers: { host: `rebind.attacker.test:${server.port}` },
    });
    assert.equal(r.status, 421);
    assert.doesNotMatch(r.body, /secret-1/);
  });
});

describe('the emulators refuse web pages and foreign hosts', () => {
  let emu: Emulators;
  before(async () => {
    emu = await startEmulators({ buckets: ['guarded'] });
  });
  after(() => emu?.stop());

  const endpoints = () => ({
    dynamodb: emu.dynamodb.endpoint,
    s3: emu.s3.endpoint,
    ses: emu.ses.endpoint,
    sns: emu.sns.endpoint,
    sqs: emu.sqs.endpoint,
    lambda: emu.lambda.endpoint,
  });

  it('still serve SDK clients', async () => {
    await new DynamoDBClient(emu.clientConfig('dynamodb')).send(new ListTablesCommand({}));
    const buckets = await new S3Client(emu.clientConfig('s3')).send(new ListBucketsCommand({}));
    assert.ok(buckets.Buckets?.some((b) => b.Name === 'guarded'));
    const set = await new SESv2Client(emu.clientConfig('sesv2')).send(
      new GetConfigurationSetCommand({ ConfigurationSetName: 'pool-normal' }),
    );
    assert.equal(set.SendingOptions?.SendingEnabled, true);
  });

  it('answer 421 to a Host naming another site', async () => {
    for (const [service, endpoint] of Object.entries(endpoints())) {
      const port = new URL(endpoint).port;
      const r = await send(endpoint, {
        method: 'POST',
        headers: { ...DYNAMO_HEADERS, host: `rebind.attacker.test:${port}` },
        body: '{}',
      });
      assert.equal(r.status, 421, `${service} answered ${r.status}: ${r.body.slice(0, 200)}`);
    }
  });

  it('answer 403 to a request carrying an Origin, and grant no CORS', async () => {
    for (const [service, endpoint] of Object.entries(endpoints())) {
      const r = await send(endpoint, {
        method: 'POST',
        headers: { ...DYNAMO_HEADERS, origin: 'http://localhost:9999' },
        body: '{}',
      });
      assert.equal(r.status, 403, `${service} answered ${r.status}: ${r.body.slice(0, 200)}`);
      assert.equal(r.headers['access-control-allow-origin'], undefined, service);
    }
  });

  it('answer 403 to a CORS preflight', async () => {
    for (const [service, endpoint] of Object.entries(endpoints())) {
      const r = await send(endpoint, {
        method: 'OPTIONS',
        headers: {
          origin: 'http://localhost:9999',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-amz-target,authorization',
        },
      });
      assert.equal(r.status, 403, `${service} answered ${r.status}`);
      assert.equal(r.headers['access-control-allow-origin'], undefined, service);
      assert.equal(r.headers['access-control-allow-methods'], undefined, service);
    }
  });

  it('dynalite still answers a request without Origin on its own host', async () => {
    const r = await send(emu.dynamodb.endpoint, { method: 'POST', headers: DYNAMO_HEADERS, body: '{}' });
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /TableNames/);
  });

  it('the SES proxy serves no viewer page, and nothing it serves may run a script', async () => {
    const viewer = await send(emu.ses.endpoint, { path: '/' });
    assert.equal(viewer.status, 404);
    assert.match(String(viewer.headers['content-type']), /^text\/plain/);
    assert.doesNotMatch(viewer.body, /<script|<iframe/i);
    assert.match(viewer.body, /console/);
    for (const path of ['/', '/store', '/no-such-path']) {
      const r = await send(emu.ses.endpoint, { path });
      const csp = String(r.headers['content-security-policy']);
      assert.match(csp, /default-src 'none'/, path);
      assert.match(csp, /(^|;\s*)sandbox(;|$)/, path);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', path);
    }
    const store = await send(emu.ses.endpoint, { path: '/store' });
    assert.equal(store.status, 200);
    assert.ok(Array.isArray((JSON.parse(store.body) as { emails: unknown[] }).emails));
  });
});
