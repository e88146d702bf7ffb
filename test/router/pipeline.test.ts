/**
 * The router end to end against local emulators: S3 (s3rver), DynamoDB (dynalite) and SES v2
 * (aws-ses-v2-local behind the recording layer, which keeps the configuration set, tags and
 * raw bytes the emulator drops).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { authenticate } from 'mailauth';
import { simpleParser } from 'mailparser';
import { SesMailer } from '../../functions/adapters/ses-mailer.js';
import { splitMessage } from '../../functions/core/compose/rewrite.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import {
  DnsTemporaryError,
  isRetryable,
  MessageNotFoundError,
  SesDeploymentError,
  TransientDependencyError,
} from '../../functions/core/errors.js';
import type { Mailer } from '../../functions/core/ports.js';
import { Srs } from '../../functions/core/srs.js';
import { processFeedback } from '../../functions/feedback/handler.js';
import { processReceipt } from '../../functions/router/process.js';
import type { RecordedSend } from '../../sandbox/emulators/index.js';
import { dkimKey, message, NOW, sesEvent, sign, zones } from '../helpers/mail.js';
import { type Harness, startHarness, withArcKey } from '../helpers/pipeline.js';

const senderKey = dkimKey('sender.test');
let h: Harness;
let seq = 0;
const nextId = () => `msg-${process.pid}-${++seq}`;
const tag = (s: RecordedSend, name: string) => s.emailTags.find((t) => t.Name === name)?.Value;

before(async () => {
  h = await startHarness(
    {
      routes: {
        'alias@example.com': ['dest@remote.test'],
        'team@example.com': ['ann@remote.test', 'bob@example.org'],
        'big@example.com': Array.from({ length: 120 }, (_, i) => `m${i}@remote.test`),
        'huge@example.com': Array.from({ length: 1000 }, (_, i) => `h${i}@remote.test`),
      },
      maxMessageBytes: 5_000_000,
      limits: {
        default: { externalPerHour: 20, internalPerHour: 1000, perDay: 1000, recipientsPerMessage: 500 },
        senders: { 'big@example.com': { externalPerHour: 10_000, perDay: 10_000 } },
      },
    },
    withArcKey([senderKey]),
  );
});
after(async () => {
  await h.stop();
});
beforeEach(async () => {
  await h.emu.ses.clear();
  h.clock.now = NOW;
});

async function receive(eventOpts: Parameters<typeof sesEvent>[0], raw: Buffer) {
  const messageId = eventOpts?.messageId ?? nextId();
  await h.put(messageId, raw);
  return { messageId, event: sesEvent({ ...eventOpts, messageId }) };
}

describe('router: one message through each pool', () => {
  it('forwarded, authenticated mail → normal: one SendEmail with the pool, SRS feedback address, tags and ARC', async () => {
    // Prepare
    const raw = await sign(message(), senderKey);
    const { messageId, event } = await receive({ spf: 'PASS' }, raw);
    // Act
    const result = await processReceipt(event, await h.deps());
    // Assess
    assert.equal(result.pool, 'normal');
    const sent = h.emu.ses.sent();
    assert.equal(sent.length, 1);
    const s = sent[0]!;
    assert.equal(s.configurationSetName, 'outbound-normal');
    assert.deepEqual(s.destination.ToAddresses, ['dest@remote.test']);
    assert.deepEqual(new Srs(h.config.srs).reverse(s.feedbackForwardingEmailAddress!, NOW), {
      ok: true,
      address: 'alice@sender.test',
    });
    assert.equal(tag(s, 'pool'), 'normal');
    assert.equal(tag(s, 'reasons'), 'spf-pass_dkim-aligned-pass_srs-rewritten');
    assert.equal(tag(s, 'inbound_id'), messageId);
    for (const t of s.emailTags) assert.match(t.Value, /^[A-Za-z0-9_-]+$/);
    // The copy: From rewritten, Reply-To the author, DKIM dropped, ARC added, body untouched.
    const text = s.raw.toString('utf8');
    assert.match(text, /^From: "Alice Sender via example\.com" <alias@example\.com>\r$/m);
    assert.match(text, /^Reply-To: "Alice Sender" <alice@sender\.test>\r$/m);
    assert.doesNotMatch(text, /^DKIM-Signature:/im);
    assert.match(text, /^ARC-Seal: i=1;/m);
    assert.deepEqual(splitMessage(s.raw).body, splitMessage(raw).body);
    // The ARC seal verifies and carries the results seen on arrival.
    const auth = await authenticate(s.raw, {
      ip: '192.0.2.99',
      helo: 'mx.example.com',
      sender: 'bounce@example.com',
      resolver: zoneResolver(
        zones([senderKey], { 'arc1._domainkey.fwd.example.com': { TXT: [h.arcRecord] } }),
      ),
      trustReceived: false,
    });
    assert.ok(auth.arc, 'an ARC result');
    assert.equal(auth.arc.status.result, 'pass');
    // The trace record.
    const record = await h.trace.get(messageId);
    assert.equal(record?.status, 'done');
    assert.equal(record?.summary?.pool, 'normal');
    assert.equal(record?.summary?.outboundIpPoolName, 'outbound-normal');
    assert.equal(record?.sends[0]?.sesMessageId, s.messageId);
  });

  const poolCases = [
    {
      name: 'unauthenticated forwarded mail → relay',
      event: { spf: 'FAIL' as const },
      set: 'outbound-relay',
      pool: 'relay',
    },
    {
      name: 'spam → high-risk',
      event: { spam: 'FAIL' as const },
      set: 'outbound-high-risk',
      pool: 'high-risk',
    },
    {
      name: 'null reverse path (NDR) → high-risk',
      event: { source: '' },
      set: 'outbound-high-risk',
      pool: 'high-risk',
    },
  ];
  for (const c of poolCases) {
    it(c.name, async () => {
      const { event } = await receive(c.event, message());
      const result = await processReceipt(event, await h.deps());
      assert.equal(result.pool, c.pool);
      assert.deepEqual(
        h.emu.ses.sent().map((s) => [s.configurationSetName, tag(s, 'pool')]),
        [[c.set, c.pool]],
      );
    });
  }

  it('a cold container asks SES about the decided pool only: two lookups, not six (issue 16)', async () => {
    const { event } = await receive({}, await sign(message(), senderKey));
    const deps = await h.deps();
    h.emu.ses.resetCounts();
    const result = await processReceipt(event, deps);
    assert.equal(result.pool, 'normal');
    assert.deepEqual(h.emu.ses.requests(), { GetConfigurationSet: 1, GetTenant: 1, SendEmail: 1 });
  });

  it('virus from an authenticated sender → nothing forwarded, an RFC 3464 NDR to the sender through high-risk', async () => {
    const { messageId, event } = await receive({ virus: 'FAIL' }, message());
    const result = await processReceipt(event, await h.deps());
    assert.equal(result.pool, 'blocked');
    const sent = h.emu.ses.sent();
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.configurationSetName, 'outbound-high-risk');
    assert.deepEqual(sent[0]?.destination.ToAddresses, ['alice@sender.test']);
    const ndr = sent[0]!.raw.toString('utf8');
    assert.match(ndr, /^Content-Type: multipart\/report; report-type=delivery-status;/m);
    assert.match(ndr, /^Auto-Submitted: auto-replied/m);
    assert.match(ndr, /^Status: 5\.7\.1/m);
    assert.equal((await h.trace.get(messageId))?.summary?.pool, 'blocked');
  });

  it('virus from an unauthenticated sender → nothing at all is sent (no backscatter)', async () => {
    const { event } = await receive({ virus: 'FAIL', spf: 'FAIL' }, message());
    await processReceipt(event, await h.deps());
    assert.deepEqual(h.emu.ses.sent(), []);
  });

  it('no route → nothing sent, the trace says why', async () => {
    const { messageId, event } = await receive(
      { recipients: ['nobody@example.com'], spf: 'FAIL' },
      message(),
    );
    await processReceipt(event, await h.deps());
    assert.deepEqual(h.emu.ses.sent(), []);
    assert.deepEqual((await h.trace.get(messageId))?.summary?.reasons, ['no-route', 'unauthenticated-relay']);
  });

  it('a list of 120 members is sent in batches of at most 50, each recorded', async () => {
    const { messageId, event } = await receive({ recipients: ['big@example.com'] }, message());
    await processReceipt(event, await h.deps({}));
    const sent = h.emu.ses.sent();
    assert.deepEqual(
      sent.map((s) => s.destination.ToAddresses?.length),
      [50, 50, 20],
    );
    const record = await h.trace.get(messageId);
    assert.equal(record?.sends.length, 3);
  });
});

describe('router: reliability (SPEC 8)', () => {
  it('a re-delivered event does not send again', async () => {
    const { event } = await receive({}, message());
    const deps = await h.deps();
    await processReceipt(event, deps);
    const again = await processReceipt(event, deps);
    assert.equal(again.outcome, 'duplicate');
    assert.equal(h.emu.ses.sent().length, 1);
  });

  it('partial failure: copies already sent are not re-sent when the event is retried', async () => {
    // Prepare: the second of three SendEmail calls fails transiently.
    const { messageId, event } = await receive({ recipients: ['big@example.com'] }, message());
    const real = (await h.deps()).mailer;
    let calls = 0;
    const flaky: Mailer = {
      send: (req) => {
        calls++;
        if (calls === 2) return Promise.reject(new TransientDependencyError('ses', 'injected 5xx'));
        return real.send(req);
      },
    };
    // Act: the first attempt fails after one copy…
    await assert.rejects(processReceipt(event, await h.deps({ mailer: flaky })), (e: unknown) =>
      isRetryable(e),
    );
    assert.equal(h.emu.ses.sent().length, 1);
    // …and Lambda retries after the lease expired.
    h.clock.now = new Date(NOW.getTime() + 61_000);
    const retried = await processReceipt(event, await h.deps());
    // Assess: exactly three copies in all, every member exactly once.
    assert.equal(retried.outcome, 'resumed');
    const all = h.emu.ses.sent().flatMap((s) => s.destination.ToAddresses ?? []);
    assert.equal(all.length, 120);
    assert.equal(new Set(all).size, 120);
    assert.equal((await h.trace.get(messageId))?.status, 'done');
  });

  it('a retry while the first attempt still holds its lease is refused as retryable', async () => {
    const { event } = await receive({}, message());
    const deps = await h.deps();
    const never: Mailer = { send: () => new Promise(() => {}) };
    void processReceipt(event, await h.deps({ mailer: never }));
    await new Promise((r) => setTimeout(r, 300));
    await assert.rejects(
      processReceipt(event, deps),
      (e: unknown) => isRetryable(e) && /another invocation/.test(String(e)),
    );
    assert.equal(h.emu.ses.sent().length, 0);
  });

  it('SES throttling (TooManyRequestsException) is retried with backoff: sent once', async () => {
    h.emu.ses.failNext(2, {
      status: 429,
      code: 'TooManyRequestsException',
      message: 'Maximum sending rate exceeded.',
    });
    const { event } = await receive({}, message());
    await processReceipt(event, await h.deps());
    assert.equal(h.emu.ses.sent().length, 1);
  });

  it('SES throttling beyond the backoff budget fails the invocation (retryable); the retry sends once', async () => {
    // Prepare: three throttles; a mailer with one SDK attempt, a 250 ms budget, waits recorded.
    h.emu.ses.failNext(3, {
      status: 429,
      code: 'TooManyRequestsException',
      message: 'Maximum sending rate exceeded.',
    });
    const waits: number[] = [];
    const mailer = new SesMailer(new SESv2Client({ ...h.emu.clientConfig('sesv2'), maxAttempts: 1 }), {
      throttle: { baseMs: 100, budgetMs: 250, random: () => 1, sleep: async (ms) => void waits.push(ms) },
    });
    const { event } = await receive({}, message());
    // Act + Assess: 100 ms waited, the next 200 ms would pass the budget: the attempt fails.
    await assert.rejects(
      processReceipt(event, await h.deps({ mailer })),
      (e: unknown) => e instanceof TransientDependencyError && isRetryable(e),
    );
    assert.deepEqual(waits, [100]);
    assert.equal(h.emu.ses.sent().length, 0);
    // Lambda's retry: one more throttle, one wait, then the copy is sent, once.
    h.clock.now = new Date(NOW.getTime() + 61_000);
    await processReceipt(event, await h.deps({ mailer }));
    assert.deepEqual(waits, [100, 100]);
    assert.equal(h.emu.ses.sent().length, 1);
  });

  it('DNS temporary failure: retryable error, nothing sent, no silent downgrade', async () => {
    const { event } = await receive({ source: 'eve@servfail.test' }, message({ from: 'eve@servfail.test' }));
    await assert.rejects(processReceipt(event, await h.deps()), DnsTemporaryError);
    assert.deepEqual(h.emu.ses.sent(), []);
  });

  it('a missing S3 object is a clear, non-retryable error and nothing is sent', async () => {
    const event = sesEvent({ messageId: 'never-stored' });
    await assert.rejects(processReceipt(event, await h.deps()), MessageNotFoundError);
    assert.deepEqual(h.emu.ses.sent(), []);
  });

  it('a malformed event is rejected before any side effect', async () => {
    await assert.rejects(
      processReceipt({ Records: [{ eventSource: 'aws:ses' }] }, await h.deps()),
      /not an SES receipt event/,
    );
  });
});

describe('router: hostile input', () => {
  it('a list expanding to 1,000 recipients is blocked (hard-limit-recipients), nothing forwarded', async () => {
    const { messageId, event } = await receive({ recipients: ['huge@example.com'], spf: 'FAIL' }, message());
    const result = await processReceipt(event, await h.deps());
    assert.equal(result.pool, 'blocked');
    assert.ok(result.reasons.includes('hard-limit-recipients'));
    assert.deepEqual(h.emu.ses.sent(), []);
    assert.equal((await h.trace.get(messageId))?.status, 'done');
  });

  it('a message over maxMessageBytes is blocked without being read whole', async () => {
    const big = Buffer.concat([message(), Buffer.alloc(6_000_000, 0x41)]);
    const { event } = await receive({}, big);
    const result = await processReceipt(event, await h.deps());
    assert.equal(result.pool, 'blocked');
    assert.ok(result.reasons.includes('hard-limit-size'));
    assert.deepEqual(
      h.emu.ses.sent().map((s) => tag(s, 'kind')),
      ['ndr'],
    );
  });

  it('CR/LF in the display name, Bcc and X-SES-* fields cannot steer or inject into the copy', async () => {
    // An encoded-word whose decoded display name holds CR LF and a field, a Bcc field and an
    // SES steering field.
    const raw = Buffer.from(
      'From: =?UTF-8?Q?Eve=0D=0ABcc=3A_victim@remote.test?= <eve@sender.test>\r\n' +
        'Reply-To: "Eve" <eve@sender.test>\r\n' +
        'Bcc: hidden@remote.test\r\n' +
        'X-SES-CONFIGURATION-SET: outbound-normal\r\nTo: alias@example.com\r\nSubject: hi\r\n\r\nbody\r\n',
    );
    const { event } = await receive({ spf: 'FAIL' }, raw);
    await processReceipt(event, await h.deps());
    const s = h.emu.ses.sent()[0]!;
    assert.equal(s.configurationSetName, 'outbound-relay');
    const header = splitMessage(s.raw).header.toString('utf8');
    assert.doesNotMatch(header, /^Bcc:/im);
    assert.doesNotMatch(header, /^X-SES-/im);
    assert.match(header, /^From: "Eve Bcc: victim@remote\.test via example\.com" <alias@example\.com>\r$/m);
    assert.deepEqual(s.destination.ToAddresses, ['dest@remote.test']);
  });
});

describe('router: SES refusals (issue 15 item 1)', () => {
  const VIRUS = { status: 400, code: 'MessageRejected', message: 'Message contains a virus.' };
  const ndrs = () => h.emu.ses.sent().filter((s) => tag(s, 'kind') === 'ndr');

  it('an identity-level refusal fails the invocation (retryable, one line), records nothing, and a retry after the fix sends', async () => {
    // Prepare
    h.emu.ses.failNext(1, {
      status: 400,
      code: 'MessageRejected',
      message:
        'Email address is not verified. The following identities failed the check in region US-EAST-1:\nalias@example.com',
    });
    const { messageId, event } = await receive({ spf: 'FAIL' }, message());
    // Act
    const error = await processReceipt(event, await h.deps()).then(
      () => assert.fail('the invocation must fail'),
      (e: unknown) => e as Error,
    );
    // Assess: the class, cause and fix in one line; nothing recorded as a failed copy.
    assert.ok(error instanceof SesDeploymentError);
    assert.ok(isRetryable(error));
    assert.equal(error.scope, 'identity');
    assert.doesNotMatch(error.message, /\n/);
    assert.match(error.message, /identity-level fault \(MessageRejected: Email address is not verified/);
    const record = await h.trace.get(messageId);
    assert.notEqual(record?.status, 'done');
    assert.deepEqual(record?.sends ?? [], []);
    // Lambda's retry a minute later, after the operator verified the identity, sends the copy.
    h.clock.now = new Date(NOW.getTime() + 61_000);
    const retried = await processReceipt(event, await h.deps());
    assert.equal(retried.sends[0]?.status, 'sent');
    assert.equal(h.emu.ses.sent().length, 1);
  });

  it('a sandboxed account (a recipient fails the check) is an account-level fault', async () => {
    h.emu.ses.failNext(1, {
      status: 400,
      code: 'MessageRejected',
      message:
        'Email address is not verified. The following identities failed the check in region US-EAST-1: dest@remote.test',
    });
    const { event } = await receive({ spf: 'FAIL' }, message());
    await assert.rejects(processReceipt(event, await h.deps()), (e: unknown) => {
      return (
        e instanceof SesDeploymentError && e.scope === 'account' && /still in the sandbox/.test(e.message)
      );
    });
  });

  it('a copy refused for its content: failed with the class, the authenticated sender gets one NDR (5.6.0) through high-risk', async () => {
    // Prepare: SPF passes for the envelope sender (envelope-authenticated, SPEC 2a).
    h.emu.ses.failNext(1, VIRUS);
    const { messageId, event } = await receive({ source: 'carol@sender.test', spf: 'PASS' }, message());
    // Act
    const result = await processReceipt(event, await h.deps());
    // Assess
    assert.equal(result.sends[0]?.status, 'failed');
    assert.equal(result.sends[0]?.refusal, 'content');
    assert.equal(result.sends[1]?.status, 'sent');
    assert.equal(result.sends[1]?.kind, 'ndr');
    const [ndr] = ndrs();
    assert.equal(ndrs().length, 1);
    assert.equal(ndr!.configurationSetName, 'outbound-high-risk');
    assert.deepEqual(ndr!.destination.ToAddresses, ['carol@sender.test']);
    const parsed = await simpleParser(ndr!.raw);
    const type = parsed.headers.get('content-type') as { value: string; params: Record<string, string> };
    assert.equal(type.value, 'multipart/report');
    assert.equal(type.params['report-type'], 'delivery-status');
    const text = ndr!.raw.toString('latin1');
    assert.match(text, /^Status: 5\.6\.0\r$/m);
    // It names the address the mail was sent to, never the alias's private destination.
    assert.match(text, /^Final-Recipient: rfc822; alias@example\.com\r$/m);
    assert.doesNotMatch(text, /dest@remote\.test/);
    const record = await h.trace.get(messageId);
    assert.equal(record?.status, 'done');
    assert.deepEqual(record?.summary?.plan[1]?.refused, {
      copy: 0,
      recipients: ['alias@example.com'],
      refusal: 'content',
    });
  });

  it('a retry after the NDR failed resumes it: one NDR, the refused copy not sent again', async () => {
    // Prepare: the copy is refused; the NDR's send then fails transiently (the attempt fails).
    h.emu.ses.failNext(1, VIRUS);
    const { messageId, event } = await receive({ source: 'dave@sender.test', spf: 'PASS' }, message());
    const deps = await h.deps();
    let calls = 0;
    const flaky: Mailer = {
      send: (request) => {
        calls += 1;
        if (calls === 2) return Promise.reject(new TransientDependencyError('ses', 'injected outage'));
        return deps.mailer.send(request);
      },
    };
    // Act
    await assert.rejects(processReceipt(event, { ...deps, mailer: flaky }), TransientDependencyError);
    const between = await h.trace.get(messageId);
    h.clock.now = new Date(NOW.getTime() + 61_000); // Lambda's retry, a minute later
    const retried = await processReceipt(event, await h.deps());
    const again = await processReceipt(event, await h.deps());
    // Assess: the refusal and the planned NDR were recorded together; the retry sent the NDR once.
    assert.equal(between?.sends[0]?.refusal, 'content');
    assert.equal(between?.summary?.plan[1]?.kind, 'ndr');
    assert.equal(retried.outcome, 'resumed');
    assert.equal(again.outcome, 'duplicate');
    assert.equal(ndrs().length, 1);
    assert.equal(h.emu.ses.sent().filter((s) => tag(s, 'kind') === 'forward').length, 0);
    assert.deepEqual(
      (await h.trace.get(messageId))?.sends.map((s) => [s.kind, s.status]),
      [
        ['forward', 'failed'],
        ['ndr', 'sent'],
      ],
    );
  });

  it('no NDR for an unauthenticated sender (backscatter): the copy is recorded failed, nothing else sent', async () => {
    h.emu.ses.failNext(1, { status: 400, code: 'BadRequestException', message: 'Illegal address' });
    const { messageId, event } = await receive({ source: 'erin@sender.test', spf: 'FAIL' }, message());
    const result = await processReceipt(event, await h.deps());
    assert.deepEqual(
      result.sends.map((s) => [s.status, s.refusal]),
      [['failed', 'request']],
    );
    assert.equal(h.emu.ses.sent().length, 0);
    assert.equal((await h.trace.get(messageId))?.summary?.plan.length, 1);
  });

  it('a kept From keeps a Sender of a sending domain and moves any other to X-Original-Sender (mailparser)', async () => {
    const cases = [
      { sender: 'secretary@example.com', kept: 'secretary@example.com' },
      { sender: 'bounces@esp.test', kept: null },
      { sender: 'secretary@example.com, other@esp.test', kept: null },
    ];
    for (const c of cases) {
      await h.emu.ses.clear();
      const raw = message({ from: 'frank@example.com', headers: [`Sender: ${c.sender}`] });
      const { event } = await receive({ source: 'frank@example.com', spf: 'PASS' }, raw);
      await processReceipt(event, await h.deps());
      const [copy] = h.emu.ses.sent();
      const parsed = await simpleParser(copy!.raw);
      assert.equal((parsed.from?.value[0]?.address ?? '').toLowerCase(), 'frank@example.com', c.sender);
      const sender = parsed.headers.get('sender') as { value: { address: string }[] } | undefined;
      if (c.kept) {
        assert.equal(sender?.value[0]?.address, c.kept);
        assert.equal(parsed.headers.get('x-original-sender'), undefined);
      } else {
        assert.equal(sender, undefined, c.sender);
        assert.equal(parsed.headers.get('x-original-sender'), c.sender);
      }
    }
  });
});

describe('router: limits under concurrency', () => {
  it('parallel messages of one sender count exactly: 20 external recipients per hour, the rest blocked', async () => {
    // Prepare: 30 messages from one accepted-domain sender to one external destination each.
    const events = [];
    for (let i = 0; i < 30; i++) {
      events.push(
        (await receive({ source: 'heavy@example.com', spf: 'PASS' }, message({ from: 'heavy@example.com' })))
          .event,
      );
    }
    // Act
    const results = await Promise.all(events.map(async (e) => processReceipt(e, await h.deps())));
    // Assess
    const normal = results.filter((r) => r.pool === 'normal').length;
    assert.equal(normal, 20);
    assert.equal(results.filter((r) => r.pool === 'blocked').length, 10);
    const forwards = h.emu.ses.sent().filter((s) => tag(s, 'kind') === 'forward');
    assert.equal(forwards.length, 20);
    const limits = (await h.deps()).limits;
    const restricted = await limits.listRestricted(NOW);
    assert.deepEqual(
      restricted.map((r) => [r.identity, r.reason, r.until]),
      [['heavy@example.com', 'limit-external-hour', '2026-11-24T00:00:00.000Z']],
    );
  });
});

describe('feedback: SES events land on the trace of their message', () => {
  it('a Delivery and a Bounce event are appended to the record; SES Send is not written again', async () => {
    const { messageId, event } = await receive({}, message());
    await processReceipt(event, await h.deps());
    const s = h.emu.ses.sent()[0]!;
    const tags = Object.fromEntries(s.emailTags.map((t) => [t.Name, [t.Value]]));
    const sns = (e: unknown) => ({ Records: [{ Sns: { Message: JSON.stringify(e) } }] });
    // The real store, counting what the feedback function asks it to write.
    const appendedTypes: string[] = [];
    const counting = Object.create(h.trace) as typeof h.trace;
    counting.appendEvent = (id, e) => {
      appendedTypes.push(e.type);
      return h.trace.appendEvent(id, e);
    };
    const result = await processFeedback(
      {
        Records: [
          // The router recorded this send itself (sends[0]): filing it again is a wasted write.
          ...sns({
            eventType: 'Send',
            mail: { messageId: s.messageId, timestamp: NOW.toISOString(), tags },
            send: {},
          }).Records,
          ...sns({
            eventType: 'Delivery',
            mail: { messageId: s.messageId, timestamp: NOW.toISOString(), tags },
            delivery: {
              timestamp: NOW.toISOString(),
              recipients: ['dest@remote.test'],
              smtpResponse: '250 2.0.0 OK',
            },
          }).Records,
          ...sns({
            eventType: 'Bounce',
            mail: { messageId: s.messageId, timestamp: NOW.toISOString(), tags },
            bounce: {
              bounceType: 'Permanent',
              bounceSubType: 'General',
              bouncedRecipients: [
                { emailAddress: 'dest@remote.test', diagnosticCode: 'smtp; 550 5.1.1 no such user' },
              ],
              timestamp: NOW.toISOString(),
            },
          }).Records,
          { Sns: { Message: '{"not":"ses"}' } },
        ],
      },
      counting,
      NOW,
    );
    assert.deepEqual(result, { appended: 2, unknown: 0, ignored: 1, alreadyRecorded: 1 });
    assert.deepEqual(appendedTypes, ['Delivery', 'Bounce']);
    const record = await h.trace.get(messageId);
    assert.equal(record?.sends[0]?.sesMessageId, s.messageId, 'the router recorded the send');
    assert.deepEqual(
      record?.events.map((e) => [e.type, e.sesMessageId, e.recipients]),
      [
        ['Delivery', s.messageId, ['dest@remote.test']],
        ['Bounce', s.messageId, ['dest@remote.test']],
      ],
    );
    assert.match(record?.events[1]?.detail ?? '', /Permanent\/General: smtp; 550 5\.1\.1/);
  });
});
