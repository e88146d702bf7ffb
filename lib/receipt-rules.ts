/**
 * Inbound mail: a receipt rule set with one rule for the accepted domains (or, opted in, the
 * routes' exact addresses) and the SRS domain (so bounces to SRS return paths come back).
 * Actions in order: store the raw message in S3, then invoke the router asynchronously
 * (`Event`). Spam and virus scanning on; TLS optional unless `tlsPolicy` says Require.
 *
 * CloudFormation cannot make a rule set the active one. Either run
 * `aws ses set-active-receipt-rule-set --rule-set-name <name>` once after the first deploy,
 * or set `activateRuleSet` and a custom resource does it ({@link RuleSetActivation}: on delete
 * it deactivates receiving only if the stack is being deleted and its rule set is still the
 * active one).
 */
import { ArnFormat, Aws, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sesActions from 'aws-cdk-lib/aws-ses-actions';
import { Construct } from 'constructs';
import type { Config } from '../functions/core/config.js';
import { prefixFromStackName, ruleNameFor, ruleSetNameFor } from '../functions/core/resource-names.js';
import type { IMailBucket } from './mail-bucket.js';
import { checkReceivingRegion } from './regions.js';
import { RuleSetActivation } from './rule-set-activation.js';
import { checkName, InfrastructureValidationError } from './validation.js';

/** SES: at most 100 recipients (addresses or domains) per receipt rule. */
export const MAX_RULE_RECIPIENTS = 100;
// SES rule and rule set names: letters, digits, _ . -, starting and ending alphanumeric, ≤ 64.
const RULE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$/;
const RULE_NAME_RULE =
  'SES names are 1-64 letters, digits, _ . and -, starting and ending with a letter or digit';

/** Properties of {@link InboundReceipt}. */
export interface InboundReceiptProps {
  /** Domains (or addresses) the rule receives for: see {@link receiptRecipients}. */
  readonly recipients: readonly string[];
  /** Where the S3 action stores raw messages (under its prefix). */
  readonly mailBucket: IMailBucket;
  /** The router, invoked by the Lambda action with `InvocationType: Event`. */
  readonly router: lambda.IFunction;
  /**
   * Prefix of the default rule set and rule names (`functions/core/resource-names.ts`).
   *
   * @default - the stack name, lowercased
   */
  readonly namePrefix?: string;
  /**
   * Name of the receipt rule set (unique in the account and region).
   *
   * @default `${namePrefix}-inbound`
   */
  readonly ruleSetName?: string;
  /**
   * Name of the receipt rule.
   *
   * @default `${namePrefix}-route-to-pools`
   */
  readonly ruleName?: string;
  /**
   * Whether SES accepts mail for the rule only over TLS. `REQUIRE` makes SES bounce mail from
   * a server that does not use STARTTLS ("If this parameter is set to Require, Amazon SES will
   * bounce emails that are not received over TLS. The default is Optional.":
   * https://docs.aws.amazon.com/ses/latest/APIReference/API_ReceiptRule.html). Most servers
   * do use STARTTLS, but some legitimate senders (old appliances, some scanners and
   * line-of-business servers) do not; an MX that refuses them loses their mail, and an
   * opportunistic-TLS sender downgraded by an on-path attacker is refused too rather than
   * read. The default accepts them, like most MXs (RFC 3207 section 4: a publicly-referenced
   * server must not require STARTTLS).
   *
   * @default ses.TlsPolicy.OPTIONAL
   */
  readonly tlsPolicy?: ses.TlsPolicy;
  /**
   * Make the rule set the account's active one at deploy time ({@link RuleSetActivation};
   * on delete it deactivates receiving only if this rule set is still the active one). Only
   * one rule set is active per account and region: turning this on replaces whichever is
   * active now.
   *
   * @default false - activate it once with {@link InboundReceipt.activationCommand}
   */
  readonly activateRuleSet?: boolean;
  /** Of the activation's log group. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Of the activation's log group. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
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
  readonly activation: RuleSetActivation | undefined;

  constructor(scope: Construct, id: string, props: InboundReceiptProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = props.namePrefix ?? prefixFromStackName(stack.stackName);
    this.ruleSetName = props.ruleSetName ?? ruleSetNameFor(prefix);
    const ruleName = props.ruleName ?? ruleNameFor(prefix);
    checkReceivingRegion(stack.region, this);
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
      tlsPolicy: props.tlsPolicy ?? ses.TlsPolicy.OPTIONAL,
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

    if (props.activateRuleSet) {
      this.activation = new RuleSetActivation(this, 'Activation', {
        ruleSetName: this.ruleSetName,
        logRetention: props.logRetention,
        removalPolicy: props.removalPolicy,
      });
      // Activated once the rule exists; on delete, deactivated before the rule set goes.
      this.activation.node.addDependency(this.rule);
    } else {
      this.activation = undefined;
    }
  }
}

/**
 * The rule's recipients. By default the accepted domains (SES then stores and routes mail to
 * any address in them; the router gives unrouted recipients nothing). With `exact`, only what
 * the routes name: each catch-all route's domain (`"@example.org"`) and each routed address
 * of a domain without one. Either way the SRS domain, whose addresses are generated.
 *
 * What SES does with a recipient no rule of the active set matches: receipt rules apply to
 * "the recipient domains and email addresses" they list
 * (https://docs.aws.amazon.com/ses/latest/APIReference/API_ReceiptRule.html), and SES rejects
 * mail for a recipient no active rule matches during the SMTP conversation
 * (https://docs.aws.amazon.com/ses/latest/dg/receiving-email-concepts.html, "how Amazon SES
 * processes received email"), so the sending server, not this stack, reports it undeliverable:
 * nothing is stored, nothing invoked, nothing counted. Exact recipients thus save the S3 write
 * and the router invocation of mail to unknown addresses, at the price of the 100-recipient
 * cap per rule. Rules are not split across several: a message whose recipients match two rules
 * gets both rules' actions ("If the email addresses or domains match at least one recipient
 * address of the message, Amazon SES executes all of the receipt rule's actions"), so it would
 * be stored and routed twice.
 */
export function receiptRecipients(
  config: Pick<Config, 'acceptedDomains' | 'routes' | 'srs'>,
  exact: boolean,
): string[] {
  const srsDomain = config.srs.domain.toLowerCase();
  if (!exact) return [...new Set([...config.acceptedDomains.map((d) => d.toLowerCase()), srsDomain])];
  const keys = Object.keys(config.routes).map((k) => k.toLowerCase());
  const catchAll = new Set(keys.filter((k) => k.startsWith('@')).map((k) => k.slice(1)));
  const addresses = keys.filter((k) => !k.startsWith('@') && !catchAll.has(k.slice(k.lastIndexOf('@') + 1)));
  const recipients = [...new Set([...[...catchAll].sort(), ...addresses.sort(), srsDomain])];
  if (recipients.length > MAX_RULE_RECIPIENTS) {
    throw new InfrastructureValidationError(
      'routes',
      `exactRecipients gives ${recipients.length} rule recipients (routed addresses, catch-all domains, the SRS domain); SES takes at most ${MAX_RULE_RECIPIENTS} per rule: give the busiest domains a catch-all route ("@domain") or turn exactRecipients off`,
    );
  }
  return recipients;
}
