/**
 * The trace API (`functions/trace-api/`): a read-only Lambda behind a function URL with IAM
 * authentication (SPEC 6, "an authenticated HTTP endpoint"). Callers sign their requests with
 * SigV4 (`awscurl --service lambda`, any SDK); who may call it is decided by IAM alone, through
 * the managed policy this construct creates for operators' roles.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { projectFunction } from './lambda-bundling.js';
import type { IOutboundPoolsTables } from './tables.js';

/** Properties of {@link TraceApi}. */
export interface TraceApiProps {
  /** The trace table the API reads. */
  readonly tables: IOutboundPoolsTables;
  /**
   * How long the function's logs (one line per lookup, with the caller's ARN) are kept.
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

/** Function URL (AWS_IAM) → trace API function → trace table, read-only. */
export class TraceApi extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly url: lambda.FunctionUrl;
  /** Attach to the roles or groups of the operators who may look messages up. */
  readonly readersPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: TraceApiProps) {
    super(scope, id);
    ({
      function: this.function,
      role: this.role,
      logGroup: this.logGroup,
    } = projectFunction(this, {
      entry: 'trace-api/handler.ts',
      description: 'Outbound pools trace API (message trace lookups, read-only)',
      roleDescription: 'Outbound pools trace API: reads the message trace',
      memorySize: 256,
      timeout: Duration.seconds(15),
      environment: { TRACE_TABLE: props.tables.trace.tableName },
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    }));
    // GetItem, BatchGetItem, Query on the trace table and on each of its indexes by name.
    props.tables.grantReadTrace(this.role);

    this.url = this.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });

    // Since October 2025 a function URL with IAM authentication needs both actions from the
    // caller (https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html). The second only
    // through the URL (`lambda:InvokedViaFunctionUrl`, the condition the same page and
    // CDK's own `grantInvokeUrl` put on it): a reader who could call `Invoke` directly would
    // hand the function a forged `requestContext.authorizer.iam` (the caller's ARN that the
    // audit log records); through the URL, Lambda fills it from the SigV4 signature.
    this.readersPolicy = new iam.ManagedPolicy(this, 'ReadersPolicy', {
      description: 'Look messages up through the outbound pools trace API (read-only)',
      statements: [
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunctionUrl'],
          resources: [this.function.functionArn],
          conditions: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
        }),
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [this.function.functionArn],
          conditions: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
        }),
      ],
    });
  }
}
