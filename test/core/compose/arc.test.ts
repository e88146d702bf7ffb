import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { authenticate } from 'mailauth';
import {
  type ArcSealOptions,
  type ArcSigningKey,
  type ArrivalAuthResults,
  arcSeal,
  authenticationResultsValue,
  copySealOptions,
  sealArc,
  verdictResult,
} from '../../../functions/core/compose/arc.js';
import { rewriteHeader, rewriteMessage, splitMessage } from '../../../functions/core/compose/rewrite.js';
import { classify } from '../../../functions/core/decide.js';
import { type DkimEvaluation, evaluateDkim } from '../../../functions/core/dkim.js';
import type { Resolver } from '../../../functions/core/dns/resolver.js';
import { zoneResolver } from '../../../functions/core/dns/zone-resolver.js';
import { InvalidInputError } from '../../../functions/core/errors.js';
import { parseHeaders } from '../../../functions/core/message.js';
import type { VerdictStatus } from '../../../functions/core/ses-event.js';
import { type DkimKey, dkimKey, message, received, sign, testConfig, zones } from '../../helpers/mail.js';

/** An Ed25519 key (RFC 8463) and its TXT record. */
function ed25519Key(domain: string, selector: string): DkimKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');
  return {
    domain,
    selector,
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    record: `v=DKIM1; k=ed25519; p=${raw}`,
  };
}

const senderKey = dkimKey('sender.test');
const hopOne = dkimKey('fwd.example.com', 'arc1');
const hopTwo = dkimKey('relay.example.net', 'arc2');
const edKey = ed25519Key('fwd.example.com', 'ed1');
const resolver: Resolver = zoneResolver(zones([senderKey, hopOne, hopTwo, edKey]));
/** ARC timestamps must not be in the verifier's future: mailauth's authenticate uses the clock. */
const now = () => new Date();

const PASSING: DkimEvaluation = {
  signatures: [{ domain: 'sender.test', selector: 'sel1', result: 'pass', aligned: true }],
  alignedPass: true,
  temperror: false,
};

const ARRIVAL: ArrivalAuthResults = {
  spf: 'PASS',
  dmarc: 'PASS',
  envelopeSender: 'alice@sender.test',
  fromDomain: 'sender.test',
  dkim: PASSING,
  clientIp: '192.0.2.10',
};

/** How the router rewrites a relayed copy (From rewritten, every signature dropped). */
const RELAY_COPY = {
  send: {
    from: '"Alice Sender via example.com" <alias@example.com>',
    fromRewritten: true,
    replyTo: '<alice@sender.test>',
    envelopeFrom: 'bounce@fwd.example.com',
    pool: 'relay' as const,
  },
  reasons: ['unauthenticated-relay' as const],
  inboundMessageId: 'inbound-0001',
  dkim: PASSING,
};

function key(k: DkimKey, algorithm?: ArcSigningKey['algorithm']): ArcSigningKey {
  return {
    domain: k.domain,
    selector: k.selector,
    privateKey: k.privateKey,
    ...(algorithm ? { algorithm } : {}),
  };
}

function sealOpts(k: DkimKey, over: Partial<ArcSealOptions> = {}): ArcSealOptions {
  return { key: key(k), authservId: 'mx.fwd.example.com', results: ARRIVAL, resolver, now: now(), ...over };
}

/** Sealing with the Ed25519 key (fast enough to build a 50-set chain). */
function edSealOpts(over: Partial<ArcSealOptions> = {}): ArcSealOptions {
  return sealOpts(edKey, { key: key(edKey, 'ed25519-sha256'), ...over });
}

/**
 * A message carrying the most ARC sets a chain may have (RFC 8617 4.2.1: 50), each set saying
 * the chain below it passed — as the arrival pass would, but for its bound of `MAX_ARC_SETS`,
 * past which it calls any chain `fail` (`hostile-dns.test.ts`).
 */
async function fullChain(): Promise<Buffer> {
  let raw = message();
  for (let i = 1; i <= 50; i++) {
    const arcChain = i === 1 ? 'none' : 'pass';
    raw = (await sealArc(raw, edSealOpts({ results: { ...ARRIVAL, dkim: { ...PASSING, arcChain } } })))
      .message;
  }
  return raw;
}

/** What a receiver sees: mailauth's full check, ARC included. */
async function receive(raw: Buffer) {
  return authenticate(raw, {
    resolver,
    trustReceived: false,
    ip: '198.51.100.7',
    helo: 'outbound.ses.test',
    sender: 'bounce@fwd.example.com',
    mta: 'mx.remote.test',
    disableBimi: true,
  });
}

