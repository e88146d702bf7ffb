/**
 * The bounds of one trace event item (`trace-events.ts`): whatever an event carries, its item
 * stays far below DynamoDB's 400 KB, and the same event always gets the same key.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  boundedEvent,
  eventItem,
  eventOf,
  eventSortKey,
  MAX_EVENT_ITEM_BYTES,
  MAX_EVENT_RECIPIENTS,
} from '../../functions/adapters/trace-events.js';
import type { DeliveryEvent } from '../../functions/core/ports.js';

const eventArb: fc.Arbitrary<DeliveryEvent> = fc.record(
  {
    type: fc.string({ maxLength: 600 }),
    at: fc.string({ maxLength: 600 }),
    sesMessageId: fc.string({ maxLength: 600 }),
    recipients: fc.array(fc.string({ maxLength: 800, unit: 'binary' }), { maxLength: 120 }),
    detail: fc.string({ maxLength: 3_000, unit: 'binary' }),
  },
  { requiredKeys: ['type', 'at', 'sesMessageId', 'recipients'] },
);

/**
 * An item's size as DynamoDB counts it (Developer Guide, "Item sizes and formats"): attribute
 * names and strings by their UTF-8 length, a number at most 21 bytes, a list or map 3 bytes
 * plus 1 per element.
 */
function dynamoSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return 21;
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + dynamoSize(v), 0);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).reduce((n, [k, v]) => n + 1 + Buffer.byteLength(k) + dynamoSize(v), 3);
  }
  return 1;
}

describe('trace event items', () => {
  it('any event, however large, makes an item under the bound (itself an eighth of 400 KB)', () => {
    assert.ok(MAX_EVENT_ITEM_BYTES < (400 * 1024) / 4);
    // The worst case: every field at its bound, 3-byte characters only.
    const worst = boundedEvent({
      type: '€'.repeat(10_000),
      at: '€'.repeat(10_000),
      sesMessageId: '€'.repeat(10_000),
      recipients: Array(500).fill('€'.repeat(10_000)),
      detail: '€'.repeat(100_000),
    });
    assert.ok(dynamoSize(eventItem('€'.repeat(200), worst, 1)) <= MAX_EVENT_ITEM_BYTES);
    fc.assert(
      fc.property(eventArb, (event) => {
        const bounded = boundedEvent(event);
        const item = eventItem('m-1', bounded, 1_700_000_000);
        assert.ok(dynamoSize(item) <= MAX_EVENT_ITEM_BYTES);
        assert.ok(bounded.recipients.length <= MAX_EVENT_RECIPIENTS);
        // What SES really sends (≤ 50 recipients, short strings) is kept unchanged.
        if (
          event.recipients.length <= MAX_EVENT_RECIPIENTS &&
          [event.type, event.at, event.sesMessageId].every((s) => s.length <= 256) &&
          event.recipients.every((r) => r.length <= 320) &&
          (event.detail ?? '').length <= 1_000
        ) {
          assert.deepEqual(eventOf(item), { ...event });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the key: same event, same key; any change, another key; sorted by time', () => {
    const e: DeliveryEvent = {
      type: 'Delivery',
      at: '2025-03-10T10:00:02.000Z',
      sesMessageId: 'ses-0',
      recipients: ['bob@rcpt.example'],
    };
    assert.equal(eventSortKey(e), eventSortKey({ ...e, recipients: ['bob@rcpt.example'] }));
    const variants = [
      { ...e, type: 'Bounce' },
      { ...e, sesMessageId: 'ses-1' },
      { ...e, recipients: ['carol@rcpt.example'] },
      { ...e, detail: '250 OK' },
    ];
    assert.equal(new Set([e, ...variants].map(eventSortKey)).size, 5);
    assert.ok(eventSortKey(e) < eventSortKey({ ...e, at: '2025-03-10T10:00:03.000Z' }));
    assert.match(eventSortKey(e), /^E#2025-03-10T10:00:02\.000Z#3[0-9a-f]{24}$/);
    // The same millisecond: in the order of a send's life, whatever the digests.
    const lifecycle = ['Send', 'DeliveryDelay', 'Delivery', 'Bounce', 'Complaint', 'Open'];
    const keys = lifecycle.map((type) => eventSortKey({ ...e, type }));
    assert.deepEqual([...keys].sort(), keys);
    // Events sort before the message's main item (MSG).
    assert.ok(eventSortKey({ ...e, at: '\uffff' }) < 'MSG');
  });
});
