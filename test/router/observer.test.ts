/**
 * The router's per-message report (`functions/router/observer.ts`): what a message's events
 * become on stdout — EMF documents and one `done` line — read back as CloudWatch would.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import type { SendRecord, TraceSummary } from '../../functions/core/ports.js';
import { MessageReport, metricsDisabled } from '../../functions/router/observer.js';
import type { PipelineResult } from '../../functions/router/process.js';

type Line = Record<string, unknown>;

/** A logger whose JSON lines land in `lines` while `run` runs; `write` takes the EMF lines. */
function capture(): {
  logger: Logger;
  lines: Line[];
  write: (l: string) => void;
  run: (fn: () => void) => void;
} {
  const lines: Line[] = [];
  const logger = new Logger({ serviceName: 'outbound-pools-router', logLevel: 'INFO' });
  const run = (fn: () => void) => {
    // Powertools writes to stdout, and warnings and errors to stderr.
    const streams = [process.stdout, process.stderr];
    const writes = streams.map((s) => s.write);
    for (const s of streams) {
      s.write = ((chunk: string | Uint8Array) => {
        for (const l of String(chunk).split('\n')) if (l.startsWith('{')) lines.push(JSON.parse(l) as Line);
        return true;
      }) as typeof s.write;
    }
    try {
      fn();
    } finally {
      streams.forEach((s, i) => {
        s.write = writes[i]!;
      });
    }
  };
  return { logger, lines, write: (l) => lines.push(JSON.parse(l) as Line), run };
}

const summary = (reasons: string[]): TraceSummary =>
  ({
    messageId: 'm-1',
    receivedAt: '2026-01-01T00:00:00.000Z',
    sender: 'alice@sender.test',
    recipients: ['alias@example.com'],
    destinations: ['dest@remote.test'],
    unrouted: [],
    pool: 'normal',
    outboundIpPoolName: 'outbound-normal',
    configurationSet: 'outbound-normal',
    reasons,
    plan: [],
    sizeBytes: 3226,
    decisionMs: 4,
    authentication: { spfPass: true },
  }) as unknown as TraceSummary;

const sent = (index: number): SendRecord => ({
  index,
  kind: 'forward',
  to: ['dest@remote.test'],
  pool: 'normal',
  configurationSet: 'outbound-normal',
  envelopeFrom: 'SRS0=x@fwd.example.com',
  status: 'sent',
  sesMessageId: `ses-${index}`,
  at: '2026-01-01T00:00:01.000Z',
});

const result = (reasons: string[], sends: SendRecord[]): PipelineResult => ({
  messageId: 'm-1',
  outcome: 'processed',
  pool: 'normal',
  reasons: reasons as PipelineResult['reasons'],
  sends,
});

