/**
 * `sesDirect`: the router's SESv2 requests sent without the SDK's SESv2 client (`SendEmail`, a
 * big message's streamed; `GetConfigurationSet`, `GetTenant`) are the requests the SDK sends,
 * signed right, and their answers — errors, retries, what the mailer and the pool status make
 * of them — are read as the SDK's.
 *
 * Oracles: the SDK itself (the same input through `SESv2Client.send`, on the same captured
 * transport or the same SES emulator, aws-ses-v2-local), and an independent SigV4
 * (`helpers/sigv4.ts`).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, beforeEach, describe, it, mock } from 'node:test';
import {
  GetConfigurationSetCommand,
  GetTenantCommand,
  SESv2Client,
  type SESv2ClientConfig,
} from '@aws-sdk/client-sesv2';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpRequest } from '@smithy/types';
import { type RawEmailInput, sesDirect } from '../../functions/adapters/ses-direct.js';
import { SesMailer, SesRawMailer, sdkSendRawEmail } from '../../functions/adapters/ses-mailer.js';
import { SesPoolControl, SesPoolStatus } from '../../functions/adapters/ses-pool-control.js';
import {
  SendRejectedError,
  SesDeploymentError,
  TransientDependencyError,
} from '../../functions/core/errors.js';
import { type Emulators, startEmulators } from '../../sandbox/emulators/index.js';
import {
  type RecordedRequest,
  type Scripted,
  type ScriptedAnswer,
  scriptedTransport,
} from '../helpers/scripted-transport.js';
import { expectedAuthorization, TEST_CREDENTIALS } from '../helpers/sigv4.js';

const NOW = Date.parse('2026-12-07T10:00:00Z');

/** A request as sent, its body read (a stream's too). */
type Sent = RecordedRequest<true>;

const json = (status: number, body: object, headers: Record<string, string> = {}): ScriptedAnswer => ({
  status,
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', 'x-amzn-requestid': 'req-1', ...headers },
});
const sent = (id = 'ses-1') => json(200, { MessageId: id });
const networkError = (code: string) => () => Object.assign(new Error(`socket: ${code}`), { code });

/** The SDK's client and the direct requests over one configuration, each on its own transport. */
function pair(config: SESv2ClientConfig, answers: Scripted[], streamFromBytes = 1024 * 1024) {
  const sdkSide = scriptedTransport(answers, { readBodies: true });
  const directSide = scriptedTransport(answers, { readBodies: true });
  const retryStrategy = () => new ConfiguredRetryStrategy(4, () => 0);
  const sdk = new SESv2Client({
    region: 'eu-west-1',
    credentials: { ...TEST_CREDENTIALS },
    retryStrategy: retryStrategy(),
    ...config,
    requestHandler: sdkSide.handler,
  });
  const direct = sesDirect({
    requestHandler: directSide.handler,
    credentials: { ...TEST_CREDENTIALS },
    region: (config.region as string | undefined) ?? 'eu-west-1',
    retryStrategy: retryStrategy(),
    streamFromBytes,
    ...(typeof config.endpoint === 'string' ? { endpoint: config.endpoint } : {}),
    ...(config.useFipsEndpoint ? { useFipsEndpoint: true } : {}),
    ...(config.useDualstackEndpoint ? { useDualstackEndpoint: async () => true } : {}),
  });
  return { sdk, sdkSide, direct, directSide, sdkSend: sdkSendRawEmail(sdk, streamFromBytes) };
}

const message = (bytes: number) =>
  Buffer.from(Array.from({ length: bytes }, (_, i) => (i % 77 === 76 ? 10 : 32 + ((i * 7) % 90))));

const input = (raw: RawEmailInput['raw']): RawEmailInput => ({
  FromEmailAddress: 'Sender <bounce@fwd.example.com>',
  Destination: { ToAddresses: ['d@remote.test', 'e@remote.test'] },
  raw,
  ConfigurationSetName: 'outbound-normal',
  TenantName: 'outbound-normal-tenant',
  FeedbackForwardingEmailAddress: 'bounce@fwd.example.com',
  EmailTags: [{ Name: 'pool', Value: 'normal' }],
});

