/**
 * Inbound mail: a receipt rule set with one rule for the accepted domains and the SRS domain
 * (so bounces to SRS return paths come back). Actions in order: store the raw message in S3,
 * then invoke the router asynchronously (`Event`). TLS required, spam and virus scanning on.
 *
 * CloudFormation cannot make a rule set the active one. Either run
 * `aws ses set-active-receipt-rule-set --rule-set-name <name>` once after the first deploy,
 * or set `activateRuleSet` and a custom resource does it (and deactivates on delete).
 */
import { ArnFormat, Aws, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sesActions from 'aws-cdk-lib/aws-ses-actions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { IMailBucket } from './mail-bucket.js';
import { acknowledge } from './nag.js';
import { checkName, InfrastructureValidationError } from './validation.js';

/** SES: at most 100 recipients (addresses or domains) per receipt rule. */
export const MAX_RULE_RECIPIENTS = 100;
// SES rule and rule set names: letters, digits, _ . -, starting and ending alphanumeric, ≤ 64.
const RULE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$/;
const RULE_NAME_RULE =
  'SES names are 1-64 letters, digits, _ . and -, starting and ending with a letter or digit';

/** Properties of {@link InboundReceipt}. */
export interface InboundReceiptProps {
  /** Domains (or addresses) the rule receives for: the accepted domains and the SRS domain. */
  readonly recipients: readonly string[];
  /** Where the S3 action stores raw messages (under its prefix). */
  readonly mailBucket: IMailBucket;
  /** The router, invoked by the Lambda action with `InvocationType: Event`. */
  readonly router: lambda.IFunction;
  /**
   * Name of the receipt rule set (unique in the account and region).
   *
   * @default `${stackName}-inbound`
   */
  readonly ruleSetName?: string;
  /**
   * Name of the receipt rule.
   *
   * @default 'route-to-pools'
   */
  readonly ruleName?: string;
  /**
   * Make the rule set the account's active one at deploy time (a custom resource calling
   * `SES.setActiveReceiptRuleSet`; on delete it deactivates receiving). Only one rule set is
   * active per account and region: turning this on replaces whichever is active now.
   *
   * @default false - activate it once with {@link InboundReceipt.activationCommand}
   */
  readonly activateRuleSet?: boolean;
}

/** The receipt rule's SES ARN: `arn:aws:ses:region:account:receipt-rule-set/<set>:receipt-rule/<rule>`. */
export function receiptRuleArn(scope: Construct, ruleSetName: string, ruleName: string): string {
  return Stack.of(scope).formatArn({
    service: 'ses',
    resource: 'receipt-rule-set',
    resourceName: `${ruleSetName}:receipt-rule/${ruleName}`,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
}

/**
 * The S3 action, without aws-ses-actions' bucket policy (which checks only the account):
 * {@link IMailBucket.allowSesReceipt} scopes SES's PutObject to this one rule instead.
 */
class StoreRawMail implements ses.IReceiptRuleAction {
  constructor(private readonly mailBucket: IMailBucket) {}

  bind(): ses.ReceiptRuleActionConfig {
    return {
      s3Action: { bucketName: this.mailBucket.bucket.bucketName, objectKeyPrefix: this.mailBucket.prefix },
    };
  }
}

/** Receipt rule set + rule (S3 then Lambda), optionally activated. */
export class InboundReceipt extends Construct {
  readonly ruleSet: ses.ReceiptRuleSet;
  readonly rule: ses.ReceiptRule;
  readonly ruleSetName: string;
  readonly ruleArn: string;
  /** The CLI command that activates the rule set. */
  readonly activationCommand: string;
  /** The activating custom resource, when `activateRuleSet` is on. */
  readonly activation: cr.AwsCustomResource | undefined;

  constructor(scope: Construct, id: string, props: InboundReceiptProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.ruleSetName = props.ruleSetName ?? `${stack.stackName}-inbound`;
    const ruleName = props.ruleName ?? 'route-to-pools';
    checkName(this, 'ruleSetName', this.ruleSetName, RULE_NAME, RULE_NAME_RULE);
    checkName(this, 'ruleName', ruleName, RULE_NAME, RULE_NAME_RULE);
    const recipients = [...new Set(props.recipients)];
    if (recipients.length === 0 || recipients.length > MAX_RULE_RECIPIENTS) {
      throw new InfrastructureValidationError(
        'acceptedDomains',
        `a receipt rule takes 1 to ${MAX_RULE_RECIPIENTS} recipients (accepted domains plus the SRS domain), got ${recipients.length}`,
        this,
      );
    }
    this.ruleArn = receiptRuleArn(this, this.ruleSetName, ruleName);
    this.activationCommand = `aws ses set-active-receipt-rule-set --rule-set-name ${this.ruleSetName} --region ${stack.region}`;

    // Both grants are scoped to this rule's ARN (known from the names, so no cycle) and must
    // exist before the rule: SES checks its access to the bucket and function on creation.
    props.mailBucket.allowSesReceipt(this.ruleArn);
    props.router.addPermission('AllowSes', {
      principal: new iam.ServicePrincipal('ses.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceAccount: Aws.ACCOUNT_ID,
      sourceArn: this.ruleArn,
    });

    this.ruleSet = new ses.ReceiptRuleSet(this, 'RuleSet', { receiptRuleSetName: this.ruleSetName });
    this.rule = this.ruleSet.addRule('Rule', {
      receiptRuleName: ruleName,
      recipients,
      enabled: true,
      scanEnabled: true,
      tlsPolicy: ses.TlsPolicy.REQUIRE,
      actions: [
        new StoreRawMail(props.mailBucket),
        // Finds the 'AllowSes' permission above and makes the rule depend on it.
        new sesActions.Lambda({
          function: props.router,
          invocationType: sesActions.LambdaInvocationType.EVENT,
        }),
      ],
    });
    const bucketPolicy = props.mailBucket.bucket.policy;
    if (bucketPolicy) this.rule.node.addDependency(bucketPolicy);

    this.activation = props.activateRuleSet ? this.activate() : undefined;
  }

  private activate(): cr.AwsCustomResource {
    const logGroup = new logs.LogGroup(this, 'ActivationLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'ActivationRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Activates the outbound pools receipt rule set',
    });
    logGroup.grantWrite(role);
    const call: cr.AwsSdkCall = {
      service: 'SES',
      action: 'setActiveReceiptRuleSet',
      parameters: { RuleSetName: this.ruleSetName },
      physicalResourceId: cr.PhysicalResourceId.of(`active-receipt-rule-set:${this.ruleSetName}`),
    };
    const activation = new cr.AwsCustomResource(this, 'ActivateRuleSet', {
      onCreate: call,
      onUpdate: call,
      // A rule set cannot be deleted while active: deactivate receiving first.
      onDelete: { service: 'SES', action: 'setActiveReceiptRuleSet', parameters: {} },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['ses:SetActiveReceiptRuleSet'], resources: ['*'] }),
      ]),
      role,
      logGroup,
      installLatestAwsSdk: false,
    });
    activation.node.addDependency(this.rule);
    acknowledge(
      activation,
      'AwsSolutions-IAM5[Resource::*]',
      'ses:SetActiveReceiptRuleSet changes the one active-rule-set setting of the account and region; it has ' +
        'no resource type to scope it to. The role may call nothing else.',
    );
    return activation;
  }
}
