/**
 * What a receiver reads in a copy (review J, December 2026): each case is a message a sender
 * wrote so that the copy we compose reads one way to us and another to the next parser, or
 * carries something in our name. The oracles are other parsers — mailparser, and Python's
 * `email` package (python3, a Debian package `.ci/run` installs) — and mailauth's ARC
 * verification, never the project's own reading alone.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { authenticate } from 'mailauth';
import { simpleParser } from 'mailparser';
import { sealArc } from '../../functions/core/compose/arc.js';
import { composeCopy } from '../../functions/core/compose/copy.js';
import { classify, decide, type PlannedSend } from '../../functions/core/decide.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { parseHeaders, parseMailboxes } from '../../functions/core/message.js';
import { parseReceiptEvent } from '../../functions/core/ses-event.js';
import { dkimKey, type EventOptions, NOW, sesEvent, testConfig, zones } from '../helpers/mail.js';

async function mp(copy: Buffer) {
  return simpleParser(copy, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
}
const arcKey = dkimKey('fwd.example.com', 'arc1', 1024);
/** An attacker's own ARC key, published under evil.test. */
const attackerKey = dkimKey('evil.test', 'atk', 1024);
const resolver = zoneResolver(zones([arcKey, attackerKey], { 'evil.test': { A: ['192.0.2.66'] } }));

async function copies(raw: Buffer, ev: EventOptions = { spf: 'FAIL' }, withKey = true) {
  const config = testConfig();
  const received = parseReceiptEvent(sesEvent(ev));
  const c = await classify({ received, raw, config, resolver, now: NOW });
  const d = decide(c, {}, config, NOW);
  const out: { kind: string; copy: Buffer; send: PlannedSend }[] = [];
  for (const send of d.sends) {
    const copy = await composeCopy(
      send,
      raw,
      {
        messageId: 'inbound-1',
        receivedAt: NOW.toISOString(),
        recipients: ev.recipients ?? ['alias@example.com'],
        reasons: d.reasons,
      },
      c,
      { config, arcKey: withKey ? arcKey : null, resolver },
      NOW,
    );
    out.push({ kind: send.kind, copy, send });
  }
  return { c, d, out };
}

{
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  // The inner encoded-word: "CEO <ceo@bank.com>\r\n\u0000" (CR, LF, NUL).
  const inner = `=?utf-8?b?${b64('CEO <ceo@bank.com>\r\n\u0000')}?=`;
  const outer = `=?utf-8?b?${b64(inner)}?=`;
  const raw = Buffer.from(
    `From: "${outer}" <x@evil.test>\r\nTo: alias@example.com\r\nSubject: hi\r\n\r\nbody\r\n`,
    'latin1',
  );
  const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

  describe('double-encoded display names', () => {
    it('the rewritten From and Reply-To display names carry no control characters for mailparser', async () => {
      const { out } = await copies(raw);
      const copy = out.find((o) => o.kind === 'forward')!.copy;
      const parsed = await mp(copy);
      const fromName = parsed.from!.value[0]!.name;
      const replyName = (parsed.replyTo as { value: { name: string }[] }).value[0]!.name;
      assert.doesNotMatch(fromName, CONTROL, `From display name ${JSON.stringify(fromName)}`);
      assert.doesNotMatch(replyName, CONTROL, `Reply-To display name ${JSON.stringify(replyName)}`);
    });

    it("Python's email package can read the rewritten From", async () => {
      const { out } = await copies(raw);
      const copy = out.find((o) => o.kind === 'forward')!.copy;
      const py = `import sys, email, email.policy
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
a = m['From'].addresses[0]
print(repr(a.display_name))`;
      const result = (() => {
        try {
          return execFileSync('python3', ['-c', py], {
            input: copy,
            stdio: ['pipe', 'pipe', 'pipe'],
          }).toString();
        } catch (e) {
          return `ERROR ${(e as { stderr: Buffer }).stderr.toString().trim().split('\n').pop()}`;
        }
      })();
      assert.doesNotMatch(result, /^ERROR/, result);
      assert.doesNotMatch(result, /\\r|\\n|\\x00/i, result);
    });
  });
}