describe('MessageReport', () => {
  it('a message with two reasons sent as two copies: one line, both the done line and the EMF document, at flush only', () => {
    const c = capture();
    let now = 1_000;
    const report = new MessageReport(c.logger, {
      now: () => now,
      write: c.write,
      context: { requestId: 'req-9' },
    });
    c.run(() => {
      report.observer.decided?.(summary(['spf-pass', 'dkim-aligned-pass']), null);
      report.observer.sent?.(sent(0));
      report.observer.sent?.(sent(1));
    });
    assert.equal(c.lines.length, 0, 'nothing is written before the end of the message');
    now = 1_012;
    c.run(() => report.flush(result(['spf-pass', 'dkim-aligned-pass'], [sent(0), sent(1)])));
    assert.equal(c.lines.length, 1);
    const doc = c.lines[0]!;
    assert.equal(doc.Messages, 1);
    assert.equal(doc.Sends, 2);
    assert.equal(doc.Pool, 'normal');
    assert.equal(doc['Reason.spf-pass'], 1);
    assert.equal(doc['Reason.dkim-aligned-pass'], 1);
    assert.equal(doc.DecisionLatency, 4);
    const aws = doc._aws as {
      Timestamp: number;
      CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
    };
    assert.equal(aws.Timestamp, 1_012);
    // Every metric with its dimension set, read as CloudWatch reads the directives.
    assert.deepEqual(
      aws.CloudWatchMetrics.flatMap((d) =>
        d.Metrics.map((m) => `${m.Name}{${d.Dimensions[0]!.join(',')}}`),
      ).sort(),
      [
        'DecisionLatency{service}',
        'Messages{service,Pool}',
        'Reason.dkim-aligned-pass{service}',
        'Reason.spf-pass{service}',
        'Sends{service,Pool}',
      ],
    );
    const done = doc;
    assert.equal(done.level, 'INFO');
    assert.equal(done.message, 'done');
    assert.equal(done.service, 'outbound-pools-router');
    assert.equal(done.messageId, 'm-1');
    assert.equal(done.function_request_id, 'req-9');
    assert.equal(done.timestamp, new Date(1_012).toISOString());
    assert.equal(done.outcome, 'processed');
    // The reasons are the `Reason.<code>` members, in the decision's order; no second list.
    assert.equal(done.reasons, undefined);
    assert.deepEqual(
      Object.keys(done).filter((k) => k.startsWith('Reason.')),
      ['Reason.spf-pass', 'Reason.dkim-aligned-pass'],
    );
    assert.deepEqual(done.sends, [
      { index: 0, kind: 'forward', pool: 'normal', status: 'sent', sesMessageId: 'ses-0' },
      { index: 1, kind: 'forward', pool: 'normal', status: 'sent', sesMessageId: 'ses-1' },
    ]);
    assert.equal(done.durationMs, 12);
    // Flushing again writes nothing more.
    c.run(() => report.flush(result(['dkim-aligned-pass'], [])));
    assert.equal(c.lines.length, 1);
  });

  it('after a failure: the metrics of what happened, no done line; warnings and refusals at once', () => {
    const c = capture();
    const report = new MessageReport(c.logger, { write: c.write, coldStart: true });
    c.run(() => {
      report.observer.warn?.('NDR not sent', { to: 'x@y.test' });
      report.observer.sendFailed?.(
        { ...sent(0), status: 'failed', error: 'MessageRejected' },
        new Error('no'),
      );
    });
    assert.deepEqual(
      c.lines.map((l) => [l.level, l.message]),
      [
        ['WARN', 'NDR not sent'],
        ['ERROR', 'SES refused a copy'],
      ],
    );
    c.run(() => report.flush());
    const emf = c.lines.filter((l) => l._aws !== undefined);
    assert.equal(emf.length, 1);
    assert.equal(emf[0]!.SendsFailed, 1);
    assert.equal(emf[0]!.ColdStart, 1);
    assert.equal(c.lines.filter((l) => l.level === 'INFO').length, 0);
  });

  it('metrics switched off as Powertools reads it: no EMF, the done line stays', () => {
    assert.equal(metricsDisabled({ POWERTOOLS_METRICS_DISABLED: 'true' }), true);
    assert.equal(metricsDisabled({ POWERTOOLS_METRICS_DISABLED: 'false', POWERTOOLS_DEV: 'true' }), false);
    assert.equal(metricsDisabled({ POWERTOOLS_DEV: 'true' }), true);
    assert.equal(metricsDisabled({}), false);
    const c = capture();
    const report = new MessageReport(c.logger, { write: c.write, metrics: false });
    c.run(() => {
      report.observer.duplicate?.('m-1');
      report.flush({ messageId: 'm-1', outcome: 'duplicate', pool: null, reasons: [], sends: [] });
    });
    assert.deepEqual(
      c.lines.map((l) => [l.message, l.outcome, l._aws]),
      [['done', 'duplicate', undefined]],
    );
    // A decided message: what the EMF members would carry is in the fields (reasons, latency).
    const d = capture();
    const decided = new MessageReport(d.logger, { write: d.write, metrics: false });
    d.run(() => {
      decided.observer.decided?.(summary(['spf-pass']), null);
      decided.observer.sent?.(sent(0));
      decided.flush(result(['spf-pass'], [sent(0)]));
    });
    assert.equal(d.lines.length, 1);
    const line = d.lines[0]!;
    assert.deepEqual(
      [line.message, line.Pool, line.reasons, line.DecisionLatency, line._aws],
      ['done', 'normal', ['spf-pass'], 4, undefined],
    );
  });
});

describe('MessageReport: more than one document', () => {
  it('a copy sent through another pool than the message: its Sends in a second document, the fields in the first only', () => {
    const c = capture();
    const report = new MessageReport(c.logger, { write: c.write });
    c.run(() => {
      report.observer.decided?.(summary(['spf-pass']), null);
      report.observer.sent?.({ ...sent(0), pool: 'high-risk', kind: 'ndr' });
      report.flush(result(['spf-pass'], []));
    });
    assert.equal(c.lines.length, 2);
    const [first, second] = c.lines as [Line, Line];
    assert.equal(first.message, 'done');
    assert.equal(first.Pool, 'normal');
    assert.equal(first.Messages, 1);
    assert.equal(first.NdrsGenerated, 1);
    assert.equal(second.message, undefined, 'the second document is metrics only');
    assert.equal(second.Pool, 'high-risk');
    assert.equal(second.Sends, 1);
  });

  it('the line is written whatever the log level, since it carries the metrics', () => {
    const c = capture();
    const silent = new Logger({ serviceName: 'outbound-pools-router', logLevel: 'SILENT' });
    const report = new MessageReport(silent, { write: c.write });
    c.run(() => {
      report.observer.decided?.(summary(['spf-pass']), null);
      report.flush(result(['spf-pass'], []));
    });
    assert.deepEqual(
      c.lines.map((l) => [l.message, l.Messages]),
      [['done', 1]],
    );
  });
});