describe('verdictResult', () => {
  const cases: { status: VerdictStatus; expected: ReturnType<typeof verdictResult> }[] = [
    { status: 'PASS', expected: { result: 'pass' } },
    { status: 'FAIL', expected: { result: 'fail' } },
    { status: 'GRAY', expected: { result: 'none' } },
    { status: 'PROCESSING_FAILED', expected: { result: 'temperror' } },
    { status: 'DISABLED', expected: { result: 'none', reason: 'not checked' } },
  ];
  for (const c of cases) {
    it(`maps SES ${c.status}`, () => {
      // Prepare / Act
      const r = verdictResult(c.status);
      // Assess
      assert.deepEqual(r, c.expected);
    });
  }
});

describe('authenticationResultsValue', () => {
  const cases: {
    name: string;
    authservId?: string;
    results: Partial<ArrivalAuthResults>;
    expected: string;
  }[] = [
    {
      name: 'all passing',
      results: {},
      expected:
        'mx.fwd.example.com; spf=pass (sender IP is 192.0.2.10) smtp.mailfrom=alice@sender.test; ' +
        'dkim=pass header.d=sender.test header.s=sel1; dmarc=pass header.from=sender.test',
    },
    {
      name: 'SES FAIL verdicts',
      results: { spf: 'FAIL', dmarc: 'FAIL', clientIp: undefined },
      expected:
        'mx.fwd.example.com; spf=fail smtp.mailfrom=alice@sender.test; ' +
        'dkim=pass header.d=sender.test header.s=sel1; dmarc=fail header.from=sender.test',
    },
    {
      name: 'GRAY (no record published) is none',
      results: { spf: 'GRAY', dmarc: 'GRAY', clientIp: undefined },
      expected:
        'mx.fwd.example.com; spf=none smtp.mailfrom=alice@sender.test; ' +
        'dkim=pass header.d=sender.test header.s=sel1; dmarc=none header.from=sender.test',
    },
    {
      name: 'PROCESSING_FAILED is temperror',
      results: { spf: 'PROCESSING_FAILED', dmarc: 'PROCESSING_FAILED', clientIp: undefined },
      expected:
        'mx.fwd.example.com; spf=temperror smtp.mailfrom=alice@sender.test; ' +
        'dkim=pass header.d=sender.test header.s=sel1; dmarc=temperror header.from=sender.test',
    },
    {
      name: 'DISABLED is none with a reason',
      results: { spf: 'DISABLED', dmarc: 'DISABLED', clientIp: undefined },
      expected:
        'mx.fwd.example.com; spf=none reason="not checked" smtp.mailfrom=alice@sender.test; ' +
        'dkim=pass header.d=sender.test header.s=sel1; dmarc=none reason="not checked" header.from=sender.test',
    },
    {
      name: 'unsigned message, null sender, no From domain',
      results: {
        envelopeSender: null,
        fromDomain: undefined,
        clientIp: undefined,
        dkim: { signatures: [], alignedPass: false, temperror: false },
      },
      expected: 'mx.fwd.example.com; spf=pass (null reverse-path); dkim=none; dmarc=pass',
    },
    {
      name: 'one dkim= per signature, with the reason a signature failed as a comment',
      results: {
        clientIp: undefined,
        dkim: {
          signatures: [
            {
              domain: 'sender.test',
              selector: 'sel1',
              result: 'fail',
              aligned: true,
              comment: 'body hash (bh) failed',
            },
            { domain: 'third-party.test', selector: 's', result: 'temperror', aligned: false },
          ],
          alignedPass: false,
          temperror: false,
        },
      },
      expected:
        'mx.fwd.example.com; spf=pass smtp.mailfrom=alice@sender.test; ' +
        'dkim=fail (body hash bh failed) header.d=sender.test header.s=sel1; ' +
        'dkim=temperror header.d=third-party.test header.s=s; dmarc=pass header.from=sender.test',
    },
    {
      name: 'hostile values are sanitised and quoted, an invalid IP is left out',
      authservId: 'mx\r\nX-Evil: 1',
      results: { envelopeSender: 'a b"@evil.test\r\nX-Evil: 2', clientIp: '1.2.3.4\r\nX: y' },
      expected:
        '"mx X-Evil: 1"; spf=pass smtp.mailfrom="ab\\"@evil.testX-Evil:2"; ' +
        'dkim=pass header.d=sender.test header.s=sel1; dmarc=pass header.from=sender.test',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      // Prepare
      const results = { ...ARRIVAL, ...c.results };
      // Act
      const value = authenticationResultsValue(c.authservId ?? 'mx.fwd.example.com', results);
      // Assess
      assert.equal(value, c.expected);
      assert.doesNotMatch(value, /[\r\n]/);
    });
  }

  it('rejects an empty authserv-id', () => {
    // Prepare / Act / Assess
    assert.throws(() => authenticationResultsValue('\r\n', ARRIVAL), InvalidInputError);
  });
});

