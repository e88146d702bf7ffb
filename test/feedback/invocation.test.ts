/**
 * What the feedback function accepts as an invocation (review of December 2026). Its dead-letter
 * queue holds Lambda on-failure records (the event under `requestPayload`) and EventBridge's own
 * dead letters (the body is the event: EventBridge User Guide, "Using dead-letter queues to
 * process undelivered events"). An invocation that holds no event at all — `null`, which
 * `jq .requestPayload` made of an EventBridge dead letter, `{}`, a dead-letter record passed
 * whole — used to succeed with nothing filed, and the redrive then deleted the queue message.
 * It must fail (`InvalidInputError`), while every real shape still files its event.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../functions/core/errors.js';
import type { DeliveryEvent, TraceStore } from '../../functions/core/ports.js';
import { processFeedback } from '../../functions/feedback/handler.js';

class MemoryTrace {
  filed: { id: string; event: DeliveryEvent }[] = [];
  async appendEvent(id: string, event: DeliveryEvent) {
    this.filed.push({ id, event });
    return true;
  }
}

/** An SES Bounce event as EventBridge delivers it (SES Developer Guide, event publishing). */
const detail = {
  eventType: 'Bounce',
  bounce: {
    bounceType: 'Permanent',
    bounceSubType: 'General',
    bouncedRecipients: [{ emailAddress: 'bob@rcpt.example', diagnosticCode: 'smtp; 550 5.1.1 no such user' }],
    timestamp: '2026-12-06T10:00:00.000Z',
  },
  mail: {
    timestamp: '2026-12-06T09:59:59.000Z',
    messageId: 'ses-out-1',
    tags: { 'ses:configuration-set': ['outbound-normal'], inbound_id: ['inbound-1'] },
  },
};
const eventBridgeEvent = {
  version: '0',
  id: 'evt-1',
  'detail-type': 'Email Bounced',
  source: 'aws.ses',
  account: '123456789012',
  time: '2026-12-06T10:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail,
};
const NOW = new Date('2026-12-06T10:00:05Z');
const file = async (invocation: unknown) => {
  const trace = new MemoryTrace();
  const result = await processFeedback(invocation, trace as unknown as TraceStore, NOW);
  return { result, filed: trace.filed };
};

describe('feedback invocations', () => {
  it('an EventBridge event and an SNS notification each file their one event', async () => {
    for (const invocation of [
      eventBridgeEvent,
      { Records: [{ Sns: { Message: JSON.stringify(detail) } }] },
    ]) {
      const { result, filed } = await file(invocation);
      assert.equal(result.appended, 1);
      assert.deepEqual(
        filed.map((f) => [f.id, f.event.type, f.event.sesMessageId, f.event.recipients]),
        [['inbound-1', 'Bounce', 'ses-out-1', ['bob@rcpt.example']]],
      );
    }
  });

  it('an invocation holding no event fails with InvalidInputError, filing nothing', async () => {
    const onFailureRecord = {
      version: '1.0',
      timestamp: '2026-12-06T10:03:00.000Z',
      requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: eventBridgeEvent,
      responseContext: { statusCode: 200, functionError: 'Unhandled' },
    };
    for (const invocation of [null, undefined, {}, [], 'x', 42, { Records: 'x' }, onFailureRecord]) {
      const trace = new MemoryTrace();
      await assert.rejects(
        processFeedback(invocation, trace as unknown as TraceStore, NOW),
        (error: unknown) =>
          error instanceof InvalidInputError && error.input === 'event' && /no SES event/.test(error.message),
        JSON.stringify(invocation),
      );
      assert.deepEqual(trace.filed, []);
    }
  });

  it('a recognisable event that is not an SES event of ours is still only counted, not an error', async () => {
    const { result, filed } = await file({ ...eventBridgeEvent, detail: { eventType: 'Bounce', mail: {} } });
    assert.deepEqual(result, { appended: 0, unknown: 0, ignored: 1, alreadyRecorded: 0 });
    assert.deepEqual(filed, []);
  });
});
