/**
 * The custom resource that makes the stack's receipt rule set the active one
 * (`functions/rule-set-activation/`): a small function of this project, not
 * `AwsCustomResource`, because its delete must first ask SES which set is active and
 * deactivate receiving only when it is this stack's own and the stack is being deleted
 * (issue 15 item 3; `functions/rule-set-activation/decide.ts`). Its physical id is the rule
 * set name.
 */
import { CustomResource, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { projectFunction } from './lambda-bundling.js';
import { acknowledge } from './nag.js';

/** Properties of {@link RuleSetActivation}. */
export interface RuleSetActivationProps {
  /** The rule set to activate (the stack's own). */
  readonly ruleSetName: string;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** The resource type CloudFormation shows. */
export const ACTIVATION_RESOURCE_TYPE = 'Custom::ActiveReceiptRuleSet';

/** The SES actions the function calls, and nothing else. */
export const ACTIVATION_ACTIONS = ['ses:DescribeActiveReceiptRuleSet', 'ses:SetActiveReceiptRuleSet'];

export class RuleSetActivation extends Construct {
  readonly resource: CustomResource;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: RuleSetActivationProps) {
    super(scope, id);
    const { function: fn, role } = projectFunction(this, {
      entry: 'rule-set-activation/handler.ts',
      description:
        'Outbound pools: activates its receipt rule set; on stack delete deactivates it only if still active',
      roleDescription: 'Outbound pools rule-set activation: reads and sets the active SES receipt rule set',
      memorySize: 256,
      timeout: Duration.seconds(30),
      environment: {},
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.role = role;
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ACTIVATION_ACTIONS, resources: ['*'] }));
    // On Delete: is the stack being deleted, or was the resource only removed from it? Its
    // own stack only.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudformation:DescribeStacks'],
        resources: [Stack.of(this).stackId],
      }),
    );
    acknowledge(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'ses:SetActiveReceiptRuleSet and ses:DescribeActiveReceiptRuleSet act on the one active-rule-set ' +
        'setting of the account and region; the SES service authorization reference lists no resource type ' +
        'for them, so "*" is the only resource. The role may call nothing else.',
    );
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: fn.functionArn,
      resourceType: ACTIVATION_RESOURCE_TYPE,
      properties: { RuleSetName: props.ruleSetName },
    });
  }
}