describe('arcSeal', () => {
  it('seals a DKIM-signed message so that a receiver sees ARC pass with our results', async () => {
    // Prepare
    const raw = await sign(message(), senderKey);
    // Act
    const sealed = await arcSeal(raw, sealOpts(hopOne));
    // Assess
    assert.deepEqual(sealed.subarray(sealed.length - raw.length), raw);
    const h = parseHeaders(sealed);
    assert.deepEqual(
      h.fields.slice(0, 3).map((f) => f.key),
      ['arc-seal', 'arc-message-signature', 'arc-authentication-results'],
    );
    assert.match(h.get('arc-seal') ?? '', /^i=1; .*cv=none/);
    assert.doesNotMatch(h.get('arc-message-signature') ?? '', /h=[^;]*(Date|Message-ID)/i);
    const result = await receive(sealed);
    assert.ok(result.arc);
    assert.equal(result.arc.status.result, 'pass');
    assert.equal(result.arc.i, 1);
    assert.deepEqual(result.arc.authenticationResults, {
      mta: 'mx.fwd.example.com',
      spf: { result: 'pass', comment: 'sender IP is 192.0.2.10', smtp: { mailfrom: 'alice@sender.test' } },
      dkim: [{ result: 'pass', header: { d: 'sender.test', s: 'sel1' } }],
      dmarc: { result: 'pass', header: { from: 'sender.test' } },
      arc: { result: 'none', smtp: { 'remote-ip': '192.0.2.10' } },
    });
    for (const line of splitMessage(sealed).header.toString().split('\r\n')) assert.ok(line.length <= 998);
  });

  it('seals a second hop with i=2 and cv=pass, and the chain still passes', async () => {
    // Prepare
    const first = await arcSeal(await sign(message(), senderKey), sealOpts(hopOne));
    // Act
    const outcome = await sealArc(first, sealOpts(hopTwo, { authservId: 'mx.relay.example.net' }));
    // Assess
    assert.equal(outcome.sealed, true);
    assert.equal(outcome.instance, 2);
    assert.equal(outcome.cv, 'pass');
    assert.match(parseHeaders(outcome.message).get('arc-seal') ?? '', /^i=2; .*cv=pass/);
    const result = await receive(outcome.message);
    assert.ok(result.arc);
    assert.equal(result.arc.status.result, 'pass');
    assert.equal(result.arc.i, 2);
    assert.equal(result.arc.authenticationResults?.mta, 'mx.relay.example.net');
  });

  it('fails at the receiver when the body is changed after sealing', async () => {
    // Prepare
    const sealed = await arcSeal(await sign(message(), senderKey), sealOpts(hopOne));
    const tampered = Buffer.from(sealed.toString().replace('Hello there.', 'Hello THERE.'));
    // Act
    const result = await receive(tampered);
    // Assess
    assert.ok(result.arc);
    assert.equal(result.arc.status.result, 'fail');
  });

  it('seals a rewritten copy with the chain status of the message as it arrived', async () => {
    // Prepare
    // The earlier hop is another ADMD, with its own authserv-id (one claiming ours is refused).
    const arrived = await arcSeal(
      await sign(message(), senderKey),
      sealOpts(hopTwo, { authservId: 'mx.relay.example.net' }),
    );
    const copy = rewriteMessage(arrived, RELAY_COPY);
    // Act
    const withArrival = await sealArc(copy, sealOpts(hopOne, { received: arrived }));
    const withoutArrival = await sealArc(copy, sealOpts(hopOne));
    // Assess
    assert.equal(withArrival.cv, 'pass');
    assert.equal(withArrival.instance, 2);
    const result = await receive(withArrival.message);
    assert.ok(result.arc);
    assert.equal(result.arc.status.result, 'pass');
    // The rewrite broke the first hop's message signature: validated on the copy, it fails.
    assert.equal(withoutArrival.cv, 'fail');
  });

  it('seals a failed chain once with cv=fail, then never again', async () => {
    // Prepare
    const sealed = await arcSeal(await sign(message(), senderKey), sealOpts(hopOne));
    const tampered = Buffer.from(sealed.toString().replace('Hello there.', 'Hello THERE.'));
    // Act
    const failed = await sealArc(tampered, sealOpts(hopTwo));
    const again = await sealArc(failed.message, sealOpts(hopOne));
    // Assess
    assert.equal(failed.sealed, true);
    assert.equal(failed.cv, 'fail');
    assert.match(parseHeaders(failed.message).get('arc-seal') ?? '', /^i=2; .*cv=fail/);
    assert.equal(again.sealed, false);
    assert.equal(again.skipped, 'chain-failed');
    assert.deepEqual(again.message, failed.message);
  });

  it('seals a chain too broken to parse with cv=fail after its highest instance', async () => {
    // Prepare
    const raw = message({ headers: ['ARC-Seal: i=1; a=rsa-sha256; cv=none; d=evil.test; s=x; b=AAAA'] });
    // Act
    const outcome = await sealArc(raw, sealOpts(hopOne));
    // Assess
    assert.equal(outcome.cv, 'fail');
    assert.equal(outcome.instance, 2);
    const result = await receive(outcome.message);
    assert.ok(result.arc);
    assert.equal(result.arc.status.result, 'fail');
  });

  it('adds no set beyond i=50 (RFC 8617 4.2.1), with an Ed25519 key', async () => {
    // Prepare
    const raw = await fullChain();
    // Act
    const outcome = await sealArc(raw, edSealOpts());
    // Assess
    assert.match(parseHeaders(raw).get('arc-seal') ?? '', /^i=50; a=ed25519-sha256;.*cv=pass/);
    assert.equal(outcome.sealed, false);
    assert.equal(outcome.skipped, 'chain-full');
    assert.deepEqual(outcome.message, raw);
    const result = await receive(raw);
    assert.ok(result.arc);
    assert.equal(result.arc.status.result, 'pass');
  });

  it('writes bare LF line ends into a bare-LF message, and it still verifies', async () => {
    // Prepare
    const raw = Buffer.from(message().toString().replace(/\r\n/g, '\n'));
    // Act
    const sealed = await arcSeal(raw, sealOpts(hopOne));
    // Assess
    assert.equal(splitMessage(sealed).header.includes(0x0d), false);
    const result = await receive(sealed);
    assert.ok(result.arc);
    assert.equal(result.arc.status.result, 'pass');
  });

  const invalid: { name: string; raw?: unknown; opts: Partial<ArcSealOptions> }[] = [
    { name: 'a message that is not a Buffer', raw: 'From: x', opts: {} },
    { name: 'an invalid date', opts: { now: new Date(Number.NaN) } },
    { name: 'a key domain with CR/LF', opts: { key: { ...key(hopOne), domain: 'fwd.example.com\r\nX: y' } } },
    { name: 'a private key that is not one', opts: { key: { ...key(hopOne), privateKey: 'not a key' } } },
  ];
  for (const c of invalid) {
    it(`rejects ${c.name}`, async () => {
      // Prepare
      const raw = (c.raw ?? message()) as Buffer;
      // Act / Assess
      await assert.rejects(sealArc(raw, sealOpts(hopOne, c.opts)), InvalidInputError);
    });
  }
});

