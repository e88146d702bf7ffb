/**
 * A message forwarded by several routes counts one identity per route, all at once
 * (`router/counting.ts`). When one of those counts fails (DynamoDB throttling past the SDK's
 * retries) the attempt fails before its decision, and Lambda's retry counts every identity
 * again: the counts that did land must be given back like any other count of a failed
 * attempt, or an identity at its limit is blocked and restricted for the day by its own
 * retried message. Found in a review (December 2026). On the emulators.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { TransientDependencyError } from '../../functions/core/errors.js';
import type { LimitUsage } from '../../functions/core/limits.js';
import type { LimitsStore, PoolStatus } from '../../functions/core/ports.js';
import { processReceipt } from '../../functions/router/process.js';
import { message, NOW, sesEvent } from '../helpers/mail.js';
import { type Harness, oneExternalAnHour, startHarness, withArcKey } from '../helpers/pipeline.js';

let h: Harness;
before(async () => {
  h = await startHarness(oneExternalAnHour(), withArcKey());
});
after(async () => h?.stop());

it('a retry after one identity’s count failed counts each identity once: sent, nobody restricted', async () => {
  // Prepare: two routes (alias → dest, example.org → catchall), one identity each; each may
  // send one external recipient an hour, and this message is that one for both.
  const messageId = 'partial-count';
  await h.put(messageId, message());
  const event = sesEvent({ messageId, recipients: ['alias@example.com', 'x@example.org'], spf: 'PASS' });
  const deps = await h.deps();
  const counted: string[] = [];
  let failed = false;
  const limits: LimitsStore = Object.assign(Object.create(deps.limits) as LimitsStore, {
    async count(usage: LimitUsage, now: Date) {
      counted.push(usage.identity);
      // The second identity's count is throttled past the SDK's retries, after the first landed.
      if (counted.length === 2 && !failed) {
        failed = true;
        await new Promise((resolve) => setTimeout(resolve, 50));
        throw new TransientDependencyError('dynamodb', 'throttled');
      }
      return deps.limits.count(usage, now);
    },
  });
  // Act: the first attempt fails; Lambda's retry a minute later.
  await assert.rejects(processReceipt(event, { ...deps, limits }), TransientDependencyError);
  h.clock.now = new Date(NOW.getTime() + 61_000);
  const retried = await processReceipt(event, await h.deps());
  // Assess
  assert.equal(counted.length, 2, `two identities: ${counted.join(', ')}`);
  assert.equal(retried.pool, 'normal', `reasons: ${retried.reasons.join(', ')}`);
  assert.deepEqual(
    retried.sends.map((s) => s.status),
    ['sent', 'sent'],
  );
  for (const identity of counted) {
    const state = await deps.limits.peek(identity, h.clock.now);
    assert.equal(state?.counters.externalHour, 1, identity);
    assert.equal(state?.restriction ?? null, null, identity);
  }
});

it('a retry after the pause check failed between the count and the decision counts the message once', async () => {
  // Prepare: team@example.com (one external recipient: its limit of the hour); SES cannot say
  // whether the pools are paused once the counters are read (the decision's second look).
  const messageId = 'pause-check-failed';
  await h.put(messageId, message({ to: 'team@example.com' }));
  const event = sesEvent({ messageId, recipients: ['team@example.com'], spf: 'PASS' });
  h.clock.now = NOW;
  const deps = await h.deps();
  let looks = 0;
  const poolStatus: PoolStatus = {
    paused(pools) {
      looks += 1;
      if (looks === 2)
        return Promise.reject(new TransientDependencyError('ses', 'GetConfigurationSet throttled'));
      return deps.poolStatus ? deps.poolStatus.paused(pools) : Promise.resolve(new Set());
    },
  };
  // Act
  await assert.rejects(processReceipt(event, { ...deps, poolStatus }), TransientDependencyError);
  h.clock.now = new Date(NOW.getTime() + 61_000);
  const retried = await processReceipt(event, await h.deps());
  // Assess
  assert.equal(looks, 2);
  assert.equal(retried.pool, 'normal', `reasons: ${retried.reasons.join(', ')}`);
  const state = await deps.limits.peek('team@example.com', h.clock.now);
  assert.equal(state?.counters.externalHour, 1);
  assert.equal(state?.restriction ?? null, null);
});
