/**
 * The deployed entry point: the middy handler with settings read from the environment,
 * structured JSON logs with the SES message id as correlation id, and EMF metrics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Context } from 'aws-lambda';
import { readSettings, settingsEnvironment } from '../../functions/router/settings.js';
import { message, sesEvent } from '../helpers/mail.js';
import { type Harness, startHarness } from '../helpers/pipeline.js';

const context = {
  functionName: 'router',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:router',
  memoryLimitInMB: '1024',
  awsRequestId: 'req-1',
  logGroupName: '/aws/lambda/router',
  logStreamName: 's',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

/** Collects the JSON lines the handler writes (Powertools: stdout, and stderr for errors). */
async function captureStdout<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; lines: Record<string, unknown>[] }> {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((s) => s.write.bind(s));
  for (const s of streams) {
    s.write = ((chunk: string | Uint8Array) => {
      chunks.push(`${String(chunk)}\n`);
      return true;
    }) as typeof s.write;
  }
  try {
    const result = await fn();
    return { result, lines: parseLines(chunks.join('')) };
  } finally {
    streams.forEach((s, i) => {
      s.write = writes[i]!;
    });
  }
}

function parseLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('router handler (middy + Powertools)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    Object.assign(process.env, h.env, { POWERTOOLS_DEV: 'false' });
  });
  after(() => h.stop());

  it('processes an event: one line, the decision and the copies and the EMF of its metrics', async () => {
    // Prepare: a bounce with no From: no DNS needed (this machine has none).
    const messageId = 'handler-msg-1';
    await h.put(messageId, message({ from: null }));
    const event = sesEvent({ messageId, source: '' });
    const { handler } = await import('../../functions/router/handler.js');
    // Act
    const { result, lines } = await captureStdout(() => handler(event, context));
    // Assess
    assert.equal((result as { pool: string }).pool, 'high-risk');
    // Issue 16: one info line per message, which says what was decided and sent.
    const info = lines.filter((l) => l.level === 'INFO');
    assert.deepEqual(
      info.map((l) => l.message),
      ['done'],
    );
    const done = info[0]!;
    assert.equal(done.messageId, messageId);
    assert.equal(done.outcome, 'processed');
    assert.equal(done.Pool, 'high-risk', 'the pool is the EMF dimension member, written once');
    // SPF is about the envelope sender only (SPEC 2a): a null sender proves nothing. The
    // reasons this attempt decided are the line's `Reason.<code>` members, in order.
    assert.equal(done.reasons, undefined);
    assert.deepEqual(
      Object.keys(done).filter((k) => k.startsWith('Reason.')),
      ['Reason.ndr', 'Reason.no-a-mx', 'Reason.unauthenticated-relay'],
    );
    const sent = h.emu.ses.sent();
    assert.equal(sent.length, 1);
    const sends = done.sends as { pool: string; status: string; sesMessageId: string }[];
    assert.deepEqual(
      sends.map((s) => [s.pool, s.status, s.sesMessageId]),
      [['high-risk', 'sent', sent[0]!.messageId]],
    );
    assert.ok(
      typeof done.durationMs === 'number' && done.durationMs >= (done.DecisionLatency as number),
      JSON.stringify(done),
    );
    // EMF: every metric with its dimension values, read the way CloudWatch reads a document.
    const emf = lines.filter((l) => l._aws !== undefined);
    const found: string[] = [];
    for (const doc of emf) {
      const directives = (
        doc._aws as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }
      ).CloudWatchMetrics;
      for (const d of directives) {
        for (const m of d.Metrics) {
          for (const set of d.Dimensions) {
            found.push(
              `${m.Name}{${set.map((k) => `${k}=${String(doc[k])}`).join(',')}}=${String(doc[m.Name])}`,
            );
          }
        }
      }
    }
    for (const expected of [
      'Messages{service=outbound-pools-router,Pool=high-risk}=1',
      'Reason.ndr{service=outbound-pools-router}=1',
      'Reason.no-a-mx{service=outbound-pools-router}=1',
      'Reason.unauthenticated-relay{service=outbound-pools-router}=1',
      'Sends{service=outbound-pools-router,Pool=high-risk}=1',
    ]) {
      assert.ok(found.includes(expected), `${expected} in ${found.join(' ')}`);
    }
    assert.ok(found.some((f) => f.startsWith('DecisionLatency{service=outbound-pools-router}=')));
    // Issue 16: one line per message, which is both the `done` line and the EMF document.
    assert.equal(emf.length, 1);
    assert.equal(emf[0], done);
    assert.equal(done.function_request_id, 'req-1');
    assert.equal(lines.length, 1, 'nothing else is written for a message without warnings');
  });

  it('a failure is logged with its message id and re-thrown (Lambda retries, then the DLQ keeps it)', async () => {
    const { handler } = await import('../../functions/router/handler.js');
    const event = sesEvent({ messageId: 'handler-msg-2', source: '' }); // never stored in S3
    let lines: Record<string, unknown>[] = [];
    await assert.rejects(async () => {
      const out = await captureStdout(async () => {
        try {
          return await handler(event, context);
        } catch (error) {
          return error;
        }
      });
      lines = out.lines;
      if (out.result instanceof Error) throw out.result;
    });
    const failed = lines.find((l) => l.message === 'failed');
    assert.equal(failed?.level, 'ERROR');
    assert.equal(failed?.retryable, false);
    assert.equal(failed?.messageId, 'handler-msg-2');
    assert.match(JSON.stringify(failed?.error), /MessageNotFoundError/);
  });
});

