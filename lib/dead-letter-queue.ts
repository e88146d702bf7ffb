/**
 * A dead-letter queue for a function's failed asynchronous invocations, with an alarm as
 * soon as one message is in it (SPEC 8: "the event lands in a dead-letter queue with an
 * alarm"). Retained when the stack goes, like the tables (issue 15): what is in it is mail
 * not delivered yet.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';
import { InfrastructureValidationError } from './validation.js';

/** How long SQS keeps a dead letter: its maximum, 14 days (SQS Developer Guide, quotas). */
export const DEAD_LETTER_RETENTION = Duration.days(14);

/** Properties of {@link DeadLetterQueue}. */
export interface DeadLetterQueueProps {
  /**
   * How long failed events are kept for inspection and redrive (SQS allows at most 14 days).
   *
   * @default Duration.days(14)
   */
  readonly retentionPeriod?: Duration;
  /**
   * What happens to the queue (and the dead letters in it) when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /** What the queue holds, for the alarm description, e.g. "router events". */
  readonly purpose: string;
}

/** SSE-SQS encrypted, TLS-only, 14-day retention; alarm when not empty. */
export class DeadLetterQueue extends Construct {
  readonly queue: sqs.Queue;
  /** How long a record stays in the queue. */
  readonly retentionPeriod: Duration;
  /** In alarm while at least one message is visible in the queue. */
  readonly notEmptyAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id);
    this.retentionPeriod = props.retentionPeriod ?? DEAD_LETTER_RETENTION;
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: this.retentionPeriod,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
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

/**
 * How long, in whole days, a dead letter can wait for a redrive after SES received its message:
 * it reaches the queue up to `maxEventAge` after receipt and is kept `queueRetention` there.
 */
function deadLetterWaitDays(queueRetention: Duration, maxEventAge: Duration): number {
  return Math.ceil((queueRetention.toSeconds() + maxEventAge.toSeconds()) / 86_400);
}

/**
 * A message's trace record must outlive every dead letter of it too: a redrive claims the
 * message in the trace, and the record is what says which copies already went out. Once
 * DynamoDB's TTL has removed it, a redrive would claim a fresh record, decide and count again
 * and send every copy a second time (review, December 2026: `trace.retentionDays` 1 and a dead
 * letter redriven on day 3 sent its copy twice). So `trace.retentionDays` must be at least the
 * time a dead letter can wait, in whole days. Skipped for tokens.
 */
export function checkTraceOutlivesDeadLetters(
  scope: Construct,
  traceRetentionDays: number,
  queueRetention: Duration,
  maxEventAge: Duration,
): void {
  if (queueRetention.isUnresolved() || maxEventAge.isUnresolved()) return;
  const neededDays = deadLetterWaitDays(queueRetention, maxEventAge);
  if (traceRetentionDays < neededDays) {
    throw new InfrastructureValidationError(
      'trace.retentionDays',
      `trace records must be kept at least ${neededDays} days (got ${traceRetentionDays}): a dead letter is kept ${queueRetention.toHumanString()} in its queue, which it reaches up to ${maxEventAge.toHumanString()} after the message was received, and a redrive reads its trace to send no copy twice`,
      scope,
    );
  }
}

/**
 * Raw mail must outlive every dead letter that needs it (issue 15): a record lands in the
 * queue up to `maxEventAge` after SES received the message and is kept `queueRetention`, and
 * a redrive reads the raw message from S3. So the mail bucket's expiry must be at least their
 * sum, rounded up to S3's whole days. Skipped for tokens.
 */
export function checkMailOutlivesDeadLetters(
  scope: Construct,
  mailRetention: Duration,
  queueRetention: Duration,
  maxEventAge: Duration,
): void {
  if (mailRetention.isUnresolved() || queueRetention.isUnresolved() || maxEventAge.isUnresolved()) return;
  const neededDays = deadLetterWaitDays(queueRetention, maxEventAge);
  const days = mailRetention.toDays({ integral: false });
  if (days < neededDays) {
    throw new InfrastructureValidationError(
      'mailRetention',
      `raw mail must be kept at least ${neededDays} days (context mailRetentionDays, got ${days}): a dead letter is kept ${queueRetention.toHumanString()} in its queue, which it reaches up to ${maxEventAge.toHumanString()} after the message was received, and a redrive reads the raw message`,
      scope,
    );
  }
}
