/**
 * `sesDirect` against the SDK's SESv2 client on answers the first comparison
 * (`ses-direct.test.ts`) did not script: found in a review, each case failed on the code before
 * its fix. The SDK is the oracle: the same input through `SESv2Client.send` (the mailer's
 * `sdkSendRawEmail`) on the same scripted answers, each side on its own transport.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { GetConfigurationSetCommand, GetTenantCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import type { HttpResponse } from '@smithy/types';
import { type RawEmailInput, sesDirect } from '../../functions/adapters/ses-direct.js';
import { SesMailer, SesRawMailer, sdkSendRawEmail } from '../../functions/adapters/ses-mailer.js';
import {
  SendRejectedError,
  SesDeploymentError,
  TransientDependencyError,
} from '../../functions/core/errors.js';
import { requestHandler } from '../helpers/request-handler.js';
import { TEST_CREDENTIALS } from '../helpers/sigv4.js';

interface Answer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** A transport giving the scripted answers in turn (the last one after); counts the requests. */
function scripted(answers: Answer[]) {
  let requests = 0;
  const handler = requestHandler(async (request) => {
    const body = request.body as unknown;
    if (body && typeof body === 'object' && Symbol.asyncIterator in body) {
      for await (const _ of body as AsyncIterable<unknown>);
    }
    const next = answers[Math.min(requests++, answers.length - 1)]!;
    const response: HttpResponse = {
      statusCode: next.status,
      headers: { 'content-length': String(Buffer.byteLength(next.body)), ...next.headers },
      body: Readable.from([Buffer.from(next.body)]),
    };
    return { response };
  });
  return { handler, requests: () => requests };
}

/** The SDK's client and the direct requests, each on its own transport with the same answers. */
function pair(answers: Answer[]) {
  const sdkSide = scripted(answers);
  const directSide = scripted(answers);
  const retryStrategy = () => new ConfiguredRetryStrategy(4, () => 0);
  const sdk = new SESv2Client({
    region: 'eu-west-1',
    credentials: { ...TEST_CREDENTIALS },
    retryStrategy: retryStrategy(),
    requestHandler: sdkSide.handler,
  });
  const direct = sesDirect({
    requestHandler: directSide.handler,
    credentials: { ...TEST_CREDENTIALS },
    region: 'eu-west-1',
    retryStrategy: retryStrategy(),
  });
  return { sdk, sdkSide, direct, directSide };
}

const input = (): RawEmailInput => ({
  FromEmailAddress: 'bounce@fwd.example.com',
  Destination: { ToAddresses: ['d@remote.test'] },
  raw: Buffer.from('From: a@sender.test\r\nTo: d@remote.test\r\n\r\nbody\r\n'),
  ConfigurationSetName: 'outbound-normal',
  TenantName: 'outbound-normal-tenant',
  EmailTags: [{ Name: 'pool', Value: 'normal' }],
});

/** A call's outcome as the project and smithy read it (the members of the SDK's error). */
async function outcome(call: () => Promise<unknown>) {
  try {
    const out = (await call()) as Record<string, unknown>;
    return { out: { ...out, $metadata: undefined } };
  } catch (error) {
    const e = error as Error & {
      $fault?: string;
      $metadata?: Record<string, unknown>;
      $response?: { statusCode?: number };
    };
    return {
      name: e.name,
      message: e.message,
      fault: e.$fault,
      status: e.$metadata?.httpStatusCode,
      requestId: e.$metadata?.requestId,
      attempts: e.$metadata?.attempts,
      response: e.$response?.statusCode,
    };
  }
}

/** What the mailer makes of the answers: the project's error by class, or the AWS error's name. */
async function verdict(mailer: SesMailer | SesRawMailer) {
  try {
    return await mailer.send({
      raw: Buffer.from('x'),
      to: ['d@remote.test'],
      configurationSet: 'outbound-normal',
      tenant: 'outbound-normal-tenant',
      fromAddress: 'a@example.com',
      feedbackForwardingAddress: 'a@example.com',
      tags: [],
    });
  } catch (error) {
    const e = error as Error & { retryable?: boolean };
    const ours = [SendRejectedError, SesDeploymentError, TransientDependencyError].some(
      (c) => e instanceof c,
    );
    return { error: ours ? e.constructor.name : `AWS ${e.name}`, message: e.message, retryable: e.retryable };
  }
}

describe('sesDirect: an answer whose body is not JSON, as the SDK has it', () => {
  const html = (status: number, headers: Record<string, string> = {}): Answer => ({
    status,
    body: '<html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>',
    headers: { 'content-type': 'text/html', ...headers },
  });
  const cases: [string, Answer[]][] = [
    ['an HTML 502 from a proxy', [html(502)]],
    [
      'a plain-text 500',
      [{ status: 500, body: 'Internal Server Error', headers: { 'x-amzn-requestid': 'r-9' } }],
    ],
    ['an HTML 403 (a proxy refusing)', [html(403)]],
    ['an HTML 400 carrying an x-amzn-errortype', [html(400, { 'x-amzn-errortype': 'MessageRejected' })]],
    ['an error body of blanks', [{ status: 400, body: '  \n' }]],
    ['an HTML page with a success status', [html(200, { 'x-amzn-requestid': 'r-7' })]],
  ];
  for (const [name, answers] of cases) {
    it(`${name}: SendEmail, GetConfigurationSet and GetTenant`, async () => {
      const p = pair(answers);
      const sdk = [
        await outcome(() => sdkSendRawEmail(p.sdk)(input())),
        await outcome(() => p.sdk.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'cs' }))),
        await outcome(() => p.sdk.send(new GetTenantCommand({ TenantName: 't' }))),
      ];
      const direct = [
        await outcome(() => p.direct.sendEmail(input())),
        await outcome(() => p.direct.getConfigurationSet('cs')),
        await outcome(() => p.direct.getTenant('t')),
      ];
      assert.deepEqual(direct, sdk);
      assert.equal(p.directSide.requests(), p.sdkSide.requests(), 'attempts');
    });
    it(`${name}: what the mailer makes of it`, async () => {
      const p = pair(answers);
      const throttle = { budgetMs: 0, random: () => 1 };
      const sdk = await verdict(new SesMailer(p.sdk, { throttle }));
      const direct = await verdict(new SesRawMailer(p.direct.sendEmail, { throttle }));
      assert.deepEqual(direct, sdk);
    });
  }
});
