/**
 * The application stack: {@link OutboundPools} and the outputs an operator needs after
 * `cdk deploy` (bucket, tables, rule set and the command that activates it, dashboard, the
 * trace API's URL and the policy that lets operators call it).
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { OutboundPools, type OutboundPoolsProps } from './outbound-pools.js';

/** Properties of {@link OutboundPoolsStack}: the stack's own and those of {@link OutboundPools}. */
export interface OutboundPoolsStackProps extends StackProps, OutboundPoolsProps {}

export class OutboundPoolsStack extends Stack {
  readonly outboundPools: OutboundPools;

  constructor(scope: Construct, id: string, props: OutboundPoolsStackProps) {
    super(scope, id, props);
    this.outboundPools = new OutboundPools(this, 'OutboundPools', props);
    const { mailBucket, tables, receipt, dashboard, deliveryPools, traceApi } = this.outboundPools;
    new CfnOutput(this, 'MailBucketName', { value: mailBucket.bucket.bucketName });
    new CfnOutput(this, 'LimitsTableName', { value: tables.limits.tableName });
    new CfnOutput(this, 'TraceTableName', { value: tables.trace.tableName });
    // Issue 15: what `outbound-pools redrive` needs (DEAD_LETTER_QUEUE_URL, ROUTER_FUNCTION).
    new CfnOutput(this, 'RouterDeadLetterQueueUrl', {
      value: this.outboundPools.router.deadLetterQueue.queue.queueUrl,
    });
    new CfnOutput(this, 'RouterFunctionName', { value: this.outboundPools.router.function.functionName });
    new CfnOutput(this, 'ReceiptRuleSetName', { value: receipt.ruleSetName });
    new CfnOutput(this, 'NamePrefix', {
      description: "Prefix of every SES name of the stack: the configuration's namePrefix for the CLI",
      value: this.outboundPools.namePrefix,
    });
    new CfnOutput(this, 'ActivateReceiptRuleSetCommand', {
      description: receipt.activation
        ? 'Already done by this stack (activateRuleSet)'
        : 'Run once: CloudFormation cannot activate a receipt rule set',
      value: receipt.activationCommand,
    });
    new CfnOutput(this, 'ConfigurationSets', {
      value: Object.values(deliveryPools.pools)
        .map((p) => `${p.pool}=${p.configurationSetName}`)
        .join(' '),
    });
    new CfnOutput(this, 'DashboardName', { value: dashboard.dashboard.dashboardName });
    new CfnOutput(this, 'TraceApiUrl', {
      description:
        'GET messages/{sesMessageId} or messages?sender=&recipient=, signed with SigV4 (service lambda)',
      value: traceApi.url.url,
    });
    new CfnOutput(this, 'TraceApiReadersPolicyArn', {
      description: 'Attach to the IAM roles or groups that may look messages up',
      value: traceApi.readersPolicy.managedPolicyArn,
    });
  }
}