describe('sealArc with the body hash of the arrival pass', () => {
  /** Messages as they arrive, each sealed as is and as a rewritten copy. */
  const arrivals: { name: string; make: () => Promise<Buffer> }[] = [
    { name: 'a signed message', make: () => sign(message(), senderKey) },
    {
      name: 'a bare-LF message with trailing blank lines',
      make: async () => Buffer.from(message({ body: 'Hi  \n\n\n' }).toString().replace(/\r\n/g, '\n')),
    },
    {
      name: 'a message with a passing chain',
      make: async () => arcSeal(await sign(message(), senderKey), sealOpts(hopTwo)),
    },
    {
      name: 'a chain too broken to parse',
      make: async () =>
        message({ headers: ['ARC-Seal: i=1; a=rsa-sha256; cv=none; d=evil.test; s=x; b=AAAA'] }),
    },
    {
      name: 'a message without a body',
      make: async () => Buffer.from('From: a@sender.test\r\nSubject: x\r\n'),
    },
  ];
  for (const c of arrivals) {
    it(`seals ${c.name} exactly as hashing the whole copy does, from one buffer or from pieces`, async () => {
      // Prepare
      const arrived = await c.make();
      const at = now();
      const { bodyHash } = await evaluateDkim(arrived, 'sender.test', resolver, at, { bodyHash: true });
      assert.match(bodyHash ?? '', /^[A-Za-z0-9+/]{43}=$/);
      const parts = rewriteHeader(arrived, RELAY_COPY);
      const opts = sealOpts(hopOne, { now: at, received: arrived });
      // Act
      const asIs = await sealArc(arrived, { ...opts, bodyHash });
      const copy = await sealArc(parts, { ...opts, bodyHash });
      const streamed = await sealArc(parts, opts);
      // Assess
      assert.deepEqual(asIs, await sealArc(arrived, opts));
      const reference = await sealArc(rewriteMessage(arrived, RELAY_COPY), opts);
      assert.deepEqual(copy, reference);
      assert.deepEqual(streamed, reference, 'the pieces fed to mailauth as a stream, without the hash');
      assert.equal(copy.sealed, true);
      const result = await receive(copy.message);
      assert.ok(result.arc);
      assert.equal(result.arc.status.result, copy.cv === 'fail' ? 'fail' : 'pass');
    });
  }

  it('signs the hash it is given: a wrong one fails at the receiver', async () => {
    // Prepare
    const arrived = await sign(message(), senderKey);
    const other = await evaluateDkim(
      message({ body: 'Something else.\r\n' }),
      'sender.test',
      resolver,
      now(),
      { bodyHash: true },
    );
    // Act
    const outcome = await sealArc(arrived, sealOpts(hopOne, { bodyHash: other.bodyHash }));
    // Assess
    const result = await receive(outcome.message);
    assert.ok(result.arc);
    assert.equal(result.arc.status.result, 'fail');
  });

  it('leaves a full chain unchanged, joined from its pieces', async () => {
    // Prepare
    const raw = await fullChain();
    const { bodyHash } = await evaluateDkim(raw, 'sender.test', resolver, now(), { bodyHash: true });
    const { header, body } = splitMessage(raw);
    // Act
    const outcome = await sealArc(
      { header: Buffer.concat([header, Buffer.from('\r\n')]), body },
      edSealOpts({ bodyHash }),
    );
    // Assess
    assert.equal(outcome.skipped, 'chain-full');
    assert.deepEqual(outcome.message, raw);
  });

  const invalid: { name: string; raw: unknown; bodyHash?: string }[] = [
    { name: 'a body hash that is not a SHA-256 digest', raw: message(), bodyHash: 'abc' },
    { name: 'a body hash with CR/LF', raw: message(), bodyHash: `${'A'.repeat(42)}\r\n` },
    { name: 'pieces that are not Buffers', raw: { header: 'From: x\r\n\r\n', body: Buffer.alloc(0) } },
  ];
  for (const c of invalid) {
    it(`rejects ${c.name}`, async () => {
      // Act / Assess
      await assert.rejects(
        sealArc(c.raw as Buffer, sealOpts(hopOne, c.bodyHash === undefined ? {} : { bodyHash: c.bodyHash })),
        InvalidInputError,
      );
    });
  }
});

