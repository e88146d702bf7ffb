/**
 * `ndr.perRecipientPerHour` (SPEC 3 rule 1) counts one mailbox, however its address is
 * spelled: found in a review (December 2026), the counter was keyed by the literal envelope
 * sender, so a quoted local part, a sub-address or a root dot each got a fresh counter and
 * another NDR. On the emulators, virus-blocked mail from an SPF-authenticated sender.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { processReceipt } from '../../functions/router/process.js';
import { message, sesEvent } from '../helpers/mail.js';
import { type Harness, startHarness, withArcKey } from '../helpers/pipeline.js';

let h: Harness;
before(async () => {
  h = await startHarness({ ndr: { perRecipientPerHour: 1 } }, withArcKey());
});
after(async () => h?.stop());

it('one mailbox gets at most perRecipientPerHour NDRs, quoted, sub-addressed or with a root dot', async () => {
  // Prepare / Act
  const spellings = [
    'alice@sender.test',
    '"alice"@sender.test',
    '"al\\ice"@sender.test',
    'Alice+x@sender.test',
    'alice@sender.test.',
  ];
  for (const [i, source] of spellings.entries()) {
    const messageId = `virus-${i}`;
    await h.put(messageId, message());
    const r = await processReceipt(
      sesEvent({ messageId, source, recipients: ['alias@example.com'], spf: 'PASS', virus: 'FAIL' }),
      await h.deps(),
    );
    assert.equal(r.pool, 'blocked', source);
  }
  // Assess
  const ndrs = h.emu.ses.sent().filter((s) => s.emailTags.find((t) => t.Name === 'kind')?.Value === 'ndr');
  assert.deepEqual(
    ndrs.map((s) => s.destination.ToAddresses),
    [['alice@sender.test']],
  );
});
