/**
 * Bounces reversed to the original sender (`srs-bounce`, SPEC 3 rule 2) share the mailbox's
 * hourly NDR count (`ndr.perRecipientPerHour`, SPEC 3 rule 1). Found in a review (December
 * 2026): they were counted nowhere, so anyone holding one of our SRS addresses (every copy's
 * return path carries one, valid for days) could send bounces to it without end, each
 * reversed, its content the attacker's, through `high-risk` to the sender it names. On the
 * emulators.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Srs } from '../../functions/core/srs.js';
import { processReceipt } from '../../functions/router/process.js';
import { message, NOW, sesEvent } from '../helpers/mail.js';
import { type Harness, startHarness, withArcKey } from '../helpers/pipeline.js';

const MAX = 3;
let h: Harness;
before(async () => {
  h = await startHarness({ ndr: { perRecipientPerHour: MAX } }, withArcKey());
});
after(async () => h?.stop());

let n = 0;
/** A bounce (null reverse path) to `recipient`, processed; its outcome. */
async function bounce(recipient: string, warnings: string[] = []) {
  const messageId = `bounce-${++n}`;
  await h.put(
    messageId,
    message({
      from: 'MAILER-DAEMON <mailer-daemon@remote.test>',
      subject: 'Undelivered Mail Returned to Sender',
    }),
  );
  return processReceipt(
    sesEvent({ messageId, source: '', recipients: [recipient] }),
    await h.deps({ observer: { warn: (m) => void warnings.push(m) } }),
  );
}

const reversedTo = (mailbox: string) =>
  h.emu.ses
    .sent()
    .filter(
      (s) =>
        s.emailTags.find((t) => t.Name === 'kind')?.Value === 'srs-bounce' &&
        s.destination.ToAddresses?.[0] === mailbox,
    ).length;

it(`at most ndr.perRecipientPerHour (${MAX}) bounces an hour are reversed to one sender; another sender still gets its own`, async () => {
  // Prepare: the SRS addresses of two original senders, as our copies' return paths carry them.
  const srs = new Srs(h.config.srs);
  const victim = srs.forward('victim@sender.test', NOW);
  const other = srs.forward('other@sender.test', NOW);
  // Act: a stream of bounces to the victim's SRS address within one clock hour.
  const warnings: string[] = [];
  const outcomes = [];
  for (let i = 0; i < MAX + 4; i++) outcomes.push(await bounce(victim, warnings));
  const others = await bounce(other);
  // Assess: each decided as a reversed bounce through high-risk; only MAX sent to the victim.
  for (const o of outcomes) assert.equal(o.pool, 'high-risk');
  assert.equal(reversedTo('victim@sender.test'), MAX);
  assert.equal(
    warnings.filter((w) => /^reversed bounce not sent: over the per-recipient hourly limit/.test(w)).length,
    4,
  );
  assert.equal(others.pool, 'high-risk');
  assert.equal(reversedTo('other@sender.test'), 1);
  // The next clock hour: the victim's count starts again.
  h.clock.now = new Date(NOW.getTime() + 3_600_000);
  await bounce(srs.forward('victim@sender.test', h.clock.now));
  assert.equal(reversedTo('victim@sender.test'), MAX + 1);
});
