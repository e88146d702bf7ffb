/**
 * Pipeline events → structured logs (Powertools Logger) and CloudWatch metrics in EMF
 * (Powertools Metrics). Metric names and dimensions are what the dashboard and alarms of the
 * CDK stack read: keep them in sync with `lib/`.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { PipelineObserver } from './process.js';

export const METRICS_NAMESPACE = 'OutboundPools';

/** Metric names (namespace {@link METRICS_NAMESPACE}). */
export const METRIC = {
  /** Received messages, dimension `Pool` (normal, high-risk, relay, blocked). */
  messages: 'Messages',
  /** One per reason of each message, dimension `Reason`. */
  reasons: 'Reasons',
  /** Policy limits crossed (`limit-*` reasons), dimension `Reason`. */
  limitHits: 'LimitHits',
  /** Senders restricted. */
  restrictions: 'Restrictions',
  /** Alert-only limits crossed. */
  alerts: 'LimitAlerts',
  /** Copies sent, dimension `Pool`. */
  sends: 'Sends',
  /** NDRs generated for blocked mail of authenticated senders. */
  ndrs: 'NdrsGenerated',
  /** Copies SES refused for good (a refusal of that copy only; the class is in the log line and trace). */
  sendsFailed: 'SendsFailed',
  /** Time from claim to decision, milliseconds. */
  decisionLatency: 'DecisionLatency',
  /** Re-delivered events that found their message already processed. */
  duplicates: 'DuplicateEvents',
} as const;

export function powertoolsObserver(logger: Logger, metrics: Metrics): PipelineObserver {
  type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];
  const single = (name: string, dimension?: [string, string], value = 1, unit: Unit = MetricUnit.Count) => {
    const m = metrics.singleMetric();
    if (dimension) m.addDimension(dimension[0], dimension[1]);
    m.addMetric(name, unit, value);
  };
  return {
    decided(summary) {
      logger.info('decided', {
        pool: summary.pool,
        outboundIpPoolName: summary.outboundIpPoolName,
        configurationSet: summary.configurationSet,
        reasons: summary.reasons,
        sender: summary.sender,
        recipients: summary.recipients,
        destinations: summary.destinations.length,
        unrouted: summary.unrouted,
        sizeBytes: summary.sizeBytes,
        decisionMs: summary.decisionMs,
        // Who proved what (SPEC 2a), so the log line says *why* without a dry-run.
        authentication: summary.authentication,
      });
      single(METRIC.messages, ['Pool', summary.pool]);
      for (const r of summary.reasons) {
        single(METRIC.reasons, ['Reason', r]);
        if (r.startsWith('limit-')) single(METRIC.limitHits, ['Reason', r]);
      }
      metrics.addMetric(METRIC.decisionLatency, MetricUnit.Milliseconds, summary.decisionMs);
    },
    restricted(r) {
      logger.warn('sender restricted', { identity: r.identity, reason: r.reason, until: r.until });
      single(METRIC.restrictions);
    },
    alert(identity, reasons) {
      logger.warn('sending limit alert', { identity, reasons });
      single(METRIC.alerts);
    },
    sent(record) {
      logger.info('sent', {
        index: record.index,
        kind: record.kind,
        pool: record.pool,
        configurationSet: record.configurationSet,
        to: record.to.length,
        sesMessageId: record.sesMessageId,
      });
      single(METRIC.sends, ['Pool', record.pool]);
      if (record.kind === 'ndr') single(METRIC.ndrs);
    },
    sendFailed(record, error) {
      logger.error('SES refused a copy', {
        index: record.index,
        pool: record.pool,
        refusal: record.refusal,
        error,
      });
      single(METRIC.sendsFailed, ['Pool', record.pool]);
    },
    duplicate(messageId) {
      logger.info('duplicate event: message already processed', { messageId });
      single(METRIC.duplicates);
    },
    warn(message, details) {
      logger.warn(message, details);
    },
  };
}
