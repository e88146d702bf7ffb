/**
 * The operator's view (SPEC 7): one CloudWatch dashboard with the router's metrics (EMF,
 * namespace `OutboundPools`, see `functions/router/observer.ts`), the SES event metrics and
 * reputation of each pool's configuration set, the functions and their dead-letter queues;
 * and the alarms: dead-letter queues not empty, router errors, bounce and complaint rate of
 * the normal pool (the one whose reputation must stay clean).
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { POOLS, type Pool, REASONS } from '../functions/core/vocabulary.js';
import { METRIC, METRICS_NAMESPACE, reasonMetric } from '../functions/router/observer.js';
import type { PoolRateAlarms } from './alarms.js';
import type { DeadLetterQueue } from './dead-letter-queue.js';
import { CONFIGURATION_SET_DIMENSION, type IDeliveryPools } from './delivery-pools.js';
import { checkName, InfrastructureValidationError } from './validation.js';

/**
 * The `service` dimension Powertools Metrics adds to every router metric: the `serviceName`
 * of the router's `Metrics` (functions/router/handler.ts). A metric is only found with its
 * exact dimension set, so the dashboard and alarms name it too.
 */
export const ROUTER_SERVICE = 'outbound-pools-router';

/** SES event metrics the CloudWatch event destinations publish (namespace `AWS/SES`). */
export const SES_EVENT_METRICS = [
  'Send',
  'Delivery',
  'Bounce',
  'Complaint',
  'Reject',
  'DeliveryDelay',
] as const;

/** The three policy limits, whose crossing is counted by their reason's metric (`reasonMetric`). */
export const LIMIT_REASONS = REASONS.filter((r) => r.startsWith('limit-'));

const PERIOD = Duration.minutes(5);

/** A router metric with the exact dimensions Powertools gives it. */
export function routerMetric(
  metricName: string,
  dimensions: Record<string, string> = {},
  options: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: ROUTER_SERVICE, ...dimensions },
    statistic: cloudwatch.Stats.SUM,
    period: PERIOD,
    ...options,
  });
}

/** SES reputation metric of one configuration set (`Reputation.BounceRate`, `Reputation.ComplaintRate`). */
export function reputationMetric(
  metricName: 'Reputation.BounceRate' | 'Reputation.ComplaintRate',
  configurationSetName: string,
  options: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/SES',
    metricName,
    dimensionsMap: { [CONFIGURATION_SET_DIMENSION]: configurationSetName },
    statistic: cloudwatch.Stats.MAXIMUM,
    period: Duration.minutes(15),
    ...options,
  });
}

/**
 * One SES event metric of one configuration set, summed over the `pool`/`reason` values the
 * event destination publishes it with (a SEARCH, since the reasons are open-ended).
 */
export function sesEventMetric(metricName: string, configurationSetName: string): cloudwatch.MathExpression {
  const schema = `{AWS/SES,"${CONFIGURATION_SET_DIMENSION}",pool,reason}`;
  const search = `${schema} MetricName="${metricName}" "${CONFIGURATION_SET_DIMENSION}"="${configurationSetName}"`;
  return new cloudwatch.MathExpression({
    expression: `SUM(SEARCH('${search}', 'Sum', ${PERIOD.toSeconds()}))`,
    label: metricName,
    period: PERIOD,
  });
}

/** The functions and queues the dashboard shows. */
export interface DashboardFunction {
  /** Shown as the widget titles' prefix, e.g. "Router". */
  readonly label: string;
  readonly function: lambda.IFunction;
  readonly deadLetterQueue: DeadLetterQueue;
}

/** Properties of {@link OutboundPoolsDashboard}. */
export interface OutboundPoolsDashboardProps {
  /** The pools whose configuration sets are shown and alarmed on. */
  readonly deliveryPools: IDeliveryPools;
  /** The router (its errors are alarmed on). */
  readonly router: DashboardFunction;
  /** The feedback function. */
  readonly feedback: DashboardFunction;
  /**
   * The trace API (synchronous: a caller sees its errors; shown, not alarmed on).
   *
   * @default - not shown
   */
  readonly traceApi?: Omit<DashboardFunction, 'deadLetterQueue'>;
  /**
   * Where alarms notify.
   *
   * @default - alarms notify nobody (they still show on the dashboard)
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * More alarms to show in the dashboard's alarm widget (they notify on their own).
   *
   * @default - only the dashboard's own
   */
  readonly extraAlarms?: readonly cloudwatch.IAlarm[];
  /**
   * Name of the dashboard.
   *
   * @default `${stackName}-outbound-pools`
   */
  readonly dashboardName?: string;
  /**
   * Bounce rate (0-1) of the normal pool's configuration set above which its alarm fires.
   * SES reviews an account at 5 %; alarm before it gets there.
   *
   * @default 0.05
   */
  readonly bounceRateThreshold?: number;
  /**
   * Complaint rate (0-1) of the normal pool above which its alarm fires.
   *
   * @default 0.001
   */
  readonly complaintRateThreshold?: number;
  /**
   * Router errors (failed invocations, each retried) per 5 minutes that raise the alarm.
   *
   * @default 5
   */
  readonly routerErrorThreshold?: number;
  /**
   * The normal pool's rate alarms, when another construct has them already (the stack's
   * `ReputationAlarms`, which also pause the pool): shown here, neither created again nor
   * given a second action — two alarms on one metric and threshold sent every breach twice
   * (review of December 2026).
   *
   * @default - the dashboard creates them, with `bounceRateThreshold` and `complaintRateThreshold`
   */
  readonly normalRateAlarms?: PoolRateAlarms;
  /**
   * Rate alarms of the other pools (the stack's `ReputationAlarms`, which pause them): each
   * pool's rate graph marks the thresholds of its own alarms, read from the alarms themselves
   * (`Alarm.toAnnotation`), so a line can never sit where no alarm fires. The normal pool's
   * come from `normalRateAlarms` or the dashboard's own (review of December 2026: the line was
   * drawn at `bounceRateThreshold`'s 5 % while the stack's alarm fired, and paused, at 2.5 %).
   *
   * @default - only the normal pool's graph is marked
   */
  readonly poolRateAlarms?: Readonly<Partial<Record<Pool, PoolRateAlarms>>>;
}

