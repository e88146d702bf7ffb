/**
 * Fault injection: each external dependency failing in the middle of a message (DynamoDB at
 * claim, at count, at the trace write after SES accepted; S3 after the claim; SES; DNS),
 * before or after the call took effect. `processReceipt` is run again on Lambda's real retry
 * schedule for an asynchronous invocation — attempts at 0, ~60 s and ~180 s, then the
 * dead-letter queue (`functions/router/retries.ts`, from the AWS Lambda Developer Guide, "How
 * Lambda handles errors and retries with asynchronous invocation") — with the production lease
 * (default timeout + margin), and the copies the SES recording layer saw are counted: a message
 * is never lost, and is sent exactly once except in the one documented window (SES accepted a
 * copy, the trace write right after it did not happen), where it is sent at most twice. A retry
 * must do real work: a failed attempt releases its lease, and the last attempt decides a DNS
 * temporary failure instead of dead-lettering the message (SPEC 2a).
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
  SesDeploymentError,
  TransientDependencyError,
} from '../../functions/core/errors.js';
import type { LimitsStore, Mailer, MailStore, TraceStore } from '../../functions/core/ports.js';
import { type PipelineDeps, type PipelineResult, processReceipt } from '../../functions/router/process.js';
import {
  DEFAULT_LEASE_SECONDS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_ROUTER_TIMEOUT_SECONDS,
  LAMBDA_RETRY_WAITS_MS,
} from '../../functions/router/retries.js';
import type { RecordedSend } from '../../sandbox/emulators/index.js';
import { dkimKey, message, NOW, sesEvent, sign, zones } from '../helpers/mail.js';
import { type Harness, startHarness, withArcKey } from '../helpers/pipeline.js';

const senderKey = dkimKey('sender.test');
/** The attacker signs with its own domain's key; its name server SERVFAILs the key lookup. */
const attackerKey = dkimKey('attacker.test');
/** The lease a deployment with the default timeout uses (LEASE_SECONDS). */
const LEASE_MS = DEFAULT_LEASE_SECONDS * 1000;
const LIST = Array.from({ length: 120 }, (_, i) => `member${i}@remote.test`);
// One alias per message of this file, so each limit counter is the message's own.
const ALIASES = Array.from({ length: 40 }, (_, i) => `fault${i}@example.com`);

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
    withArcKey([senderKey]),
  );
  base = await h.deps({ leaseMs: LEASE_MS, maxAttempts: DEFAULT_MAX_ATTEMPTS });
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
const later = (ms: number) => {
  h.clock.now = new Date(h.clock.now.getTime() + ms);
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
  /** Lambda's attempt that succeeded (1-based) and when it ran, ms after the first. */
  attempt: number;
  atMs: number;
}

/** An event Lambda gave up on: every attempt failed, it is in the dead-letter queue. */
class DeadLettered extends Error {
  constructor(readonly errors: unknown[]) {
    super(`dead-lettered after ${errors.length} attempts: ${String(errors.at(-1))}`);
  }
}

/**
 * Runs the event on Lambda's schedule for asynchronous invocations: the first attempt, then a
 * retry about a minute after it failed, the last one about two minutes after that; if that
 * one fails too the event is dead-lettered. The clock does not move while an attempt runs
 * (a failed attempt ends at the time it started).
 */
async function untilDone(
  event: unknown,
  deps: (attempt: number) => PipelineDeps,
  opts: { retryable?: boolean } = {},
): Promise<Outcome> {
  const errors: unknown[] = [];
  const start = h.clock.now.getTime();
  for (let attempt = 1; attempt <= DEFAULT_MAX_ATTEMPTS; attempt++) {
    try {
      const result = await processReceipt(event, deps(attempt));
      return { result, errors, attempt, atMs: h.clock.now.getTime() - start };
    } catch (error) {
      if (opts.retryable !== false) assert.ok(isRetryable(error), `not retryable: ${String(error)}`);
      errors.push(error);
      if (attempt < DEFAULT_MAX_ATTEMPTS) later(LAMBDA_RETRY_WAITS_MS[attempt - 1]!);
    }
  }
  throw new DeadLettered(errors);
}

