/**
 * The arriving ARC chain is read once per message, not once per copy (review K, finding 3):
 * a forwarded message goes out as one copy per alias (up to 50), every copy carries the same
 * ARC fields, and reading 50 sets costs ~25 ms (mailauth parses each ARC-Authentication-Results
 * value character by character).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ArcSealOptions,
  type ArcSigningKey,
  arcSeal,
  type ChainStatus,
  sealArc,
} from '../../../functions/core/compose/arc.js';
import { chainParser } from '../../../functions/core/compose/arc-chain.js';
import { composeCopy } from '../../../functions/core/compose/copy.js';
import { joinMessage, type RewriteOptions, rewriteHeader } from '../../../functions/core/compose/rewrite.js';
import { classify, decide } from '../../../functions/core/decide.js';
import { type DkimEvaluation, evaluateDkim } from '../../../functions/core/dkim.js';
import { zoneResolver } from '../../../functions/core/dns/zone-resolver.js';
import { parseReceiptEvent } from '../../../functions/core/ses-event.js';
import { dkimKey, message, NOW, sesEvent, sign, testConfig, zones } from '../../helpers/mail.js';

const EMPTY = Buffer.alloc(0);

describe('ARC chain read once per message: the router path (composeCopy)', () => {
  const arcKey = dkimKey('fwd.example.com', 'arc1');
  const resolver = zoneResolver(zones([arcKey]));
  const aliases = Array.from({ length: 50 }, (_, i) => `a${i}@example.com`);
  const config = testConfig({
    routes: Object.fromEntries(aliases.map((a, i) => [a, [`d${i}@remote.test`]])),
    arc: { domain: 'fwd.example.com', selector: 'arc1', privateKey: { file: '/unused.pem' } },
    // 50 sets of ~1.9 KB: raised from 24 KB so the chain is read (by default such a message is
    // blocked unread, docs/hostile-input.md); what is measured is reading it once per message.
    bounds: { signatureFieldBytes: 128 * 1024 },
    limits: {
      default: { externalPerHour: 500, internalPerHour: 500, perDay: 500, recipientsPerMessage: 600 },
    },
  });

  /** `n` ARC sets (i=n first, as each hop adds on top), with long ARC-Authentication-Results. */
  function withSets(n: number): Buffer {
    return message({
      headers: Array.from({ length: n }, (_, k) => {
        const i = n - k;
        return [
          `ARC-Seal: i=${i}; a=rsa-sha256; cv=pass; d=x.test; s=s; t=1; b=${'A'.repeat(340)}`,
          `ARC-Message-Signature: i=${i}; a=rsa-sha256; c=relaxed/relaxed; d=x.test; s=s; h=from:to; bh=${'A'.repeat(43)}=; b=${'A'.repeat(340)}`,
          `ARC-Authentication-Results: i=${i}; x.test; spf=pass; dkim=pass${'; x=y'.repeat(150)}`,
        ];
      }).flat(),
    });
  }

  /** A message with a header block of the same size as `raw`'s, without ARC fields. */
  function sameSizeHeader(raw: Buffer): Buffer {
    const headers: string[] = [];
    for (let n = 0, i = 0; n < raw.length - 600; i++) {
      const h = `X-Filler-${i}: ${'lorem ipsum '.repeat(5)}`;
      headers.push(h);
      n += h.length + 2;
    }
    return message({ headers });
  }

  /** Every copy of `raw` (one per alias), and the CPU time composing them took. */
  async function copies(raw: Buffer): Promise<{ out: Buffer[]; ms: number }> {
    const received = parseReceiptEvent(sesEvent({ recipients: aliases }));
    const c = await classify({ received, raw, config, resolver, now: NOW });
    const d = decide(c, {}, config, NOW);
    assert.equal(d.sends.length, 50);
    const ctx = { messageId: 'm', receivedAt: NOW.toISOString(), recipients: aliases, reasons: d.reasons };
    const out: Buffer[] = [];
    const start = process.cpuUsage();
    for (const send of d.sends)
      out.push(await composeCopy(send, raw, ctx, c, { config, arcKey, resolver }, NOW));
    const u = process.cpuUsage(start);
    return { out, ms: (u.user + u.system) / 1000 };
  }

  for (const { sets, sealed } of [
    { sets: 49, sealed: 'each copy sealed as i=50' },
    { sets: 50, sealed: 'a full chain, no copy sealed' },
  ]) {
    it(`reads a chain of ${sets} sets once for 50 copies (${sealed})`, async (t) => {
      // Prepare
      const raw = withSets(sets);
      const reads = t.mock.method(chainParser, 'getARChain');
      // Act
      const { out } = await copies(raw);
      // Assess
      assert.equal(reads.mock.callCount(), 1);
      const seals = out.map((m) => /^ARC-Seal: i=(\d+)/.exec(m.toString('latin1'))?.[1]);
      assert.deepEqual(seals, Array(50).fill(sets === 50 ? undefined : '50'));
    });
  }

  for (const sets of [49, 50]) {
    it(`50 copies of a message with ${sets} ARC sets cost at most 2x 50 copies of one with a header of the same size`, async (t) => {
      // Prepare
      const arcSets = withSets(sets);
      const benign = sameSizeHeader(arcSets);
      await copies(arcSets);
      await copies(benign);
      const withChain: number[] = [];
      const without: number[] = [];
      // Act
      for (let i = 0; i < 3; i++) {
        withChain.push((await copies(arcSets)).ms);
        without.push((await copies(benign)).ms);
      }
      // Assess: medians (x3.7-6.7 when the chain was read for every copy, ~x0.7 since)
      const mh = withChain.sort((a, b) => a - b)[1]!;
      const mo = without.sort((a, b) => a - b)[1]!;
      t.diagnostic(`${mh.toFixed(0)} ms vs ${mo.toFixed(0)} ms (x${(mh / mo).toFixed(2)})`);
      assert.ok(
        mh <= 2 * mo,
        `${mh.toFixed(0)} ms of CPU for the copies vs ${mo.toFixed(0)} ms (x${(mh / mo).toFixed(1)})`,
      );
    });
  }
});

