/**
 * The dead-letter queue and the router as redrive sees them, in memory (issue 15): SQS's
 * visibility semantics on a clock the test moves, a receipt per receive, and a router that
 * fails the messages it is told to. Shared by the redrive tests.
 */
import assert from 'node:assert/strict';
import { invocationRecord, parseDeadLetter } from '../../functions/dead-letter/record.js';
import type { DeadLetterSource, QueuedRecord, RouterInvoker } from '../../functions/dead-letter/redrive.js';

export function sesEvent(messageId: string, source = 'alice@sender.test'): Record<string, unknown> {
  const verdict = { status: 'PASS' };
  return {
    Records: [
      {
        eventSource: 'aws:ses',
        eventVersion: '1.0',
        ses: {
          mail: {
            timestamp: '2026-12-01T10:00:00.000Z',
            source,
            messageId,
            destination: ['alias@example.com'],
          },
          receipt: {
            timestamp: '2026-12-01T10:00:00.000Z',
            recipients: ['alias@example.com'],
            spamVerdict: verdict,
            virusVerdict: verdict,
            spfVerdict: verdict,
            dkimVerdict: verdict,
            dmarcVerdict: verdict,
            action: { type: 'Lambda' },
          },
        },
      },
    ],
  };
}

export const recordFor = (
  messageId: string,
  error = { errorType: 'TransientDependencyError', errorMessage: 'ses down' },
) =>
  JSON.stringify(
    invocationRecord({
      event: sesEvent(messageId),
      functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:router',
      requestId: `req-${messageId}`,
      at: new Date('2026-12-01T10:03:00.000Z'),
      attempts: 3,
      error,
    }),
  );

/**
 * A router dead letter of `messageId` as the emulators' account (000000000000) records it, for
 * the redrive tests that fill the SQS emulator.
 */
export const emulatorDeadLetter = (messageId: string) =>
  JSON.stringify(
    invocationRecord({
      event: sesEvent(messageId),
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:router',
      requestId: messageId,
      at: new Date('2026-12-01T10:03:00.000Z'),
      attempts: 3,
      error: { errorType: 'Error', errorMessage: 'x' },
    }),
  );

/** SQS as far as redrive sees it: visibility timeouts on a clock the test moves, receipts per receive. */
export class MemoryQueue implements DeadLetterSource {
  t = 0;
  receives = 0;
  deleted: string[] = [];
  private readonly items: { id: string; body: string; visibleAt: number; receipt?: string }[];
  constructor(bodies: string[]) {
    this.items = bodies.map((body, i) => ({ id: `q${i}`, body, visibleAt: 0 }));
  }
  async receive(max: number, visibilitySeconds: number): Promise<QueuedRecord[]> {
    assert.ok(max >= 1 && max <= 10, `SQS takes 1 to 10 messages per receive, asked ${max}`);
    this.receives++;
    return this.items
      .filter((m) => m.visibleAt <= this.t)
      .slice(0, max)
      .map((m) => {
        m.visibleAt = this.t + visibilitySeconds * 1000;
        m.receipt = `${m.id}/${this.receives}`;
        return { id: m.id, receipt: m.receipt, body: m.body };
      });
  }
  async delete(receipt: string): Promise<void> {
    const i = this.items.findIndex((m) => m.receipt === receipt);
    assert.ok(i >= 0, `delete with an unknown receipt ${receipt}`);
    this.deleted.push(this.items[i]!.id);
    this.items.splice(i, 1);
  }
  async release(receipt: string): Promise<void> {
    const m = this.items.find((x) => x.receipt === receipt);
    assert.ok(m, `release with an unknown receipt ${receipt}`);
    m.visibleAt = this.t;
  }
  async approximateCount(): Promise<number> {
    return this.items.filter((m) => m.visibleAt <= this.t).length;
  }
  get remaining(): string[] {
    return this.items.map((m) => m.id);
  }
}

/** A router that fails the messages in `failing` and records what it was sent. */
export function router(failing = new Set<string>()): RouterInvoker & { invoked: string[] } {
  const invoked: string[] = [];
  return {
    invoked,
    async invoke(event) {
      const id = parseDeadLetter({ requestContext: {}, requestPayload: event });
      assert.ok(id.ok, 'the router is sent the SES event itself');
      invoked.push(id.deadLetter.messageId);
      return failing.has(id.deadLetter.messageId)
        ? { ok: false, error: 'Boom: still failing' }
        : { ok: true };
    },
  };
}