{
  const raw = Buffer.from(
    'Received: from mx.sender.test\r\nSubject: hello\r\r <p>now the body</p>\r\nFrom: "Alice" <alice@evil.test>\r\n' +
      'To: alias@example.com\r\nContent-Type: text/html\r\n\r\n<b>body</b>\r\n',
    'latin1',
  );

  const variants: Record<string, Buffer> = {
    'CR CR (an empty line for a CR parser)': raw,
    // A bare CR followed by text that is no field: Python takes it as the first body line.
    'CR then text that is no field': Buffer.from(
      'Received: from mx.sender.test\r\nSubject: hello\r<p>now the body</p>\r\nFrom: "Alice" <alice@evil.test>\r\n' +
        'To: alias@example.com\r\nContent-Type: text/html\r\n\r\n<b>body</b>\r\n',
      'latin1',
    ),
  };

  describe('bare CR inside a kept field ends the header block for a CR-splitting parser', () => {
    for (const [name, raw] of Object.entries(variants))
      it(`${name}: Python's email package sees the same header fields as our parser`, async () => {
        const { out } = await copies(raw);
        const copy = out.find((o) => o.kind === 'forward')!.copy;
        const ours = parseHeaders(copy).fields.map((f) => f.key);
        const py = `import sys, json, email, email.policy
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.compat32)
print(json.dumps([k.lower() for k in m.keys()]))`;
        const theirs = JSON.parse(
          execFileSync('python3', ['-c', py], { input: copy }).toString(),
        ) as string[];
        assert.ok(theirs.includes('from'), `Python sees no From: ${theirs.join(', ')}`);
        assert.deepEqual(theirs, ours);
      });
  });
}

{
  const name = `=?utf-8?b?${Buffer.from('PayPal Security \u202e', 'utf8').toString('base64')}?=`;
  const raw = Buffer.from(
    `From: ${name} <x@evil.test>\r\nTo: alias@example.com\r\nSubject: hi\r\n\r\nbody\r\n`,
    'latin1',
  );

  describe('bidi controls in the rewritten From', () => {
    it('the display name a receiver decodes carries no bidi override or isolate', async () => {
      const { out } = await copies(raw);
      const copy = out.find((o) => o.kind === 'forward')!.copy;
      const parsed = await mp(copy);
      const fromName = parsed.from!.value[0]!.name;
      assert.doesNotMatch(
        fromName,
        /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u,
        JSON.stringify(fromName),
      );
    });
  });
}

describe('an inbound ARC set claiming our authserv-id', () => {
  it('control: a set of our own (a copy of ours come back) claims it rightly: cv=pass', async () => {
    const plain = Buffer.from(
      'From: Ann <ann@sender.test>\r\nTo: alias@example.com\r\nSubject: hi\r\n\r\nhello\r\n',
      'latin1',
    );
    const ours = await sealArc(plain, {
      key: arcKey,
      authservId: 'fwd.example.com',
      results: {
        spf: 'PASS',
        dmarc: 'PASS',
        envelopeSender: 'ann@sender.test',
        fromDomain: 'sender.test',
        dkim: { signatures: [], alignedPass: false, temperror: false },
      },
      resolver,
      now: NOW,
    });
    assert.equal(ours.sealed, true);
    const { out } = await copies(ours.message);
    const text = out.find((o) => o.kind === 'forward')!.copy.toString('latin1');
    assert.match(text, /^ARC-Seal: i=2;[^\r\n]*cv=pass/m);
  });

  it('is not vouched for by our seal (only our own set may claim fwd.example.com)', async () => {
    const plain = Buffer.from(
      'From: Boss <ceo@bank.example>\r\nTo: alias@example.com\r\nSubject: wire\r\n\r\nplease pay\r\n',
      'latin1',
    );
    const forged = await sealArc(plain, {
      key: attackerKey,
      authservId: 'fwd.example.com',
      results: {
        spf: 'PASS',
        dmarc: 'PASS',
        envelopeSender: 'ceo@bank.example',
        fromDomain: 'bank.example',
        dkim: { signatures: [], alignedPass: false, temperror: false },
      },
      resolver,
      now: NOW,
    });
    assert.equal(forged.sealed, true);
    const { out } = await copies(forged.message);
    const copy = out.find((o) => o.kind === 'forward')!.copy;
    const text = copy.toString('latin1');
    const r = (await authenticate(copy, {
      resolver: resolver as never,
      ip: '192.0.2.1',
      helo: 'x',
      sender: 'a@b.test',
    } as never)) as {
      arc: { status: { result: string } };
    };
    const claims = [...text.matchAll(/^ARC-Authentication-Results:\s*i=(\d+);\s*fwd\.example\.com;/gim)].map(
      (m) => Number(m[1]),
    );
    const ours = [...text.matchAll(/^ARC-Seal:\s*i=(\d+);[\s\S]*?d=fwd\.example\.com/gim)].map((m) =>
      Number(m[1]),
    );
    assert.match(text, /^ARC-Seal: i=2;[^\r\n]*cv=fail/m, 'our seal takes the chain as failed');
    // Either the forged set is not in a chain our seal passes, or no foreign set claims our id.
    const foreignClaims = claims.filter((i) => !ours.includes(i));
    assert.ok(
      r.arc.status.result !== 'pass' || foreignClaims.length === 0,
      `arc=${r.arc.status.result}; sets claiming fwd.example.com not sealed by us: i=${foreignClaims.join(',')}`,
    );
  });
});

