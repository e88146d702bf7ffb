/**
 * A copy SES refuses is recorded together with the NDR it gets, in one trace write
 * (docs/retries.md, "SES refusals"), so a retry "never plans a second one". When that very
 * write fails (DynamoDB throttling past the SDK's retries), the retry refuses the copy again
 * and plans the NDR again: the NDR's per-recipient hourly count taken for the first plan must
 * have been given back, or at `ndr.perRecipientPerHour` the retry drops the NDR and the sender
 * is never told. Found in a review (December 2026). On the emulators.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { SendRejectedError, TransientDependencyError } from '../../functions/core/errors.js';
import type { Mailer, TraceStore } from '../../functions/core/ports.js';
import { processReceipt } from '../../functions/router/process.js';
import { message, NOW, sesEvent } from '../helpers/mail.js';
import { type Harness, startHarness, withArcKey } from '../helpers/pipeline.js';

let h: Harness;
before(async () => {
  h = await startHarness({ ndr: { perRecipientPerHour: 1 } }, withArcKey());
});
after(async () => h?.stop());

/** SES refuses every copy to `catchall@remote.test` for its content; the rest goes through. */
function refusingCatchall(mailer: Mailer): Mailer {
  return {
    send(request) {
      if (request.to.includes('catchall@remote.test')) {
        return Promise.reject(new SendRejectedError('MessageRejected', 'Message contains a virus.'));
      }
      return mailer.send(request);
    },
  };
}

it('a refusal whose trace write failed is answered by the retry with the one NDR, not dropped over the hourly limit', async () => {
  // Prepare: two copies (alias → dest, example.org → catchall); SES refuses the second.
  const messageId = 'refusal-write-failed';
  await h.put(messageId, message());
  const event = sesEvent({
    messageId,
    recipients: ['alias@example.com', 'x@example.org'],
    source: 'carol@sender.test',
    spf: 'PASS',
  });
  const deps = await h.deps();
  let writes = 0;
  const trace: TraceStore = Object.assign(Object.create(deps.trace) as TraceStore, {
    recordSend(...args: Parameters<TraceStore['recordSend']>) {
      writes += 1;
      // The write of the refusal and its NDR is throttled past the SDK's retries.
      if (writes === 2) return Promise.reject(new TransientDependencyError('dynamodb', 'throttled'));
      return deps.trace.recordSend(...args);
    },
  });
  // Act: the first attempt sends copy 0, then fails recording the refusal of copy 1; Lambda's
  // retry a minute later (same clock hour) finds SES refusing that copy again.
  await assert.rejects(
    processReceipt(event, { ...deps, trace, mailer: refusingCatchall(deps.mailer) }),
    TransientDependencyError,
  );
  h.clock.now = new Date(NOW.getTime() + 61_000);
  const retryDeps = await h.deps();
  const warnings: string[] = [];
  const retried = await processReceipt(event, {
    ...retryDeps,
    mailer: refusingCatchall(retryDeps.mailer),
    observer: { warn: (m) => void warnings.push(m) },
  });
  // Assess: the copy sent once, the refusal answered by one NDR to the sender.
  assert.deepEqual(warnings, []);
  assert.deepEqual(
    retried.sends.map((s) => [s.kind, s.status]),
    [
      ['forward', 'sent'],
      ['forward', 'failed'],
      ['ndr', 'sent'],
    ],
  );
  const ndrs = h.emu.ses
    .sent()
    .filter((s) => (s.destination.ToAddresses ?? []).includes('carol@sender.test'));
  assert.equal(ndrs.length, 1);
  assert.equal((await h.trace.get(messageId))?.status, 'done');
});