const scope = (r: HttpRequest) => /Credential=[^/]+\/([^,]+),/.exec(String(r.headers.authorization))?.[1];
const signedHeaders = (r: HttpRequest) =>
  /SignedHeaders=([^,]+),/.exec(String(r.headers.authorization))?.[1]?.split(';');

type Operation = [
  string,
  (p: ReturnType<typeof pair>) => Promise<unknown>,
  (p: ReturnType<typeof pair>) => Promise<unknown>,
];

const OPERATIONS: Operation[] = [
  ['SendEmail', (p) => p.sdkSend(input(message(5_000))), (p) => p.direct.sendEmail(input(message(5_000)))],
  [
    'SendEmail streamed (pieces)',
    (p) => p.sdkSend(input([message(100_001), message(2), message(70_000)])),
    (p) => p.direct.sendEmail(input([message(100_001), message(2), message(70_000)])),
  ],
  [
    'GetConfigurationSet',
    (p) => p.sdk.send(new GetConfigurationSetCommand({ ConfigurationSetName: "out bound/n\u00e9rmal!'()*" })),
    (p) => p.direct.getConfigurationSet("out bound/n\u00e9rmal!'()*"),
  ],
  [
    'GetTenant',
    (p) => p.sdk.send(new GetTenantCommand({ TenantName: 'outbound "normal" tenant' })),
    (p) => p.direct.getTenant('outbound "normal" tenant'),
  ],
];

