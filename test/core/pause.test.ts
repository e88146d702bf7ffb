import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Decision, PlannedSend } from '../../functions/core/decide.js';
import { decisionPools, holdPausedPools, NO_PAUSED_POOLS } from '../../functions/core/pause.js';
import { POOLS, type Pool, REASONS, type Reason } from '../../functions/core/vocabulary.js';

const send = (pool: Pool, kind: PlannedSend['kind'] = 'forward'): PlannedSend => ({
  kind,
  to: ['d@remote.test'],
  pool,
  configurationSet: `set-${pool}`,
  envelopeFrom: 'bounce@fwd.example.com',
  from: 'a@example.com',
  fromRewritten: false,
  replyTo: null,
  identity: null,
});
// Only the fields holdPausedPools reads or copies matter here.
const decision = (pool: Decision['pool'], reasons: Reason[], sends: PlannedSend[]): Decision =>
  ({
    pool,
    reasons,
    configurationSet: pool === 'blocked' ? null : `set-${pool}`,
    sends,
  }) as unknown as Decision;

describe('holdPausedPools', () => {
  it('no paused pool: the decision itself, untouched', () => {
    const d = decision('normal', ['accepted-domain'], [send('normal')]);
    assert.equal(holdPausedPools(d, NO_PAUSED_POOLS), d);
    assert.equal(holdPausedPools(d, new Set<Pool>(['relay'])), d);
  });

  it("the message's pool paused: blocked, pool-paused in SPEC order, nothing sent", () => {
    const d = decision('high-risk', ['spam'], [send('high-risk')]);
    const held = holdPausedPools(d, new Set<Pool>(['high-risk']));
    assert.equal(held.pool, 'blocked');
    assert.equal(held.configurationSet, null);
    assert.deepEqual(held.reasons, ['pool-paused', 'spam']);
    assert.deepEqual(held.sends, []);
  });

  it('a blocked message whose NDR goes through a paused high-risk: no NDR, still blocked', () => {
    const d = decision('blocked', ['limit-external-hour'], [send('high-risk', 'ndr')]);
    const held = holdPausedPools(d, new Set<Pool>(['high-risk']));
    assert.equal(held.pool, 'blocked');
    assert.deepEqual(held.reasons, ['pool-paused', 'limit-external-hour']);
    assert.deepEqual(held.sends, []);
  });

  it('only a side copy paused (an SRS bounce through high-risk): that copy alone is dropped', () => {
    const d = decision('normal', ['accepted-domain'], [send('normal'), send('high-risk', 'srs-bounce')]);
    const held = holdPausedPools(d, new Set<Pool>(['high-risk']));
    assert.equal(held.pool, 'normal');
    assert.deepEqual(held.reasons, ['pool-paused', 'accepted-domain']);
    assert.deepEqual(
      held.sends.map((s) => s.pool),
      ['normal'],
    );
  });

  it('property: no copy ever goes through a paused pool, and reasons stay in vocabulary order', () => {
    const pool = fc.constantFrom(...POOLS);
    fc.assert(
      fc.property(
        fc.constantFrom<Decision['pool']>(...POOLS, 'blocked'),
        fc.array(pool, { maxLength: 4 }),
        fc.subarray([...POOLS]),
        fc.subarray([...REASONS]),
        (p, sendPools, paused, reasons) => {
          const held = holdPausedPools(
            decision(
              p,
              reasons,
              sendPools.map((s) => send(s)),
            ),
            new Set(paused),
          );
          for (const s of held.sends) assert.ok(!paused.includes(s.pool));
          const order = held.reasons.map((r) => REASONS.indexOf(r));
          assert.deepEqual(
            order,
            [...order].sort((a, b) => a - b),
          );
          assert.equal(new Set(held.reasons).size, held.reasons.length);
          if (p !== 'blocked' && paused.includes(p)) assert.equal(held.pool, 'blocked');
        },
      ),
    );
  });

  it('property: knowing only the state of decisionPools(d) gives the same held decision (issue 16)', () => {
    const pool = fc.constantFrom(...POOLS);
    fc.assert(
      fc.property(
        fc.constantFrom<Decision['pool']>(...POOLS, 'blocked'),
        fc.array(pool, { maxLength: 4 }),
        fc.subarray([...POOLS]),
        (p, sendPools, paused) => {
          const d = decision(
            p,
            ['accepted-domain'],
            sendPools.map((s) => send(s)),
          );
          const asked = decisionPools(d);
          assert.equal(new Set(asked).size, asked.length, 'each pool once');
          const known = new Set(paused.filter((x) => asked.includes(x)));
          assert.deepEqual(holdPausedPools(d, known), holdPausedPools(d, new Set(paused)));
        },
      ),
    );
  });

  it("decisionPools: the pool (unless blocked) and every copy's pool", () => {
    assert.deepEqual(decisionPools(decision('blocked', ['virus'], [])), []);
    assert.deepEqual(decisionPools(decision('blocked', ['virus'], [send('high-risk', 'ndr')])), [
      'high-risk',
    ]);
    assert.deepEqual(
      decisionPools(
        decision('normal', ['accepted-domain'], [send('normal'), send('high-risk', 'ndr')]),
      ).sort(),
      ['high-risk', 'normal'],
    );
    assert.deepEqual(decisionPools(decision('relay', ['accepted-domain'], [])), ['relay']);
  });
});
