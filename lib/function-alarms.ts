/**
 * The functions' own alarms (issue 15 item 7): what Lambda knows and no other alarm sees.
 * Every one notifies the alarm topic and has a one-line runbook entry in docs/operations.md
 * (a test checks each alarm of the template has one).
 *
 * Metrics (namespace `AWS/Lambda`, dimension `FunctionName`; Lambda Developer Guide, "Types of
 * metrics for Lambda functions" and "Monitoring Lambda function URLs"):
 *
 * - `DestinationDeliveryFailures`: Lambda could not send an event to its on-failure
 *   destination — a failed event was neither processed nor kept: the dead-letter queue's
 *   alarm can never fire for it.
 * - `AsyncEventsDropped`: "events that are dropped without successfully executing the
 *   function … If you configure a dead-letter queue (DLQ) or OnFailure destination, then
 *   events are sent there before they're dropped" — retries exhausted, or the maximum event
 *   age passed (a throttled backlog older than 6 h). Beside the queue's own alarm it also
 *   counts what the queue never got (with `DestinationDeliveryFailures`).
 * - `Throttles`: invocations refused for lack of concurrency. For the router these are
 *   expected in bursts (its reserved concurrency caps it, and Lambda retries the events for up
 *   to the maximum event age), so only throttling that lasts 15 minutes alarms: the cap is
 *   below the inflow and events are ageing toward the 6-hour limit.
 * - `Errors` of the feedback function (the router's are alarmed by the dashboard construct),
 *   and of the pool pause function: an alarm acts once, when its state changes, so a pause
 *   that failed (access denied, throttling) after Lambda's two retries is tried by nobody
 *   again while the pool keeps sending. It has no on-failure destination: this alarm is how
 *   an operator learns to pause by hand (`outbound-pools pools pause`).
 * - The dead-letter recorder's `DestinationDeliveryFailures` and `AsyncEventsDropped`: it is
 *   the router's on-failure destination, and its own is the dead-letter queue — the last hop
 *   of a message Lambda gave up on. Review of December 2026.
 * - `Url5xxCount` of the trace API's function URL: "requests that returned a 5XX HTTP status
 *   code … such as function errors and timeouts".
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { checkInteger } from './validation.js';

const FIVE_MINUTES = Duration.minutes(5);

/** Properties of {@link FunctionAlarms}. */
export interface FunctionAlarmsProps {
  /** The router (invoked asynchronously by the receipt rule). */
  readonly router: lambda.IFunction;
  /** The feedback function (invoked asynchronously by EventBridge). */
  readonly feedback: lambda.IFunction;
  /** The trace API's function, behind its function URL. */
  readonly traceApi: lambda.IFunction;
  /** The dead-letter recorder (the router's on-failure destination; its own is the queue). */
  readonly deadLetterRecorder: lambda.IFunction;
  /**
   * The pool pause function (invoked by the reputation alarms).
   *
   * @default - none (`reputation.pauseOnAlarm` off)
   */
  readonly pause?: lambda.IFunction;
  /**
   * Where every alarm notifies.
   *
   * @default - nobody (the alarms still show on the dashboard)
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Feedback errors per 5 minutes that raise `FeedbackErrors` (each failed event is retried).
   *
   * @default 5
   */
  readonly feedbackErrorThreshold?: number;
  /**
   * Consecutive 5-minute periods with router throttles that raise `RouterThrottles`.
   *
   * @default 3
   */
  readonly routerThrottlePeriods?: number;
}

/** Alarms on Lambda's own metrics of the router, feedback, recorder, pause and trace API functions. */
export class FunctionAlarms extends Construct {
  readonly routerDestinationDeliveryFailures: cloudwatch.Alarm;
  readonly feedbackDestinationDeliveryFailures: cloudwatch.Alarm;
  readonly routerAsyncEventsDropped: cloudwatch.Alarm;
  readonly feedbackAsyncEventsDropped: cloudwatch.Alarm;
  readonly routerThrottles: cloudwatch.Alarm;
  readonly feedbackErrors: cloudwatch.Alarm;
  readonly traceApiUrl5xx: cloudwatch.Alarm;
  readonly recorderDestinationDeliveryFailures: cloudwatch.Alarm;
  readonly recorderAsyncEventsDropped: cloudwatch.Alarm;
  readonly pauseErrors: cloudwatch.Alarm | undefined;

