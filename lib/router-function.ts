/**
 * The router Lambda (`functions/router/handler.ts`): invoked by the receipt rule's Lambda
 * action (`Event`), it reads the raw message, decides the pool and sends through SES. Failed
 * invocations are retried twice, then land in a dead-letter queue with an alarm (SPEC 8). The
 * function learns its attempt budget (`MAX_ATTEMPTS` = 1 + `retryAttempts`) from its
 * environment, so its last attempt decides a DNS temporary failure instead of dead-lettering
 * it (SPEC 2a, docs/retries.md).
 */
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Config } from '../functions/core/config.js';
import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_ROUTER_TIMEOUT_SECONDS,
  LEASE_MARGIN_SECONDS,
  ROUTER_RETRY_ATTEMPTS,
} from '../functions/router/retries.js';
import { DeadLetterQueue } from './dead-letter-queue.js';
import type { IDeliveryPools } from './delivery-pools.js';
import { BUNDLED_CONFIG_FILE, projectFunction, stageConfigFile } from './lambda-bundling.js';
import type { IMailBucket } from './mail-bucket.js';
import { acknowledge, cfnResourceOf, wildcardArnFinding } from './nag.js';
import type { IOutboundPoolsTables } from './tables.js';
import { checkInteger, InfrastructureValidationError } from './validation.js';

/** Properties of {@link RouterFunction}. */
export interface RouterFunctionProps {
  /** The validated configuration, bundled next to the handler as `outbound-pools.json`. */
  readonly config: Config;
  /** Where the receipt rule stores raw messages. */
  readonly mailBucket: IMailBucket;
  /** Limits and trace tables. */
  readonly tables: IOutboundPoolsTables;
  /** The configuration sets the router sends through. */
  readonly deliveryPools: IDeliveryPools;
  /** ARNs of the SES identities the router sends as. */
  readonly identityArns: readonly string[];
  /**
   * Function timeout. The router's claim on a message (`LEASE_SECONDS`) lasts this long plus
   * 20 seconds, so a retry never takes over a message still being processed, yet Lambda's
   * retry of an attempt that timed out (one minute later) finds the claim expired.
   *
   * @default Duration.seconds(90)
   */
  readonly timeout?: Duration;
  /**
   * Memory (and so CPU) of the function, MB. DKIM verification and ARC sealing of 40 MB
   * messages are CPU- and memory-bound.
   *
   * 512 (issue 16): a message costs at most ~3.4× its size on top of the process (measured:
   * 48.8 MB of RSS for a 14.4 MB message through `processReceipt` with the real S3 and SES
   * adapters), so the largest message SES accepts (40 MB) needs ~136 MB plus the SESv2 request
   * body (~1.33× the message) plus ~100-175 MB of process: ~350 MB at most, within 512. Lambda
   * bills memory × time and gives CPU in proportion to memory, so the CPU-bound part costs the
   * same at 512 as at 1024 MB while the time spent waiting on S3, DynamoDB and SES costs half.
   * A 40 MB message takes a few seconds of CPU at 512 MB, far inside the timeout.
   *
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Concurrent executions reserved for (and capping) the router: a cap protects DynamoDB
   * and the SES send rate from a burst of inbound mail. Events beyond it wait and retry.
   *
   * @default - no reservation (the account's unreserved concurrency)
   */
  readonly reservedConcurrency?: number;
  /**
   * How long the router's logs are kept.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How long a container trusts a sender restriction it read before asking DynamoDB again.
   *
   * @default Duration.seconds(60)
   */
  readonly restrictionCacheTtl?: Duration;
  /**
   * The customer managed KMS key of the ARC key's SecureString parameter. Not needed for the
   * default `aws/ssm` key, which SSM uses on the caller's behalf without a KMS permission.
   *
   * @default - the parameter is encrypted with `aws/ssm`
   */
  readonly arcKeyEncryptionKey?: kms.IKey;
  /**
   * What happens to the log group when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The router: Node.js 22 on ARM, the configuration bundled with the code, a role granted
 * exactly what the pipeline uses (read raw mail under the prefix, read/write both tables,
 * send through the three configuration sets as the sending identities, read the ARC key).
 */
export class RouterFunction extends Construct implements iam.IGrantable {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly deadLetterQueue: DeadLetterQueue;
  readonly grantPrincipal: iam.IPrincipal;
  /** `LEASE_SECONDS` given to the function (timeout + 20). */
  readonly leaseSeconds: number;