it("the schedule the tests follow is Lambda's: attempts at 0, 60 s and 180 s", () => {
  assert.equal(DEFAULT_MAX_ATTEMPTS, 3);
  assert.deepEqual(LAMBDA_RETRY_WAITS_MS, [60_000, 120_000]);
  // The first retry comes while the lease taken by the attempt before still holds: only a
  // released lease lets it work.
  assert.ok(LAMBDA_RETRY_WAITS_MS[0]! < LEASE_MS);
});

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

  it('claim written but its answer lost: the retry at 60 s is refused (busy), the one at 180 s sends once', async () => {
    const { messageId, alias, event } = await receive();
    const trace = failing<TraceStore>(base.trace, 'claim', { 1: 'after' });
    // The attempt never learned its attempt number, so it cannot release its lease: the retry a
    // minute later finds the message claimed (refused, retryable, no side effect); the last
    // one, two minutes after that, finds the lease expired.
    const { result, errors, attempt, atMs } = await untilDone(event, () => ({ ...base, trace }));
    assert.deepEqual(
      errors.map((e) => (e as Error).name),
      ['TransientDependencyError', 'LeaseLostError'],
    );
    assert.deepEqual([attempt, atMs], [3, 180_000]);
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
  it("S3 fails after the claim: the attempt releases its lease, and Lambda's retry at 60 s sends once", async () => {
    const { messageId, alias, event } = await receive();
    const t0 = h.clock.now;
    const mailStore = failing<MailStore>(
      base.mailStore,
      'get',
      { 1: 'before' },
      () => new TransientDependencyError('s3', 'GetObject failed: SlowDown'),
    );
    await assert.rejects(processReceipt(event, { ...base, mailStore }), TransientDependencyError);
    // Released at the failure, not held until t0 + lease (which would outlast the retry).
    const failed = await h.trace.get(messageId);
    assert.deepEqual(
      [failed?.status, failed?.attempt, failed?.leaseUntil],
      ['in-progress', 1, t0.toISOString()],
    );
    later(LAMBDA_RETRY_WAITS_MS[0]!);
    const result = await processReceipt(event, { ...base, mailStore });
    assert.equal(result.outcome, 'processed');
    assert.equal((await h.trace.get(messageId))?.attempt, 2);
    assert.equal(sendsOf(messageId).length, 1);
    assert.equal(await counted(alias), 1);
    await assertSettled(event, messageId, 1);
  });

  it('without the release the same retry would be wasted: a lease still held at 60 s refuses it', async () => {
    const { messageId, event } = await receive();
    // An attempt that failed without releasing (as before this fix) leaves the whole lease.
    await h.trace.claim(messageId, h.clock.now, LEASE_MS);
    later(LAMBDA_RETRY_WAITS_MS[0]!);
    await assert.rejects(processReceipt(event, base), LeaseLostError);
    assert.equal(sendsOf(messageId).length, 0);
  });

  it('an attempt that timed out cannot release: the retry a minute after the timeout still finds the lease expired', async () => {
    const { messageId, event } = await receive();
    // The invocation claimed the message and was killed at its timeout (no catch ran).
    await h.trace.claim(messageId, h.clock.now, LEASE_MS);
    later(DEFAULT_ROUTER_TIMEOUT_SECONDS * 1000 + LAMBDA_RETRY_WAITS_MS[0]!);
    const result = await processReceipt(event, base);
    assert.equal(result.outcome, 'processed');
    assert.equal((await h.trace.get(messageId))?.attempt, 2);
    assert.equal(sendsOf(messageId).length, 1);
    await assertSettled(event, messageId, 1);
  });

  it('every attempt fails: dead-lettered after the third, and the lease of each was released', async () => {
    const { messageId, event } = await receive();
    const mailStore = failing<MailStore>(
      base.mailStore,
      'get',
      { 1: 'before', 2: 'before', 3: 'before' },
      () => new TransientDependencyError('s3', 'GetObject failed: SlowDown'),
    );
    const dead = await untilDone(event, () => ({ ...base, mailStore })).then(
      () => assert.fail('expected a dead letter'),
      (e: unknown) => e as DeadLettered,
    );
    assert.ok(dead instanceof DeadLettered);
    // Each attempt failed for its real cause, none for a lease it could not get.
    assert.deepEqual(
      dead.errors.map((e) => (e as Error).message),
      Array(3).fill('s3: GetObject failed: SlowDown'),
    );
    assert.equal((await h.trace.get(messageId))?.attempt, 3);
    assert.equal(sendsOf(messageId).length, 0);
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
    // A configuration-set-level fault (issue 15 item 1): retryable, named in one line.
    const { errors } = await untilDone(event, () => base);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof SesDeploymentError);
    assert.equal(errors[0].scope, 'configuration-set');
    assert.match(errors[0].message, /configuration-set-level fault \(NotFoundException/);
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

  for (const n of [1, 2]) {
    it(`the source domain SERVFAILs for ${n} attempt(s) (${3 * n} lookups): retryable, nothing sent or counted, then sent once`, async () => {
      const { messageId, alias, event } = await receive();
      let sourceLookups = 0;
      const resolver = flakyResolver((_call, name) => name === 'sender.test' && ++sourceLookups <= 3 * n);
      const { result, errors, attempt } = await untilDone(event, () => ({ ...base, resolver }));
      assert.equal(errors.length, n);
      assert.equal(attempt, n + 1);
      assert.ok(errors.every((e) => e instanceof DnsTemporaryError));
      assert.equal(result.pool, 'normal', 'recovered: the real answer decides, not the failure');
      assert.ok(!result.reasons.includes('dns-temperror'));
      assert.equal(sendsOf(messageId).length, 1);
      assert.equal(await counted(alias), 1);
      await assertSettled(event, messageId, 1);
    });
  }

  it('the source domain SERVFAILs on every attempt: the last one (180 s) decides it as not passed, high-risk with dns-temperror', async () => {
    const { messageId, alias, event } = await receive();
    const resolver = flakyResolver((_call, name) => name === 'sender.test');
    const { result, errors, attempt, atMs } = await untilDone(event, () => ({ ...base, resolver }));
    assert.ok(errors.length === 2 && errors.every((e) => e instanceof DnsTemporaryError));
    assert.deepEqual([attempt, atMs], [3, 180_000]);
    assert.equal(result.pool, 'high-risk');
    assert.ok(result.reasons.includes('dns-temperror'));
    assert.ok(!result.reasons.includes('no-a-mx'), 'not proved to have no A/MX');
    assert.equal(sendsOf(messageId).length, 1);
    assert.equal(tag(sendsOf(messageId)[0]!, 'pool'), 'high-risk');
    assert.equal(await counted(alias), 1);
    await assertSettled(event, messageId, 1);
  });

  /**
   * The attack of issue 13: a DKIM signature aligned with the attacker's own From, whose key
   * lookup SERVFAILs on the attacker's name server, and SPF not passing.
   */
  async function attack(servfail: (name: string) => boolean) {
    const messageId = `attack-${process.pid}-${++seq}`;
    const alias = ALIASES[aliasSeq++ % ALIASES.length]!;
    const raw = await sign(message({ from: 'Eve <eve@attacker.test>', to: alias }), attackerKey);
    await h.put(messageId, raw);
    const event = sesEvent({ messageId, source: 'eve@attacker.test', recipients: [alias], spf: 'GRAY' });
    const real = zoneResolver(
      zones([senderKey], {
        'arc1._domainkey.fwd.example.com': { TXT: [h.arcRecord] },
        'attacker.test': { A: ['198.51.100.66'], MX: [{ exchange: 'attacker.test', priority: 10 }] },
      }),
    );
    const resolver = asResolver(async (name, type) => {
      if (servfail(name)) throw dnsError('ESERVFAIL', name, type);
      return real(name, type);
    });
    return { messageId, alias, event, resolver };
  }

  it('a persistent attacker SERVFAIL on the aligned DKIM key: decided on the last attempt (relay, dns-temperror), not dead-lettered', async () => {
    const { messageId, alias, event, resolver } = await attack((name) =>
      name.endsWith('._domainkey.attacker.test'),
    );
    const { result, errors, attempt, atMs } = await untilDone(event, () => ({ ...base, resolver }));
    assert.deepEqual(
      errors.map((e) => e instanceof DnsTemporaryError && e.domain),
      ['attacker.test', 'attacker.test'],
      'attempts 1 and 2 retry: the failure might hide a real pass',
    );
    assert.deepEqual([attempt, atMs], [3, 180_000]);
    assert.equal(result.pool, 'relay');
    assert.ok(result.reasons.includes('dns-temperror'));
    assert.ok(result.reasons.includes('unauthenticated-relay'));
    assert.ok(!result.reasons.includes('dkim-aligned-pass'));
    const sent = sendsOf(messageId);
    assert.equal(sent.length, 1);
    assert.equal(tag(sent[0]!, 'pool'), 'relay');
    assert.match(
      sent[0]!.raw.toString('utf8'),
      /^From: .*via example\.com/m,
      'From rewritten, as for any relay',
    );
    assert.equal(await counted(alias), 1);
    // Redriven from anywhere (a duplicate, or an operator's redrive): done, nothing more.
    await assertSettled(event, messageId, 1);
  });

  it('an attacker whose name server SERVFAILs everything: high-risk with dns-temperror on the last attempt', async () => {
    const { messageId, event, resolver } = await attack((name) => name.endsWith('attacker.test'));
    const { result, attempt } = await untilDone(event, () => ({ ...base, resolver }));
    assert.equal(attempt, 3);
    assert.equal(result.pool, 'high-risk');
    assert.ok(result.reasons.includes('dns-temperror'));
    assert.ok(result.reasons.includes('unauthenticated-relay'));
    assert.equal(sendsOf(messageId).length, 1);
    await assertSettled(event, messageId, 1);
  });

  it('a redrive from the dead-letter queue counts past the budget: decided at once, not failing the same way', async () => {
    const { messageId, event, resolver } = await attack((name) => name.endsWith('._domainkey.attacker.test'));
    // Three attempts that never got to DNS (S3 down): the event is dead-lettered.
    const mailStore = failing<MailStore>(
      base.mailStore,
      'get',
      { 1: 'before', 2: 'before', 3: 'before' },
      () => new TransientDependencyError('s3', 'GetObject failed: SlowDown'),
    );
    await assert.rejects(
      untilDone(event, () => ({ ...base, resolver, mailStore })),
      DeadLettered,
    );
    // The operator redrives the next day; the attacker's name server still fails.
    later(86_400_000);
    const result = await processReceipt(event, { ...base, resolver });
    assert.equal(result.pool, 'relay');
    assert.ok(result.reasons.includes('dns-temperror'));
    assert.equal((await h.trace.get(messageId))?.attempt, 4);
    assert.equal(sendsOf(messageId).length, 1);
  });

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
