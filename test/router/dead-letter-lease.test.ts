/**
 * A dead letter recorded while an attempt still holds its lease — a duplicate delivery whose
 * attempts all found that attempt busy, or a recorder retry landing during a redrive — must
 * not let a redrive claim the message beside the running attempt: both would send the copy
 * (SPEC 8: a re-delivered event never sends twice). The claim takes a dead letter at once only
 * when no lease is live. Found in a review (December 2026). On the emulators.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { LeaseLostError } from '../../functions/core/errors.js';
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

it('a redrive during a live lease waits (busy); the running attempt sends the copy once, and a redrive after it finds it done', async () => {
  const messageId = 'lease-race';
  await h.put(messageId, message());
  const event = sesEvent({ messageId, recipients: ['alias@example.com'], spf: 'PASS' });
  const base = await h.deps();
  let redrive: unknown;
  const mailer: Mailer = {
    async send(request) {
      if (redrive === undefined) {
        // While the attempt sends (its lease runs past +30 s): the duplicate's dead letter...
        await recordDeadLetter(
          invocationRecord({
            event,
            functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:router',
            requestId: 'duplicate',
            at: at(20),
            attempts: 3,
            error: { errorType: 'LeaseLostError', errorMessage: 'being processed by another invocation' },
          }),
          { trace: h.trace, queue: { send: async () => undefined }, clock: () => at(20) },
        );
        // ...and the operator's redrive of it.
        redrive = await processReceipt(event, { ...(await h.deps()), clock: () => at(30) }).catch(
          (e: Error) => e,
        );
      }
      return base.mailer.send(request);
    },
  };
  const first = await processReceipt(event, { ...base, mailer });
  assert.equal(first.outcome, 'processed');
  assert.ok(redrive instanceof LeaseLostError, `the redrive waits: ${String(redrive)}`);
  const copies = () =>
    h.emu.ses.sent().filter((s) => (s.destination.ToAddresses ?? []).includes('dest@remote.test'));
  assert.equal(copies().length, 1, 'the copy is sent once');
  // A redrive once the attempt is over: nothing more is sent.
  const later = await processReceipt(event, { ...(await h.deps()), clock: () => at(300) });
  assert.equal(later.outcome, 'duplicate');
  assert.equal(copies().length, 1);
});
