/**
 * The counting attacks of issue 12 end to end on the emulators (dynalite for the limits
 * table, s3rver, the SES v2 emulator): what the counters, the restrictions and the sends
 * really become, not what the decision says they should (SPEC 2a, 4).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { parseHeaders } from '../../functions/core/message.js';
import { processReceipt } from '../../functions/router/process.js';
import { dkimKey, message, NOW, sesEvent, sign } from '../helpers/mail.js';
import { type Harness, startHarness, withArcKey } from '../helpers/pipeline.js';

const attackerKey = dkimKey('attacker.test');
const senderKey = dkimKey('sender.test');
let h: Harness;
let seq = 0;
const nextId = () => `trust-${process.pid}-${++seq}`;

before(async () => {
  h = await startHarness(
    {
      routes: {
        'alias@example.com': ['dest@remote.test'],
        'list@example.com': ['l1@remote.test', 'l2@remote.test'],
        'loop@example.com': ['loop-back@example.org'],
        '@example.org': ['catchall@remote.test'],
      },
      limits: {
        default: { externalPerHour: 3, internalPerHour: 100, perDay: 100, recipientsPerMessage: 50 },
      },
      ndr: { perRecipientPerHour: 2 },
    },
    withArcKey([attackerKey, senderKey], {
      'attacker.test': { A: ['198.51.100.66'] },
      'victim.test': { A: ['198.51.100.69'] },
    }),
  );
});
after(async () => {
  await h.stop();
});
beforeEach(async () => {
  await h.emu.ses.clear();
  h.clock.now = NOW;
});

async function run(event: Parameters<typeof sesEvent>[0], raw: Buffer) {
  const messageId = nextId();
  await h.put(messageId, raw);
  return processReceipt(sesEvent({ ...event, messageId }), await h.deps());
}

async function counters(identity: string) {
  const deps = await h.deps();
  return deps.limits.peek(identity, h.clock.now);
}

describe('trust model on the emulators: counts and restrictions', () => {
  it('four spoofs of newsletter@example.com neither count against nor restrict it', async () => {
    const spoof = await sign(
      message({ from: 'Boss <boss@attacker.test>', to: 'list@example.com' }),
      attackerKey,
    );
    for (let i = 0; i < 4; i++) {
      const r = await run(
        { source: 'newsletter@example.com', spf: 'FAIL', recipients: ['list@example.com'] },
        spoof,
      );
      assert.notEqual(r.pool, 'normal');
      assert.ok(r.reasons.includes('spoofed-accepted-domain'));
    }
    assert.equal(await counters('newsletter@example.com'), null, 'no item for the claimed identity');
    const sent = h.emu.ses.sent();
    assert.ok(sent.every((s) => s.configurationSetName !== 'outbound-normal'));
    assert.ok(sent.every((s) => s.feedbackForwardingEmailAddress !== 'newsletter@example.com'));
    // The real newsletter is not restricted: its genuine mail still goes normal.
    await h.emu.ses.clear();
    const genuine = await run(
      { source: 'newsletter@example.com', spf: 'PASS', recipients: ['alias@example.com'] },
      message({ from: 'newsletter@example.com' }),
    );
    assert.equal(genuine.pool, 'normal');
  });

  it('a restricted route: its blocked mail is never counted, so it does not keep counting', async () => {
    const msg = message({ from: 'alice@sender.test', to: 'alias@example.com' });
    const results = [];
    for (let i = 0; i < 8; i++)
      results.push(await run({ spf: 'PASS', recipients: ['alias@example.com'] }, msg));
    assert.deepEqual(
      results.map((r) => r.pool),
      ['normal', 'normal', 'normal', 'blocked', 'blocked', 'blocked', 'blocked', 'blocked'],
    );
    assert.ok(results[3]!.reasons.includes('limit-external-hour'));
    assert.ok(results[4]!.reasons.includes('sender-restricted'));
    const state = await counters('alias@example.com');
    assert.equal(state?.counters.externalHour, 3, 'only the three sent copies are counted');
    assert.ok(state?.restriction, 'restricted');
  });

  it('NDR-shaped mail (a null MAIL FROM) is counted against the route like any copy', async () => {
    const bounce = message({ from: 'mailer-daemon@sender.test', to: 'x@example.org' });
    const pools = [];
    for (let i = 0; i < 5; i++)
      pools.push((await run({ source: '', recipients: [`x${i}@example.org`] }, bounce)).pool);
    // The catch-all is one identity, `@example.org`: three copies, then blocked.
    assert.deepEqual(pools, ['high-risk', 'high-risk', 'high-risk', 'blocked', 'blocked']);
    assert.equal(h.emu.ses.sent().length, 3);
    assert.equal((await counters('@example.org'))?.counters.externalHour, 3);
    assert.equal(await counters('x0@example.org'), null, 'no identity per local part');
  });

  it('sub-address variants of a restricted genuine sender share one identity', async () => {
    const pools = [];
    for (let i = 0; i < 5; i++) {
      const source = `carol+v${i}@example.com`;
      const r = await run(
        { source, spf: 'PASS', recipients: ['alias@example.com'] },
        message({ from: source }),
      );
      pools.push(r.pool);
    }
    assert.deepEqual(pools, ['normal', 'normal', 'normal', 'blocked', 'blocked']);
    assert.equal((await counters('carol@example.com'))?.counters.externalHour, 3);
    assert.equal(await counters('carol+v4@example.com'), null);
  });

  it('NDRs to one address are capped per hour (ndr.perRecipientPerHour), counted in the limits table', async () => {
    const ndrs = [];
    for (let i = 0; i < 4; i++) {
      const r = await run(
        { source: 'dave@sender.test', spf: 'PASS', virus: 'FAIL', recipients: ['alias@example.com'] },
        message({ from: 'dave@sender.test' }),
      );
      assert.equal(r.pool, 'blocked');
      ndrs.push(r.sends.length);
    }
    assert.deepEqual(ndrs, [1, 1, 0, 0]);
    const sent = h.emu.ses.sent();
    assert.deepEqual(
      sent.map((s) => s.destination.ToAddresses),
      [['dave@sender.test'], ['dave@sender.test']],
    );
    // The NDR carries at most 16 KB of the original header block.
    assert.ok(sent.every((s) => s.raw.length < 32 * 1024));
    // The next hour starts a new count.
    h.clock.now = new Date(NOW.getTime() + 3_600_000);
    const later = await run(
      { source: 'dave@sender.test', spf: 'PASS', virus: 'FAIL', recipients: ['alias@example.com'] },
      message({ from: 'dave@sender.test' }),
    );
    assert.equal(later.sends.length, 1);
  });

  it('a copy that comes back to its route carries our loop marker and is blocked, loop', async () => {
    // loop@example.com forwards to loop-back@example.org, whose catch-all we also route: the
    // copy we send for `loop@` is what would arrive back.
    const first = await run(
      { source: 'alice@sender.test', spf: 'PASS', recipients: ['loop@example.com'] },
      message({ from: 'alice@sender.test', to: 'loop@example.com' }),
    );
    assert.equal(first.pool, 'normal');
    const copy = h.emu.ses.sent()[0]!.raw;
    const markers = parseHeaders(copy).getAll('x-outbound-pools-loop');
    assert.equal(markers.length, 1);
    assert.match(markers[0]!, /^loop@example\.com; [A-Za-z0-9_-]{16}$/);
    await h.emu.ses.clear();
    const back = await run(
      { source: 'alice@sender.test', spf: 'PASS', recipients: ['loop@example.com'] },
      copy,
    );
    assert.equal(back.pool, 'blocked');
    assert.ok(back.reasons.includes('loop'));
    assert.equal(h.emu.ses.sent().length, 0, 'no copy and no NDR for a loop');
  });
});
