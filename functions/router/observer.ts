/**
 * Pipeline events → ONE line per message that is both the structured `done` log line and the
 * CloudWatch EMF document of the message's metrics.
 *
 * A {@link MessageReport} gathers what happens to one message (the decision, each copy sent or
 * refused, a duplicate) and {@link MessageReport.flush} writes it once: one JSON line with the
 * decision, the authentication facts, the copies and the timings *and* the `_aws` metric
 * directives. EMF lets a document carry any other members as properties, which CloudWatch Logs
 * keeps and Logs Insights queries ("Specification: Embedded metric format", CloudWatch User
 * Guide). Writing per event cost the router 6 EMF documents and 3 log lines (2.8 KB) and
 * 1-2 ms of CPU per message (issue 16). Because the line carries the metrics, it is written at
 * any log level. Warnings and errors stay lines of their own, written when they happen: they
 * are rare, and a crash must not swallow them.
 *
 * One document holds one value per member, so one metric name cannot be counted for two
 * dimension values in it: each reason code is therefore its own metric, `Reason.<code>`
 * ({@link reasonMetric}), with only the `service` dimension, and a typical message is one
 * document (a second only when its copies go out through a pool other than its own).
 *
 * Metric names and dimensions are what the dashboard and alarms of the CDK stack read
 * (`lib/dashboard.ts`, `lib/alarms.ts`): keep them in sync. Every metric carries the `service`
 * dimension, as it did when Powertools Metrics wrote them.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SendRecord, TraceSummary } from '../core/ports.js';
import type { Reason } from '../core/vocabulary.js';
import { emfDocuments, type MetricPoint } from './emf.js';
import type { PipelineObserver, PipelineResult } from './process.js';

export const METRICS_NAMESPACE = 'OutboundPools';
/** The router's service name: the logger's and the `service` dimension of every metric. */
export const ROUTER_SERVICE_NAME = 'outbound-pools-router';

