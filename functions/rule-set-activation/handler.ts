/**
 * The rule-set activation custom resource (`Custom::ActiveReceiptRuleSet`, issue 15 item 3):
 * CloudFormation invokes it on create, update and delete; it asks SES which rule set is
 * active, applies {@link decideActivation}, and answers CloudFormation by a PUT of the result
 * to the request's pre-signed `ResponseURL` (the custom resource response protocol:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html).
 *
 * Every failure is answered (FAILED, with the reason): an unanswered request leaves the stack
 * waiting for an hour.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeActiveReceiptRuleSetCommand,
  SESClient,
  SetActiveReceiptRuleSetCommand,
} from '@aws-sdk/client-ses';
import * as v from 'valibot';
import { type ActivationDecision, type DescribeActiveAnswer, decideActivation } from './decide.js';

/** The two SES calls the resource makes. */
export interface RuleSetControl {
  describeActive(): Promise<DescribeActiveAnswer>;
  /** `SetActiveReceiptRuleSet`; no name deactivates receiving. */
  setActive(ruleSetName: string | undefined): Promise<void>;
}

/** `DescribeStacks` for the request's stack: its status, null when it is not found. */
export type StackStatusReader = (stackId: string) => Promise<string | null>;

/** PUTs a response body to the pre-signed URL. */
export type Responder = (url: string, body: string) => Promise<void>;

const requestSchema = v.object({
  RequestType: v.picklist(['Create', 'Update', 'Delete']),
  ResponseURL: v.pipe(v.string(), v.url()),
  StackId: v.string(),
  RequestId: v.string(),
  LogicalResourceId: v.string(),
  PhysicalResourceId: v.optional(v.string()),
  ResourceProperties: v.object({ RuleSetName: v.pipe(v.string(), v.minLength(1)) }),
});

export interface ActivationOutcome {
  readonly status: 'SUCCESS' | 'FAILED';
  readonly decision: ActivationDecision | null;
  readonly reason: string;
}

export async function handleActivation(
  event: unknown,
  control: RuleSetControl,
  respond: Responder,
  stackStatus: StackStatusReader,
): Promise<ActivationOutcome> {
  const parsed = v.safeParse(requestSchema, event);
  if (!parsed.success) {
    // Without a valid request there may be no URL to answer: the error is all there is.
    throw new Error(`not a CloudFormation custom resource request: ${v.summarize(parsed.issues)}`);
  }
  const request = parsed.output;
  let outcome: ActivationOutcome;
  let physicalResourceId = request.PhysicalResourceId ?? request.ResourceProperties.RuleSetName;
  try {
    const decision = decideActivation(
      {
        requestType: request.RequestType,
        ruleSetName: request.ResourceProperties.RuleSetName,
        physicalResourceId: request.PhysicalResourceId,
        // Stack deleted, or the resource only removed from it (decide.ts).
        ...(request.RequestType === 'Delete' ? { stackStatus: await stackStatus(request.StackId) } : {}),
      },
      await control.describeActive(),
    );
    if (decision.step.call === 'activate') await control.setActive(decision.step.ruleSetName);
    if (decision.step.call === 'deactivate') await control.setActive(undefined);
    physicalResourceId = decision.physicalResourceId;
    outcome = { status: 'SUCCESS', decision, reason: decision.reason };
  } catch (error) {
    const e = error as Error;
    outcome = { status: 'FAILED', decision: null, reason: `${e.name}: ${e.message}`.slice(0, 1000) };
  }
  await respond(
    request.ResponseURL,
    JSON.stringify({
      Status: outcome.status,
      Reason: outcome.reason,
      PhysicalResourceId: physicalResourceId,
      StackId: request.StackId,
      RequestId: request.RequestId,
      LogicalResourceId: request.LogicalResourceId,
      NoEcho: false,
    }),
  );
  return outcome;
}

/** SES through the SDK (the function's region). */
export function sesRuleSetControl(client: SESClient): RuleSetControl {
  return {
    describeActive: async () => {
      const { Metadata } = await client.send(new DescribeActiveReceiptRuleSetCommand({}));
      return Metadata?.Name ? { Metadata: { Name: Metadata.Name } } : {};
    },
    setActive: async (ruleSetName) => {
      await client.send(new SetActiveReceiptRuleSetCommand(ruleSetName ? { RuleSetName: ruleSetName } : {}));
    },
  };
}

/** CloudFormation through the SDK: a stack that does not exist is a ValidationError there. */
export function cloudFormationStackStatus(client: Pick<CloudFormationClient, 'send'>): StackStatusReader {
  return async (stackId) => {
    try {
      const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stackId }));
      return Stacks?.[0]?.StackStatus ?? null;
    } catch (error) {
      // "Stack with id … does not exist" (DescribeStacks, Errors: ValidationError).
      if ((error as Error).name === 'ValidationError' && /does not exist/.test((error as Error).message))
        return null;
      throw error;
    }
  };
}

/**
 * The pre-signed S3 URL is signed without a content type: send none (an empty header, as
 * AWS's own cfn-response module does), or S3 refuses the signature.
 */
export const putResponse: Responder = async (url, body) => {
  const res = await fetch(url, { method: 'PUT', headers: { 'content-type': '' }, body });
  if (!res.ok) throw new Error(`CloudFormation response PUT failed: HTTP ${res.status}`);
};

const control = sesRuleSetControl(new SESClient({}));
const stacks = cloudFormationStackStatus(new CloudFormationClient({}));

export async function handler(event: unknown): Promise<void> {
  const outcome = await handleActivation(event, control, putResponse, stacks);
  console.log(JSON.stringify({ message: 'rule set activation', ...outcome }));
}
