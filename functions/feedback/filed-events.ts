/**
 * Which SES events the feedback function is given (issue 16), as EventBridge detail types
 * (source `aws.ses`): https://docs.aws.amazon.com/ses/latest/dg/monitoring-eventbridge.html.
 * The stack's rule (`lib/feedback-function.ts`) matches exactly these; kept here, free of CDK,
 * so the bench and tests route events as the rule does.
 *
 * - The failures — bounce, complaint, reject, delivery delay, rendering failure — always: they
 *   are what an operator looks a message up for.
 * - `Email Delivered` only with the configuration's `trace.deliveryEvents`: it is the bulk
 *   (one per copy), costs an invocation and a write unit each, and says what the trace's `sent`
 *   and the absence of a failure already suggest. SES still publishes it to the configuration
 *   sets' CloudWatch destination, so delivery metrics and the dashboard count deliveries.
 * - `Email Sent` never: the router records the send itself (`handler.ts`).
 */

export const FAILURE_EVENT_DETAIL_TYPES: readonly string[] = [
  'Email Bounced',
  'Email Complaint Received',
  'Email Rejected',
  'Email Delivery Delayed',
  'Email Rendering Failed',
];

/** Filed only with `trace.deliveryEvents`. */
export const DELIVERY_EVENT_DETAIL_TYPE = 'Email Delivered';

/** The detail types the feedback rule matches. */
export function feedbackDetailTypes(deliveryEvents: boolean): string[] {
  return [...(deliveryEvents ? [DELIVERY_EVENT_DETAIL_TYPE] : []), ...FAILURE_EVENT_DETAIL_TYPES];
}
