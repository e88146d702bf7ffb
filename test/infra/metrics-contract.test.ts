/**
 * The dashboard and alarms read the router's metrics by name *and exact dimension set*
 * (CloudWatch finds nothing otherwise). This runs the router's own per-message report,
 * captures the EMF it prints, and checks that every metric it emits is one the dashboard asks
 * for, with the same dimensions — `service` included, as Powertools added it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import type { SendRecord, TraceSummary } from '../../functions/core/ports.js';
import { METRICS_NAMESPACE, MessageReport, ROUTER_SERVICE_NAME } from '../../functions/router/observer.js';
import { ROUTER_SERVICE } from '../../lib/dashboard.js';
import { PROJECT_ROOT } from '../../lib/lambda-bundling.js';
import { dashboardBody, dashboardMetrics, synthStack } from './helpers.js';

interface Emitted {
  name: string;
  dimensions: Record<string, string>;
}

/** Runs `act` and returns the metrics of the EMF documents it printed. */
function captureEmf(act: () => void): Emitted[] {
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    act();
  } finally {
    process.stdout.write = write;
  }
  const out: Emitted[] = [];
  for (const line of lines.join('').split('\n')) {
    if (!line.includes('"_aws"')) continue;
    const doc = JSON.parse(line) as Record<string, unknown> & {
      _aws: {
        CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
      };
    };
    for (const directive of doc._aws.CloudWatchMetrics) {
      assert.equal(directive.Namespace, METRICS_NAMESPACE);
      for (const metric of directive.Metrics) {
        for (const set of directive.Dimensions) {
          out.push({
            name: metric.Name,
            dimensions: Object.fromEntries(set.map((d) => [d, String(doc[d])])),
          });
        }
      }
    }
  }
  return out;
}

describe('router metrics ↔ dashboard', () => {
  it('the router publishes under the namespace and service name the dashboard uses', () => {
    assert.equal(ROUTER_SERVICE_NAME, ROUTER_SERVICE);
    const source = readFileSync(join(PROJECT_ROOT, 'functions/router/handler.ts'), 'utf8');
    assert.match(source, /leanLogger\(ROUTER_SERVICE_NAME\)/);
    assert.match(source, /new MessageReport\(logger,/);
  });

  it('every metric the observer emits is on the dashboard with exactly its dimensions', () => {
    // Prepare: the router's per-message report, as handler.ts builds it
    const report = new MessageReport(new Logger({ serviceName: ROUTER_SERVICE, logLevel: 'SILENT' }), {
      coldStart: false,
    });
    const observer = report.observer;
    const summary = {
      messageId: 'm-1',
      pool: 'high-risk',
      reasons: ['limit-day', 'spf-pass'],
      destinations: ['dest@remote.test'],
      decisionMs: 12,
    } as unknown as TraceSummary;
    const send = { index: 0, kind: 'ndr', pool: 'high-risk', to: ['a@b.test'] } as unknown as SendRecord;
    // Act
    const emitted = captureEmf(() => {
      observer.decided?.(summary, null);
      observer.restricted?.({ identity: 'alias@example.com', reason: 'limit-day', since: '', until: null });
      observer.alert?.('alias@example.com', ['limit-day']);
      observer.sent?.(send);
      observer.sendFailed?.(send, new Error('refused'));
      observer.duplicate?.('m-1');
      report.flush();
    });
    // Assess
    // The default template, validated in outbound-pools-stack.test.ts.
    const template = synthStack({}, { bundle: false, validate: false }).template;
    const onDashboard = dashboardMetrics(dashboardBody(template)).filter(
      (m) => m.namespace === METRICS_NAMESPACE,
    );
    const names = new Set(emitted.map((e) => e.name));
    for (const name of [
      'Messages',
      'Reason.limit-day',
      'Reason.spf-pass',
      'Restrictions',
      'LimitAlerts',
      'Sends',
      'NdrsGenerated',
      'SendsFailed',
      'DecisionLatency',
      'DuplicateEvents',
    ]) {
      assert.ok(names.has(name), `the observer emitted ${name}`);
    }
    for (const e of emitted) {
      assert.ok(
        onDashboard.some(
          (m) =>
            m.metricName === e.name &&
            JSON.stringify(sorted(m.dimensions)) === JSON.stringify(sorted(e.dimensions)),
        ),
        `dashboard shows ${e.name} ${JSON.stringify(e.dimensions)}`,
      );
    }
  });
});

const sorted = (o: Record<string, string>) =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
