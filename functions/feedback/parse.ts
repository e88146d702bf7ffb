/**
 * SES event publishing records (configuration-set event destinations) → trace events.
 * https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html
 *
 * They arrive wrapped in SNS (`Records[].Sns.Message`, a JSON string) or in EventBridge
 * (`detail`). Each names the SES message id of *our* send and carries the send's tags, whose
 * `inbound_id` says which trace record (received message) it belongs to.
 */
import { InvalidInputError } from '../core/errors.js';
import type { DeliveryEvent } from '../core/ports.js';
import { cutText } from '../core/text.js';

export interface FeedbackItem {
  /** The received message's id (the trace record), from the `inbound_id` tag. */
  inboundId: string;
  event: DeliveryEvent;
}

type Json = Record<string, unknown>;

const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Keeps log and trace text bounded and free of control characters. */
function clip(text: string | undefined, max = 300): string | undefined {
  if (!text) return undefined;
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return clean.length > max ? `${cutText(clean, max)}…` : clean;
}

function detailFor(type: string, e: Json): { recipients: string[]; detail?: string; at?: string } {
  switch (type) {
    case 'Delivery': {
      const d = obj(e.delivery);
      return {
        recipients: arr(d.recipients).map(String),
        detail: clip(str(d.smtpResponse)),
        at: str(d.timestamp),
      };
    }
    case 'Bounce': {
      const b = obj(e.bounce);
      const rcpts = arr(b.bouncedRecipients).map(obj);
      const diag = rcpts.map((r) => str(r.diagnosticCode) ?? str(r.status)).find(Boolean);
      return {
        recipients: rcpts.map((r) => String(r.emailAddress ?? '')),
        detail: clip(
          `${str(b.bounceType) ?? 'Undetermined'}/${str(b.bounceSubType) ?? ''}${diag ? `: ${diag}` : ''}`,
        ),
        at: str(b.timestamp),
      };
    }
    case 'Complaint': {
      const c = obj(e.complaint);
      return {
        recipients: arr(c.complainedRecipients).map((r) => String(obj(r).emailAddress ?? '')),
        detail: clip(str(c.complaintFeedbackType) ?? 'complaint'),
        at: str(c.timestamp),
      };
    }
    case 'DeliveryDelay': {
      const d = obj(e.deliveryDelay);
      return {
        recipients: arr(d.delayedRecipients).map((r) => String(obj(r).emailAddress ?? '')),
        detail: clip(str(d.delayType)),
        at: str(d.timestamp),
      };
    }
    case 'Reject':
      return { recipients: [], detail: clip(str(obj(e.reject).reason)) };
    default:
      return { recipients: [] };
  }
}

/** One SES event record → a feedback item, or null when it is not ours (no `inbound_id`). */
export function parseSesEventRecord(record: unknown, receivedAt: Date): FeedbackItem | null {
  const e = obj(record);
  const type = str(e.eventType) ?? str(e.notificationType);
  const mail = obj(e.mail);
  const sesMessageId = str(mail.messageId);
  const inboundId = str(arr(obj(mail.tags).inbound_id)[0]);
  if (!type || !sesMessageId || !inboundId) return null;
  const { recipients, detail, at } = detailFor(type, e);
  const event: DeliveryEvent = {
    type,
    at: at ?? str(mail.timestamp) ?? receivedAt.toISOString(),
    sesMessageId,
    recipients: recipients.filter(Boolean),
  };
  if (detail) event.detail = detail;
  return { inboundId, event };
}

/**
 * Unwraps an SNS or EventBridge invocation into SES event records. An invocation that is
 * neither (`null`, `{}`, a dead-letter record passed whole) throws `InvalidInputError`: answered
 * with success it would be "filed" with nothing filed, and the dead-letter redrive of
 * docs/operations.md deletes a queue message once its invocation succeeds — an event that
 * did not reach the function would be lost without a trace. A recognisable record that is not
 * an SES event of ours is still only counted (`ignored`) by the caller.
 */
export function unwrapFeedbackEvent(invocation: unknown): unknown[] {
  const inv = obj(invocation);
  if (Array.isArray(inv.Records)) {
    return inv.Records.map((r) => {
      const message = str(obj(obj(r).Sns).Message);
      if (message === undefined) return null;
      try {
        return JSON.parse(message) as unknown;
      } catch {
        return null;
      }
    });
  }
  if (inv.detail !== undefined) return [inv.detail];
  throw new InvalidInputError(
    'event',
    `no SES event in the invocation (neither SNS Records nor an EventBridge detail): ${describe(invocation)}`,
  );
}

/** What an unrecognised invocation was, for the error: its type or its first keys, bounded. */
function describe(invocation: unknown): string {
  if (invocation === null || typeof invocation !== 'object') return String(invocation).slice(0, 40);
  if (Array.isArray(invocation)) return `an array of ${invocation.length}`;
  const keys = Object.keys(invocation).slice(0, 5);
  return keys.length === 0 ? '{}' : `{${keys.map((k) => clip(k, 40)).join(', ')}}`;
}
