/**
 * SES delivery events in the trace table: one small item per event, under the partition of the
 * message its send belongs to, never a list on the main item.
 *
 * Why: a list on the main item grows with every event, and a DynamoDB item cannot exceed
 * 400 KB (DynamoDB Developer Guide, "Quotas in Amazon DynamoDB", item size): a copy to 50
 * recipients reached it at event #331, after which every event of the message was refused and
 * the feedback function retried into its dead-letter queue. Each append also rewrote the whole
 * item, so it cost as many write units as the item had kilobytes (a write consumes one unit per
 * KB of the larger of the item before and after, "DynamoDB read and write operations"): the
 * trace of a busy message cost quadratically. One item per event costs one write unit per event
 * whatever the message, and no item grows.
 *
 * Item: `pk = "M#" + messageId`, `sk = "E#" + at + "#" + rank + digest`, the event's fields, and the
 * message's TTL (`expiresAt`, copied from the main item: events expire with their message). No
 * index key, so the KEYS_ONLY GSIs never see an event. The digest is a hash of the event, so the
 * same event delivered twice (EventBridge delivers at least once) is the same item, written once.
 *
 * Bounds: an event names the recipients of one SendEmail call (at most 50) and a clipped
 * detail; {@link boundedEvent} enforces that, so an event item stays under
 * {@link MAX_EVENT_ITEM_BYTES}, far below 400 KB, whatever an event carries. Reads are bounded
 * too: a lookup reads at most a fixed number of a message's most recent events and says when
 * there were more (`eventsTruncated`).
 */
import { createHash } from 'node:crypto';
import type { DeliveryEvent } from '../core/ports.js';
import { cutText } from '../core/text.js';
import {
  TRACE_EVENT_PREFIX,
  TRACE_MESSAGE_PREFIX,
  TRACE_PARTITION_KEY,
  TRACE_SORT_KEY,
  TRACE_TTL_ATTRIBUTE,
} from './tables.js';

/** SES sends one copy to at most 50 recipients (SES quotas): no event names more. */
export const MAX_EVENT_RECIPIENTS = 50;
/** RFC 5321 4.5.3.1: a path is at most 256 octets; 320 leaves room for a display of one. */
const MAX_ADDRESS_CHARS = 320;
const MAX_DETAIL_CHARS = 1_000;
const MAX_TOKEN_CHARS = 256;

/**
 * The largest event item {@link boundedEvent} allows (UTF-8 may take up to 3 bytes a character
 * of these strings; keys and attribute names add a few hundred bytes): ~52 KB, an eighth of
 * DynamoDB's 400 KB item limit.
 */
export const MAX_EVENT_ITEM_BYTES =
  3 * (MAX_EVENT_RECIPIENTS * MAX_ADDRESS_CHARS + MAX_DETAIL_CHARS + 4 * MAX_TOKEN_CHARS) + 1_024;

/** The most recent events a message-id lookup shows. */
export const MAX_EVENTS_PER_MESSAGE = 1_000;
/** The most recent events shown for each message of a search (a search returns up to 1,000). */
export const MAX_EVENTS_PER_SEARCH_RESULT = 100;

/**
 * A list of addresses as the trace stores it: at most {@link MAX_EVENT_RECIPIENTS}, each cut
 * to {@link MAX_ADDRESS_CHARS} (an event's recipients, a dead letter's envelope).
 */
export function boundedAddresses(addresses: readonly unknown[]): string[] {
  return addresses.slice(0, MAX_EVENT_RECIPIENTS).map((r) => cutText(String(r), MAX_ADDRESS_CHARS));
}

/**
 * The event as stored: strings clipped, at most {@link MAX_EVENT_RECIPIENTS} recipients, no
 * `undefined` member. SES's own events are well inside these bounds; they only matter against
 * an event nobody expected.
 */
export function boundedEvent(event: DeliveryEvent): DeliveryEvent {
  const out: DeliveryEvent = {
    type: cutText(String(event.type), MAX_TOKEN_CHARS),
    at: cutText(String(event.at), MAX_TOKEN_CHARS),
    sesMessageId: cutText(String(event.sesMessageId), MAX_TOKEN_CHARS),
    recipients: boundedAddresses(event.recipients ?? []),
  };
  if (event.detail !== undefined) out.detail = cutText(String(event.detail), MAX_DETAIL_CHARS);
  return out;
}

/** Where an event type comes in the life of one SES send, for events of the same millisecond. */
const LIFECYCLE: Readonly<Record<string, number>> = {
  Send: 0,
  Reject: 1,
  RenderingFailure: 1,
  DeliveryDelay: 2,
  Delivery: 3,
  Bounce: 4,
  Complaint: 5,
};

/**
 * `E#<at>#<rank><digest>`: events sort by time (SES's ISO timestamps sort as text), events of
 * the same millisecond in the order of a send's life (Send before Delivery before Bounce
 * before Complaint), and the digest of the whole event tells apart the rest and makes a
 * redelivered event the same key.
 */
export function eventSortKey(event: DeliveryEvent): string {
  const canonical = JSON.stringify([
    event.type,
    event.at,
    event.sesMessageId,
    event.recipients,
    event.detail ?? null,
  ]);
  const digest = createHash('sha256').update(canonical).digest('hex').slice(0, 24);
  const rank = LIFECYCLE[event.type] ?? 9;
  return `${TRACE_EVENT_PREFIX}${event.at}#${rank}${digest}`;
}

/** The event's item: the message's partition, the event's sort key and fields, the message's TTL. */
export function eventItem(
  messageId: string,
  event: DeliveryEvent,
  expiresAt: number | undefined,
): Record<string, unknown> {
  return {
    ...event,
    [TRACE_PARTITION_KEY]: TRACE_MESSAGE_PREFIX + messageId,
    [TRACE_SORT_KEY]: eventSortKey(event),
    ...(expiresAt !== undefined ? { [TRACE_TTL_ATTRIBUTE]: expiresAt } : {}),
  };
}

/** The event fields of an event item. */
export function eventOf(item: Record<string, unknown>): DeliveryEvent {
  const event: DeliveryEvent = {
    type: String(item.type ?? ''),
    at: String(item.at ?? ''),
    sesMessageId: String(item.sesMessageId ?? ''),
    recipients: Array.isArray(item.recipients) ? item.recipients.map(String) : [],
  };
  if (typeof item.detail === 'string') event.detail = item.detail;
  return event;
}
