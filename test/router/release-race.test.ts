/**
 * An operator's release that lands between a decision's count and its restriction stands
 * (SPEC 4: a released `block` sender is not restricted again that day). The decision was made
 * on counters read before the release; its restriction is written only while the identity's
 * last release is the one it read, and no notice tells of a restriction that was not written.
 * Found in a review (December 2026). On the emulators.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Restriction } from '../../functions/core/limits.js';
import type { LimitsStore } from '../../functions/core/ports.js';
import { processReceipt } from '../../functions/router/process.js';
import { message, sesEvent } from '../helpers/mail.js';
import { type Harness, oneExternalAnHour, startHarness, withArcKey } from '../helpers/pipeline.js';

let h: Harness;
before(async () => {
  h = await startHarness(oneExternalAnHour('block'), withArcKey());
});
after(async () => h?.stop());

/** The limits store, with an operator's release (after another container's restriction) just before each restriction write. */
function releasedInBetween(limits: LimitsStore): LimitsStore {
  return Object.assign(Object.create(limits) as LimitsStore, {
    async restrict(r: Restriction, now: Date, seen?: { releasedAt: string | null }) {
      await limits.restrict({ ...r, since: now.toISOString() }, now);
      assert.equal(await limits.release(r.identity, now), true);
      return limits.restrict(r, now, seen);
    },
  });
}

it('a restriction decided before a release is not written after it, and no notice is given', async () => {
  const deps = await h.deps();
  // The alias's one external recipient of the hour...
  await h.put('first', message());
  assert.equal((await processReceipt(sesEvent({ messageId: 'first', spf: 'PASS' }), deps)).pool, 'normal');
  // ...then one over it, whose restriction meets a release in between.
  await h.put('over', message());
  const restricted: Restriction[] = [];
  const result = await processReceipt(sesEvent({ messageId: 'over', spf: 'PASS' }), {
    ...deps,
    limits: releasedInBetween(deps.limits),
    observer: { restricted: (r) => restricted.push(r) },
  });
  assert.equal(result.pool, 'blocked', 'decided on the counters it read');
  assert.equal(restricted.length, 0, 'no notice');
  const state = await deps.limits.peek('alias@example.com', h.clock.now);
  assert.equal(state?.restriction ?? null, null, 'the release stands');
  assert.ok(state?.releasedAt);
  // The next message over the limit that day sees the release: an alert, no restriction.
  await h.put('next', message());
  const next = await processReceipt(sesEvent({ messageId: 'next', spf: 'PASS' }), {
    ...deps,
    observer: { restricted: (r) => restricted.push(r) },
  });
  assert.equal(next.pool, 'high-risk');
  assert.equal(restricted.length, 0, 'no notice');
});
