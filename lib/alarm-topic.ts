/**
 * An SNS topic for alarm notifications, encrypted with its own KMS key: CloudWatch alarms
 * cannot publish to a topic encrypted with the AWS managed `aws/sns` key, so the key policy
 * lets CloudWatch (of this account only) use the key.
 */
import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { isValidAddress } from '../functions/core/config.js';
import { InfrastructureValidationError } from './validation.js';

/** Properties of {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /**
   * An address subscribed to the topic (SNS asks it to confirm the subscription).
   *
   * @default - no subscription
   */
  readonly email?: string;
}

/** KMS-encrypted, TLS-only topic that CloudWatch alarms publish to. */
export class AlarmTopic extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps = {}) {
    super(scope, id);
    if (props.email !== undefined && !isValidAddress(props.email.toLowerCase())) {
      throw new InfrastructureValidationError(
        'alarmEmail',
        `must be an email address such as ops@example.com (got "${props.email}")`,
        this,
      );
    }
    this.key = new kms.Key(this, 'Key', {
      description: 'Outbound pools alarm notifications',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Outbound pools alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }
}
