/**
 * A copy in pieces (`composeCopyParts`, issue 16): the received body is sent as a view of the
 * received message, not copied, and the pieces joined are the copy `composeCopy` builds. The
 * seal over the pieces is checked by mailauth (its body hash covers every byte of the body).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authenticate } from 'mailauth';
import type { ArcSigningKey } from '../../../functions/core/compose/arc.js';
import { composeCopy, composeCopyParts } from '../../../functions/core/compose/copy.js';
import { splitMessage } from '../../../functions/core/compose/rewrite.js';
import type { Config } from '../../../functions/core/config.js';
import { classify, decide } from '../../../functions/core/decide.js';
import { zoneResolver } from '../../../functions/core/dns/zone-resolver.js';
import { parseReceiptEvent } from '../../../functions/core/ses-event.js';
import { dkimKey, message, NOW, sesEvent, sign, testConfig, zones } from '../../helpers/mail.js';

const arcKey = dkimKey('fwd.example.com', 'arc1');
const senderKey = dkimKey('sender.test');
const zoneMap = zones([senderKey, arcKey]);
const resolver = zoneResolver(zoneMap);
const arcConfig = testConfig({
  arc: { domain: 'fwd.example.com', selector: 'arc1', privateKey: { file: '/unused.pem' } },
});

/** The message's sends with their classification, composed both ways. */
async function copies(
  raw: Buffer,
  config: Config,
  key: ArcSigningKey | null,
  event = sesEvent({ spf: 'PASS' }),
) {
  const received = parseReceiptEvent(event);
  const c = await classify({ received, raw, config, resolver, now: NOW });
  const d = decide(c, {}, config, NOW);
  const context = {
    messageId: received.mail.messageId,
    receivedAt: NOW.toISOString(),
    recipients: ['alias@example.com'],
    reasons: d.reasons,
  };
  const deps = { config, arcKey: key, resolver };
  return Promise.all(
    d.sends.map(async (send) => ({
      send,
      c,
      parts: await composeCopyParts(send, raw, context, c, deps, NOW),
      joined: await composeCopy(send, raw, context, c, deps, NOW),
    })),
  );
}

/** True when `view` is `raw`'s own bytes from `offset` on (no copy). */
const isViewOf = (view: Buffer, raw: Buffer, offset: number) =>
  view.buffer === raw.buffer &&
  view.byteOffset === raw.byteOffset + offset &&
  view.length === raw.length - offset;

const bodyOffset = (raw: Buffer) => raw.length - splitMessage(raw).body.length;

const sealVerifies = async (copy: Buffer) => {
  const auth = await authenticate(copy, {
    ip: '192.0.2.99',
    helo: 'mx.example.com',
    sender: 'bounce@example.com',
    resolver,
    trustReceived: false,
  });
  return auth.arc ? auth.arc.status.result : 'none';
};

describe('composeCopyParts', () => {
  const body = `${'A body line that the seal must cover, byte for byte.\r\n'.repeat(200)}end\r\n`;

  it('sealed with the arrival body hash: seal + header, then the received body as a view', async () => {
    const raw = await sign(message({ body }), senderKey);
    const [copy] = await copies(raw, arcConfig, arcKey);
    assert.ok(copy!.c.dkim.bodyHash, 'the arrival pass hashed the body');
    assert.equal(copy!.parts.length, 2);
    assert.ok(isViewOf(copy!.parts[1]!, raw, bodyOffset(raw)));
    assert.match(copy!.parts[0]!.toString('latin1'), /^ARC-Seal: i=1;/);
    assert.ok(Buffer.concat(copy!.parts).equals(copy!.joined));
    assert.equal(await sealVerifies(copy!.joined), 'pass');
  });

  it('sealed without an arrival body hash: one piece, the seal still verifying', async () => {
    // No `arc` in the configuration: classify computes no body hash; the key seals anyway.
    const raw = await sign(message({ body }), senderKey);
    const [copy] = await copies(raw, testConfig(), arcKey);
    assert.equal(copy!.c.dkim.bodyHash, undefined);
    assert.equal(copy!.parts.length, 1);
    assert.ok(copy!.parts[0]!.equals(copy!.joined));
    assert.equal(await sealVerifies(copy!.joined), 'pass');
  });

  it('unsealed: the new header block, then the received body as a view', async () => {
    const raw = message({ body });
    const [copy] = await copies(raw, arcConfig, null);
    assert.equal(copy!.parts.length, 2);
    assert.ok(isViewOf(copy!.parts[1]!, raw, bodyOffset(raw)));
    assert.doesNotMatch(copy!.parts[0]!.toString('latin1'), /ARC-Seal/);
    assert.ok(Buffer.concat(copy!.parts).equals(copy!.joined));
  });

  it('an NDR is one piece of its own, sharing no bytes with the received message', async () => {
    // A virus verdict blocks the message; its SPF-authenticated sender gets an NDR (SPEC 3 rule 1).
    const raw = message({ body });
    const ndrs = (await copies(raw, arcConfig, arcKey, sesEvent({ spf: 'PASS', virus: 'FAIL' }))).filter(
      (x) => x.send.kind === 'ndr',
    );
    assert.equal(ndrs.length, 1);
    assert.equal(ndrs[0]!.parts.length, 1);
    assert.notEqual(ndrs[0]!.parts[0]!.buffer, raw.buffer);
    assert.ok(ndrs[0]!.parts[0]!.equals(ndrs[0]!.joined));
  });
});
