/**
 * A failed attempt gives its lease back so that Lambda's retry a minute later does the work
 * (docs/retries.md, "Leases"). A dead letter can be recorded while an attempt runs (a duplicate
 * delivery that found it busy on each of its attempts): the attempt's release, fenced on
 * `in-progress`, then changed nothing, and the retry within the lease was refused as busy, one
 * of the two retries wasted (review, December 2026). On the emulators.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { TransientDependencyError } from '../../functions/core/errors.js';
import type { Mailer } from '../../functions/core/ports.js';
import { invocationRecord } from '../../functions/dead-letter/record.js';
import { recordDeadLetter } from '../../functions/dead-letter/recorder.js';
import { processReceipt } from '../../functions/router/process.js';
import { message, NOW, sesEvent } from '../helpers/mail.js';
import { type Harness, startHarness, withArcKey } from '../helpers/pipeline.js';

let h: Harness;
before(async () => {
  h = await startHarness({}, withArcKey());
});
after(async () => h?.stop());

const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

it('an attempt that fails after a dead letter was recorded during it releases its lease; the retry within the lease sends the copy', async () => {
  // Prepare: while the first attempt sends (its lease runs to +60 s), the duplicate's dead
  // letter is recorded; then SES throttles the copy past the backoff.
  const messageId = 'dead-letter-then-fail';
  await h.put(messageId, message());
  const event = sesEvent({ messageId, recipients: ['alias@example.com'], spf: 'PASS' });
  const throttledAfterDeadLetter: Mailer = {
    async send() {
      await recordDeadLetter(
        invocationRecord({
          event,
          functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:router',
          requestId: 'duplicate',
          at: at(5),
          attempts: 3,
          error: { errorType: 'LeaseLostError', errorMessage: 'being processed by another invocation' },
        }),
        { trace: h.trace, queue: { send: async () => undefined }, clock: () => at(5) },
      );
      throw new TransientDependencyError('ses', 'TooManyRequestsException past the budget');
    },
  };
  const warnings: string[] = [];
  // Act: the attempt fails at +10 s; Lambda's retry comes at +40 s, inside the first lease.
  await assert.rejects(
    processReceipt(event, {
      ...(await h.deps({ mailer: throttledAfterDeadLetter })),
      clock: () => at(10),
      observer: { warn: (m) => void warnings.push(m) },
    }),
    TransientDependencyError,
  );
  const released = await h.trace.get(messageId);
  const retried = await processReceipt(event, { ...(await h.deps()), clock: () => at(40) });
  // Assess: the lease ended at the failure, and the retry did the work.
  assert.equal(released?.status, 'dead-letter');
  assert.equal(released?.leaseUntil, at(10).toISOString());
  assert.equal(retried.outcome, 'processed');
  const copies = h.emu.ses
    .sent()
    .filter((s) => (s.destination.ToAddresses ?? []).includes('dest@remote.test'));
  assert.equal(copies.length, 1);
  assert.equal((await h.trace.get(messageId))?.status, 'done');
  assert.deepEqual(warnings, []);
});
