/**
 * A message over the streaming threshold (1 MiB) through the router against the emulators: its
 * copy goes to SES as pieces (the new header block, the ARC seal's fields, a view of the
 * received body) in a streamed request body (`adapters/ses-raw-stream.ts`). What the SES
 * emulator decoded must be, byte for byte, the copy `composeCopy` builds in one buffer (what
 * `dry-run --write-copies` writes), sealed or not, and a refusal of it must still be answered.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { authenticate } from 'mailauth';
import { STREAM_FROM_BYTES } from '../../functions/adapters/ses-raw-stream.js';
import { classify } from '../../functions/core/classify.js';
import { composeCopy } from '../../functions/core/compose/copy.js';
import { splitMessage } from '../../functions/core/compose/rewrite.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { parseReceiptEvent } from '../../functions/core/ses-event.js';
import { processReceipt } from '../../functions/router/process.js';
import { dkimKey, message, NOW, sesEvent, sign, zones } from '../helpers/mail.js';
import { type Harness, startHarness, withArcKey } from '../helpers/pipeline.js';

const senderKey = dkimKey('sender.test');
let h: Harness;
let seq = 0;

/** A text body of `bytes` bytes, lines of 76 characters, not a multiple of 3 long. */
function bigBody(bytes: number): string {
  const line = `${'0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'.repeat(2).slice(0, 76)}\r\n`;
  return `${line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes - 2)}\r\n`;
}

before(async () => {
  h = await startHarness({ maxMessageBytes: 5_000_000 }, withArcKey([senderKey]));
});
after(() => h.stop());
beforeEach(async () => {
  await h.emu.ses.clear();
  h.clock.now = NOW;
});

/** The router's copy of `raw` for the event, composed in one buffer from its trace record. */
async function expectedCopy(
  messageId: string,
  event: unknown,
  raw: Buffer,
  sealed: boolean,
): Promise<Buffer> {
  const record = await h.trace.get(messageId);
  const summary = record!.summary!;
  const deps = await h.deps();
  const c = await classify({
    received: parseReceiptEvent(event),
    raw,
    config: h.config,
    resolver: deps.resolver,
    now: NOW,
    finalAttempt: false,
  });
  return composeCopy(
    summary.plan[0]!,
    raw,
    summary,
    c,
    { config: h.config, arcKey: sealed ? deps.arcKey : null, resolver: deps.resolver },
    NOW,
  );
}

describe('router: a message over the streaming threshold', () => {
  const raw = () => sign(message({ body: bigBody(STREAM_FROM_BYTES + 100_001) }), senderKey);

  for (const sealed of [true, false]) {
    it(`${sealed ? 'sealed' : 'unsealed'}: SES receives the composed copy byte for byte`, async () => {
      // Prepare
      const bytes = await raw();
      const messageId = `big-${process.pid}-${++seq}`;
      await h.put(messageId, bytes);
      const event = sesEvent({ messageId, spf: 'PASS' });
      // Act
      const result = await processReceipt(event, await h.deps(sealed ? {} : { arcKey: null }));
      // Assess
      assert.equal(result.pool, 'normal');
      const sent = h.emu.ses.sent();
      assert.equal(sent.length, 1);
      const copy = sent[0]!.raw;
      assert.ok(copy.length > STREAM_FROM_BYTES);
      assert.ok(copy.equals(await expectedCopy(messageId, event, bytes, sealed)));
      assert.ok(splitMessage(copy).body.equals(splitMessage(bytes).body));
      if (sealed) {
        // An oracle of its own: mailauth verifies the seal, whose body hash covers every byte.
        const auth = await authenticate(copy, {
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
      }
    });
  }

  it('a streamed copy SES refuses is recorded, and the authenticated sender gets its NDR', async () => {
    // Prepare
    h.emu.ses.failNext(1, { status: 400, code: 'MessageRejected', message: 'Message contains a virus.' });
    const messageId = `big-${process.pid}-${++seq}`;
    await h.put(messageId, await raw());
    // Act
    const result = await processReceipt(
      sesEvent({ messageId, source: 'carol@sender.test', spf: 'PASS' }),
      await h.deps(),
    );
    // Assess
    assert.equal(result.sends[0]?.status, 'failed');
    assert.equal(result.sends[0]?.refusal, 'content');
    assert.equal(result.sends[1]?.kind, 'ndr');
    assert.equal(result.sends[1]?.status, 'sent');
    const sent = h.emu.ses.sent();
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]!.destination.ToAddresses, ['carol@sender.test']);
    assert.match(sent[0]!.raw.toString('latin1'), /^Status: 5\.6\.0\r$/m);
  });
});
