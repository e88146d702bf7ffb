/**
 * `GetParameter` signed by hand (issue 16: no SSM client in the router's bundle). Oracles: the
 * SDK's own SSM client, sending the same operation through the same recording handler (the
 * request must be the one it sends), and an independent Signature Version 4 computation with
 * `node:crypto` (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html)
 * that the request's `Authorization` header must match. Every failure is typed and names the
 * field and the parameter (`resolveSrsSecrets`, `loadArcKey`).
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it, mock } from 'node:test';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import type { HttpRequest, HttpResponse } from '@smithy/types';
import { SDK_RETRY } from '../../functions/adapters/aws-errors.js';
import { ssmEndpoint, ssmParameterReader } from '../../functions/adapters/ssm-parameter-reader.js';
import { loadArcKey, resolveSrsSecrets } from '../../functions/adapters/ssm-secrets.js';
import { parseConfig } from '../../functions/core/config.js';
import { ConfigError, isRetryable, TransientDependencyError } from '../../functions/core/errors.js';
import { CONFIG_JSON } from '../helpers/mail.js';
import { requestHandler } from '../helpers/request-handler.js';

const CREDENTIALS = { accessKeyId: 'AKIDSSMTEST', secretAccessKey: 'ssm-test-secret', sessionToken: 'tok-1' };

interface Answer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** Records each request (body read) and answers from the list, or throws what it holds. */
function handler(answers: (Answer | Error)[]) {
  const seen: { request: HttpRequest; body: string }[] = [];
  const handle = async (request: HttpRequest): Promise<{ response: HttpResponse }> => {
    const body =
      request.body instanceof Uint8Array
        ? Buffer.from(request.body).toString('utf8')
        : String(request.body ?? '');
    seen.push({ request, body });
    const next = answers.length > 1 ? answers.shift()! : answers[0]!;
    if (next instanceof Error) throw next;
    return {
      response: {
        statusCode: next.status,
        headers: { 'content-type': 'application/x-amz-json-1.1', ...next.headers },
        body: Readable.from([Buffer.from(next.body)]),
      },
    };
  };
  return { seen, ...requestHandler(handle) };
}

const ok = (value: string): Answer => ({
  status: 200,
  body: JSON.stringify({ Parameter: { Name: '/op/x', Type: 'SecureString', Value: value, Version: 3 } }),
});
const fault = (status: number, type: string, message = 'no'): Answer => ({
  status,
  body: JSON.stringify({ __type: type, message }),
});

/** A reader whose retries do not wait; `retries` gets the number of each attempt retried. */
function reader(h: ReturnType<typeof handler>, retries: number[] = []) {
  return ssmParameterReader({
    requestHandler: h,
    credentials: CREDENTIALS,
    region: async () => 'eu-west-3',
    retryStrategy: new ConfiguredRetryStrategy(SDK_RETRY.maxAttempts, (attempt) => {
      retries.push(attempt);
      return 0;
    }),
  });
}

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** Signature Version 4 recomputed from the request as sent, without the SDK's signer. */
function expectedSignature(request: HttpRequest, body: string): { signature: string; header: string } {
  const auth = String(request.headers.authorization);
  const signed = /SignedHeaders=([^,]+)/.exec(auth)![1]!.split(';');
  const scope = /Credential=[^/]+\/([^,]+)/.exec(auth)![1]!;
  const [day, region, service] = scope.split('/');
  const lower = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const canonical = [
    request.method,
    request.path,
    '',
    ...signed.map((h) => `${h}:${String(lower[h]).trim()}`),
    '',
    signed.join(';'),
    sha256(body),
  ].join('\n');
  const amzDate = String(lower['x-amz-date']);
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let key = hmac(`AWS4${CREDENTIALS.secretAccessKey}`, day!);
  for (const part of [region!, service!, 'aws4_request']) key = hmac(key, part);
  return { signature: hmac(key, toSign).toString('hex'), header: auth };
}