  constructor(scope: Construct, id: string, props: FunctionAlarmsProps) {
    super(scope, id);
    const feedbackErrors = props.feedbackErrorThreshold ?? 5;
    const throttlePeriods = props.routerThrottlePeriods ?? 3;
    checkInteger(this, 'feedbackErrorThreshold', feedbackErrors, { min: 1 });
    checkInteger(this, 'routerThrottlePeriods', throttlePeriods, { min: 1, max: 72 });

    const sum = (fn: lambda.IFunction, metricName: string) =>
      fn.metric(metricName, { statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES });
    const anyIn5Minutes = (alarmId: string, metric: cloudwatch.IMetric, description: string) =>
      new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    this.routerDestinationDeliveryFailures = anyIn5Minutes(
      'RouterDestinationDeliveryFailures',
      sum(props.router, 'DestinationDeliveryFailures'),
      'Lambda could not hand failed router events to the dead-letter recorder: those messages are in no queue',
    );
    this.recorderDestinationDeliveryFailures = anyIn5Minutes(
      'DeadLetterRecorderDestinationDeliveryFailures',
      sum(props.deadLetterRecorder, 'DestinationDeliveryFailures'),
      'The dead-letter recorder failed and Lambda could not put its events in the dead-letter queue: those messages are in no queue',
    );
    this.recorderAsyncEventsDropped = anyIn5Minutes(
      'DeadLetterRecorderAsyncEventsDropped',
      sum(props.deadLetterRecorder, 'AsyncEventsDropped'),
      'The dead-letter recorder gave events up (retries exhausted): they went to the dead-letter queue as they were, unrecorded in the trace',
    );
    this.pauseErrors = props.pause
      ? anyIn5Minutes(
          'PoolPauseErrors',
          props.pause.metricErrors({ statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES }),
          'The pool pause function failed: a pool whose reputation alarm fired may still be sending (pause it by hand)',
        )
      : undefined;
    this.feedbackDestinationDeliveryFailures = anyIn5Minutes(
      'FeedbackDestinationDeliveryFailures',
      sum(props.feedback, 'DestinationDeliveryFailures'),
      'Lambda could not put failed SES feedback events in the dead-letter queue',
    );
    this.routerAsyncEventsDropped = anyIn5Minutes(
      'RouterAsyncEventsDropped',
      sum(props.router, 'AsyncEventsDropped'),
      'Router events given up (retries exhausted or older than the maximum event age): see the dead-letter queue',
    );
    this.feedbackAsyncEventsDropped = anyIn5Minutes(
      'FeedbackAsyncEventsDropped',
      sum(props.feedback, 'AsyncEventsDropped'),
      'SES feedback events given up (retries exhausted or older than the maximum event age)',
    );
    this.routerThrottles = new cloudwatch.Alarm(this, 'RouterThrottles', {
      alarmDescription: `The router has been throttled for ${throttlePeriods * 5} minutes: its concurrency cap is below the inflow; events wait (up to 6 h)`,
      metric: props.router.metricThrottles({ statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: throttlePeriods,
      datapointsToAlarm: throttlePeriods,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.feedbackErrors = new cloudwatch.Alarm(this, 'FeedbackErrors', {
      alarmDescription:
        'The feedback function failed invocations (each is retried twice, then kept in its dead-letter queue)',
      metric: props.feedback.metricErrors({ statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES }),
      threshold: feedbackErrors,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.traceApiUrl5xx = anyIn5Minutes(
      'TraceApiUrl5xx',
      sum(props.traceApi, 'Url5xxCount'),
      'The trace API answered 5xx through its function URL (function errors, timeouts)',
    );

    if (props.alarmTopic) {
      const notify = new cwActions.SnsAction(props.alarmTopic);
      for (const alarm of this.all()) alarm.addAlarmAction(notify);
    }
  }

  /** Every alarm of the construct. */
  all(): cloudwatch.Alarm[] {
    return [
      this.routerDestinationDeliveryFailures,
      this.feedbackDestinationDeliveryFailures,
      this.routerAsyncEventsDropped,
      this.feedbackAsyncEventsDropped,
      this.routerThrottles,
      this.feedbackErrors,
      this.traceApiUrl5xx,
      this.recorderDestinationDeliveryFailures,
      this.recorderAsyncEventsDropped,
      ...(this.pauseErrors ? [this.pauseErrors] : []),
    ];
  }
}
