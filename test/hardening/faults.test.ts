/**
 * Fault injection: each external dependency failing in the middle of a message (DynamoDB at
 * claim, at count, at the trace write after SES accepted; S3 after the claim; SES; DNS),
 * before or after the call took effect. `processReceipt` is run again and again — the clock
 * moved past the lease each time, as Lambda's retries would find it — until it succeeds, and
 * the copies the SES recording layer saw are counted: a message is never lost, and is sent
 * exactly once except in the one documented window (SES accepted a copy, the trace write
 * right after it did not happen), where it is sent at most twice.
 *
 * The cases of `test/router/pipeline.test.ts` (a re-delivered event, the second of three SES
 * sends failing, SES throttling within and beyond the retries, SERVFAIL on the source domain,
 * a missing S3 object) are not repeated here.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { asResolver, dnsError, type Resolver } from '../../functions/core/dns/resolver.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import {
  DnsTemporaryError,
  isRetryable,
  LeaseLostError,
  TransientDependencyError,
} from '../../functions/core/errors.js';
import type { LimitsStore, Mailer, MailStore, TraceStore } from '../../functions/router/ports.js';
import { type PipelineDeps, type PipelineResult, processReceipt } from '../../functions/router/process.js';
import type { RecordedSend } from '../../sandbox/emulators/index.js';
import { dkimKey, message, NOW, sesEvent, sign, zones } from '../helpers/mail.js';
import { type Harness, startHarness } from '../helpers/pipeline.js';

const senderKey = dkimKey('sender.test');
const LEASE_MS = 60_000; // LEASE_SECONDS of the harness
const LIST = Array.from({ length: 120 }, (_, i) => `member${i}@remote.test`);
const ALIASES = Array.from({ length: 16 }, (_, i) => `fault${i}@example.com`);

let h: Harness;
let base: PipelineDeps;
let seq = 0;
let aliasSeq = 0;

before(async () => {
  const routes: Record<string, string[]> = { 'list@example.com': LIST };
  for (const [i, a] of ALIASES.entries()) routes[a] = [`dest${i}@remote.test`];
  h = await startHarness(
    {
      routes,
      limits: {
        default: {
          externalPerHour: 10_000,
          internalPerHour: 10_000,
          perDay: 10_000,
          recipientsPerMessage: 500,
        },
      },
    },
    (arcRecord) => zones([senderKey], { 'arc1._domainkey.fwd.example.com': { TXT: [arcRecord] } }),
  );
  base = await h.deps();
});
after(async () => {
  await h.stop();
});
beforeEach(async () => {
  await h.emu.ses.clear();
  h.clock.now = NOW;
});

const tag = (s: RecordedSend, name: string) => s.emailTags.find((t) => t.Name === name)?.Value;
const sendsOf = (messageId: string) => h.emu.ses.sent().filter((s) => tag(s, 'inbound_id') === messageId);
const counted = async (identity: string) =>
  (await base.limits.peek(identity, h.clock.now))?.counters.day ?? 0;
const passLease = () => {
  h.clock.now = new Date(h.clock.now.getTime() + LEASE_MS + 1_000);
};

/** A fresh message for a fresh alias (so its limit counter is its own). */
async function receive(alias = ALIASES[aliasSeq++ % ALIASES.length]!) {
  const messageId = `fault-${process.pid}-${++seq}`;
  await h.put(messageId, await sign(message({ to: alias }), senderKey));
  return { messageId, alias, event: sesEvent({ messageId, recipients: [alias], spf: 'PASS' }) };
}

type When = 'before' | 'after';

/**
 * `target` with `method` failing on the calls `plan` names: `before` throws without calling
 * through (the request never took effect), `after` calls through and then throws (it took
 * effect, the answer was lost).
 */
function failing<T extends object>(
  target: T,
  method: keyof T & string,
  plan: Record<number, When>,
  error: () => Error = () => new TransientDependencyError('dynamodb', `injected ${method} failure`),
): T & { calls: number } {
  let calls = 0;
  const proxy = new Proxy(target, {
    get(t, prop, receiver) {
      if (prop === 'calls') return calls;
      const value = Reflect.get(t, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop !== method) return value.bind(t);
      return async (...args: unknown[]) => {
        const when = plan[++calls];
        if (when === 'before') throw error();
        const out = await value.apply(t, args);
        if (when === 'after') throw error();
        return out;
      };
    },
  });
  return proxy as T & { calls: number };
}

interface Outcome {
  result: PipelineResult;
  errors: unknown[];
}

/** Retries the event as Lambda would (after the lease) until it succeeds. */
async function untilDone(
  event: unknown,
  deps: (attempt: number) => PipelineDeps,
  opts: { max?: number; retryable?: boolean } = {},
): Promise<Outcome> {
  const errors: unknown[] = [];
  for (let attempt = 1; attempt <= (opts.max ?? 6); attempt++) {
    try {
      return { result: await processReceipt(event, deps(attempt)), errors };
    } catch (error) {
      if (opts.retryable !== false) assert.ok(isRetryable(error), `not retryable: ${String(error)}`);
      errors.push(error);
      passLease();
    }
  }
  throw new Error(`still failing after ${errors.length} attempts: ${String(errors.at(-1))}`);
}