/** Metric names (namespace {@link METRICS_NAMESPACE}). */
export const METRIC = {
  /** Received messages, dimension `Pool` (normal, high-risk, relay, blocked). */
  messages: 'Messages',
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

/**
 * The metric counting messages decided with `reason` (one per reason of each message; a
 * policy limit crossed is its `limit-*` reason): `Reason.<code>`, dimension `service` only.
 */
export function reasonMetric(reason: Reason): string {
  return `Reason.${reason}`;
}

/**
 * The first invocation of a container, as Powertools' `captureColdStartMetric` counted it. Not
 * in {@link METRIC}, whose every metric the dashboard shows.
 */
export const COLD_START_METRIC = 'ColdStart';

/**
 * Whether EMF is switched off, as Powertools Metrics reads it (the sandbox, the bench and the
 * bundle test rely on it): `POWERTOOLS_METRICS_DISABLED` when set, else `POWERTOOLS_DEV`.
 */
export function metricsDisabled(env: NodeJS.ProcessEnv): boolean {
  const flag = (name: string) => ['1', 'true', 'yes', 'on'].includes((env[name] ?? '').trim().toLowerCase());
  return env.POWERTOOLS_METRICS_DISABLED !== undefined
    ? flag('POWERTOOLS_METRICS_DISABLED')
    : flag('POWERTOOLS_DEV');
}

/** Where the report's lines go: `process.stdout`, which Lambda ships to CloudWatch Logs as is. */
export type LineWriter = (line: string) => void;

const stdoutWriter: LineWriter = (line) => {
  process.stdout.write(`${line}\n`);
};

/** One copy as the `done` line shows it. */
interface CopyFacts {
  index: number;
  kind: SendRecord['kind'];
  pool: SendRecord['pool'];
  configurationSet: string;
  to: number;
  status: SendRecord['status'];
  sesMessageId?: string;
}

/** Who the line is about, besides the message: the invocation's ids, as Powertools named them. */
export interface ReportContext {
  /** The SES message id (also on every other line, through the logger's keys). */
  messageId?: string;
  /** Lambda's request id (`context.awsRequestId`). */
  requestId?: string;
}

/**
 * What happened to one message, written once by {@link flush}. Make one per invocation: the
 * observer's events belong to the message of that invocation.
 */
export class MessageReport {
  private readonly points: MetricPoint[] = [];
  private summary: TraceSummary | null = null;
  private readonly copies: CopyFacts[] = [];
  private flushed = false;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly write: LineWriter;
  private readonly metrics: boolean;
  private readonly coldStart: boolean;
  private readonly context: ReportContext;
  private readonly startedMs: number;

  /**
   * @param opts.now the clock of the timestamps (default `Date.now`); `write` where the line
   *   goes (default stdout); `metrics: false` writes no EMF (the `done` line then goes through
   *   the logger, at its level); `coldStart`: the container's first invocation; `context`: the
   *   ids the line carries.
   */
  constructor(
    logger: Logger,
    opts: {
      now?: () => number;
      write?: LineWriter;
      metrics?: boolean;
      coldStart?: boolean;
      context?: ReportContext;
    } = {},
  ) {
    this.logger = logger;
    this.now = opts.now ?? Date.now;
    this.write = opts.write ?? stdoutWriter;
    this.metrics = opts.metrics !== false;
    this.coldStart = opts.coldStart === true;
    this.context = opts.context ?? {};
    this.startedMs = this.now();
    if (this.coldStart) this.count(COLD_START_METRIC);
  }

  private count(name: string, dimension?: readonly [string, string]): void {
    this.points.push({ name, unit: 'Count', value: 1, ...(dimension ? { dimension } : {}) });
  }

  /** The pipeline's hooks: gathering only, except warnings and errors (written at once). */
  readonly observer: PipelineObserver = {
    decided: (summary) => {
      this.summary = summary;
      this.count(METRIC.messages, ['Pool', summary.pool]);
      for (const r of summary.reasons) this.count(reasonMetric(r));
      this.points.push({ name: METRIC.decisionLatency, unit: 'Milliseconds', value: summary.decisionMs });
    },
    restricted: (r) => {
      this.logger.warn('sender restricted', { identity: r.identity, reason: r.reason, until: r.until });
      this.count(METRIC.restrictions);
    },
    alert: (identity, reasons) => {
      this.logger.warn('sending limit alert', { identity, reasons });
      this.count(METRIC.alerts);
    },
    sent: (record) => {
      this.copies.push(copyFacts(record));
      this.count(METRIC.sends, ['Pool', record.pool]);
      if (record.kind === 'ndr') this.count(METRIC.ndrs);
    },
    sendFailed: (record, error) => {
      this.copies.push(copyFacts(record));
      this.logger.error('SES refused a copy', {
        index: record.index,
        pool: record.pool,
        refusal: record.refusal,
        error,
      });
      this.count(METRIC.sendsFailed, ['Pool', record.pool]);
    },
    duplicate: () => {
      this.count(METRIC.duplicates);
    },
    warn: (message, details) => {
      this.logger.warn(message, details);
    },
  };

  /**
   * Writes the message's one line: given the result, the `done` fields together with the
   * metrics gathered; after a failure (no result), the metrics alone (copies sent before it
   * still count; the handler logs the error). Once; later calls write nothing.
   */
  flush(result?: PipelineResult): void {
    if (this.flushed) return;
    this.flushed = true;
    const now = this.now();
    const docs = this.metrics
      ? emfDocuments(this.points, {
          namespace: METRICS_NAMESPACE,
          defaults: { service: ROUTER_SERVICE_NAME },
          timestamp: now,
        })
      : [];
    if (!result) {
      for (const doc of docs) this.write(JSON.stringify(doc));
      return;
    }
    const fields = this.doneFields(result, now);
    if (docs.length === 0) {
      // Metrics off: an ordinary log line, at the logger's level (none gathered: the line as ever).
      if (!this.metrics) this.logger.info('done', fields);
      else this.write(JSON.stringify({ ...this.lineHead(now), ...fields }));
      return;
    }
    // The log fields first (what a reader looks for), the metric members and `_aws` after.
    this.write(JSON.stringify({ ...this.lineHead(now), ...fields, ...docs[0] }));
    for (const doc of docs.slice(1)) this.write(JSON.stringify(doc));
  }

  /** The keys Powertools starts a line with, the ones a query needs (no function ARN/name/memory). */
  private lineHead(now: number): Record<string, unknown> {
    return {
      level: 'INFO',
      message: 'done',
      timestamp: new Date(now).toISOString(),
      service: ROUTER_SERVICE_NAME,
      cold_start: this.coldStart,
      ...(this.context.requestId ? { function_request_id: this.context.requestId } : {}),
      ...(this.context.messageId ? { messageId: this.context.messageId } : {}),
    };
  }

  private doneFields(result: PipelineResult, now: number): Record<string, unknown> {
    const s = this.summary;
    return {
      outcome: result.outcome,
      pool: result.pool,
      reasons: result.reasons,
      ...(s
        ? {
            sender: s.sender,
            recipients: s.recipients,
            destinations: s.destinations.length,
            unrouted: s.unrouted,
            outboundIpPoolName: s.outboundIpPoolName,
            configurationSet: s.configurationSet,
            sizeBytes: s.sizeBytes,
            // Who proved what (SPEC 2a), so the line says *why* without a dry-run.
            authentication: s.authentication,
          }
        : {}),
      // This attempt's copies (a resumed message's earlier copies are in the trace).
      sends: this.copies,
      timings: { ...(s ? { decisionMs: s.decisionMs } : {}), totalMs: now - this.startedMs },
    };
  }
}

function copyFacts(record: SendRecord): CopyFacts {
  return {
    index: record.index,
    kind: record.kind,
    pool: record.pool,
    configurationSet: record.configurationSet,
    to: record.to.length,
    status: record.status,
    ...(record.sesMessageId ? { sesMessageId: record.sesMessageId } : {}),
  };
}
