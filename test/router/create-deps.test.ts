/**
 * `createDeps(env, overrides, { clientConfig })`: every request the router sends (SSM at start,
 * S3, DynamoDB, SESv2; most signed by hand over the DynamoDB client's configuration) goes
 * through the given request handler, signed with the given credentials for the given region — what the bench and tests rely on to run the real adapters
 * over an in-memory transport. The oracle is the requests themselves: host, SigV4 credential
 * scope (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { HttpRequest } from '@smithy/types';
import { createDeps } from '../../functions/router/handler.js';
import { settingsEnvironment } from '../../functions/router/settings.js';
import { CONFIG_JSON, NOW } from '../helpers/mail.js';
import { requestHandler } from '../helpers/request-handler.js';

const KEY_ID = 'AKIDCREATEDEPSTEST';

/** Records every request and answers as the service would for what this test asks. */
function recordingHandler() {
  const seen: { host: string; method: string; path: string; target: string; authorization: string }[] = [];
  const answer = (status: number, body: string, contentType = 'application/json') => ({
    response: {
      statusCode: status,
      headers: { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)) },
      body: Readable.from([Buffer.from(body)]),
    },
  });
  const handle = async (request: HttpRequest) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    seen.push({
      host: request.hostname,
      method: request.method,
      path: request.path,
      target,
      authorization: String(request.headers.authorization ?? ''),
    });
    if (target === 'AmazonSSM.GetParameter') {
      return answer(200, JSON.stringify({ Parameter: { Name: '/op/srs', Value: 'secret-from-ssm-0001' } }));
    }
    if (request.hostname.includes('.s3.')) {
      const raw = 'From: a@sender.test\r\nTo: alias@example.com\r\nSubject: x\r\n\r\nbody\r\n';
      return answer(200, raw, 'message/rfc822');
    }
    if (target.startsWith('DynamoDB_20120810.')) return answer(200, '{}', 'application/x-amz-json-1.0');
    return answer(200, JSON.stringify({ MessageId: 'ses-1' }));
  };
  return { seen, ...requestHandler(handle) };
}

/** The router's environment with its SRS secrets in SSM (so the start reads them). */
function routerEnvWithSsmSecrets() {
  return settingsEnvironment({
    config: { ...CONFIG_JSON, srs: { domain: 'fwd.example.com', secretsParameter: '/op/srs' } },
    mailBucket: 'mail-bucket',
    mailPrefix: 'raw/',
    limitsTable: 'limits-t',
    traceTable: 'trace-t',
    leaseSeconds: 60,
    restrictionCacheSeconds: 0,
  });
}

