/**
 * The deployed artifacts themselves: the ES module bundles the stack builds (SDK, Powertools,
 * mailauth and all CommonJS dependencies inside, `require` from the banner) run the real
 * pipeline against the local emulators — a message routed through the normal pool, its SES
 * delivery event filed by the feedback bundle, and the trace API bundle answering a lookup.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { dkimKey, message, NOW, sesEvent, sign, zones } from '../helpers/mail.js';
import { type Harness, startHarness, withArcKey } from '../helpers/pipeline.js';
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
/** The asset directory (`index.mjs`, `index.mjs.map`) of every function of the stack, by logical id. */
let assets: Record<string, string>;

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
  const assetOf = (fn: { Properties?: unknown }) =>
    join(
      app.outdir,
      `asset.${((fn.Properties as { Code: { S3Key: string } }).Code.S3Key ?? '').replace(/\.zip$/, '')}`,
    );
  // The project's functions: the ES module bundles (CDK's own custom resources are not ours).
  assets = Object.fromEntries(
    Object.entries(template.findResources('AWS::Lambda::Function'))
      .map(([id, fn]) => [id, assetOf(fn)] as const)
      .filter(([, dir]) => existsSync(join(dir, 'index.mjs'))),
  );
  const bundleOf = async (idPart: string) => {
    const [, fn] = resourceNamed(template, 'AWS::Lambda::Function', idPart);
    const key = (fn.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
    return import(pathToFileURL(join(app.outdir, `asset.${key}`, 'index.mjs')).href);
  };
  router = (await bundleOf('Router')) as RouterBundle;
  feedback = (await bundleOf('Feedback')) as FeedbackBundle;
  traceApi = (await bundleOf('TraceApi')) as TraceApiBundle;
  h = await startHarness({}, withArcKey([senderKey]));
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

  // Issue 16 (cold start): what the bundles leave out, and what their source maps still do.
  const sourceMapOf = (dir: string) =>
    JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as {
      sources: string[];
      sourcesContent?: unknown;
    };

  it('no bundle carries the SDK credential chain beyond the environment (SSO, INI, process, STS)', () => {
    const ids = Object.keys(assets);
    assert.ok(ids.some((id) => id.includes('Router')) && ids.length >= 3, ids.join());
    for (const [id, dir] of Object.entries(assets)) {
      // The source map names every module the bundle holds: the oracle for what is inside.
      const { sources } = sourceMapOf(dir);
      assert.ok(sources.length > 100, `${id}: ${sources.length} sources`);
      const chain = sources.filter((s) =>
        /@aws-sdk\/(credential-provider-(?!env)[a-z-]+|nested-clients|token-providers)\//.test(s),
      );
      assert.deepEqual(chain, [], id);
      if (sources.some((s) => s.includes('@aws-sdk/client-'))) {
        assert.ok(
          sources.some((s) => s.endsWith('functions/shims/credential-provider-node.ts')),
          `${id}: the SDK clients take their credentials from the stand-in`,
        );
      }
    }
  });

  it('the router bundle reads its secrets without the SSM client (signed GetParameter)', () => {
    const [, router] = Object.entries(assets).find(([id]) => id.includes('Router'))!;
    const { sources } = sourceMapOf(router);
    assert.deepEqual(
      sources.filter((s) => s.includes('@aws-sdk/client-ssm/')),
      [],
      'no module of @aws-sdk/client-ssm',
    );
    assert.ok(sources.some((s) => s.endsWith('functions/adapters/ssm-parameter-reader.ts')));
  });

  it('the router bundle reads the message without the S3 client (signed GetObject, issue 16)', () => {
    const [, router] = Object.entries(assets).find(([id]) => id.includes('Router'))!;
    const { sources } = sourceMapOf(router);
    assert.deepEqual(
      sources.filter((s) => /@aws-sdk\/(client-s3|middleware-sdk-s3|xml-builder)\//.test(s)),
      [],
      'no module of @aws-sdk/client-s3 or its S3 middleware',
    );
    assert.ok(sources.some((s) => s.endsWith('functions/adapters/s3-direct-get.ts')));
  });

  it('the router bundle sends and reads without the SESv2 client (signed SendEmail, GetTenant…, issue 16)', () => {
    const [, router] = Object.entries(assets).find(([id]) => id.includes('Router'))!;
    const { sources } = sourceMapOf(router);
    assert.deepEqual(
      sources.filter((s) => s.includes('@aws-sdk/client-sesv2/')),
      [],
      'no module of @aws-sdk/client-sesv2',
    );
    assert.ok(sources.some((s) => s.endsWith('functions/adapters/ses-direct.ts')));
  });

  it('no bundle carries libmime’s MIME type table; the router’s has the stand-in', () => {
    for (const [id, dir] of Object.entries(assets)) {
      const { sources } = sourceMapOf(dir);
      assert.deepEqual(
        sources.filter((s) => /libmime\/lib\/(mimetypes|libmime)\.js$/.test(s)),
        [],
        id,
      );
      if (id.includes('Router'))
        assert.ok(
          sources.some((s) => s.endsWith('functions/shims/libmime.ts')),
          id,
        );
    }
  });

  it('no bundle carries tldts’ trie; those that look up public suffixes have the stand-in', () => {
    for (const [id, dir] of Object.entries(assets)) {
      const { sources } = sourceMapOf(dir);
      assert.deepEqual(
        sources.filter((s) => /tldts\/dist\/.*suffix-trie\.js$|tldts\/dist\/.*data\/trie\.js$/.test(s)),
        [],
        id,
      );
      // A bundle that parses host names with tldts-core looks suffixes up with the stand-in.
      const looksUp = id.includes('Router') || sources.some((s) => s.includes('tldts-core/'));
      if (looksUp)
        assert.ok(
          sources.some((s) => s.endsWith('functions/shims/tldts.ts')),
          id,
        );
    }
  });

  it('no bundle carries two builds of nodemailer’s address parser', () => {
    for (const [id, dir] of Object.entries(assets)) {
      const parsers = sourceMapOf(dir).sources.filter((s) =>
        /nodemailer\/dist\/[a-z]+\/addressparser\//.test(s),
      );
      assert.ok(parsers.length <= 1, `${id}: ${parsers.join(', ')}`);
      if (id.includes('Router')) assert.equal(parsers.length, 1, id);
    }
  });

  it('the router bundle has the SDK schemas of the operations it calls, not its clients’ others', () => {
    const [, router] = Object.entries(assets).find(([id]) => id.includes('Router'))!;
    const code = readFileSync(join(router, 'index.mjs'), 'utf8');
    // Called: SESv2 SendEmail (its path; signed by hand, as S3 GetObject: above).
    assert.ok(code.includes('/v2/email/outbound-emails'), 'SendEmail');
    // Never called by the router, each in the schema module of a client it uses or used (S3's;
    // a schema's shape name and its HTTP path): without lib/sdk-schema-folding.ts all are kept.
    for (const unused of ['/v2/email/contact-lists/', 'CreateContactList', '?policy', 'PutBucketPolicy'])
      assert.equal(code.includes(unused), false, unused);
  });

  it('every bundle is ASCII: one other character would make Node hold its whole source as UTF-16', () => {
    for (const [id, dir] of Object.entries(assets)) {
      const bytes = readFileSync(join(dir, 'index.mjs'));
      const at = bytes.findIndex((b) => b > 0x7f);
      assert.equal(
        at,
        -1,
        `${id}: byte ${at} is not ASCII: …${bytes.subarray(Math.max(0, at - 60), at + 20).toString('utf8')}…`,
      );
    }
  });

  it('source maps carry no sources, yet an error thrown inside the router bundle maps to functions/', () => {
    const [, router] = Object.entries(assets).find(([id]) => id.includes('Router'))!;
    const map = sourceMapOf(router);
    assert.equal(map.sourcesContent, undefined);
    // A fresh process as Lambda runs it (NODE_OPTIONS=--enable-source-maps): createDeps with no
    // configuration throws inside the bundle; its stack names the TypeScript source.
    const script = `import(${JSON.stringify(pathToFileURL(join(router, 'index.mjs')).href)})
      .then((m) => m.createDeps({}))
      .catch((e) => { console.log(e.stack); });`;
    const run = spawnSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', POWERTOOLS_LOG_LEVEL: 'SILENT' },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /OUTBOUND_POOLS|config/i, run.stdout);
    assert.match(run.stdout, /functions\/router\/settings\.ts:\d+:\d+/, run.stdout);
  });
});
