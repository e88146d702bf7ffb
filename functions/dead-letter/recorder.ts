/**
 * The dead-letter recorder (issue 15): the router's on-failure destination. Lambda invokes it
 * with the invocation record of an event it gave up on — errors, timeouts and crashes alike,
 * since Lambda writes the record whatever ended the last attempt. It marks the message
 * `dead-letter` in the trace, with the error, then puts the record on the dead-letter queue,
 * where `outbound-pools redrive` finds it (docs/retries.md).
 *
 * Trace first, queue second: a failure of either throws, Lambda retries the recorder, and
 * both writes are idempotent for one record (the trace update sets the same values; a
 * duplicate queue message redrives a message that is `done`, which the router's claim
 * answers as a duplicate). Should the recorder fail for good, its own on-failure destination is
 * the same queue: the record arrives wrapped in the recorder's, which redrive unwraps.
 */
import type { DeadLetterEnvelope, DeadLetterNote } from '../adapters/trace-items.js';
import { parseDeadLetter } from './record.js';

/** Where dead letters are marked in the trace (`DynamoTraceStore`). */
export interface DeadLetterTrace {
  /**
   * Marks the message `dead-letter`, with its envelope where no decision was recorded (so a
   * search by sender or recipient finds it); false when it was already `done` (left as it is).
   */
  recordDeadLetter(
    messageId: string,
    receivedAt: string,
    note: DeadLetterNote,
    envelope?: DeadLetterEnvelope,
  ): Promise<boolean>;
}

/** The dead-letter queue, for writing (`SqsDeadLetterQueue`). */
export interface DeadLetterSink {
  send(body: string): Promise<void>;
}

export interface RecorderDeps {
  trace: DeadLetterTrace;
  queue: DeadLetterSink;
  clock: () => Date;
}

export type RecorderOutcome =
  | { recorded: true; messageId: string }
  | { recorded: false; messageId?: string; why: 'already-done' | 'malformed'; problem?: string };

/**
 * Records one invocation record: the trace (when it is an SES event's record), then the queue
 * (always: a record the recorder cannot read is still kept for an operator).
 */
export async function recordDeadLetter(record: unknown, deps: RecorderDeps): Promise<RecorderOutcome> {
  const parsed = parseDeadLetter(record);
  let outcome: RecorderOutcome;
  if (!parsed.ok) {
    outcome = { recorded: false, why: 'malformed', problem: parsed.problem };
  } else {
    const d = parsed.deadLetter;
    const note: DeadLetterNote = {
      at: deps.clock().toISOString(),
      error: d.error,
      condition: d.condition,
      attempts: d.attempts,
    };
    const marked = await deps.trace.recordDeadLetter(d.messageId, d.receivedAt, note, {
      sender: d.sender,
      recipients: d.recipients,
    });
    outcome = marked
      ? { recorded: true, messageId: d.messageId }
      : { recorded: false, messageId: d.messageId, why: 'already-done' };
  }
  await deps.queue.send(typeof record === 'string' ? record : JSON.stringify(record));
  return outcome;
}