describe('sesDirect: the requests are the SDK’s', () => {
  const configs: [string, SESv2ClientConfig][] = [
    ['eu-west-1', {}],
    ['us-east-1', { region: 'us-east-1' }],
    ['another partition (cn-north-1)', { region: 'cn-north-1' }],
    ['FIPS', { region: 'us-east-1', useFipsEndpoint: true }],
    ['FIPS in GovCloud', { region: 'us-gov-west-1', useFipsEndpoint: true }],
    ['dual-stack', { region: 'us-west-2', useDualstackEndpoint: true }],
    ['dual-stack in China', { region: 'cn-northwest-1', useDualstackEndpoint: true }],
    ['FIPS and dual-stack', { region: 'us-east-1', useFipsEndpoint: true, useDualstackEndpoint: true }],
    [
      'FIPS and dual-stack in an ISO partition',
      { region: 'us-isob-east-1', useFipsEndpoint: true, useDualstackEndpoint: true },
    ],
    ['the European sovereign cloud', { region: 'eusc-de-east-1' }],
    ['a configured endpoint (an emulator)', { endpoint: 'http://127.0.0.1:4579', region: 'us-east-1' }],
    ['a configured endpoint with a path', { endpoint: 'https://ses.internal.test/proxy' }],
    ['a configured endpoint with a path ending in /', { endpoint: 'https://ses.internal.test/proxy/' }],
  ];
  for (const [name, config] of configs) {
    for (const [operation, viaSdk, viaDirect] of OPERATIONS) {
      it(`${name}, ${operation}: where it goes, what it says and what is signed`, async () => {
        mock.timers.enable({ apis: ['Date'], now: NOW });
        try {
          const answer = operation.startsWith('SendEmail') ? sent() : json(200, {});
          const p = pair(config, [answer], 100_000);
          await viaSdk(p);
          await viaDirect(p);
          const [s, d] = [p.sdkSide.requests[0]!, p.directSide.requests[0]!];
          for (const field of ['method', 'protocol', 'hostname', 'port', 'path'] as const) {
            assert.equal(d[field], s[field], field);
          }
          assert.deepEqual(d.query, s.query, 'query');
          for (const h of [
            'host',
            'content-type',
            'content-length',
            'x-amz-date',
            'x-amz-security-token',
            'x-amz-content-sha256',
          ]) {
            assert.equal(d.headers[h], s.headers[h], h);
          }
          assert.ok(d.bytes.equals(s.bytes), 'body');
          assert.equal(String(d.bytes.length), d.headers['content-length'] ?? '0');
          assert.equal(d.headers['x-amz-content-sha256'], createHash('sha256').update(d.bytes).digest('hex'));
          assert.equal(scope(d), scope(s), 'credential scope');
          // What SES reads of the request is signed (the SDK signs its own telemetry headers too).
          const signed = signedHeaders(d)!;
          for (const h of signedHeaders(s)!.filter((h) => !/^(amz-sdk-|x-amz-user-agent$)/.test(h)))
            assert.ok(signed.includes(h), h);
          assert.deepEqual(
            signed.filter((h) => !signedHeaders(s)!.includes(h)),
            [],
          );
          // The canonical path is normalized (RFC 3986: `/proxy//v2` as `/proxy/v2`), by the SDK's
          // signer and SES alike; the oracle signs the path as given.
          const canonical = (r: Sent) => ({ ...r, path: r.path.replace(/\/{2,}/g, '/'), body: r.bytes });
          assert.equal(s.headers.authorization, expectedAuthorization(canonical(s)));
          assert.equal(d.headers.authorization, expectedAuthorization(canonical(d)));
        } finally {
          mock.timers.reset();
        }
      });
    }
  }

  it('a message below the threshold is one body, at or over it a stream (the same bytes)', async () => {
    const p = pair({}, [sent()], 5_000);
    await p.direct.sendEmail(input(message(4_999)));
    await p.direct.sendEmail(input([message(4_000), message(1_000)]));
    const [small, big] = p.directSide.requests;
    assert.ok(Buffer.isBuffer(small!.body));
    assert.ok(big!.body instanceof Readable);
    const data = (r: Sent) => JSON.parse(r.bytes.toString('utf8')).Content.Raw.Data as string;
    assert.ok(Buffer.from(data(big!), 'base64').equals(Buffer.concat([message(4_000), message(1_000)])));
    assert.ok(Buffer.from(data(small!), 'base64').equals(message(4_999)));
  });

  it('a streamed SendEmail retried after a reset connection sends its whole body again', async () => {
    const p = pair({}, [networkError('ECONNRESET'), sent()], 1_000);
    const raw = [message(3_000), message(1)];
    await p.sdkSend(input(raw));
    await p.direct.sendEmail(input(raw));
    assert.equal(p.directSide.requests.length, 2);
    assert.ok(p.directSide.requests[1]!.bytes.equals(p.sdkSide.requests[1]!.bytes));
    assert.ok(p.directSide.requests[0]!.bytes.equals(p.directSide.requests[1]!.bytes));
  });
});

/**
 * A call's outcome as data: the answer (the members the router reads), or the error as the
 * project and smithy see it.
 */
async function outcome(call: () => Promise<unknown>) {
  try {
    const out = (await call()) as {
      MessageId?: string;
      SendingOptions?: { SendingEnabled?: boolean };
      Tenant?: { SendingStatus?: string };
    };
    return {
      out: {
        messageId: out.MessageId,
        sendingEnabled: out.SendingOptions?.SendingEnabled,
        sendingStatus: out.Tenant?.SendingStatus,
      },
    };
  } catch (error) {
    const e = error as Error & {
      $fault?: string;
      $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number };
    };
    return {
      name: e.name,
      message: e.message,
      fault: e.$fault,
      status: e.$metadata?.httpStatusCode,
      requestId: e.$metadata?.requestId,
      attempts: e.$metadata?.attempts,
    };
  }
}