describe('readSettings', () => {
  const base = {
    OUTBOUND_POOLS_CONFIG_JSON: JSON.stringify({
      acceptedDomains: ['example.com'],
      routes: { 'a@example.com': ['b@remote.test'] },
      srs: { domain: 'fwd.example.com', secrets: ['0123456789'] },
    }),
    MAIL_BUCKET: 'bucket',
    LIMITS_TABLE: 'limits',
    TRACE_TABLE: 'trace',
  };

  it('reads back what settingsEnvironment writes (sandbox, bench and tests use it)', () => {
    const env = settingsEnvironment({
      config: JSON.parse(base.OUTBOUND_POOLS_CONFIG_JSON),
      mailBucket: 'b-1',
      mailPrefix: 'raw/',
      limitsTable: 'limits-1',
      traceTable: 'trace-1',
      leaseSeconds: 60,
      maxAttempts: 2,
      restrictionCacheSeconds: 0,
    });
    const s = readSettings(env);
    assert.deepEqual(
      [
        s.mailBucket,
        s.mailPrefix,
        s.limitsTable,
        s.traceTable,
        s.leaseMs,
        s.maxAttempts,
        s.restrictionCacheMs,
      ],
      ['b-1', 'raw/', 'limits-1', 'trace-1', 60_000, 2, 0],
    );
    assert.deepEqual(s.config.acceptedDomains, ['example.com']);
  });

  it('reads the defaults', () => {
    const s = readSettings(base);
    // The default timeout (90 s) plus the lease margin (20 s), and Lambda's default 1 + 2 attempts.
    assert.equal(s.leaseMs, 110_000);
    assert.equal(s.maxAttempts, 3);
    assert.equal(s.restrictionCacheMs, 60_000);
    assert.equal(s.mailPrefix, '');
    assert.deepEqual(s.config.acceptedDomains, ['example.com']);
  });

  const bad: [string, Record<string, string | undefined>, RegExp][] = [
    ['missing bucket', { MAIL_BUCKET: undefined }, /environment variable MAIL_BUCKET/],
    ['bad lease', { LEASE_SECONDS: 'soon' }, /environment variable LEASE_SECONDS/],
    // Lambda's retryAttempts is 0 to 2: 1 to 3 attempts.
    ['no attempt at all', { MAX_ATTEMPTS: '0' }, /environment variable MAX_ATTEMPTS/],
    ['more attempts than Lambda makes', { MAX_ATTEMPTS: '4' }, /environment variable MAX_ATTEMPTS/],
    ['attempts not a whole number', { MAX_ATTEMPTS: '2.5' }, /environment variable MAX_ATTEMPTS/],
    ['bad config JSON', { OUTBOUND_POOLS_CONFIG_JSON: '{' }, /OUTBOUND_POOLS_CONFIG_JSON is not valid JSON/],
    [
      'missing config file',
      { OUTBOUND_POOLS_CONFIG_JSON: undefined, OUTBOUND_POOLS_CONFIG_FILE: '/nope.json' },
      /cannot read configuration \/nope\.json/,
    ],
    // One meaning everywhere (issue 15 item 8): OUTBOUND_POOLS_CONFIG is a path, as for the CLI.
    [
      'config JSON in the path variable',
      { OUTBOUND_POOLS_CONFIG_JSON: undefined, OUTBOUND_POOLS_CONFIG: '{"acceptedDomains": []}' },
      /OUTBOUND_POOLS_CONFIG: is a path to the configuration file; put JSON text in OUTBOUND_POOLS_CONFIG_JSON/,
    ],
    [
      'the path variable read as a path',
      { OUTBOUND_POOLS_CONFIG_JSON: undefined, OUTBOUND_POOLS_CONFIG: '/nope-either.json' },
      /cannot read configuration \/nope-either\.json/,
    ],
  ];
  for (const [name, env, message] of bad) {
    it(`${name}: a ConfigError naming the variable`, () => {
      assert.throws(() => readSettings({ ...base, ...env }), message);
    });
  }
});