describe('MessageReport: the line of a plain message (issue 16: CloudWatch Logs bills per byte)', () => {
  // Ids as AWS writes them: SES's receipt id, Lambda's request id, SESv2's message id.
  const SES_RECEIPT_ID = 'o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81';
  const REQUEST_ID = 'c6af9ac6-7b61-11e6-9a41-93e812345678';
  const SES_SEND_ID = '010001939c5c8d2e-4d1d3a0a-6f6e-4c7b-9a1b-2c3d4e5f6a7b-000000';

  function plainLine(): { text: string; line: Line } {
    const texts: string[] = [];
    const logger = new Logger({ serviceName: 'outbound-pools-router', logLevel: 'INFO' });
    let now = Date.UTC(2026, 11, 7, 6, 0, 0, 0); // epoch ms of today's width
    const start = now;
    const report = new MessageReport(logger, {
      now: () => now,
      write: (l) => texts.push(l),
      context: { requestId: REQUEST_ID },
    });
    const reasons = ['spf-pass', 'dkim-aligned-pass', 'srs-rewritten'];
    const copy = { ...sent(0), sesMessageId: SES_SEND_ID };
    report.observer.decided?.({ ...summary(reasons), messageId: SES_RECEIPT_ID }, null);
    report.observer.sent?.(copy);
    now = start + 31;
    report.flush({ ...result(reasons, [copy]), messageId: SES_RECEIPT_ID });
    assert.equal(texts.length, 1, 'one line');
    return { text: texts[0]!, line: JSON.parse(texts[0]!) as Line };
  }

  it('says what happened to the message: id, outcome, pool, reasons, the copy and its SES id, duration, request id', () => {
    const { line } = plainLine();
    assert.equal(line.messageId, SES_RECEIPT_ID);
    assert.equal(line.function_request_id, REQUEST_ID);
    assert.equal(line.outcome, 'processed');
    assert.equal(line.Pool, 'normal');
    assert.deepEqual(
      Object.keys(line).filter((k) => k.startsWith('Reason.')),
      ['Reason.spf-pass', 'Reason.dkim-aligned-pass', 'Reason.srs-rewritten'],
    );
    assert.deepEqual(
      (line.sends as { kind: string; pool: string; status: string; sesMessageId: string }[]).map((s) => [
        s.kind,
        s.pool,
        s.status,
        s.sesMessageId,
      ]),
      [['forward', 'normal', 'sent', SES_SEND_ID]],
    );
    assert.equal(line.durationMs, 31);
    assert.equal(line.DecisionLatency, 4);
    // Lambda's JSON log format reads these two (level filtering; RFC 3339 timestamp).
    assert.equal(line.level, 'INFO');
    assert.equal(line.timestamp, '2026-12-07T06:00:00.031Z');
  });

  it('is small: no Powertools context keys, no field twice, under 1,020 bytes with real ids (it was ~1.75 KB)', () => {
    const { text, line } = plainLine();
    for (const key of [
      'function_arn',
      'function_name',
      'function_memory_size',
      'cold_start',
      'sampling_rate',
      'xray_trace_id',
      'authentication',
      'timings',
      'reasons',
    ]) {
      assert.equal(line[key], undefined, key);
    }
    // Every key once (JSON.parse keeps the last of a repeated key: count them in the text).
    const keys = [...text.matchAll(/"([^"]+)":/g)].map((m) => m[1]!);
    for (const k of ['service', 'Pool', 'messageId', 'DecisionLatency', 'Messages', 'Sends']) {
      assert.equal(keys.filter((x) => x === k).length, 1, `${k} in ${text}`);
    }
    // ~480 bytes are the EMF directives and values of the 7 metrics the dashboard reads, ~140
    // the three ids (AWS's lengths), the rest the record's names and values.
    const bytes = Buffer.byteLength(text);
    assert.ok(bytes <= 1020, `${bytes} bytes: ${text}`);
  });
});

describe('MessageReport: a resumed attempt and a duplicate', () => {
  it('a resumed attempt counts no reasons, so its line lists them; its copy through another pool goes on', () => {
    const c = capture();
    const report = new MessageReport(c.logger, { write: c.write });
    c.run(() => {
      report.observer.sent?.({ ...sent(1), pool: 'high-risk', kind: 'ndr' });
      report.flush({ ...result(['spf-pass', 'ndr'], []), outcome: 'resumed' });
    });
    assert.equal(c.lines.length, 2);
    const [first, second] = c.lines as [Line, Line];
    assert.deepEqual(
      [first.message, first.outcome, first.Pool, first.reasons, first.NdrsGenerated],
      ['done', 'resumed', 'normal', ['spf-pass', 'ndr'], 1],
    );
    assert.deepEqual([second.message, second.Pool, second.Sends], [undefined, 'high-risk', 1]);
  });

  it('a duplicate: no pool, its count in the line', () => {
    const c = capture();
    const report = new MessageReport(c.logger, { write: c.write });
    c.run(() => {
      report.observer.duplicate?.('m-1');
      report.flush({ messageId: 'm-1', outcome: 'duplicate', pool: null, reasons: [], sends: [] });
    });
    assert.equal(c.lines.length, 1);
    const line = c.lines[0]!;
    assert.deepEqual(
      [line.message, line.outcome, line.Pool, line.DuplicateEvents, line.reasons],
      ['done', 'duplicate', undefined, 1, []],
    );
  });
});