/** What the mailer makes of an answer: the project's error (class, name, refusal, retryable). */
async function verdict(mailer: SesMailer | SesRawMailer): Promise<Record<string, unknown>> {
  try {
    return await mailer.send({
      raw: message(300),
      to: ['d@remote.test'],
      configurationSet: 'outbound-normal',
      tenant: 'outbound-normal-tenant',
      fromAddress: 'a@example.com',
      feedbackForwardingAddress: 'a@example.com',
      tags: [{ name: 'pool', value: 'normal' }],
    });
  } catch (error) {
    const e = error as Error & { refusal?: string; scope?: string; retryable?: boolean };
    const ours = [SendRejectedError, SesDeploymentError, TransientDependencyError].some(
      (c) => e instanceof c,
    );
    return {
      // The project's errors by class; an AWS error re-thrown as it is, by its name (the SDK's
      // has a class per code, the direct one is an Error named as the code).
      error: ours ? e.constructor.name : `AWS ${e.name}`,
      message: e.message,
      refusal: e.refusal,
      scope: e.scope,
      retryable: e.retryable,
    };
  }
}

describe('sesDirect: answers, errors and retries as the SDK has them', () => {
  const error = (status: number, code: string, msg: string, how: 'header' | 'body' = 'header') =>
    json(
      status,
      how === 'header' ? { message: msg } : { __type: `com.amazonaws.sesv2#${code}`, message: msg },
      how === 'header'
        ? { 'x-amzn-errortype': `${code}:http://internal.amazon.com/coral/com.amazonaws.sesv2/` }
        : {},
    );
  const cases: [string, Scripted[]][] = [
    ['MessageRejected', [error(400, 'MessageRejected', 'Email address is not verified.')]],
    [
      'MessageRejected (the code in the body)',
      [error(400, 'MessageRejected', 'Message contains a virus.', 'body')],
    ],
    [
      'MailFromDomainNotVerifiedException',
      [error(400, 'MailFromDomainNotVerifiedException', 'MAIL FROM domain is not verified.')],
    ],
    ['AccountSuspendedException', [error(400, 'AccountSuspendedException', 'Account suspended.')]],
    ['SendingPausedException', [error(400, 'SendingPausedException', 'Sending is paused for this account.')]],
    [
      'TooManyRequestsException (429), retried',
      [error(429, 'TooManyRequestsException', 'Too many requests.')],
    ],
    [
      'TooManyRequestsException, then sent',
      [error(429, 'TooManyRequestsException', 'Too many requests.'), sent()],
    ],
    [
      'LimitExceededException (400), retried as a throttle',
      [error(400, 'LimitExceededException', 'Maximum sending rate exceeded.')],
    ],
    ['BadRequestException', [error(400, 'BadRequestException', 'Illegal address')]],
    ['NotFoundException', [error(404, 'NotFoundException', 'Configuration set <x> does not exist.')]],
    ['500 InternalFailure (unmodeled)', [error(500, 'InternalFailure', 'Internal failure.')]],
    ['500 then sent', [error(500, 'InternalServiceErrorException', 'oops'), sent()]],
    ['503 without a body', [{ status: 503, body: '' }]],
    ['400 without a code', [json(400, { Message: 'capital M' })]],
    ['the code in the body’s `code`', [json(400, { code: 'BadRequestException', message: 'm', extra: 1 })]],
    ['a modeled server fault at 400', [error(400, 'ConcurrentModificationException', 'busy')]],
    ['an empty message', [json(400, { message: '' }, { 'x-amzn-errortype': 'BadRequestException' })]],
    [
      'the header’s code over the body’s',
      [json(400, { __type: 'BadRequestException', message: 'm' }, { 'x-amzn-errortype': 'MessageRejected' })],
    ],
    [
      'the body’s code over its __type',
      [json(400, { __type: 'BadRequestException', Code: 'SendingPausedException', message: 'm' })],
    ],
    [
      'a redirect (3xx): an error',
      [json(302, { message: 'moved' }, { location: 'https://elsewhere.test/' })],
    ],
    ['a reset connection, then sent', [networkError('ECONNRESET'), sent()]],
    ['reset connections only', [networkError('ECONNRESET')]],
    ['a success without a message id', [json(200, {})]],
  ];
  for (const [name, answers] of cases) {
    it(`${name}: SendEmail`, async () => {
      const p = pair({}, answers);
      const sdk = await outcome(() => p.sdkSend(input(message(300))));
      const direct = await outcome(() => p.direct.sendEmail(input(message(300))));
      assert.deepEqual(direct, sdk);
      assert.equal(p.directSide.requests.length, p.sdkSide.requests.length, 'attempts');
    });
    it(`${name}: what the mailer makes of it`, async () => {
      const p = pair({}, answers);
      const throttle = { budgetMs: 0, random: () => 1 };
      const sdk = await verdict(new SesMailer(p.sdk, { throttle }));
      const direct = await verdict(new SesRawMailer(p.direct.sendEmail, { throttle }));
      assert.deepEqual(direct, sdk);
    });
    it(`${name}: GetConfigurationSet and GetTenant`, async () => {
      const p = pair({}, answers);
      const sdk = [
        await outcome(() => p.sdk.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'cs' }))),
        await outcome(() => p.sdk.send(new GetTenantCommand({ TenantName: 't' }))),
      ];
      const direct = [
        await outcome(() => p.direct.getConfigurationSet('cs')),
        await outcome(() => p.direct.getTenant('t')),
      ];
      assert.deepEqual(direct, sdk);
      assert.equal(p.directSide.requests.length, p.sdkSide.requests.length, 'attempts');
    });
  }

  it('the verdicts are the ones ses-refusals gives (the comparison above is not vacuous)', async () => {
    const throttle = { budgetMs: 0, random: () => 1 };
    const of = async (answers: Scripted[]) =>
      verdict(new SesRawMailer(pair({}, answers).direct.sendEmail, { throttle }));
    assert.equal(
      (await of([error(400, 'MessageRejected', 'Message contains a virus.')])).error,
      SendRejectedError.name,
    );
    assert.equal((await of([error(400, 'AccountSuspendedException', 'x')])).error, SesDeploymentError.name);
    assert.equal(
      (await of([error(429, 'TooManyRequestsException', 'x')])).error,
      TransientDependencyError.name,
    );
    assert.deepEqual(await of([sent('m-9')]), { messageId: 'm-9' });
  });

  it('a skewed clock: corrected from the answer, signed again at the server time', async () => {
    mock.timers.enable({ apis: ['Date'], now: NOW });
    try {
      const serverTime = new Date(NOW + 3_600_000).toUTCString();
      const answers = [
        json(
          403,
          { message: 'Signature expired' },
          { 'x-amzn-errortype': 'InvalidSignatureException', date: serverTime },
        ),
        sent(),
      ];
      const p = pair({}, answers);
      const sdk = await outcome(() => p.sdkSend(input(message(10))));
      const direct = await outcome(() => p.direct.sendEmail(input(message(10))));
      assert.deepEqual(direct, sdk);
      assert.deepEqual(
        p.directSide.requests.map((r) => r.headers['x-amz-date']),
        p.sdkSide.requests.map((r) => r.headers['x-amz-date']),
      );
      assert.equal(p.directSide.requests[1]!.headers['x-amz-date'], '20261207T110000Z');
    } finally {
      mock.timers.reset();
    }
  });

  it('the pool status over the direct reads is the SDK client’s', async () => {
    const pools = {
      normal: { configurationSet: 'cs-n', tenant: 't-n' },
      high: { configurationSet: 'cs-h', tenant: 't-h' },
      low: { configurationSet: 'cs-l', tenant: 't-l' },
    } as never;
    const answer: Scripted[] = [json(200, { SendingOptions: { SendingEnabled: false } })];
    const p = pair({}, answer);
    const viaSdk = await new SesPoolControl({ client: p.sdk, pools, cacheMs: 0 }).paused(['normal']);
    const direct = await new SesPoolStatus({ reads: p.direct, pools, cacheMs: 0 }).paused(['normal']);
    assert.deepEqual([...direct], [...viaSdk]);
    assert.deepEqual([...direct], ['normal']);
  });
});