describe('ARC chain read once per message: the seal of each copy (sealArc)', () => {
  const senderKey = dkimKey('sender.test');
  const ours = dkimKey('fwd.example.com', 'arc1');
  const hop = dkimKey('relay.example.net', 'arc2');
  const resolver = zoneResolver(zones([senderKey, ours, hop]));
  const keyOf = (k: typeof ours): ArcSigningKey => ({
    domain: k.domain,
    selector: k.selector,
    privateKey: k.privateKey,
  });
  const PASSING: DkimEvaluation = {
    signatures: [{ domain: 'sender.test', selector: 'sel1', result: 'pass', aligned: true }],
    alignedPass: true,
    temperror: false,
  };
  const opts = (over: Partial<ArcSealOptions> = {}): ArcSealOptions => ({
    key: keyOf(ours),
    authservId: 'mx.fwd.example.com',
    results: {
      spf: 'PASS',
      dmarc: 'PASS',
      envelopeSender: 'alice@sender.test',
      fromDomain: 'sender.test',
      dkim: PASSING,
    },
    resolver,
    now: new Date(),
    ...over,
  });
  /** Copies as the router writes them for different routes: From, pool and loop markers differ. */
  const sends: RewriteOptions[] = ['a', 'b', 'c'].map((alias, i) => ({
    send: {
      from: `"Alice via example.com" <${alias}@example.com>`,
      fromRewritten: i !== 1,
      replyTo: '<alice@sender.test>',
      envelopeFrom: `bounce-${alias}@fwd.example.com`,
      pool: i === 2 ? ('normal' as const) : ('relay' as const),
    },
    reasons: ['unauthenticated-relay' as const],
    inboundMessageId: 'inbound-0001',
    dkim: PASSING,
    loopMarkers: [`marker-${alias}`],
  }));

  /** A signed message that went through two ARC hops that say which authserv-id they are. */
  async function arrival(authservId = 'mx.relay.example.net'): Promise<Buffer> {
    let raw = await sign(message(), senderKey);
    for (let i = 0; i < 2; i++) raw = await arcSeal(raw, opts({ key: keyOf(hop), authservId }));
    return raw;
  }

  async function bodyHashOf(raw: Buffer, now: Date): Promise<string> {
    const { bodyHash } = await evaluateDkim(raw, 'sender.test', resolver, now, { bodyHash: true });
    assert.ok(bodyHash);
    return bodyHash;
  }

  it('seals every copy over a passing chain byte for byte as a fresh read of the chain and as mailauth do, reading it once', async (t) => {
    // Prepare
    const arrived = await arrival();
    const now = new Date();
    const bodyHash = await bodyHashOf(arrived, now);
    const parts = sends.map((s) => rewriteHeader(arrived, s));
    const reads = t.mock.method(chainParser, 'getARChain');
    // Act
    const shared: Awaited<ReturnType<typeof sealArc>>[] = [];
    for (const p of parts)
      shared.push(
        await sealArc({ header: p.header, body: EMPTY }, opts({ now, received: arrived, bodyHash })),
      );
    // Assess
    assert.equal(reads.mock.callCount(), 1);
    for (const [i, p] of parts.entries()) {
      const copy = shared[i]!;
      assert.equal(copy.cv, 'pass');
      assert.equal(copy.instance, 3);
      // a fresh read: `received` a key never seen
      const fresh = await sealArc(
        { header: p.header, body: EMPTY },
        opts({ now, received: Buffer.from(arrived), bodyHash }),
      );
      assert.ok(copy.message.equals(fresh.message), `copy ${i}: as a fresh read`);
      // mailauth hashing and sealing the whole copy
      const reference = await sealArc(joinMessage(p), opts({ now, received: arrived }));
      assert.ok(Buffer.concat([copy.message, p.body]).equals(reference.message), `copy ${i}: as mailauth`);
    }
  });

  it('reads the chain again for a copy whose ARC fields are not those read, and seals it over its own', async (t) => {
    // Prepare: the same message with one more set on top
    const arrived = await arrival();
    const now = new Date();
    const bodyHash = await bodyHashOf(arrived, now);
    const longer = await arcSeal(arrived, opts({ key: keyOf(hop), authservId: 'mx.relay.example.net' }));
    const first = rewriteHeader(arrived, sends[0]!);
    const other = rewriteHeader(longer, sends[0]!);
    const reads = t.mock.method(chainParser, 'getARChain');
    // Act
    const a = await sealArc(
      { header: first.header, body: EMPTY },
      opts({ now, received: arrived, bodyHash }),
    );
    const b = await sealArc(
      { header: other.header, body: EMPTY },
      opts({ now, received: arrived, bodyHash }),
    );
    // Assess
    assert.equal(reads.mock.callCount(), 2);
    assert.deepEqual([a.instance, b.instance], [3, 4]);
    const fresh = await sealArc(
      { header: other.header, body: EMPTY },
      opts({ now, received: longer, bodyHash }),
    );
    assert.ok(b.message.equals(fresh.message));
  });

  it('works out whether a set claims our authserv-id for each authserv-id and key', async () => {
    // Prepare: the hops wrote *our* authserv-id in their results
    const arrived = await arrival('mx.fwd.example.com');
    const now = new Date();
    const bodyHash = await bodyHashOf(arrived, now);
    const copy = rewriteHeader(arrived, sends[0]!);
    const seal = async (over: Partial<ArcSealOptions>): Promise<ChainStatus> =>
      (
        await sealArc(
          { header: copy.header, body: EMPTY },
          opts({ now, received: arrived, bodyHash, ...over }),
        )
      ).cv;
    // Act / Assess
    assert.equal(await seal({}), 'fail');
    assert.equal(await seal({ authservId: 'mx.other.example' }), 'pass');
    // sealed with the hops' own key, the sets are ours and claim rightly
    assert.equal(await seal({ key: keyOf(hop) }), 'pass');
    assert.equal(await seal({}), 'fail');
  });
});