describe('ssmParameterReader: GetParameter signed by hand', () => {
  it('sends the request the SDK sends, correctly signed, and returns the decrypted value', async () => {
    // Prepare
    const ours = handler([ok('s3cret-value')]);
    const sdk = handler([ok('s3cret-value')]);
    const client = new SSMClient({ region: 'eu-west-3', credentials: CREDENTIALS, requestHandler: sdk });
    // Act
    const value = await reader(ours)('/op/srs');
    const viaSdk = await client.send(new GetParameterCommand({ Name: '/op/srs', WithDecryption: true }));
    // Assess
    assert.equal(value, 's3cret-value');
    assert.equal(viaSdk.Parameter?.Value, value);
    const [mine] = ours.seen;
    const [theirs] = sdk.seen;
    assert.ok(mine && theirs);
    for (const field of ['method', 'protocol', 'hostname', 'path'] as const) {
      assert.equal(mine.request[field], theirs.request[field], field);
    }
    for (const name of ['content-type', 'x-amz-target', 'host', 'x-amz-security-token']) {
      assert.equal(mine.request.headers[name], theirs.request.headers[name], name);
    }
    assert.deepEqual(JSON.parse(mine.body), JSON.parse(theirs.body));
    assert.equal(Number(mine.request.headers['content-length']), Buffer.byteLength(mine.body));
    const { signature, header } = expectedSignature(mine.request, mine.body);
    assert.match(header, /^AWS4-HMAC-SHA256 Credential=AKIDSSMTEST\/\d{8}\/eu-west-3\/ssm\/aws4_request, /);
    assert.match(header, /SignedHeaders=[^,]*x-amz-target/);
    assert.ok(header.endsWith(`Signature=${signature}`), header);
  });

  it('the endpoint follows the region and an override; a bad region is refused', async () => {
    // The oracle: the SSM client's own endpoint rules, region by region, every partition.
    const regions = ['eu-west-3', 'us-east-1', 'il-central-1', 'us-gov-west-1', 'cn-northwest-1'];
    regions.push('eusc-de-east-1', 'us-iso-east-1', 'us-isob-east-1', 'eu-isoe-west-1', 'us-isof-south-1');
    for (const region of regions) {
      const sdk = new SSMClient({ region, credentials: CREDENTIALS });
      for (const fips of [false, true]) {
        const { url } = sdk.config.endpointProvider({ Region: region, UseFIPS: fips, UseDualStack: false });
        assert.equal(ssmEndpoint(region, fips), url.href.replace(/\/$/, ''), `${region} fips ${fips}`);
      }
    }
    assert.equal(ssmEndpoint('eu-west-3'), 'https://ssm.eu-west-3.amazonaws.com');
    assert.equal(ssmEndpoint('us-gov-west-1'), 'https://ssm.us-gov-west-1.amazonaws.com');
    assert.equal(ssmEndpoint('cn-north-1'), 'https://ssm.cn-north-1.amazonaws.com.cn');
    assert.equal(ssmEndpoint('eusc-de-east-1'), 'https://ssm.eusc-de-east-1.amazonaws.eu');
    assert.equal(ssmEndpoint('us-isob-east-1'), 'https://ssm.us-isob-east-1.sc2s.sgov.gov');
    assert.throws(() => ssmEndpoint('evil.example.com/'), /not a region/);
    const h = handler([ok('v')]);
    const read = ssmParameterReader({
      requestHandler: h,
      credentials: async () => CREDENTIALS,
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:4583',
    });
    await read('/p');
    assert.deepEqual(
      [h.seen[0]!.request.hostname, h.seen[0]!.request.port, h.seen[0]!.request.protocol],
      ['127.0.0.1', 4583, 'http:'],
    );
  });

  it('FIPS as the SDK resolves it; dual-stack without an endpoint is refused', async () => {
    const fips = handler([ok('v')]);
    await ssmParameterReader({
      requestHandler: fips,
      credentials: CREDENTIALS,
      region: 'us-east-1',
      useFipsEndpoint: async () => true,
      useDualstackEndpoint: async () => false,
    })('/p');
    assert.equal(fips.seen[0]!.request.hostname, 'ssm-fips.us-east-1.amazonaws.com');
    const dual = handler([ok('v')]);
    const read = ssmParameterReader({
      requestHandler: dual,
      credentials: CREDENTIALS,
      region: 'us-east-1',
      useDualstackEndpoint: async () => true,
    });
    await assert.rejects(
      read('/p'),
      /dual-stack endpoints are not derived; name one in AWS_ENDPOINT_URL_SSM/,
    );
    assert.equal(dual.seen.length, 0);
  });

  it('throttling, 5xx and network errors are retried, then answered', async () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const h = handler([
      fault(400, 'com.amazonaws.ssm#ThrottlingException'),
      fault(503, 'InternalServerError'),
      reset,
      ok('v1'),
    ]);
    const retries: number[] = [];
    assert.equal(await reader(h, retries)('/op/x'), 'v1');
    assert.equal(h.seen.length, 4);
    assert.deepEqual(retries, [1, 2, 3]);
  });

  it('by default, gives up after the SDK clients’ number of attempts, waiting between them', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const h = handler([fault(500, 'InternalServerError')]);
      const read = ssmParameterReader({ requestHandler: h, credentials: CREDENTIALS, region: 'eu-west-3' });
      let settled = false;
      const outcome = read('/op/x').then(
        () => assert.fail('answered'),
        (e: unknown) => e as Error & { $metadata: { attempts?: number } },
      );
      void outcome.finally(() => {
        settled = true;
      });
      // The standard strategy's backoff waits (setTimeout), each let pass.
      while (!settled) {
        await new Promise((resolve) => setImmediate(resolve));
        mock.timers.tick(30_000);
      }
      const error = await outcome;
      assert.equal(error.name, 'InternalServerError');
      assert.equal(error.$metadata.attempts, SDK_RETRY.maxAttempts);
      assert.equal(h.seen.length, SDK_RETRY.maxAttempts);
    } finally {
      mock.timers.reset();
    }
  });

  it('a request refused for a skewed clock is signed again at the time the answer gave', async () => {
    const now = Date.now();
    const server = new Date(now + 3_600_000);
    const h = handler([
      {
        ...fault(400, 'InvalidSignatureException', 'Signature expired'),
        headers: { date: server.toUTCString() },
      },
      ok('v'),
    ]);
    assert.equal(await reader(h)('/op/x'), 'v');
    const dates = h.seen.map((s) =>
      Date.parse(
        String(s.request.headers['x-amz-date']).replace(
          /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/,
          '$1-$2-$3T$4:$5:$6Z',
        ),
      ),
    );
    assert.ok(Math.abs(dates[0]! - now) < 60_000, 'the first at the local time');
    assert.ok(Math.abs(dates[1]! - server.getTime()) < 60_000, 'the second at the server’s');
    const { signature, header } = expectedSignature(h.seen[1]!.request, h.seen[1]!.body);
    assert.ok(header.endsWith(`Signature=${signature}`));
  });
});

