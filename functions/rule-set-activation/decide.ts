/**
 * What the rule-set activation custom resource does (issue 15 item 3), as a pure function of
 * the CloudFormation request and SES's answer to `DescribeActiveReceiptRuleSet`.
 *
 * SES has one active receipt rule set per account and region
 * (https://docs.aws.amazon.com/ses/latest/APIReference/API_SetActiveReceiptRuleSet.html: "Sets
 * the specified receipt rule set as the active receipt rule set"; calling it without a name
 * "disables your email-receiving"). So:
 *
 * - Create and Update make this stack's rule set the active one (replacing any other: the
 *   deploy guide says so), or do nothing when it already is.
 * - Delete deactivates receiving **only while the stack itself is being deleted** (or its
 *   creation rolled back), and **only if the active set is this stack's own**. Destroying
 *   staging, or the replacement after a rename, must not switch production's receiving off.
 *   CloudFormation sends the same Delete when the resource only leaves the template
 *   (`activateRuleSet` turned off): "When the template developer deletes the stack or removes
 *   the custom resource from the stack, CloudFormation sends a request … with `RequestType`
 *   set to `Delete`" (*Custom resource request types*). Only the stack's status tells the two
 *   apart (`DescribeStacks`): `DELETE_IN_PROGRESS` or `ROLLBACK_IN_PROGRESS` while the stack
 *   and its rule set go; `UPDATE_COMPLETE_CLEANUP_IN_PROGRESS` (or an update rollback's
 *   cleanup) while an update removes the resource, and the rule set stays, receiving.
 *
 * The physical id is the rule set name: stable across updates that keep the name, so
 * CloudFormation never replaces the resource (and never sends a Delete) for them; a renamed
 * rule set gets a new id, and the Delete CloudFormation then sends for the old id finds the
 * new set active and leaves it alone.
 */

/** The request fields the decision needs. */
export interface ActivationRequest {
  readonly requestType: 'Create' | 'Update' | 'Delete';
  /** `ResourceProperties.RuleSetName`: the stack's rule set now. */
  readonly ruleSetName: string;
  /** The id this resource was created with (Update, Delete): the rule set it activated. */
  readonly physicalResourceId?: string;
  /**
   * Delete only: the stack's status (`DescribeStacks`), null when the stack is not found
   * (read as being deleted).
   */
  readonly stackStatus?: string | null;
}

/** Stack statuses in which the stack's resources, its rule set included, are going away. */
export const STACK_GOING_STATUSES: ReadonlySet<string> = new Set([
  'DELETE_IN_PROGRESS',
  'ROLLBACK_IN_PROGRESS',
]);

/** SES v1 `DescribeActiveReceiptRuleSet` output, as the SDK returns it (no `Metadata`: none active). */
export interface DescribeActiveAnswer {
  readonly Metadata?: { readonly Name?: string };
}

export type ActivationStep =
  | { readonly call: 'activate'; readonly ruleSetName: string }
  | { readonly call: 'deactivate' }
  | { readonly call: 'none' };

export interface ActivationDecision {
  readonly step: ActivationStep;
  /** Returned to CloudFormation. */
  readonly physicalResourceId: string;
  /** One line for the log and the CloudFormation event's reason. */
  readonly reason: string;
}

/** The active set's name, or null when receiving is off. */
export function activeName(answer: DescribeActiveAnswer): string | null {
  return answer.Metadata?.Name ?? null;
}

export function decideActivation(
  request: ActivationRequest,
  active: DescribeActiveAnswer,
): ActivationDecision {
  const current = activeName(active);
  if (request.requestType === 'Delete') {
    // The set this resource activated is the one its physical id names.
    const own = request.physicalResourceId ?? request.ruleSetName;
    const status = request.stackStatus;
    if (status !== undefined && status !== null && !STACK_GOING_STATUSES.has(status)) {
      return {
        step: { call: 'none' },
        physicalResourceId: own,
        reason: `the resource left the template (stack ${status}), the stack stays: ${own} left as it is`,
      };
    }
    if (current === own) {
      return { step: { call: 'deactivate' }, physicalResourceId: own, reason: `deactivated ${own}` };
    }
    return {
      step: { call: 'none' },
      physicalResourceId: own,
      reason:
        current === null
          ? `no rule set is active; nothing to deactivate for ${own}`
          : `${current} is active, not ${own}: left as it is`,
    };
  }
  const name = request.ruleSetName;
  if (current === name) {
    return { step: { call: 'none' }, physicalResourceId: name, reason: `${name} is already active` };
  }
  return {
    step: { call: 'activate', ruleSetName: name },
    physicalResourceId: name,
    reason: current === null ? `activated ${name}` : `activated ${name} (replacing ${current})`,
  };
}