describe('sealArc with a key parsed once (issue 16)', () => {
  /** The key as a KeyObject whose `export` throws: mailauth's signer (PEM only) is never used. */
  function parsedOnly(k: DkimKey): KeyObject {
    const parsed = createPrivateKey(k.privateKey);
    parsed.export = () => {
      throw new Error('the PEM was asked for: the seal went through mailauth');
    };
    return parsed;
  }
  const cases: {
    name: string;
    k: DkimKey;
    algorithm?: ArcSigningKey['algorithm'];
    make: () => Promise<Buffer>;
  }[] = [
    { name: 'RSA, a signed message', k: hopOne, make: () => sign(message(), senderKey) },
    {
      name: 'RSA, over a passing chain (cv=pass, i=2)',
      k: hopOne,
      make: async () => arcSeal(await sign(message(), senderKey), sealOpts(hopTwo)),
    },
    { name: 'Ed25519', k: edKey, algorithm: 'ed25519-sha256', make: () => sign(message(), senderKey) },
    {
      name: 'RSA, a chain too broken to parse (cv=fail after its highest instance)',
      k: hopOne,
      make: async () =>
        message({ headers: ['ARC-Seal: i=1; a=rsa-sha256; cv=none; d=evil.test; s=x; b=AAAA'] }),
    },
  ];
  for (const c of cases) {
    it(`${c.name}: the same bytes as mailauth signing with the PEM, and the seal verifies`, async () => {
      // Prepare
      const arrived = await c.make();
      const at = now();
      const { bodyHash } = await evaluateDkim(arrived, 'sender.test', resolver, at, { bodyHash: true });
      const parts = rewriteHeader(arrived, RELAY_COPY);
      const opts = sealOpts(c.k, { now: at, received: arrived, bodyHash });
      const withPem = { ...opts, key: key(c.k, c.algorithm) };
      const withParsed = { ...opts, key: { ...key(c.k, c.algorithm), privateKey: parsedOnly(c.k) } };
      // Act
      const fast = await sealArc(parts, withParsed);
      // Assess: RSA PKCS#1 v1.5 and Ed25519 signatures are deterministic, so mailauth's own
      // createSeal (the whole copy streamed, no body hash given) is a byte-exact oracle.
      const { bodyHash: _, ...streamOpts } = withPem;
      assert.deepEqual(fast, await sealArc(rewriteMessage(arrived, RELAY_COPY), streamOpts));
      assert.equal(fast.sealed, true);
      const result = await receive(fast.message);
      assert.ok(result.arc);
      assert.equal(result.arc.status.result, fast.cv === 'fail' ? 'fail' : 'pass');
    });
  }

  it('a full chain is left to mailauth, which refuses it (the PEM exported for it)', async () => {
    // Prepare
    const raw = await fullChain();
    const { bodyHash } = await evaluateDkim(raw, 'sender.test', resolver, now(), { bodyHash: true });
    const parsed = createPrivateKey(edKey.privateKey);
    // Act
    const outcome = await sealArc(raw, edSealOpts({ bodyHash, key: { ...key(edKey), privateKey: parsed } }));
    // Assess
    assert.equal(outcome.skipped, 'chain-full');
    assert.deepEqual(outcome.message, raw);
  });

  it('rejects a public key', async () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    await assert.rejects(
      sealArc(message(), sealOpts(edKey, { key: { ...key(edKey), privateKey: publicKey } })),
      InvalidInputError,
    );
  });
});