/** After success a re-delivered event is a no-op. */
async function assertSettled(event: unknown, messageId: string, sends: number) {
  const again = await processReceipt(event, base);
  assert.equal(again.outcome, 'duplicate');
  assert.equal(sendsOf(messageId).length, sends);
  assert.equal((await h.trace.get(messageId))?.status, 'done');
}

describe('faults: DynamoDB', () => {
  it('claim fails before it is written: retryable, nothing sent or counted; the retry sends once', async () => {
    const { messageId, alias, event } = await receive();
    const trace = failing<TraceStore>(base.trace, 'claim', { 1: 'before' });
    const { result, errors } = await untilDone(event, () => ({ ...base, trace }));
    assert.equal(errors.length, 1);
    assert.equal(result.outcome, 'processed');
    assert.equal(sendsOf(messageId).length, 1);
    assert.equal(await counted(alias), 1);
    await assertSettled(event, messageId, 1);
  });

  it('claim written but its answer lost: a retry within the lease is refused (busy), after it the message is sent once', async () => {
    const { messageId, alias, event } = await receive();
    const trace = failing<TraceStore>(base.trace, 'claim', { 1: 'after' });
    await assert.rejects(processReceipt(event, { ...base, trace }), TransientDependencyError);
    // Lambda's retry comes back while the lease still holds: refused, retryable, no side effect.
    await assert.rejects(
      processReceipt(event, base),
      (e: unknown) => e instanceof LeaseLostError && isRetryable(e),
    );
    assert.equal(sendsOf(messageId).length, 0);
    passLease();
    const result = await processReceipt(event, base);
    assert.equal(result.outcome, 'processed');
    assert.equal(sendsOf(messageId).length, 1);
    assert.equal(await counted(alias), 1);
    await assertSettled(event, messageId, 1);
  });

  it('count fails before it is applied: nothing sent, nothing counted; the retry counts and sends once', async () => {
    const { messageId, alias, event } = await receive();
    const limits = failing<LimitsStore>(base.limits, 'count', { 1: 'before' });
    const { errors } = await untilDone(event, () => ({ ...base, limits }));
    assert.equal(errors.length, 1);
    assert.equal(sendsOf(messageId).length, 1);
    assert.equal(await counted(alias), 1);
    await assertSettled(event, messageId, 1);
  });

  it('count applied but its answer lost: sent once (the limits may count the message twice, as documented)', async (t) => {
    const { messageId, alias, event } = await receive();
    const limits = failing<LimitsStore>(base.limits, 'count', { 1: 'after' });
    await untilDone(event, () => ({ ...base, limits }));
    assert.equal(sendsOf(messageId).length, 1);
    const n = await counted(alias);
    // README "Reliability": a crash before the first trace write can count the limits twice.
    assert.ok(n >= 1 && n <= 2, `counted ${n}`);
    t.diagnostic(`limit counter after the lost answer: ${n}`);
    await assertSettled(event, messageId, 1);
  });

  it('the trace write after SES accepted fails (not applied): never lost, at most one duplicate copy', async (t) => {
    const { messageId, event } = await receive();
    const trace = failing<TraceStore>(base.trace, 'recordSend', { 1: 'before' });
    const { errors } = await untilDone(event, () => ({ ...base, trace }));
    assert.equal(errors.length, 1);
    const n = sendsOf(messageId).length;
    // The documented at-least-once window: SES accepted the copy, the write recording it failed.
    assert.ok(n >= 1 && n <= 2, `sent ${n} times`);
    t.diagnostic(`copies sent: ${n} (the README's duplicate window)`);
    await assertSettled(event, messageId, n);
  });

  it('the trace write after SES accepted is applied but its answer lost: the retry finds it done, sent once', async () => {
    const { messageId, event } = await receive();
    const trace = failing<TraceStore>(base.trace, 'recordSend', { 1: 'after' });
    const { result, errors } = await untilDone(event, () => ({ ...base, trace }));
    assert.equal(errors.length, 1);
    assert.equal(result.outcome, 'duplicate');
    assert.equal(sendsOf(messageId).length, 1);
    await assertSettled(event, messageId, 1);
  });

  it('a list of 120: the trace write of the 2nd copy fails; the retry resumes, only that copy can repeat, limits counted once', async () => {
    const { messageId, event } = await receive('list@example.com');
    const trace = failing<TraceStore>(base.trace, 'recordSend', { 2: 'before' });
    const { result, errors } = await untilDone(event, () => ({ ...base, trace }));
    assert.equal(errors.length, 1);
    assert.equal(result.outcome, 'resumed');
    const sent = sendsOf(messageId);
    const times = new Map<string, number>();
    for (const s of sent) for (const to of s.destination.ToAddresses) times.set(to, (times.get(to) ?? 0) + 1);
    assert.equal(times.size, 120, 'every member got the message');
    const twice = [...times].filter(([, k]) => k > 1).map(([to]) => to);
    assert.ok(twice.length <= 50, `${twice.length} members got it twice`);
    assert.ok(twice.every((to) => sent[1]!.destination.ToAddresses.includes(to)));
    assert.equal(await counted('list@example.com'), 120);
    await assertSettled(event, messageId, sent.length);
  });
});