describe('createDeps with SDK client configuration', () => {
  it('sends every client through the request handler, signed with the credentials for the region', async () => {
    // Prepare: SRS secrets in SSM, so the SSM client is built and used at start.
    const handler = recordingHandler();
    const env = routerEnvWithSsmSecrets();
    const clientConfig = {
      requestHandler: handler,
      region: 'eu-west-3',
      credentials: { accessKeyId: KEY_ID, secretAccessKey: 'test-secret' },
    };
    // Act
    const deps = await createDeps(env, { clock: () => NOW }, { clientConfig });
    const { raw } = await deps.mailStore.get('m-1', 1_000_000);
    await deps.trace.release('m-1', 1, NOW).catch(() => false);
    const sent = await deps.mailer.send({
      fromAddress: 'srs@fwd.example.com',
      to: ['dest@remote.test'],
      raw: Buffer.from('From: a@b\r\n\r\nx\r\n'),
      configurationSet: 'normal',
      tags: [],
    } as unknown as Parameters<typeof deps.mailer.send>[0]);
    // Assess
    assert.deepEqual(deps.config.srs.secrets, ['secret-from-ssm-0001']);
    assert.match(raw.toString(), /Subject: x/);
    assert.equal(sent.messageId, 'ses-1');
    const hosts = handler.seen.map((r) => r.host);
    assert.ok(hosts.includes('ssm.eu-west-3.amazonaws.com'), hosts.join());
    assert.ok(hosts.includes('mail-bucket.s3.eu-west-3.amazonaws.com'), hosts.join());
    assert.ok(hosts.includes('dynamodb.eu-west-3.amazonaws.com'), hosts.join());
    assert.ok(hosts.includes('email.eu-west-3.amazonaws.com'), hosts.join());
    const s3 = handler.seen.find((r) => r.host.includes('.s3.'))!;
    assert.equal(s3.path, '/raw/m-1');
    for (const r of handler.seen) {
      const service = r.host.split('.')[r.host.includes('.s3.') ? 1 : 0];
      const scope = service === 'email' ? 'ses' : service;
      assert.match(
        r.authorization,
        new RegExp(`Credential=${KEY_ID}/\\d{8}/eu-west-3/${scope}/aws4_request`),
      );
    }
  });

  for (const [what, value, ignore] of [
    ['an empty AWS_ENDPOINT_URL_* is not a configured endpoint (the SDK skips it)', '', undefined],
    [
      'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true: the AWS_ENDPOINT_URL_* variables are not read',
      'http://127.0.0.1:9',
      'true',
    ],
  ] as const) {
    it(`${what}: the regional endpoints are used`, async () => {
      const handler = recordingHandler();
      const env = routerEnvWithSsmSecrets();
      const names = [
        'AWS_ENDPOINT_URL_SSM',
        'AWS_ENDPOINT_URL_S3',
        'AWS_ENDPOINT_URL_SESV2',
        'AWS_ENDPOINT_URL',
      ];
      const saved = [...names, 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS'].map(
        (n) => [n, process.env[n]] as const,
      );
      for (const n of names) process.env[n] = value;
      if (ignore) process.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = ignore;
      try {
        const clientConfig = {
          requestHandler: handler,
          region: 'eu-west-3',
          credentials: { accessKeyId: KEY_ID, secretAccessKey: 'test-secret' },
        };
        const deps = await createDeps(env, { clock: () => NOW }, { clientConfig });
        await deps.mailStore.get('m-1', 1_000_000);
        await deps.mailer.send({
          fromAddress: 'srs@fwd.example.com',
          to: ['dest@remote.test'],
          raw: Buffer.from('From: a@b\r\n\r\nx\r\n'),
          configurationSet: 'normal',
          tags: [],
        } as unknown as Parameters<typeof deps.mailer.send>[0]);
        const hosts = handler.seen.map((r) => r.host);
        for (const host of [
          'ssm.eu-west-3.amazonaws.com',
          'mail-bucket.s3.eu-west-3.amazonaws.com',
          'email.eu-west-3.amazonaws.com',
        ])
          assert.ok(hosts.includes(host), `${host} in ${hosts.join()}`);
      } finally {
        for (const [n, v] of saved) {
          if (v === undefined) delete process.env[n];
          else process.env[n] = v;
        }
      }
    });
  }

  it('the feedback handler sends its DynamoDB client through the given request handler', async () => {
    const handler = recordingHandler();
    process.env.TRACE_TABLE = 'trace-t';
    const { createFeedbackHandler } = await import('../../functions/feedback/handler.js');
    const feedback = createFeedbackHandler({
      requestHandler: handler,
      region: 'eu-west-3',
      credentials: { accessKeyId: KEY_ID, secretAccessKey: 'test-secret' },
    });
    const detail = {
      eventType: 'Delivery',
      mail: { messageId: 'ses-1', timestamp: NOW.toISOString(), tags: { inbound_id: ['m-1'] } },
      delivery: { recipients: ['dest@remote.test'], timestamp: NOW.toISOString() },
    };
    // The recording handler answers GetItem with no item: the trace is unknown, nothing written.
    const result = await feedback(
      { 'detail-type': 'Email Delivered', source: 'aws.ses', detail },
      {} as never,
    );
    assert.deepEqual(result, { appended: 0, unknown: 1, ignored: 0, alreadyRecorded: 0 });
    assert.deepEqual(
      handler.seen.map((r) => [r.host, r.target]),
      [['dynamodb.eu-west-3.amazonaws.com', 'DynamoDB_20120810.GetItem']],
    );
    assert.match(
      handler.seen[0]!.authorization,
      new RegExp(`Credential=${KEY_ID}/\\d{8}/eu-west-3/dynamodb/`),
    );
  });

  it('without client configuration, builds its clients as before (region from the environment)', async () => {
    const env = settingsEnvironment({
      config: CONFIG_JSON,
      mailBucket: 'mail-bucket',
      mailPrefix: '',
      limitsTable: 'limits-t',
      traceTable: 'trace-t',
      leaseSeconds: 60,
      restrictionCacheSeconds: 0,
    });
    const deps = await createDeps(env, { clock: () => NOW });
    assert.equal(deps.config.srs.secrets[0], CONFIG_JSON.srs.secrets[0]);
  });
});
