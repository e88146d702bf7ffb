/**
 * Throttling retried with backoff within the invocation (issue 15 item 5), on the SES
 * emulator: aws-ses-v2-local cannot throttle, so its recording proxy answers the next N
 * SendEmail calls with 429 `TooManyRequestsException` (`failNext`) and the call after them
 * reaches the real emulator. The SDK client makes one attempt, so every throttle reaches the
 * mailer; sleep, randomness and the remaining time are injected (no real waiting).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SesMailer, type ThrottleBackoff } from '../../functions/adapters/ses-mailer.js';
import { isRetryable, SendRejectedError, TransientDependencyError } from '../../functions/core/errors.js';
import { type Emulators, startEmulators } from '../../sandbox/emulators/index.js';

const THROTTLE = { status: 429, code: 'TooManyRequestsException', message: 'Maximum sending rate exceeded.' };

const request = {
  raw: Buffer.from('From: a@example.com\r\nTo: d@remote.test\r\nSubject: t\r\n\r\nbody\r\n'),
  to: ['d@remote.test'],
  configurationSet: 'outbound-normal',
  tenant: 'outbound-normal-tenant',
  fromAddress: 'a@example.com',
  feedbackForwardingAddress: 'a@example.com',
  tags: [{ name: 'pool', value: 'normal' }],
};

let emu: Emulators;
let client: SESv2Client;
before(async () => {
  emu = await startEmulators({});
  client = new SESv2Client({ ...emu.clientConfig('sesv2'), maxAttempts: 1 });
});
after(() => emu.stop());
beforeEach(() => emu.ses.clear());

/** A mailer whose waits are recorded instead of slept; `random` 1 makes each wait its bound. */
function mailer(over: ThrottleBackoff = {}) {
  const waits: number[] = [];
  const m = new SesMailer(client, {
    throttle: {
      baseMs: 100,
      capMs: 1_600,
      budgetMs: 30_000,
      random: () => 1,
      sleep: async (ms) => {
        waits.push(ms);
      },
      ...over,
    },
  });
  return { m, waits };
}

describe('SesMailer: throttling retried with backoff', () => {
  it('N throttles, then the real send: sent once, the waits grew exponentially up to the cap', async () => {
    // Prepare
    emu.ses.failNext(6, THROTTLE);
    const { m, waits } = mailer();
    // Act
    const out = await m.send(request);
    // Assess
    const sent = emu.ses.sent();
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.messageId, out.messageId);
    assert.equal(emu.ses.requests().SendEmail, 7);
    assert.deepEqual(waits, [100, 200, 400, 800, 1_600, 1_600]);
  });

  it('full jitter: each wait is drawn in [0, bound]', async () => {
    emu.ses.failNext(3, THROTTLE);
    const draws = [0.5, 0, 0.25];
    const { m, waits } = mailer({ random: () => draws.shift()! });
    await m.send(request);
    assert.deepEqual(waits, [50, 0, 100]);
    assert.equal(emu.ses.sent().length, 1);
  });

  it('past the budget: fails retryably (Lambda retries the event), nothing sent', async () => {
    emu.ses.failNext(50, THROTTLE);
    const { m, waits } = mailer({ budgetMs: 1_000 });
    await assert.rejects(m.send(request), (e: unknown) => {
      assert.ok(e instanceof TransientDependencyError);
      assert.ok(isRetryable(e));
      assert.match((e as Error).message, /still throttled \(TooManyRequestsException/);
      return true;
    });
    // 100 + 200 + 400 = 700 ≤ 1000; the next wait (800) would pass the budget.
    assert.deepEqual(waits, [100, 200, 400]);
    assert.equal(emu.ses.sent().length, 0);
  });

  it('stops waiting when the invocation would keep less than the margin', async () => {
    emu.ses.failNext(50, THROTTLE);
    let remaining = 10_500;
    const { m, waits } = mailer({
      marginMs: 10_000,
      remainingMs: () => remaining,
      sleep: async (ms) => {
        waits.push(ms);
        remaining -= ms;
      },
    });
    await assert.rejects(m.send(request), TransientDependencyError);
    // 10500 → 10400 → 10200; a wait of 400 would leave 9800 < 10000.
    assert.deepEqual(waits, [100, 200]);
    assert.equal(emu.ses.sent().length, 0);
  });

  it('LimitExceededException (sending rate) is a throttle too; a copy refusal is never retried', async () => {
    emu.ses.failNext(2, {
      status: 400,
      code: 'LimitExceededException',
      message: 'Maximum sending rate exceeded.',
    });
    const first = mailer();
    await first.m.send(request);
    assert.deepEqual(first.waits, [100, 200]);
    emu.ses.failNext(1, { status: 400, code: 'MessageRejected', message: 'Message contains a virus.' });
    const second = mailer();
    await assert.rejects(
      second.m.send(request),
      (e: unknown) => e instanceof SendRejectedError && e.refusal === 'content',
    );
    assert.deepEqual(second.waits, []);
  });
});
