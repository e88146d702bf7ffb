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
      context: { messageId: 'm-1', requestId: 'req-9' },
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
    assert.deepEqual(done.reasons, ['spf-pass', 'dkim-aligned-pass']);
    assert.deepEqual(done.authentication, { spfPass: true });
    assert.deepEqual(
      (done.sends as { sesMessageId: string; to: number }[]).map((s) => [s.sesMessageId, s.to]),
      [
        ['ses-0', 1],
        ['ses-1', 1],
      ],
    );
    assert.deepEqual(done.timings, { decisionMs: 4, totalMs: 12 });
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
      c.lines.map((l) => [l.message, l.outcome]),
      [['done', 'duplicate']],
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