describe('secrets through the hand-signed reader: every failure typed, naming field and parameter', () => {
  const srsConfig = parseConfig({
    ...CONFIG_JSON,
    srs: { domain: 'fwd.example.com', secretsParameter: '/op/srs' },
  });
  const arcConfig = parseConfig({
    ...CONFIG_JSON,
    arc: { domain: 'fwd.example.com', selector: 'arc1', privateKey: { ssmParameter: '/op/arc' } },
  });

  it('reads the SRS secrets, one per line', async () => {
    const config = await resolveSrsSecrets(
      srsConfig,
      reader(handler([ok('newest-secret-1\nolder-secret-2\n')])),
      'parameter',
    );
    assert.deepEqual(config.srs.secrets, ['newest-secret-1', 'older-secret-2']);
  });

  const cases: [string, Answer, (e: unknown) => boolean][] = [
    [
      'a missing parameter',
      fault(400, 'ParameterNotFound', ''),
      (e) =>
        e instanceof ConfigError &&
        e.field === 'srs.secretsParameter' &&
        /parameter \/op\/srs does not exist/.test(e.message),
    ],
    [
      'a denied parameter (IAM)',
      fault(
        400,
        'AccessDeniedException',
        'User: arn:aws:sts::1:assumed-role/r is not authorized to perform: ssm:GetParameter',
      ),
      (e) =>
        e instanceof ConfigError &&
        e.field === 'srs.secretsParameter' &&
        /cannot read parameter \/op\/srs: AccessDeniedException: .*ssm:GetParameter/.test(e.message),
    ],
    [
      'a key it may not decrypt (KMS), code in the x-amzn-errortype header',
      {
        status: 400,
        body: '{}',
        headers: { 'x-amzn-errortype': 'ParameterVersionNotFound:http://internal.amazon.com/' },
      },
      (e) => e instanceof ConfigError && /\/op\/srs: ParameterVersionNotFound/.test(e.message),
    ],
    [
      'a malformed answer (not JSON)',
      { status: 200, body: '<html>proxy</html>' },
      (e) =>
        e instanceof TransientDependencyError &&
        isRetryable(e) &&
        /GetParameter \/op\/srs: no Parameter\.Value/.test(e.message),
    ],
    [
      'an answer without a value',
      { status: 200, body: JSON.stringify({ Parameter: { Name: '/op/srs', Value: 42 } }) },
      (e) => e instanceof TransientDependencyError && /\/op\/srs/.test(e.message),
    ],
    [
      'throttling that does not stop',
      fault(400, 'ThrottlingException', 'Rate exceeded'),
      (e) =>
        e instanceof TransientDependencyError &&
        isRetryable(e) &&
        /GetParameter \/op\/srs failed: ThrottlingException/.test(e.message),
    ],
  ];
  for (const [name, answer, expected] of cases) {
    it(`${name}`, async () => {
      await assert.rejects(resolveSrsSecrets(srsConfig, reader(handler([answer])), 'parameter'), expected);
    });
  }

  it('the ARC key: a missing parameter names arc.privateKey.ssmParameter', async () => {
    await assert.rejects(
      loadArcKey(arcConfig, reader(handler([fault(400, 'ParameterNotFound')]))),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.field === 'arc.privateKey.ssmParameter' &&
        /\/op\/arc does not exist/.test(e.message),
    );
  });

  it('without a reader, a configured parameter is a configuration error', async () => {
    await assert.rejects(
      resolveSrsSecrets(srsConfig, undefined, 'parameter'),
      (e: unknown) => e instanceof ConfigError && /no SSM client available to read \/op\/srs/.test(e.message),
    );
  });
});