describe('faults: S3', () => {
  it('S3 fails after the claim: retryable; the retry waits for the lease, then sends once', async () => {
    const { messageId, alias, event } = await receive();
    const mailStore = failing<MailStore>(
      base.mailStore,
      'get',
      { 1: 'before' },
      () => new TransientDependencyError('s3', 'GetObject failed: SlowDown'),
    );
    await assert.rejects(processReceipt(event, { ...base, mailStore }), TransientDependencyError);
    await assert.rejects(processReceipt(event, { ...base, mailStore }), LeaseLostError);
    assert.equal(sendsOf(messageId).length, 0);
    assert.equal(await counted(alias), 0);
    passLease();
    await processReceipt(event, { ...base, mailStore });
    assert.equal(sendsOf(messageId).length, 1);
    assert.equal(await counted(alias), 1);
    await assertSettled(event, messageId, 1);
  });
});

describe('faults: SES', () => {
  it('a deployment fault (configuration set missing) fails the invocation, is not swallowed; after the fix it sends once', async () => {
    const { messageId, event } = await receive();
    h.emu.ses.failNext(1, {
      status: 404,
      code: 'NotFoundException',
      message: 'Configuration set <outbound-normal> does not exist.',
    });
    // Not retryable for us, but Lambda retries every failed asynchronous invocation (then the DLQ).
    const { errors } = await untilDone(event, () => base, { retryable: false });
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as Error).name, 'NotFoundException');
    assert.equal(sendsOf(messageId).length, 1);
    await assertSettled(event, messageId, 1);
  });

  it('SES accepted but its answer was lost: never lost, at most one duplicate copy', async (t) => {
    const { messageId, event } = await receive();
    const mailer = failing<Mailer>(
      base.mailer,
      'send',
      { 1: 'after' },
      () => new TransientDependencyError('ses', 'SendEmail failed: TimeoutError'),
    );
    await untilDone(event, () => ({ ...base, mailer }));
    const n = sendsOf(messageId).length;
    assert.ok(n >= 1 && n <= 2, `sent ${n} times`);
    t.diagnostic(`copies sent: ${n}`);
    await assertSettled(event, messageId, n);
  });
});

describe('faults: DNS', () => {
  /** The harness zones, SERVFAIL for the lookups `fail` picks (by call number and name). */
  function flakyResolver(fail: (call: number, name: string, type: string) => boolean): Resolver {
    const real = zoneResolver(
      zones([senderKey], { 'arc1._domainkey.fwd.example.com': { TXT: [h.arcRecord] } }),
    );
    let call = 0;
    return asResolver(async (name, type) => {
      if (fail(++call, name, type)) throw dnsError('ESERVFAIL', name, type);
      return real(name, type);
    });
  }

  for (const k of [1, 2]) {
    it(`the first ${k} lookup(s) of any name SERVFAIL: no verdict from the failure; sent exactly once`, async () => {
      const { messageId, alias, event } = await receive();
      const resolver = flakyResolver((call) => call <= k);
      const { errors } = await untilDone(event, () => ({ ...base, resolver }));
      // A failure the verdict does not depend on is no reason to retry (sender.test still has
      // an MX; SPF passed, so a DKIM temperror cannot make it relay); one it depends on is.
      assert.ok(errors.every((e) => e instanceof DnsTemporaryError));
      assert.equal(sendsOf(messageId).length, 1);
      assert.equal(await counted(alias), 1);
      await assertSettled(event, messageId, 1);
    });
  }

  for (const n of [1, 2, 3]) {
    it(`the source domain SERVFAILs for ${n} attempt(s) (${3 * n} lookups): retryable, nothing sent or counted, then sent once`, async () => {
      const { messageId, alias, event } = await receive();
      let sourceLookups = 0;
      const resolver = flakyResolver((_call, name) => name === 'sender.test' && ++sourceLookups <= 3 * n);
      const { errors } = await untilDone(event, () => ({ ...base, resolver }));
      assert.equal(errors.length, n);
      assert.ok(errors.every((e) => e instanceof DnsTemporaryError));
      assert.equal(sendsOf(messageId).length, 1);
      assert.equal(await counted(alias), 1);
      await assertSettled(event, messageId, 1);
    });
  }

  it('DNS failing after the decision does not matter: the seal reuses the arrival DKIM pass, sent once', async () => {
    const { messageId, event } = await receive();
    let keyLookups = 0;
    const resolver = flakyResolver(
      (_call, name) => name === 'sel1._domainkey.sender.test' && ++keyLookups > 1,
    );
    const result = await processReceipt(event, { ...base, resolver });
    assert.equal(result.outcome, 'processed');
    assert.equal(keyLookups, 1, 'the DKIM key is looked up once, at classification, never again by the seal');
    const sent = sendsOf(messageId);
    assert.equal(sent.length, 1);
    assert.match(sent[0]!.raw.toString('utf8'), /^ARC-Seal: i=1;/m);
    await assertSettled(event, messageId, 1);
  });
});
