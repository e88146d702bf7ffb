/**
 * DKIM within a budget (issue 13 item 2): the budgeted verifier and the shared body hashes
 * must give, for every signature they verify, the verdict mailauth's own `dkimVerify` gives
 * (the oracle: the unmodified library, one hasher per `l=`), and the same seal body hash.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { evaluateDkim, parsedDkimFields } from '../../functions/core/dkim.js';

/** DKIM-Signature fields read at the default budget (5 verified). */
const MAX_PARSED_DKIM_FIELDS = parsedDkimFields(5);

import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { dkimKey, message, NOW, zones } from '../helpers/mail.js';

const keys = [dkimKey('sender.test', 'k1'), dkimKey('sender.test', 'k2'), dkimKey('other.test', 'k3')];
const resolver = zoneResolver(zones(keys, { 'other.test': { A: ['192.0.2.9'] } }));

interface Spec {
  key: number;
  canonicalization: string;
  length: number | null;
}

async function signAll(raw: Buffer, specs: Spec[]): Promise<Buffer> {
  const result = await dkimSign(raw, {
    signTime: NOW,
    signatureData: specs.map((s) => ({
      signingDomain: keys[s.key]!.domain,
      selector: keys[s.key]!.selector,
      privateKey: keys[s.key]!.privateKey,
      canonicalization: s.canonicalization,
      ...(s.length === null ? {} : { maxBodyLength: s.length }),
    })),
  } as unknown as Parameters<typeof dkimSign>[1]);
  assert.deepEqual(result.errors ?? [], []);
  return Buffer.concat([Buffer.from(result.signatures), raw]);
}

/** The DKIM-Signature (only) of `raw` by key 0, its h= being `headerList`. */
async function signOver(raw: Buffer, headerList: string): Promise<{ signatures: string }> {
  return (await dkimSign(raw, {
    signTime: NOW,
    signatureData: [
      {
        signingDomain: keys[0]!.domain,
        selector: keys[0]!.selector,
        privateKey: keys[0]!.privateKey,
        headerList,
      },
    ],
  } as unknown as Parameters<typeof dkimSign>[1])) as { signatures: string };
}

/**
 * The oracle: mailauth's dkimVerify, statuses by `d=`/`s=`, and its seal body hash. A pass
 * that mailauth reports with unsigned bytes after an `l=` prefix (`status.underSized`) is
 * `policy` for us (dkim.ts, RFC 6376 8.2).
 */
async function oracle(raw: Buffer) {
  const seal = {} as { bodyHash?: string };
  const r = await dkimVerify(raw, { resolver, curTime: NOW, seal } as unknown as Parameters<
    typeof dkimVerify
  >[1]);
  return {
    results: r.results
      .filter((x) => x.signingDomain)
      .map((x) => {
        const status = x.status as { result: string; underSized?: number };
        const result = status.result === 'pass' && (status.underSized ?? 0) > 0 ? 'policy' : status.result;
        return `${x.signingDomain}/${x.selector}=${result}`;
      }),
    bodyHash: seal.bodyHash,
  };
}

const spec = fc.record({
  key: fc.integer({ min: 0, max: 2 }),
  canonicalization: fc.constantFrom('relaxed/relaxed', 'simple/simple', 'relaxed/simple', 'simple/relaxed'),
  length: fc.option(fc.integer({ min: 0, max: 400 }), { nil: null }),
});
const body = fc
  .array(fc.constantFrom('line of text', '', '  spaced   out  ', '\t', 'x'.repeat(120), '--b', '.'), {
    maxLength: 30,
  })
  .map((lines) => `${lines.join('\r\n')}${lines.length % 2 ? '\r\n\r\n' : ''}`);

