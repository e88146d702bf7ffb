/**
 * An SNS topic for alarm notifications, encrypted with its own KMS key: CloudWatch alarms
 * cannot publish to a topic encrypted with the AWS managed `aws/sns` key, so the key policy
 * lets CloudWatch (of this account's alarms only) use the key.
 *
 * The topic's own policy must let CloudWatch publish too. `enforceSSL` gives the topic a
 * policy (`AWS::SNS::TopicPolicy`), and a topic policy replaces SNS's default one, whose
 * account-wide allow is what lets alarms publish to a topic that has no policy: with only the
 * TLS deny, every alarm action fails ("…:alarm:X is not authorized to perform: SNS:Publish …
 * because no resource-based policy allows the SNS:Publish action", seen in the alarm's
 * history only; Amazon CloudWatch User Guide, "Using Amazon CloudWatch alarms" and the
 * knowledge-center article "Why didn't I receive an SNS notification for my CloudWatch alarm
 * trigger?"). Found in a review (December 2026). Both grants are scoped with
 * `aws:SourceAccount` and `aws:SourceArn` to this account's alarms (confused deputy).
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
    const alarmsOfThisAccount = {
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
    };
    const cloudWatch = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [cloudWatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: alarmsOfThisAccount,
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Outbound pools alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: alarmsOfThisAccount,
      }),
    );
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }
}
