/**
 * The S3 bucket the receipt rule's S3 action stores raw messages in, and the router reads
 * them from. Private, encrypted, TLS-only; raw mail expires after a retention period.
 */
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';
import { checkName, InfrastructureValidationError } from './validation.js';

/** Properties of {@link MailBucket}. */
export interface MailBucketProps {
  /**
   * Object key prefix SES stores raw messages under (the object key is `prefix + messageId`).
   *
   * @default 'raw/'
   */
  readonly prefix?: string;
  /**
   * How long raw messages are kept. At least as long as a failed event can wait in the
   * router's dead-letter queue (14 days, reached up to 6 h after receipt) to be redriven, or a
   * redriven event finds nothing: `OutboundPools` checks it (issue 15).
   *
   * @default Duration.days(15)
   */
  readonly retention?: Duration;
  /**
   * What happens to the bucket when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * A bucket for S3 server access logs of the mail bucket.
   *
   * @default - no server access logs (CloudTrail data events can record object access instead)
   */
  readonly serverAccessLogsBucket?: s3.IBucket;
}

/** Where raw received mail lives. */
export interface IMailBucket {
  readonly bucket: s3.IBucket;
  /** Object key prefix of raw messages. */
  readonly prefix: string;
  /** Lets SES store messages for exactly one receipt rule (`aws:SourceArn`) of this account. */
  allowSesReceipt(receiptRuleArn: string): void;
  /** Reading raw messages under the prefix, nothing else. */
  grantReadMail(grantee: iam.IGrantable): iam.Grant;
}

/**
 * SSE-S3, all public access blocked, TLS 1.2+ only (`enforceSSL`), objects owned by the
 * bucket owner, and a lifecycle rule expiring raw messages (and incomplete uploads).
 */
export class MailBucket extends Construct implements IMailBucket {
  readonly bucket: s3.Bucket;
  readonly prefix: string;

  constructor(scope: Construct, id: string, props: MailBucketProps = {}) {
    super(scope, id);
    this.prefix = props.prefix ?? 'raw/';
    checkName(
      this,
      'prefix',
      this.prefix,
      /^(?!\/)[A-Za-z0-9!_.*'()/-]{1,900}$/,
      'must be a non-empty S3 key prefix that does not start with "/"',
    );
    const retention = props.retention ?? Duration.days(15);
    if (!retention.isUnresolved()) {
      const days = retention.toDays({ integral: false });
      if (!Number.isInteger(days) || days < 1) {
        throw new InfrastructureValidationError(
          'mailRetention',
          `S3 expires objects after whole days, at least 1 (got ${days} days)`,
          this,
        );
      }
    }

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      ...(props.serverAccessLogsBucket
        ? { serverAccessLogsBucket: props.serverAccessLogsBucket, serverAccessLogsPrefix: 'mail-bucket/' }
        : {}),
      lifecycleRules: [
        {
          id: 'expire-raw-mail',
          prefix: this.prefix,
          expiration: retention,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    if (!props.serverAccessLogsBucket) {
      acknowledge(
        this.bucket,
        'AwsSolutions-S1',
        'Only SES writes here (bucket policy scoped to one receipt rule of this account) and only the router ' +
          'role reads, under one prefix; objects expire after the retention. No access-log bucket was given ' +
          '(prop serverAccessLogsBucket); CloudTrail S3 data events audit object access account-wide.',
      );
    }
  }

  allowSesReceipt(receiptRuleArn: string): void {
    // SES docs, "Give SES permission to write to an S3 bucket": both conditions, so no other
    // account's rule (confused deputy) and no other rule of this account can write here.
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowSesReceiptRulePutObject',
        principals: [new iam.ServicePrincipal('ses.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${this.prefix}*`)],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID, 'aws:SourceArn': receiptRuleArn },
        },
      }),
    );
  }

  grantReadMail(grantee: iam.IGrantable): iam.Grant {
    const read = iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject'],
      resourceArns: [this.bucket.arnForObjects(`${this.prefix}*`)],
    });
    // Without ListBucket a missing object answers 403 instead of NoSuchKey, and the router
    // could not tell "no such message" (MessageNotFoundError) from a permissions fault: "If
    // you have the s3:ListBucket permission on the bucket, Amazon S3 returns an HTTP status
    // code 404 Not Found error" (S3 API Reference, GetObject, Permissions). Unconditional: a
    // GetObject request carries no `s3:prefix`, so a prefix condition would never match it.
    // The bucket holds nothing but received mail.
    const list = iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket'],
      resourceArns: [this.bucket.bucketArn],
    });
    return read.combine(list);
  }
}
