/**
 * The copy size bound (issue 13 item 5): every copy the router composes — rewrite and ARC seal
 * with a 4096-bit key — is at most `copySizeBound` of its classification, whatever the author
 * fields hold (the oracle is the composed copy itself); the guard refuses what SES would.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { composeCopy } from '../../../functions/core/compose/copy.js';
import { assertCopySize, copySizeBound } from '../../../functions/core/compose/copy-size.js';
import { SES_MAX_MESSAGE_BYTES } from '../../../functions/core/config.js';
import { classify, decide } from '../../../functions/core/decide.js';
import { zoneResolver } from '../../../functions/core/dns/zone-resolver.js';
import { SendRejectedError } from '../../../functions/core/errors.js';
import { parseReceiptEvent } from '../../../functions/core/ses-event.js';
import { dkimKey, message, NOW, sesEvent, sign, testConfig, zones } from '../../helpers/mail.js';

const arcKey = dkimKey('fwd.example.com', 'arc1', 4096);
const senderKey = dkimKey('sender.test');
const resolver = zoneResolver(zones([senderKey, arcKey]));
const config = testConfig({
  arc: { domain: 'fwd.example.com', selector: 'arc1', privateKey: { file: '/unused.pem' } },
});

/** Display names and addresses that grow when rewritten: 8-bit bytes, quotes, long runs. */
const name = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.uint8Array({ maxLength: 200 }).map((b) =>
    Buffer.from(b)
      .toString('latin1')
      .replace(/[\r\n<>,:;"]/g, '\xff'),
  ),
  fc.constantFrom('=?UTF-8?B?w6nDqcOp?=', '"quoted \\" name"', 'Ω'.repeat(300), '\xff'.repeat(500)),
);
const mailbox = fc
  .tuple(name, fc.constantFrom('alice@sender.test', 'x@example.org', 'y@third-party.test'))
  .map(([n, a]) => `${n} <${a}>`);
const authors = fc.record({
  from: fc.array(mailbox, { minLength: 1, maxLength: 4 }),
  replyTo: fc.option(fc.array(mailbox, { minLength: 1, maxLength: 3 }), { nil: undefined }),
  sender: fc.option(mailbox, { nil: undefined }),
  source: fc.constantFrom('alice@sender.test', `${'l'.repeat(60)}@sender.test`, '<>'),
  spf: fc.constantFrom('PASS', 'FAIL') as fc.Arbitrary<'PASS' | 'FAIL'>,
  signed: fc.boolean(),
});

describe('copySizeBound', () => {
  it('every composed, sealed copy is within the bound of its classification (property)', async () => {
    await fc.assert(
      fc.asyncProperty(authors, async (a) => {
        const headers = [
          ...(a.replyTo ? [`Reply-To: ${a.replyTo.join(', ')}`] : []),
          ...(a.sender ? [`Sender: ${a.sender}`] : []),
        ];
        let raw: Buffer = Buffer.concat([
          Buffer.from(message({ from: a.from.join(',\r\n '), headers }).toString('latin1'), 'latin1'),
        ]);
        if (a.signed) raw = await sign(raw, senderKey);
        const received = parseReceiptEvent(sesEvent({ source: a.source, spf: a.spf }));
        const c = await classify({ received, raw, config, resolver, now: NOW });
        const d = decide(c, {}, config, NOW);
        const bound = copySizeBound(c, config);
        for (const send of d.sends) {
          const copy = await composeCopy(
            send,
            raw,
            {
              messageId: received.mail.messageId,
              receivedAt: NOW.toISOString(),
              recipients: ['alias@example.com'],
              reasons: d.reasons,
            },
            c,
            { config, arcKey, resolver },
            NOW,
          );
          if (send.kind !== 'ndr') assert.ok(copy.includes('ARC-Seal: i=1;'), 'the copy is sealed');
          assert.ok(
            copy.length <= bound,
            `${send.kind} copy of ${copy.length} bytes over the bound ${bound}`,
          );
        }
      }),
      { numRuns: 150 },
    );
  });

  it('for an ordinary message the reserve is a few kilobytes of the 40 MB', async () => {
    const raw = await sign(message(), senderKey);
    const c = await classify({ received: parseReceiptEvent(sesEvent()), raw, config, resolver, now: NOW });
    const reserve = copySizeBound(c, config) - raw.length;
    assert.ok(reserve > 0 && reserve < 32 * 1024, `reserve ${reserve} bytes`);
  });
});

describe('assertCopySize (the guard before SendEmail)', () => {
  it('lets a copy of exactly 41,943,040 bytes through and refuses one byte more, as SES would', () => {
    assert.doesNotThrow(() => assertCopySize(Buffer.alloc(SES_MAX_MESSAGE_BYTES)));
    assert.throws(
      () => assertCopySize(Buffer.alloc(SES_MAX_MESSAGE_BYTES + 1)),
      (e: unknown) => e instanceof SendRejectedError && /41943041/.test(e.message),
    );
  });

  it('counts a copy in pieces (header block + body view) as the sum of its pieces', () => {
    const half = Buffer.alloc(SES_MAX_MESSAGE_BYTES / 2);
    assert.doesNotThrow(() => assertCopySize([half, half]));
    assert.doesNotThrow(() => assertCopySize([]));
    assert.throws(
      () => assertCopySize([half, Buffer.from('x'), half]),
      (e: unknown) => e instanceof SendRejectedError && e.refusal === 'size' && /41943041/.test(e.message),
    );
  });
});