{
  const group = (n: number) =>
    `m${n} <${Array.from({ length: 12 }, (_, i) => `r${n}x${i}@evil.test`).join(',')}>`;
  const replyTo = Array.from({ length: 10 }, (_, n) => group(n)).join(', ');
  const raw = Buffer.from(
    `From: A <a@evil.test>\r\nReply-To: ${replyTo}\r\nTo: alias@example.com\r\nSubject: hi\r\n\r\nbody\r\n`,
    'latin1',
  );

  describe('Reply-To mailboxes as a receiver reads them', () => {
    it('a receiver reads the same (at most 10) Reply-To addresses as the plan', async () => {
      const { out } = await copies(raw);
      const o = out.find((x) => x.kind === 'forward')!;
      const planned = parseMailboxes(o.send.replyTo ?? '').map((m) => m.address);
      const py = `import sys, json, email, email.policy
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
print(json.dumps([a.addr_spec for a in m['Reply-To'].addresses]))`;
      const read = JSON.parse(execFileSync('python3', ['-c', py], { input: o.copy }).toString()) as string[];
      assert.ok(
        read.length <= 10,
        `Python reads ${read.length} Reply-To addresses (plan: ${planned.length})`,
      );
      assert.deepEqual(read, planned);
    });
  });
}

describe('a quoted authserv-id', () => {
  for (const claim of ['"fwd.example.com"', '"fwd.example.com" 1', '(x) "FWD.example.com"']) {
    it(`Authentication-Results: ${claim}; ... is removed`, async () => {
      const raw = Buffer.from(
        `Authentication-Results: ${claim}; spf=pass smtp.mailfrom=ceo@bank.example; dkim=pass header.d=bank.example; dmarc=pass header.from=bank.example\r\n` +
          'From: Boss <ceo@bank.example>\r\nTo: alias@example.com\r\nSubject: hi\r\n\r\nbody\r\n',
        'latin1',
      );
      const { out } = await copies(raw);
      const copy = out.find((o) => o.kind === 'forward')!.copy.toString('latin1');
      assert.doesNotMatch(copy, /^Authentication-Results:/im, 'the forged results reached the copy');
    });
  }
});

{
  const raw = Buffer.from(
    'From: A <a@evil.test>\r\nTo: alias@example.com\r\nErrors-To: victim@bank.example\r\n' +
      'Return-Receipt-To: victim@bank.example\r\nSubject: hi\r\n\r\nbody\r\n',
    'latin1',
  );

  describe('bounce-directing fields on relay copies', () => {
    it('an unauthenticated relay copy (bounce sink) keeps no Errors-To / Return-Receipt-To', async () => {
      const { out, d } = await copies(raw);
      assert.ok(d.reasons.includes('unauthenticated-relay'));
      const o = out.find((x) => x.kind === 'forward')!;
      assert.equal(o.send.envelopeFrom, 'mailer-daemon@fwd.example.com');
      const header = o.copy.toString('latin1').split('\r\n\r\n')[0]!;
      assert.doesNotMatch(header, /^(Errors-To|Return-Receipt-To):/im);
    });
  });
}