/** The alarms of the stack. */
export interface OutboundPoolsAlarms {
  readonly routerDeadLetters: cloudwatch.IAlarm;
  readonly feedbackDeadLetters: cloudwatch.IAlarm;
  readonly routerErrors: cloudwatch.Alarm;
  readonly normalBounceRate: cloudwatch.Alarm;
  readonly normalComplaintRate: cloudwatch.Alarm;
}

/** Dashboard + alarms (+ notifications to a topic). */
export class OutboundPoolsDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: OutboundPoolsAlarms;

  constructor(scope: Construct, id: string, props: OutboundPoolsDashboardProps) {
    super(scope, id);
    const bounceThreshold = props.bounceRateThreshold ?? 0.05;
    const complaintThreshold = props.complaintRateThreshold ?? 0.001;
    for (const [field, value] of [
      ['bounceRateThreshold', bounceThreshold],
      ['complaintRateThreshold', complaintThreshold],
    ] as const) {
      if (!(value > 0 && value < 1)) {
        throw new InfrastructureValidationError(field, `must be a rate between 0 and 1 (got ${value})`, this);
      }
    }
    const dashboardName = props.dashboardName ?? `${Stack.of(this).stackName}-outbound-pools`;
    checkName(
      this,
      'dashboardName',
      dashboardName,
      /^[A-Za-z0-9_-]{1,255}$/,
      'CloudWatch dashboard names are 1-255 letters, digits, _ and -',
    );
    const { pools } = props.deliveryPools;
    const normal = pools.normal;

    const routerErrors = new cloudwatch.Alarm(this, 'RouterErrors', {
      alarmDescription:
        'The router failed invocations (each is retried twice, then kept in its dead-letter queue)',
      metric: props.router.function.metricErrors({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
      threshold: props.routerErrorThreshold ?? 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // The normal pool's reputation is what the pools protect: alarm on its SES rates.
    const normalRateAlarm = (
      id: string,
      what: 'Bounce' | 'Complaint',
      metricName: Parameters<typeof reputationMetric>[0],
      threshold: number,
    ) =>
      new cloudwatch.Alarm(this, id, {
        alarmDescription: `${what} rate of the normal pool (${normal.configurationSetName}) is above ${threshold * 100} %`,
        metric: reputationMetric(metricName, normal.configurationSetName),
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    const normalBounceRate =
      props.normalRateAlarms?.bounceRate ??
      normalRateAlarm('NormalBounceRate', 'Bounce', 'Reputation.BounceRate', bounceThreshold);
    const normalComplaintRate =
      props.normalRateAlarms?.complaintRate ??
      normalRateAlarm('NormalComplaintRate', 'Complaint', 'Reputation.ComplaintRate', complaintThreshold);
    this.alarms = {
      routerDeadLetters: props.router.deadLetterQueue.notEmptyAlarm,
      feedbackDeadLetters: props.feedback.deadLetterQueue.notEmptyAlarm,
      routerErrors,
      normalBounceRate,
      normalComplaintRate,
    };
    if (props.alarmTopic) {
      const action = new cwActions.SnsAction(props.alarmTopic);
      for (const alarm of [
        props.router.deadLetterQueue.notEmptyAlarm,
        props.feedback.deadLetterQueue.notEmptyAlarm,
        routerErrors,
        ...(props.normalRateAlarms ? [] : [normalBounceRate, normalComplaintRate]),
      ]) {
        alarm.addAlarmAction(action);
      }
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName,
      defaultInterval: Duration.hours(24),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          "# Outbound delivery pools\nMessages by pool and why, limits, blocked mail, NDRs, sends; then each pool's SES events and reputation.",
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      ...overviewWidgets(),
      ...functionWidgets(props.router, props.feedback, props.traceApi),
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        // Once each: the normal pool's rate alarms may be given both ways.
        alarms: [...new Set([...Object.values(this.alarms), ...(props.extraAlarms ?? [])])],
        width: 24,
        height: 3,
      }),
    );
    const rateAlarms = {
      ...props.poolRateAlarms,
      normal: { bounceRate: normalBounceRate, complaintRate: normalComplaintRate },
    };
    for (const pool of POOLS) {
      this.dashboard.addWidgets(...poolWidgets(pool, props.deliveryPools, rateAlarms[pool]));
    }
  }
}

function overviewWidgets(): cloudwatch.IWidget[] {
  const dispositions = [...POOLS, 'blocked'] as const;
  return [
    new cloudwatch.GraphWidget({
      title: 'Messages per pool',
      left: dispositions.map((p) => routerMetric(METRIC.messages, { Pool: p }, { label: p })),
      stacked: true,
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Reasons',
      left: REASONS.map((r) => routerMetric(reasonMetric(r), {}, { label: r })),
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Limit hits, restrictions and alerts',
      left: LIMIT_REASONS.map((r) => routerMetric(reasonMetric(r), {}, { label: r })),
      right: [
        routerMetric(METRIC.restrictions, {}, { label: 'senders restricted' }),
        routerMetric(METRIC.alerts, {}, { label: 'alert-only limits crossed' }),
      ],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Blocked, NDRs, duplicates',
      left: [
        routerMetric(METRIC.messages, { Pool: 'blocked' }, { label: 'blocked' }),
        routerMetric(METRIC.ndrs, {}, { label: 'NDRs generated' }),
        routerMetric(METRIC.duplicates, {}, { label: 're-delivered events' }),
      ],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Sends and send failures per pool',
      left: POOLS.map((p) => routerMetric(METRIC.sends, { Pool: p }, { label: `sent ${p}` })),
      right: POOLS.map((p) => routerMetric(METRIC.sendsFailed, { Pool: p }, { label: `failed ${p}` })),
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Decision latency (ms)',
      left: ['p50', 'p99'].map((statistic) =>
        routerMetric(METRIC.decisionLatency, {}, { statistic, label: statistic }),
      ),
      width: 8,
    }),
  ];
}

function functionWidgets(
  router: DashboardFunction,
  feedback: DashboardFunction,
  traceApi: Omit<DashboardFunction, 'deadLetterQueue'> | undefined,
): cloudwatch.IWidget[] {
  const fnGraph = (f: Omit<DashboardFunction, 'deadLetterQueue'>) =>
    new cloudwatch.GraphWidget({
      title: `${f.label}: invocations, errors, throttles`,
      left: [
        f.function.metricInvocations({ period: PERIOD }),
        f.function.metricErrors({ period: PERIOD }),
        f.function.metricThrottles({ period: PERIOD }),
      ],
      right: [f.function.metricDuration({ period: PERIOD, statistic: 'p99' })],
      width: 8,
    });
  return [
    fnGraph(router),
    fnGraph(feedback),
    new cloudwatch.GraphWidget({
      title: 'Dead-letter queues (messages waiting)',
      left: [
        router.deadLetterQueue.metricDepth({ label: `${router.label} DLQ` }),
        feedback.deadLetterQueue.metricDepth({ label: `${feedback.label} DLQ` }),
      ],
      width: 8,
    }),
    ...(traceApi ? [fnGraph(traceApi)] : []),
  ];
}

function poolWidgets(
  pool: Pool,
  deliveryPools: IDeliveryPools,
  rateAlarms: PoolRateAlarms | undefined,
): cloudwatch.IWidget[] {
  const p = deliveryPools.pools[pool];
  const name = p.configurationSetName;
  // The alarms' own thresholds (`toAnnotation`), never a number kept beside them.
  const annotations = rateAlarms
    ? {
        bounce: [{ ...rateAlarms.bounceRate.toAnnotation(), label: 'bounce alarm' }],
        complaint: [{ ...rateAlarms.complaintRate.toAnnotation(), label: 'complaint alarm' }],
      }
    : { bounce: [], complaint: [] };
  return [
    new cloudwatch.TextWidget({
      markdown: `## Pool \`${pool}\`\nconfiguration set \`${name}\`, IP pool \`${p.ipPoolName}\` (${p.ipPoolSource})`,
      width: 24,
      height: 1,
    }),
    new cloudwatch.GraphWidget({
      title: `${pool}: messages and sends`,
      left: [
        routerMetric(METRIC.messages, { Pool: pool }, { label: 'messages' }),
        routerMetric(METRIC.sends, { Pool: pool }, { label: 'copies sent' }),
        routerMetric(METRIC.sendsFailed, { Pool: pool }, { label: 'copies refused' }),
      ],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: `${pool}: SES events (${name})`,
      left: SES_EVENT_METRICS.map((m) => sesEventMetric(m, name)),
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: `${pool}: bounce and complaint rate (${name})`,
      left: [reputationMetric('Reputation.BounceRate', name, { label: 'bounce rate' })],
      right: [reputationMetric('Reputation.ComplaintRate', name, { label: 'complaint rate' })],
      leftAnnotations: annotations.bounce,
      rightAnnotations: annotations.complaint,
      width: 8,
    }),
  ];
}
