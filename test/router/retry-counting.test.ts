/**
 * An attempt that fails before its decision reaches the trace is decided and counted again by
 * Lambda's retry, so it takes back what it counted first (`router/process.ts`). Found in a
 * review (December 2026): SES throttling the only copy past the in-invocation backoff counted
 * the message twice, and a sender exactly at its limit was then blocked and restricted for the
 * day by its own retried message, never sent. On the emulators.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { TransientDependencyError } from '../../functions/core/errors.js';
import type { Mailer } from '../../functions/core/ports.js';
import { processReceipt } from '../../functions/router/process.js';
import { message, NOW, sesEvent } from '../helpers/mail.js';
import { type Harness, oneExternalAnHour, startHarness, withArcKey } from '../helpers/pipeline.js';

let h: Harness;
before(async () => {
  h = await startHarness(oneExternalAnHour(), withArcKey());
});
after(async () => h?.stop());

it('a retry after SES throttled the only copy counts the message once, sends it, restricts nobody', async () => {
  // Prepare: the alias may send one external recipient an hour; this message is that one.
  const messageId = 'throttled-once';
  await h.put(messageId, message());
  const event = sesEvent({ messageId, recipients: ['alias@example.com'], spf: 'PASS' });
  const throttled: Mailer = {
    send: () =>
      Promise.reject(new TransientDependencyError('ses', 'TooManyRequestsException past the budget')),
  };
  // Act: the first attempt fails retryably; Lambda's retry a minute later finds SES well.
  await assert.rejects(processReceipt(event, await h.deps({ mailer: throttled })), TransientDependencyError);
  assert.equal(h.emu.ses.sent().length, 0);
  const afterFailure = await (await h.deps()).limits.peek('alias@example.com', h.clock.now);
  h.clock.now = new Date(NOW.getTime() + 61_000);
  const deps = await h.deps();
  const retried = await processReceipt(event, deps);
  // Assess
  assert.equal(afterFailure?.counters.externalHour ?? 0, 0, 'the failed attempt took its count back');
  assert.equal(retried.pool, 'normal');
  assert.equal(h.emu.ses.sent().length, 1);
  const state = await deps.limits.peek('alias@example.com', h.clock.now);
  assert.equal(state?.counters.externalHour, 1);
  assert.equal(state?.restriction ?? null, null);
});

it('an attempt that got a copy out keeps its count, even when the trace write after it failed', async () => {
  // Prepare: team@example.com (two recipients, five external an hour by default here: none
  // over); the trace refuses the write that would record the sent copy.
  const messageId = 'sent-then-trace-failed';
  await h.put(messageId, message());
  const event = sesEvent({ messageId, recipients: ['team@example.com'], spf: 'PASS' });
  const deps = await h.deps();
  const failingTrace = {
    ...deps.trace,
    claim: deps.trace.claim.bind(deps.trace),
    release: deps.trace.release.bind(deps.trace),
    appendEvent: deps.trace.appendEvent.bind(deps.trace),
    recordSend: () => Promise.reject(new TransientDependencyError('dynamodb', 'trace write refused')),
  };
  // Act
  await assert.rejects(processReceipt(event, { ...deps, trace: failingTrace }), TransientDependencyError);
  // Assess: the copy left, and what it cost stays counted.
  assert.ok(
    h.emu.ses.sent().some((s) => s.emailTags.find((t) => t.Name === 'inbound_id')?.Value === messageId),
  );
  const state = await deps.limits.peek('team@example.com', h.clock.now);
  assert.equal((state?.counters.externalHour ?? 0) + (state?.counters.internalHour ?? 0), 2);
});
