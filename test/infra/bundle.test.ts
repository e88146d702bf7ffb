/**
 * The deployed artifacts themselves: the ES module bundles the stack builds (SDK, Powertools,
 * mailauth and all CommonJS dependencies inside, `require` from the banner) run the real
 * pipeline against the local emulators — a message routed through the normal pool, its SES
 * delivery event filed by the feedback bundle, and the trace API bundle answering a lookup.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { dkimKey, message, NOW, sesEvent, sign, zones } from '../helpers/mail.js';
import { type Harness, startHarness } from '../helpers/pipeline.js';
import { resourceNamed, synthStack } from './helpers.js';

type Handler = (event: unknown, context: Context) => Promise<{ pool: string; sends: unknown[] }>;
interface RouterBundle {
  createDeps(env: Record<string, string>, overrides: Record<string, unknown>): Promise<unknown>;
  createHandler(makeDeps: () => Promise<unknown>): Handler;
}
interface FeedbackBundle {
  processFeedback(invocation: unknown, trace: unknown, now: Date): Promise<{ appended: number }>;
}
interface TraceApiBundle {
  answer(event: unknown, reader: unknown): Promise<{ statusCode: number; body: string }>;
}

const senderKey = dkimKey('sender.test');
let h: Harness;
let router: RouterBundle;
let feedback: FeedbackBundle;
let traceApi: TraceApiBundle;

const context = {
  functionName: 'router',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:router',
  memoryLimitInMB: '1024',
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

before(async () => {
  // Prepare: quiet Powertools before the bundles create their logger and metrics
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  // The default stack, as outbound-pools-stack.test.ts synthesizes and validates it.
  const { app, template } = synthStack({}, { validate: false });
  const bundleOf = async (idPart: string) => {
    const [, fn] = resourceNamed(template, 'AWS::Lambda::Function', idPart);
    const key = (fn.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
    return import(pathToFileURL(join(app.outdir, `asset.${key}`, 'index.mjs')).href);
  };
  router = (await bundleOf('Router')) as RouterBundle;
  feedback = (await bundleOf('Feedback')) as FeedbackBundle;
  traceApi = (await bundleOf('TraceApi')) as TraceApiBundle;
  h = await startHarness({}, (arcRecord) =>
    zones([senderKey], { 'arc1._domainkey.fwd.example.com': { TXT: [arcRecord] } }),
  );
});
after(async () => {
  await h?.stop();
});

describe('bundled functions', () => {
  it('the router bundle routes a forwarded, authenticated message through the normal pool', async () => {
    // Prepare
    const messageId = `bundle-${process.pid}`;
    await h.put(messageId, await sign(message(), senderKey));
    const handler = router.createHandler(() =>
      router.createDeps(h.env, {
        resolver: zoneResolver(zones([senderKey])),
        clock: () => NOW,
        observer: {},
      }),
    );
    // Act
    const result = await handler(sesEvent({ spf: 'PASS', messageId }), context);
    // Assess
    assert.equal(result.pool, 'normal');
    const sent = h.emu.ses.sent();
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.configurationSetName, 'outbound-normal');
    assert.equal(sent[0]!.emailTags.find((t) => t.Name === 'inbound_id')?.Value, messageId);

    // Act: SES reports the delivery on EventBridge; the feedback bundle files it
    const delivered = {
      'detail-type': 'Email Delivered',
      source: 'aws.ses',
      detail: {
        eventType: 'Delivery',
        mail: {
          messageId: sent[0]!.messageId,
          timestamp: NOW.toISOString(),
          tags: { inbound_id: [messageId], 'ses:configuration-set': ['outbound-normal'] },
        },
        delivery: { timestamp: NOW.toISOString(), recipients: ['dest@remote.test'], smtpResponse: '250 ok' },
      },
    };
    const filed = await feedback.processFeedback(delivered, h.trace, NOW);
    // Assess
    assert.equal(filed.appended, 1);
    const record = await h.trace.get(messageId);
    assert.equal(record?.events?.at(-1)?.type, 'Delivery');

    // Act: an operator looks the message up through the trace API bundle
    const looked = await traceApi.answer(
      { rawPath: `/messages/${messageId}`, rawQueryString: '', requestContext: { http: { method: 'GET' } } },
      h.trace,
    );
    // Assess
    assert.equal(looked.statusCode, 200);
    const report = JSON.parse(looked.body).message;
    assert.equal(report.pool, 'normal');
    assert.equal(report.sends[0].events[0].type, 'Delivery');
  });
});
