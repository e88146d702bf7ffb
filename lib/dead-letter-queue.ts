/**
 * A dead-letter queue for a function's failed asynchronous invocations, with an alarm as
 * soon as one message is in it (SPEC 8: "the event lands in a dead-letter queue with an
 * alarm").
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';

/** Properties of {@link DeadLetterQueue}. */
export interface DeadLetterQueueProps {
  /**
   * How long failed events are kept for inspection and redrive (SQS allows at most 14 days).
   *
   * @default Duration.days(14)
   */
  readonly retentionPeriod?: Duration;
  /** What the queue holds, for the alarm description, e.g. "router events". */
  readonly purpose: string;
}

/** SSE-SQS encrypted, TLS-only, 14-day retention; alarm when not empty. */
export class DeadLetterQueue extends Construct {
  readonly queue: sqs.Queue;
  /** In alarm while at least one message is visible in the queue. */
  readonly notEmptyAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id);
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.retentionPeriod ?? Duration.days(14),
    });
    acknowledge(
      this.queue,
      'AwsSolutions-SQS3',
      `This queue is itself the dead-letter queue (on-failure destination) of the ${props.purpose}; ` +
        'nothing consumes it automatically, so it needs no dead-letter queue of its own, and an alarm fires ' +
        'as soon as it holds a message.',
    );
    this.notEmptyAlarm = new cloudwatch.Alarm(this, 'NotEmpty', {
      alarmDescription: `Failed ${props.purpose} are waiting in the dead-letter queue: inspect and redrive them`,
      metric: this.metricDepth(),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** Messages waiting in the queue (maximum over one minute). */
  metricDepth(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesVisible({
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(1),
      ...props,
    });
  }
}
