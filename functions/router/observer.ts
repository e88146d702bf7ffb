/**
 * Pipeline events → ONE line per message that is both the structured `done` log line and the
 * CloudWatch EMF document of the message's metrics, kept small (issue 16: CloudWatch Logs
 * bills ingestion per byte; the line was 1.66 KB and is under 1 KB for a plain message).
 *
 * A {@link MessageReport} gathers what happens to one message (the decision, each copy sent or
 * refused, a duplicate) and {@link MessageReport.flush} writes it once: one JSON line with the
 * decision, the copies and the duration *and* the `_aws` metric directives. EMF lets a document carry any other members as properties, which CloudWatch Logs
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
 * The `done` record says what happened to the message (id, outcome, pool, reasons, each copy
 * with its SES message id, duration, Lambda's request id) and leaves the rest to the trace
 * (`outbound-pools trace`: sender, recipients, authentication, the plan). A member that is
 * also a metric's dimension or value is written once (`service`, `Pool`, `DecisionLatency`).
 *
 * Metric names and dimensions are what the dashboard and alarms of the CDK stack read
 * (`lib/dashboard.ts`, `lib/alarms.ts`): keep them in sync. Every metric carries the `service`
 * dimension, as it did when Powertools Metrics wrote them.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SendRecord } from '../core/ports.js';
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

/**
 * One copy as the `done` line shows it: which, through which pool, what SES said. Its
 * configuration set follows from the pool, its recipients are in the trace.
 */
interface CopyFacts {
  index: number;
  kind: SendRecord['kind'];
  pool: SendRecord['pool'];
  status: SendRecord['status'];
  sesMessageId?: string;
}

/** The invocation the line is about, as Powertools named it (the message id is the result's). */
export interface ReportContext {
  /** Lambda's request id (`context.awsRequestId`), the line's `function_request_id`. */
  requestId?: string;
}

/**
 * What happened to one message, written once by {@link flush}. Make one per invocation: the
 * observer's events belong to the message of that invocation.
 */
export class MessageReport {
  private readonly points: MetricPoint[] = [];
  private readonly copies: CopyFacts[] = [];
  /** The reasons counted as `Reason.<code>` metrics (the decision of this attempt). */
  private counted: readonly Reason[] | null = null;
  private flushed = false;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly write: LineWriter;
  private readonly metrics: boolean;
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
    this.context = opts.context ?? {};
    this.startedMs = this.now();
    if (opts.coldStart === true) this.count(COLD_START_METRIC);
  }

  private count(name: string, dimension?: readonly [string, string]): void {
    this.points.push({ name, unit: 'Count', value: 1, ...(dimension ? { dimension } : {}) });
  }

  /** The pipeline's hooks: gathering only, except warnings and errors (written at once). */
  readonly observer: PipelineObserver = {
    decided: (summary) => {
      this.count(METRIC.messages, ['Pool', summary.pool]);
      for (const r of summary.reasons) this.count(reasonMetric(r));
      this.counted = summary.reasons;
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
   * Writes the message's one line: given the result, the `done` record together with the
   * metrics gathered; after a failure (no result), the metrics alone (copies sent before it
   * still count; the handler logs the error). Once; later calls write nothing.
   */
  flush(result?: PipelineResult): void {
    if (this.flushed) return;
    this.flushed = true;
    const now = this.now();
    const emf = (properties?: Record<string, unknown>) =>
      emfDocuments(this.points, {
        namespace: METRICS_NAMESPACE,
        defaults: { service: ROUTER_SERVICE_NAME },
        timestamp: now,
        ...(properties ? { properties } : {}),
      });
    if (!result) {
      if (this.metrics) for (const doc of emf()) this.write(JSON.stringify(doc));
      return;
    }
    if (!this.metrics) {
      const record = this.record(result, now, false);
      // Metrics off: an ordinary log line, at the logger's level. The logger adds its own keys
      // (the ids among them); the decision latency, an EMF member otherwise, is a field.
      const { level, message, timestamp, service, function_request_id, messageId, ...fields } = record;
      const latency = this.points.find((p) => p.name === METRIC.decisionLatency);
      this.logger.info('done', {
        ...fields,
        ...(latency ? { [METRIC.decisionLatency]: latency.value } : {}),
      });
      return;
    }
    // The reasons are the line's `Reason.<code>` members when this attempt decided them (a
    // resumed attempt reuses an earlier decision and counts nothing: its line lists them).
    const counted = this.counted;
    const asMembers =
      counted !== null &&
      result.reasons.length === counted.length &&
      result.reasons.every((r, i) => r === counted[i]);
    const record = this.record(result, now, asMembers);
    const docs = emf(record);
    // The record and the metrics in one line; a second document, metrics only, is rare.
    if (docs.length === 0) this.write(JSON.stringify(record));
    for (const doc of docs) this.write(JSON.stringify(doc));
  }

  /**
   * The `done` record (issue 16: what an operator asks of one message, and no more; the trace
   * holds the rest). Powertools' head is cut to what a query needs: the log group and stream
   * already name the function (ARN, name, memory), and `cold_start` is the `ColdStart` metric.
   * `level` and an RFC 3339 `timestamp` stay: Lambda's JSON log format reads them (AWS Lambda
   * Developer Guide, "Log-level filtering": a line without a valid timestamp is given level
   * INFO and a timestamp of Lambda's). Members that are also EMF members are written once:
   * `service` and `Pool` are the metrics' dimensions, the decision's latency is the
   * `DecisionLatency` metric, and the reasons, when this attempt counted them, are the
   * `Reason.<code>` members (`reasonMembers`; `reasons` otherwise).
   */
  private record(result: PipelineResult, now: number, reasonMembers: boolean): Record<string, unknown> {
    return {
      level: 'INFO',
      message: 'done',
      timestamp: new Date(now).toISOString(),
      service: ROUTER_SERVICE_NAME,
      ...(this.context.requestId ? { function_request_id: this.context.requestId } : {}),
      messageId: result.messageId,
      outcome: result.outcome,
      ...(result.pool ? { Pool: result.pool } : {}),
      ...(reasonMembers ? {} : { reasons: result.reasons }),
      // This attempt's copies (a resumed message's earlier copies are in the trace).
      sends: this.copies,
      durationMs: now - this.startedMs,
    };
  }
}

function copyFacts(record: SendRecord): CopyFacts {
  return {
    index: record.index,
    kind: record.kind,
    pool: record.pool,
    status: record.status,
    ...(record.sesMessageId ? { sesMessageId: record.sesMessageId } : {}),
  };
}