describe('sesDirect on the SES emulator (aws-ses-v2-local)', () => {
  let emu: Emulators;
  let sdk: SESv2Client;
  const handler = new NodeHttpHandler();
  let direct: ReturnType<typeof sesDirect>;
  before(async () => {
    emu = await startEmulators({});
    const config = emu.clientConfig('sesv2');
    sdk = new SESv2Client({ ...config, maxAttempts: 1 });
    direct = sesDirect({
      requestHandler: handler,
      credentials: config.credentials as typeof TEST_CREDENTIALS,
      region: config.region as string,
      endpoint: config.endpoint as string,
      retryStrategy: new ConfiguredRetryStrategy(1),
    });
  });
  after(async () => {
    sdk?.destroy();
    handler.destroy();
    await emu?.stop();
  });
  beforeEach(() => emu.ses.clear());

  const messages: [string, RawEmailInput['raw']][] = [
    ['small', Buffer.from('From: a@sender.test\r\nTo: d@remote.test\r\nSubject: hi\r\n\r\nbody \u00e9\r\n')],
    [
      '8-bit, in pieces',
      [
        Buffer.from('From: a@sender.test\r\nTo: d@remote.test\r\n\r\n'),
        Buffer.from('caf\u00e9\r\n'),
        message(2),
      ],
    ],
    [
      '1.2 MB in pieces (streamed)',
      [Buffer.from('From: a@sender.test\r\nSubject: big\r\n\r\n'), message(700_001), message(500_000)],
    ],
  ];
  for (const [name, raw] of messages) {
    it(`${name}: SES receives byte for byte what the SDK sends`, async () => {
      await sdkSendRawEmail(sdk)(input(raw));
      const out = await direct.sendEmail(input(raw));
      const [viaSdk, viaDirect] = emu.ses.sent();
      assert.equal(emu.ses.sent().length, 2);
      const whole = Buffer.isBuffer(raw) ? raw : Buffer.concat(raw);
      assert.ok(viaDirect!.raw.equals(whole));
      assert.ok(viaDirect!.raw.equals(viaSdk!.raw));
      assert.equal(viaDirect!.messageId, out.MessageId);
      assert.deepEqual(
        { ...viaDirect, raw: undefined, messageId: undefined, at: undefined },
        { ...viaSdk, raw: undefined, messageId: undefined, at: undefined },
      );
    });
  }

  it('a refusal: the SDK’s error', async () => {
    const refusal = { status: 400, code: 'MessageRejected', message: 'Message contains a virus.' };
    emu.ses.failNext(1, refusal);
    const viaSdk = await outcome(() => sdkSendRawEmail(sdk)(input(message(10))));
    emu.ses.failNext(1, refusal);
    const got = await outcome(() => direct.sendEmail(input(message(10))));
    assert.equal(got.name, 'MessageRejected');
    assert.deepEqual({ ...got, requestId: undefined }, { ...viaSdk, requestId: undefined });
  });

  it('GetConfigurationSet and GetTenant: the SDK’s answers', async () => {
    for (const [viaSdk, viaDirect] of [
      [
        () => sdk.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'outbound-normal' })),
        () => direct.getConfigurationSet('outbound-normal'),
      ],
      [
        () => sdk.send(new GetTenantCommand({ TenantName: 'outbound-normal-tenant' })),
        () => direct.getTenant('outbound-normal-tenant'),
      ],
    ] as const) {
      const s = await outcome(viaSdk);
      const d = await outcome(viaDirect);
      assert.ok(
        'out' in d && (d.out?.sendingEnabled === true || d.out?.sendingStatus === 'ENABLED'),
        JSON.stringify(d),
      );
      assert.deepEqual(d, s);
    }
  });
});
