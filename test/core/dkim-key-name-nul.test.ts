/**
 * A DKIM key is looked up at `<s=>._domainkey.<d=>`, and the selector is the sender's to write.
 * c-ares reads the name as a C string: a NUL in the selector ends it there, so
 * `s=k.attacker.test<NUL>; d=example.com` fetched the key of `k.attacker.test`, a name the
 * sender answers, and its signature "of example.com" passed: a genuine accepted-domain sender,
 * `normal` (review of December 2026). Shown here with the real network resolver against a
 * local DNS server: a name that cannot be a DNS name is no record, and never reaches c-ares.
 */
import assert from 'node:assert/strict';
import { createHash, createSign, generateKeyPairSync } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { decideMessage } from '../../functions/core/decide.js';
import { nodeResolver } from '../../functions/core/dns/node-resolver.js';
import { isNoRecord, isTemporary } from '../../functions/core/dns/resolver.js';
import { message, NOW, received, testConfig } from '../helpers/mail.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
const RECORD = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;

/** A name server: TXT and A answers by name, NXDOMAIN for everything else; logs the questions. */
const ANSWERS: Record<string, { TXT?: string; A?: string }> = {
  'k.attacker.test': { TXT: RECORD, A: '198.51.100.66' },
  'k._domainkey.attacker.test': { TXT: RECORD },
  'attacker.test': { A: '198.51.100.66' },
  'example.com': { A: '192.0.2.1' },
};
const asked: string[] = [];
let socket: Socket;

function answer(query: Buffer): Buffer {
  let i = 12;
  const labels: string[] = [];
  while (query[i] !== 0) {
    labels.push(query.subarray(i + 1, i + 1 + query[i]!).toString('latin1'));
    i += query[i]! + 1;
  }
  const name = labels.join('.').toLowerCase();
  const type = query.readUInt16BE(i + 1) === 16 ? 'TXT' : query.readUInt16BE(i + 1) === 1 ? 'A' : 'other';
  asked.push(`${name}/${type}`);
  const value = type === 'TXT' || type === 'A' ? ANSWERS[name]?.[type] : undefined;
  const head = Buffer.from(query.subarray(0, i + 5));
  head.writeUInt16BE(ANSWERS[name] ? 0x8180 : 0x8183, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(value === undefined ? 0 : 1, 6);
  head.writeUInt32BE(0, 8);
  if (value === undefined) return head;
  const rdata =
    type === 'TXT'
      ? Buffer.concat([Buffer.from([value.length]), Buffer.from(value, 'latin1')])
      : Buffer.from(value.split('.').map(Number));
  const rr = Buffer.alloc(12);
  rr.writeUInt16BE(0xc00c, 0);
  rr.writeUInt16BE(type === 'TXT' ? 16 : 1, 2);
  rr.writeUInt16BE(1, 4);
  rr.writeUInt32BE(60, 6);
  rr.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rr, rdata]);
}

/** A relaxed/relaxed rsa-sha256 DKIM-Signature written by hand: any bytes in `s=`. */
function handSign(raw: Buffer, d: string, s: string): Buffer {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const fields = text.slice(0, end).split('\r\n');
  const bh = createHash('sha256')
    .update(text.slice(end + 4), 'latin1')
    .digest('base64');
  const relaxed = (f: string) =>
    `${f.slice(0, f.indexOf(':')).toLowerCase()}:${f
      .slice(f.indexOf(':') + 1)
      .replace(/[ \t]+/g, ' ')
      .trim()}`;
  const pick = (n: string) => relaxed(fields.find((f) => f.toLowerCase().startsWith(`${n}:`))!);
  const value = `v=1; a=rsa-sha256; c=relaxed/relaxed; d=${d}; s=${s}; t=${NOW.getTime() / 1000}; h=from:to:subject; bh=${bh}; b=`;
  const data = `${['from', 'to', 'subject'].map((n) => `${pick(n)}\r\n`).join('')}${relaxed(`DKIM-Signature: ${value}`)}`;
  const b = createSign('sha256').update(data, 'latin1').sign(privateKey, 'base64');
  return Buffer.concat([Buffer.from(`DKIM-Signature: ${value}${b}\r\n`, 'latin1'), raw]);
}

describe('DKIM key names that are not DNS names', () => {
  before(async () => {
    socket = createSocket('udp4');
    socket.on('message', (msg, rinfo) => socket.send(answer(msg), rinfo.port, rinfo.address));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  });
  after(() => socket.close());

  const decide = (raw: Buffer, source: string) =>
    decideMessage({
      received: received({ source, spf: 'GRAY' }),
      raw,
      config: testConfig(),
      resolver: localResolver(),
      now: NOW,
    });

  /** Node's network resolver, asking the local name server only. */
  const localResolver = () =>
    nodeResolver({ servers: [`127.0.0.1:${socket.address().port}`], timeoutMs: 500, tries: 1 });

  it('the hand-made signature passes under its own key (control)', async () => {
    const raw = handSign(message({ from: 'Eve <eve@attacker.test>' }), 'attacker.test', 'k');
    const d = await decide(raw, 'eve@attacker.test');
    assert.equal(d.classification?.dkim.signatures[0]?.result, 'pass');
    assert.equal(d.pool, 'normal');
  });

  it('a NUL in s= does not fetch the key of the name before it', async () => {
    asked.length = 0;
    const raw = handSign(message({ from: 'CEO <ceo@example.com>' }), 'example.com', 'k.attacker.test\0');
    const d = await decide(raw, 'ceo@example.com');
    const sig = d.classification?.dkim.signatures[0];
    assert.equal(sig?.domain, 'example.com');
    assert.notEqual(sig?.result, 'pass');
    assert.equal(d.classification?.authentication.genuineAcceptedSender, false);
    assert.notEqual(d.pool, 'normal');
    assert.ok(!asked.includes('k.attacker.test/TXT'), `asked ${asked.join(', ')}`);
  });

  it('the network resolver answers a name holding NUL as no record, without a query', async () => {
    asked.length = 0;
    const resolver = localResolver();
    await assert.rejects(resolver('k.attacker.test\0._domainkey.example.com', 'TXT'), { code: 'ENOTFOUND' });
    assert.deepEqual(asked, []);
  });

  it('a name no query can carry (a space, a 64-octet label) is no record, not a temporary failure', async () => {
    asked.length = 0;
    const resolver = localResolver();
    for (const name of ['a b._domainkey.example.com', `${'l'.repeat(64)}._domainkey.example.com`]) {
      const err = await resolver(name, 'TXT').then(
        () => assert.fail(`${name} answered`),
        (e: unknown) => e,
      );
      assert.ok(isNoRecord(err), `${name}: ${(err as { code?: string }).code}`);
      assert.ok(!isTemporary(err));
      // As NXDOMAIN, which mailauth's key lookup reads as "no key", not a DNS failure.
      assert.equal((err as { code?: string }).code, 'ENOTFOUND');
    }
  });
});
