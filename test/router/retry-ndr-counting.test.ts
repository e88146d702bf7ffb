/**
 * The NDR limit is counted before the decision reaches the trace too (`router/counting.ts`):
 * found in a review (December 2026), an NDR that SES throttled on the first attempt was counted
 * again by Lambda's retry and, at `ndr.perRecipientPerHour`, dropped — the sender never told.
 * On the emulators.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { TransientDependencyError } from '../../functions/core/errors.js';
import type { Mailer } from '../../functions/core/ports.js';
import { processReceipt } from '../../functions/router/process.js';
import { message, NOW, sesEvent } from '../helpers/mail.js';
import { type Harness, startHarness, withArcKey } from '../helpers/pipeline.js';

let h: Harness;
before(async () => {
  h = await startHarness({ ndr: { perRecipientPerHour: 1 } }, withArcKey());
});
after(async () => h?.stop());

it('a blocked message’s only NDR is still sent when SES throttled it on the first attempt', async () => {
  // Prepare: a virus from an SPF-authenticated sender: blocked, one NDR.
  const messageId = 'virus-throttled';
  await h.put(messageId, message());
  const event = sesEvent({ messageId, recipients: ['alias@example.com'], spf: 'PASS', virus: 'FAIL' });
  const throttled: Mailer = {
    send: () =>
      Promise.reject(new TransientDependencyError('ses', 'TooManyRequestsException past the budget')),
  };
  // Act: the first attempt fails retryably; Lambda's retry a minute later (same clock hour).
  await assert.rejects(processReceipt(event, await h.deps({ mailer: throttled })), TransientDependencyError);
  h.clock.now = new Date(NOW.getTime() + 61_000);
  const warnings: string[] = [];
  const retried = await processReceipt(
    event,
    await h.deps({ observer: { warn: (m) => void warnings.push(m) } }),
  );
  // Assess
  assert.deepEqual(
    retried.sends.map((s) => [s.kind, s.status]),
    [['ndr', 'sent']],
  );
  assert.equal(h.emu.ses.sent().length, 1);
  assert.deepEqual(warnings, []);
});
