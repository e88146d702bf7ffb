/**
 * A message Lambda gave up on before its decision reached the trace (here: SES unavailable for
 * the whole retry schedule) is found by its sender and its recipient, not only by its id
 * (SPEC 6): the recorder writes the envelope SES reported and an index entry under
 * `dead-letter`; a redrive that decides moves the entry under its pool. Found in a review
 * (December 2026): the recorder marked a bare item. On the emulators.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { TransientDependencyError } from '../../functions/core/errors.js';
import { invocationRecord } from '../../functions/dead-letter/record.js';
import { recordDeadLetter } from '../../functions/dead-letter/recorder.js';
import { processReceipt } from '../../functions/router/process.js';
import { lookUpTrace, parseTraceLookup } from '../../functions/trace-api/lookup.js';
import { message, NOW, sesEvent } from '../helpers/mail.js';
import { type Harness, startHarness, withArcKey } from '../helpers/pipeline.js';

let h: Harness;
before(async () => {
  h = await startHarness({}, withArcKey());
});
after(async () => h?.stop());

const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
const find = (query: Record<string, string>) =>
  lookUpTrace(
    h.trace,
    parseTraceLookup(query, (p) => p, '', at(3600)),
  );

it('a dead letter without a decision is found by sender and recipient, and under its pool once redriven', async () => {
  const messageId = 'dead-before-decision';
  await h.put(messageId, message());
  const event = sesEvent({ messageId, recipients: ['Alias@example.com'], source: 'Alice@Sender.test' });
  const down = {
    send: async () =>
      Promise.reject(new TransientDependencyError('ses', 'SendEmail failed: ServiceUnavailable')),
  };
  let last: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    h.clock.now = at(attempt * 61);
    await processReceipt(event, await h.deps({ mailer: down })).catch((e: Error) => {
      last = e;
    });
  }
  assert.ok(last, 'every attempt failed');
  const outcome = await recordDeadLetter(
    invocationRecord({
      event,
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:router',
      requestId: 'r-1',
      at: at(181),
      attempts: 3,
      error: { errorType: last.name, errorMessage: last.message },
    }),
    { trace: h.trace, queue: { send: async () => undefined }, clock: () => at(182) },
  );
  assert.equal(outcome.recorded, true);
  const queries: Record<string, string>[] = [
    { messageId },
    { sender: 'alice@sender.test' },
    { recipient: 'alias@example.com' },
  ];
  for (const query of queries) {
    const found = await find(query);
    assert.deepEqual(
      found.map((r) => [r.messageId, r.status]),
      [[messageId, 'dead-letter']],
      JSON.stringify(query),
    );
  }
  assert.deepEqual(await find({ pool: 'normal' }), [], 'no pool before a decision');
  // The operator redrives it once SES is back: decided, sent, and found under its pool.
  h.clock.now = at(600);
  assert.equal((await processReceipt(event, await h.deps())).outcome, 'processed');
  const redriven: Record<string, string>[] = [
    { sender: 'alice@sender.test' },
    { pool: 'normal' },
    { recipient: 'alias@example.com' },
  ];
  for (const query of redriven) {
    const found = await find(query);
    assert.deepEqual(
      found.map((r) => [r.messageId, r.status]),
      [[messageId, 'done']],
      JSON.stringify(query),
    );
  }
});
