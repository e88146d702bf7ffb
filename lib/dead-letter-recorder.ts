/**
 * The dead-letter recorder (`functions/dead-letter/handler.ts`), the router's on-failure
 * destination (issue 15, docs/retries.md): Lambda invokes it with the router's invocation
 * record whenever it gives up on an event — an error, a timeout or a crash — and it marks the
 * message `dead-letter` in the trace, then puts the record on the dead-letter queue. Its own
 * on-failure destination is that same queue, so a record the recorder cannot handle is kept
 * too (wrapped in the recorder's record, which redrive unwraps).
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { DeadLetterQueue } from './dead-letter-queue.js';
import { projectFunction } from './lambda-bundling.js';
import type { IOutboundPoolsTables } from './tables.js';

/** Properties of {@link DeadLetterRecorder}. */
export interface DeadLetterRecorderProps {
  /** Where the records go. */
  readonly queue: DeadLetterQueue;
  readonly tables: IOutboundPoolsTables;
  /** `trace.retentionDays`: a trace record the recorder creates expires like the others. */
  readonly traceRetentionDays: number;
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN (the log group) */
  readonly removalPolicy?: RemovalPolicy;
}

export class DeadLetterRecorder extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: DeadLetterRecorderProps) {
    super(scope, id);
    ({ function: this.function, role: this.role } = projectFunction(this, {
      entry: 'dead-letter/handler.ts',
      description: 'Outbound pools dead-letter recorder (the router on-failure destination)',
      roleDescription: 'Outbound pools dead-letter recorder: marks the trace, queues the record',
      memorySize: 256,
      timeout: Duration.seconds(30),
      environment: {
        TRACE_TABLE: props.tables.trace.tableName,
        TRACE_RETENTION_DAYS: String(props.traceRetentionDays),
        DEAD_LETTER_QUEUE_URL: props.queue.queue.queueUrl,
      },
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      invocation: {
        onFailure: new SqsDestination(props.queue.queue),
        retryAttempts: 2,
        maxEventAge: Duration.hours(6),
      },
    }));
    props.queue.queue.grantSendMessages(this.role);
    // One call: UpdateItem of the message's main item (DynamoTraceStore.recordDeadLetter).
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:UpdateItem'],
        resources: [props.tables.trace.tableArn],
      }),
    );
  }
}