describe('copySealOptions', () => {
  /** A configuration that seals copies, with its own authserv-id. */
  const sealing = () => ({
    ...testConfig(),
    arc: {
      domain: 'fwd.example.com',
      selector: 'arc1',
      authservId: 'mx.example.com',
      privateKey: { file: 'arc.pem' },
    },
  });

  it('seals a copy with the arrival pass: its results, chain status, body hash and the message', async () => {
    // Prepare
    const raw = await sign(message(), senderKey);
    const at = now();
    const c = await classify({ received: received(), raw, config: sealing(), resolver, now: at });
    const ctx = { key: key(hopOne), resolver, now: at };
    // Act
    const configured = copySealOptions(c, raw, { ...ctx, config: sealing() });
    const fromSrs = copySealOptions(c, raw, { ...ctx, config: testConfig() });
    // Assess
    assert.equal(configured.authservId, 'mx.example.com');
    assert.equal(fromSrs.authservId, testConfig().srs.domain);
    assert.equal(configured.received, raw);
    assert.equal(configured.bodyHash, c.dkim.bodyHash);
    assert.match(configured.bodyHash ?? '', /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(configured.results.dkim, c.dkim);
    assert.equal(configured.results.dkim.arcChain, 'none');
    const sealed = await sealArc(rewriteHeader(raw, { ...RELAY_COPY, dkim: c.dkim }), configured);
    const result = await receive(sealed.message);
    assert.ok(result.arc);
    assert.equal(result.arc.status.result, 'pass');
  });

  it('without ARC in the configuration no body hash is computed, and a seal still hashes the copy itself', async () => {
    // Prepare
    const raw = await sign(message(), senderKey);
    const at = now();
    const c = await classify({ received: received(), raw, config: testConfig(), resolver, now: at });
    // Act
    const opts = copySealOptions(c, raw, { config: testConfig(), key: key(hopOne), resolver, now: at });
    const sealed = await sealArc(rewriteHeader(raw, { ...RELAY_COPY, dkim: c.dkim }), opts);
    // Assess
    assert.equal(c.dkim.bodyHash, undefined);
    assert.equal('bodyHash' in opts, false);
    const result = await receive(sealed.message);
    assert.ok(result.arc);
    assert.equal(result.arc.status.result, 'pass');
  });
});