  constructor(scope: Construct, id: string, props: RouterFunctionProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.seconds(DEFAULT_ROUTER_TIMEOUT_SECONDS);
    const timeoutSeconds = timeout.toSeconds();
    checkInteger(this, 'routerTimeout', timeoutSeconds, { min: 10, max: 900 });
    checkInteger(this, 'routerMemorySize', props.memorySize, { min: 128, max: 10_240 });
    checkInteger(this, 'reservedConcurrency', props.reservedConcurrency, { min: 1 });
    const restrictionCache = (props.restrictionCacheTtl ?? Duration.seconds(60)).toSeconds();
    checkInteger(this, 'restrictionCacheTtl', restrictionCache, { min: 0, max: 3600 });
    const arc = props.config.arc;
    if (arc && 'file' in arc.privateKey) {
      throw new InfrastructureValidationError(
        'arc.privateKey.file',
        'a key file exists only on this machine, not in Lambda; store the key in an SSM SecureString parameter and set arc.privateKey.ssmParameter',
        this,
      );
    }
    const srsParameter = props.config.srs.secretsParameter;
    if (!srsParameter) {
      throw new InfrastructureValidationError(
        'srs.secretsParameter',
        'a deployment reads the SRS secrets from an SSM SecureString parameter (one secret per line, newest first); literal srs.secrets would ship inside the Lambda code. Create it (aws ssm put-parameter --type SecureString) and set srs.secretsParameter',
        this,
      );
    }
    this.leaseSeconds = timeoutSeconds + LEASE_MARGIN_SECONDS;

    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetterQueue', { purpose: 'router events' });
    ({
      function: this.function,
      role: this.role,
      logGroup: this.logGroup,
    } = projectFunction(this, {
      entry: 'router/handler.ts',
      description: 'Outbound pools router (SES receipt rule Lambda action)',
      roleDescription: 'Outbound pools router: reads received mail, decides the pool, sends through SES',
      memorySize: props.memorySize ?? 512,
      timeout,
      environment: {
        OUTBOUND_POOLS_CONFIG_FILE: `/var/task/${BUNDLED_CONFIG_FILE}`,
        MAIL_BUCKET: props.mailBucket.bucket.bucketName,
        MAIL_PREFIX: props.mailBucket.prefix,
        LIMITS_TABLE: props.tables.limits.tableName,
        TRACE_TABLE: props.tables.trace.tableName,
        LEASE_SECONDS: String(this.leaseSeconds),
        MAX_ATTEMPTS: String(DEFAULT_MAX_ATTEMPTS),
        RESTRICTION_CACHE_SECONDS: String(restrictionCache),
      },
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      // The bundled configuration never carries the SRS secrets: the router reads them from
      // srs.secretsParameter at cold start.
      bundling: {
        extraFiles: { [BUNDLED_CONFIG_FILE]: stageConfigFile(withoutSrsSecrets(props.config)) },
      },
      invocation: {
        reservedConcurrentExecutions: props.reservedConcurrency,
        onFailure: new SqsDestination(this.deadLetterQueue.queue),
        // The function is told this budget (MAX_ATTEMPTS = 1 + retryAttempts).
        retryAttempts: ROUTER_RETRY_ATTEMPTS,
        maxEventAge: Duration.hours(6),
      },
    }));
    this.grantPrincipal = this.role;

    props.mailBucket.grantReadMail(this.role);
    props.tables.grantReadWrite(this.role);
    props.deliveryPools.grantSend(this.role, props.identityArns);
    props.deliveryPools.grantReadSendingStatus(this.role); // issue 14: paused pools
    const parameters = [srsParameter];
    if (arc && 'ssmParameter' in arc.privateKey) parameters.push(arc.privateKey.ssmParameter);
    this.grantReadParameters(parameters, props.arcKeyEncryptionKey);
    this.acknowledgeScopedWildcards(props);
  }

  /** The wildcards of the router's policy: objects under one prefix, the indexes of two tables. */
  private acknowledgeScopedWildcards(props: RouterFunctionProps): void {
    const bucket = cfnResourceOf(props.mailBucket.bucket);
    if (bucket) {
      acknowledge(
        this.role,
        wildcardArnFinding(bucket, `/${props.mailBucket.prefix}*`),
        'Raw messages are objects named by their SES message id, unknown in advance: the router reads ' +
          `(s3:GetObject) any object under the receipt rule's prefix "${props.mailBucket.prefix}" and nothing else.`,
      );
    }
    for (const table of [props.tables.limits, props.tables.trace]) {
      const cfn = cfnResourceOf(table);
      if (!cfn) continue;
      acknowledge(
        this.role,
        wildcardArnFinding(cfn, '/index/*'),
        'The router queries the global secondary indexes of its own table (restricted senders; trace by ' +
          'sender, recipient, destination); the wildcard covers only the index ARNs of that one table.',
      );
    }
  }

  /** The function as an `IFunction` (receipt rule action, metrics). */
  get lambda(): lambda.IFunction {
    return this.function;
  }

  /** `ssm:GetParameter` on the SecureStrings it needs (SRS secrets, ARC key), nothing else. */
  private grantReadParameters(parameterNames: string[], key: kms.IKey | undefined): void {
    const resources = parameterNames.map((name) =>
      Stack.of(this).formatArn({
        service: 'ssm',
        resource: 'parameter',
        resourceName: name.replace(/^\//, ''),
      }),
    );
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources }));
    key?.grantDecrypt(this.role);
  }
}

/** The configuration as bundled: `srs.secrets` left out (they come from `srs.secretsParameter`). */
export function withoutSrsSecrets(
  config: Config,
): Omit<Config, 'srs'> & { srs: Omit<Config['srs'], 'secrets'> } {
  const { secrets: _secrets, ...srs } = config.srs;
  return { ...config, srs };
}