describe('DKIM budget: what is verified is verified as mailauth verifies it', () => {
  it('up to the budget, every verdict and the seal body hash equal mailauth dkimVerify (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(spec, { minLength: 1, maxLength: 5 }), body, async (specs, text) => {
        const raw = await signAll(message({ body: text }), specs);
        const got = await evaluateDkim(raw, 'sender.test', resolver, NOW, { bodyHash: true });
        const want = await oracle(raw);
        assert.deepEqual(
          got.signatures.map((s) => `${s.domain}/${s.selector}=${s.result}`),
          want.results,
        );
        assert.equal(got.bodyHash, want.bodyHash);
        assert.equal(got.unverified, undefined);
      }),
      { numRuns: 60 },
    );
  });

  it('l= covering the whole body passes; shorter (unsigned bytes follow) is policy, said why', async () => {
    const text = 'first line\r\nsecond line\r\n';
    const raw = await signAll(message({ body: text }), [
      { key: 0, canonicalization: 'relaxed/relaxed', length: 5 },
      { key: 1, canonicalization: 'relaxed/relaxed', length: null },
      { key: 0, canonicalization: 'relaxed/relaxed', length: 0 },
      { key: 1, canonicalization: 'simple/simple', length: 11 },
      { key: 1, canonicalization: 'relaxed/relaxed', length: Buffer.byteLength(text) },
    ]);
    const got = await evaluateDkim(raw, 'sender.test', resolver, NOW);
    assert.deepEqual(
      got.signatures.map((s) => s.result),
      ['policy', 'pass', 'policy', 'policy', 'pass'],
    );
    assert.equal(
      got.signatures[0]!.comment,
      `l= leaves ${Buffer.byteLength(text) - 5} bytes of the body unsigned`,
    );
    assert.equal(got.alignedPass, true, 'the whole-body signatures still align');
  });

  it('over the budget: the aligned signatures first, the rest counted as unverified', async () => {
    const specs: Spec[] = [
      ...Array.from({ length: 4 }, (_, i) => ({ key: 2, canonicalization: 'relaxed/relaxed', length: i })),
      { key: 0, canonicalization: 'relaxed/relaxed', length: null },
    ];
    const raw = await signAll(message(), specs);
    const got = await evaluateDkim(raw, 'sender.test', resolver, NOW, { maxSignatures: 2 });
    assert.equal(got.signatures.length, 2);
    assert.equal(got.unverified, 3);
    assert.ok(
      got.signatures.some((s) => s.domain === 'sender.test'),
      'the From-aligned one is verified, whatever its place (5th)',
    );
    assert.equal(got.alignedPass, true);
    // Without a From domain, the envelope domain's signature is preferred (the 5th).
    const env = await evaluateDkim(raw, undefined, resolver, NOW, {
      maxSignatures: 1,
      envelopeDomain: 'sender.test',
    });
    assert.deepEqual(
      env.signatures.map((s) => s.domain),
      ['sender.test'],
    );
  });

  it(`past ${MAX_PARSED_DKIM_FIELDS} DKIM-Signature fields the rest are unread; a signature over them verifies as mailauth says`, async () => {
    const decoy = (i: number) =>
      `DKIM-Signature: v=1; a=rsa-sha256; d=decoy${i}.test; s=s; h=from; bh=${'A'.repeat(43)}=; b=AAAA`;
    const decoys = (n: number) => Array.from({ length: n }, (_, i) => decoy(i));
    // A genuine signature whose h= covers the DKIM-Signature fields too (all 60 of them, the
    // unread ones included): verified over the header block as it is, as mailauth verifies it.
    const base = message({ headers: decoys(MAX_PARSED_DKIM_FIELDS + 10) });
    const signed = await signOver(
      base,
      `from:subject:${'dkim-signature:'.repeat(MAX_PARSED_DKIM_FIELDS + 10)}`,
    );
    const first = Buffer.concat([Buffer.from(signed.signatures), base]);
    assert.ok((await oracle(first)).results.includes('sender.test/k1=pass'), 'the oracle passes it');
    const seen = await evaluateDkim(first, 'sender.test', resolver, NOW);
    assert.equal(seen.alignedPass, true);
    assert.equal(seen.unverified, MAX_PARSED_DKIM_FIELDS + 10 + 1 - 5);
    // The same signature after the first 50 DKIM-Signature fields: not read, not verified.
    const late = Buffer.concat([Buffer.from(`${decoys(MAX_PARSED_DKIM_FIELDS).join('\r\n')}\r\n`), first]);
    const unread = await evaluateDkim(late, 'sender.test', resolver, NOW);
    assert.equal(unread.alignedPass, false);
    assert.ok(!unread.signatures.some((sig) => sig.domain === 'sender.test'));
    assert.equal(unread.unverified, 2 * MAX_PARSED_DKIM_FIELDS + 10 + 1 - 5);
  });

  it('Return-Path and Content-Type are not shown to mailauth (parsed per signature), yet a signature over them verifies as mailauth says', async () => {
    const base = message({
      headers: ['Return-Path: <a@sender.test>'],
      contentType: 'multipart/mixed; boundary="b1"',
      body: 'preamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b1--\r\n',
    });
    const signed = Buffer.concat([
      Buffer.from((await signOver(base, 'from:subject:return-path:content-type')).signatures),
      base,
    ]);
    assert.ok((await oracle(signed)).results.includes('sender.test/k1=pass'), 'the oracle passes it');
    assert.equal((await evaluateDkim(signed, 'sender.test', resolver, NOW)).alignedPass, true);
    // Either field changed after signing: the signature fails, here as in mailauth.
    for (const [from, to] of [
      ['<a@sender.test>', '<b@sender.test>'],
      ['boundary="b1"', 'boundary="b2"'],
    ]) {
      const changed = Buffer.from(signed.toString('latin1').replace(from!, to!), 'latin1');
      assert.ok((await oracle(changed)).results.includes('sender.test/k1=fail'), `the oracle fails ${to}`);
      assert.equal((await evaluateDkim(changed, 'sender.test', resolver, NOW)).alignedPass, false);
    }
  });

  it('a budget above the default reads as many DKIM-Signature fields as it may verify', async () => {
    assert.equal(parsedDkimFields(5), 20);
    assert.equal(parsedDkimFields(50), 50);
    const decoy = (i: number) =>
      `DKIM-Signature: v=1; a=rsa-sha256; d=decoy${i}.test; s=s; h=from; bh=${'A'.repeat(43)}=; b=AAAA`;
    const signed = await signAll(message(), [{ key: 0, canonicalization: 'relaxed/relaxed', length: null }]);
    // The genuine signature is the 26th DKIM-Signature field: past 20, within 30.
    const raw = Buffer.concat([
      Buffer.from(`${Array.from({ length: 25 }, (_, i) => decoy(i)).join('\r\n')}\r\n`),
      signed,
    ]);
    const byDefault = await evaluateDkim(raw, 'sender.test', resolver, NOW);
    assert.equal(byDefault.alignedPass, false, 'not read at the default budget');
    const wider = await evaluateDkim(raw, 'sender.test', resolver, NOW, { maxSignatures: 30 });
    assert.equal(wider.alignedPass, true, 'read, and verified, with bounds.dkimSignatures 30');
  });
});
