/**
 * The feedback Lambda (`functions/feedback/handler.ts`): SES events of the three
 * configuration sets reach it through an EventBridge rule on the default bus; it files each
 * under the trace record of the message its send belongs to.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DeadLetterQueue } from './dead-letter-queue.js';
import {
  ARCHITECTURE,
  acknowledgePinnedRuntime,
  bundlingOptions,
  handlerEntry,
  PROJECT_ROOT,
  RUNTIME,
} from './lambda-bundling.js';
import type { IOutboundPoolsTables } from './tables.js';
import { checkInteger } from './validation.js';

/** Properties of {@link FeedbackFunction}. */
export interface FeedbackFunctionProps {
  /** The trace table the events are appended to. */
  readonly tables: IOutboundPoolsTables;
  /** SES events to consume (default bus), e.g. `DeliveryPools.eventPattern`. */
  readonly eventPattern: events.EventPattern;
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
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly deadLetterQueue: DeadLetterQueue;
  readonly rule: events.Rule;
  readonly grantPrincipal: iam.IPrincipal;

  constructor(scope: Construct, id: string, props: FeedbackFunctionProps) {
    super(scope, id);
    checkInteger(this, 'trace.retentionDays', props.traceRetentionDays, { min: 1 });
    checkInteger(this, 'feedbackMemorySize', props.memorySize, { min: 128, max: 10_240 });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Outbound pools feedback: files SES delivery events under the message trace',
    });
    this.logGroup.grantWrite(this.role);
    this.grantPrincipal = this.role;
    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetterQueue', { purpose: 'SES feedback events' });

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: 'Outbound pools feedback (SES events → message trace)',
      entry: handlerEntry('feedback/handler.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}/package-lock.json`,
      runtime: RUNTIME,
      architecture: ARCHITECTURE,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      role: this.role,
      logGroup: this.logGroup,
      onFailure: new SqsDestination(this.deadLetterQueue.queue),
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        TRACE_TABLE: props.tables.trace.tableName,
        TRACE_RETENTION_DAYS: String(props.traceRetentionDays),
      },
      bundling: bundlingOptions(),
    });
    props.tables.grantAppendTraceEvents(this.role);
    acknowledgePinnedRuntime(this.function);

    this.rule = new events.Rule(this, 'SesEvents', {
      description: 'SES events of the outbound pools configuration sets → feedback function',
      eventPattern: props.eventPattern,
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
