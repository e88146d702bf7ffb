/**
 * Acknowledging cdk-nag findings (cdk-nag 3: CDK's own `Validations.of(scope).acknowledge`),
 * always on the narrowest construct and with the reason the finding does not apply.
 * Wildcard findings are acknowledged one by one: `AwsSolutions-IAM5[Resource::<Id.Arn>/x/*]`.
 */
import { type CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Acknowledges one finding (a rule id, or a rule id with its `[finding]`) on a construct. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * The cdk-nag IAM5 finding of a resource ARN built from a resource's `Arn` attribute plus a
 * wildcard suffix, e.g. `AwsSolutions-IAM5[Resource::<MailBucketABC123.Arn>/raw/*]`.
 */
export function wildcardArnFinding(resource: CfnResource, suffix: string): string {
  const logicalId = Stack.of(resource).resolve(resource.logicalId) as string;
  return `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>${suffix}]`;
}

/** The CloudFormation resource of an L2 construct, when it has one of its own. */
export function cfnResourceOf(construct: IConstruct): CfnResource | undefined {
  const child = construct.node.defaultChild as CfnResource | undefined;
  return child && 'cfnResourceType' in child ? child : undefined;
}
