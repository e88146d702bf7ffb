/**
 * The feedback Lambda (`functions/feedback/handler.ts`): SES events of the three
 * configuration sets reach it through an EventBridge rule on the default bus; it files each
 * under the trace record of the message its send belongs to.
 *
 * Which events the rule lets through (issue 16, `functions/feedback/filed-events.ts`): the
 * failures always; `Email Delivered` only with the configuration's `trace.deliveryEvents`;
 * `Email Sent` never. SES still publishes every event to the configuration sets' CloudWatch
 * destination, so the delivery metrics and the dashboard count deliveries either way.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { feedbackDetailTypes } from '../functions/feedback/filed-events.js';
import { DeadLetterQueue } from './dead-letter-queue.js';
import { projectFunction } from './lambda-bundling.js';
import type { IOutboundPoolsTables } from './tables.js';
import { checkInteger } from './validation.js';

/** Properties of {@link FeedbackFunction}. */
export interface FeedbackFunctionProps {
  /** The trace table the events are appended to. */
  readonly tables: IOutboundPoolsTables;
  /**
   * SES events of the configuration sets (default bus), e.g. `DeliveryPools.eventPattern`: the
   * rule keeps its source and detail and matches only {@link feedbackDetailTypes}.
   */
  readonly eventPattern: events.EventPattern;
  /**
   * `trace.deliveryEvents`: file the Delivery event of every copy too.
   *
   * @default false
   */
  readonly deliveryEvents?: boolean;
  /** `TRACE_RETENTION_DAYS`: the configuration's `trace.retentionDays`. */
  readonly traceRetentionDays: number;
  /**
   * Function timeout.
   *
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Memory of the function, MB.
   *
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * How long the function's logs are kept.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log group when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * EventBridge rule (SES events of our configuration sets) → feedback function. Delivery
 * failures of EventBridge and failed invocations (after two retries) both end in the
 * function's dead-letter queue, which alarms when not empty.
 */
export class FeedbackFunction extends Construct implements iam.IGrantable {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly deadLetterQueue: DeadLetterQueue;
  readonly rule: events.Rule;
  readonly grantPrincipal: iam.IPrincipal;

  constructor(scope: Construct, id: string, props: FeedbackFunctionProps) {
    super(scope, id);
    checkInteger(this, 'trace.retentionDays', props.traceRetentionDays, { min: 1 });
    checkInteger(this, 'feedbackMemorySize', props.memorySize, { min: 128, max: 10_240 });

    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetterQueue', {
      purpose: 'SES feedback events',
      removalPolicy: props.removalPolicy,
    });
    ({
      function: this.function,
      role: this.role,
      logGroup: this.logGroup,
    } = projectFunction(this, {
      entry: 'feedback/handler.ts',
      description: 'Outbound pools feedback (SES events → message trace)',
      roleDescription: 'Outbound pools feedback: files SES delivery events under the message trace',
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      environment: {
        TRACE_TABLE: props.tables.trace.tableName,
        TRACE_RETENTION_DAYS: String(props.traceRetentionDays),
      },
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      invocation: {
        onFailure: new SqsDestination(this.deadLetterQueue.queue),
        retryAttempts: 2,
        maxEventAge: Duration.hours(6),
      },
    }));
    this.grantPrincipal = this.role;
    props.tables.grantAppendTraceEvents(this.role);

    this.rule = new events.Rule(this, 'SesEvents', {
      description: 'SES events of the outbound pools configuration sets → feedback function',
      eventPattern: { ...props.eventPattern, detailType: feedbackDetailTypes(props.deliveryEvents ?? false) },
      targets: [
        new targets.LambdaFunction(this.function, {
          deadLetterQueue: this.deadLetterQueue.queue,
          retryAttempts: 8,
          maxEventAge: Duration.hours(6),
        }),
      ],
    });
  }
}
