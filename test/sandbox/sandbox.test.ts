/**
 * The sandbox end to end: real SMTP with `swaks` (the client IP for SPF given with XCLIENT)
 * → SES-like ingress → the router's middy handler → the SES emulator's recording layer and the
 * trace table, read back with the operator CLI as a child process.
 *
 * swaks is required (`apt-get install swaks`; `.ci/run` installs it): without it these tests
 * fail, they never skip.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EICAR, GTUBE } from '../../sandbox/smtp-ingress.js';
import { eml, plain, signed } from '../helpers/sandbox-fixtures.js';
import { sandboxSuite } from '../helpers/sandbox-suite.js';

describe('sandbox: SMTP (swaks) → ingress → router handler → SES emulator and trace', () => {
  const h = sandboxSuite();
  const { key, swaks, deliver, assertPools } = h;

  it('mail from an accepted domain (SPF pass through the XCLIENT address) → normal, From kept', async () => {
    const m = await deliver({
      from: 'carol@example.com',
      to: 'alias@example.com',
      ip: '198.51.100.7',
      helo: 'mail.example.com',
      data: plain('Carol <carol@example.com>', 'alias@example.com', 'accepted domain'),
    });
    assert.equal(m.clientIp, '198.51.100.7');
    assert.equal(m.verdicts.spf, 'PASS');
    assert.deepEqual(m.reasons, ['accepted-domain', 'spf-pass']);
    const [copy] = await assertPools(
      m,
      'normal',
      [{ kind: 'forward', to: ['dest@remote.test'], pool: 'normal' }],
      { viaCli: true },
    );
    assert.equal(copy?.feedbackForwardingEmailAddress, 'carol@example.com');
    assert.match(copy!.raw.toString('utf8'), /^From: Carol <carol@example\.com>\r$/m);
  });

  it('forwarded mail DKIM-signed by its sender (SPF fails) → normal, SRS return path, From rewritten', async () => {
    const data = await signed(
      plain('Alice Sender <alice@sender.test>', 'alias@example.com', 'forwarded'),
      key,
    );
    const m = await deliver({
      from: 'alice@sender.test',
      to: 'alias@example.com',
      ip: '203.0.113.9',
      helo: 'mx.other.test',
      data,
    });
    assert.equal(m.verdicts.spf, 'FAIL');
    assert.equal(m.verdicts.dkim, 'PASS');
    assert.equal(m.verdicts.dmarc, 'PASS');
    assert.deepEqual(m.reasons, ['dkim-aligned-pass', 'srs-rewritten']);
    const [copy] = await assertPools(m, 'normal', [
      { kind: 'forward', to: ['dest@remote.test'], pool: 'normal' },
    ]);
    const returnPath = copy!.feedbackForwardingEmailAddress!;
    assert.match(returnPath, /^SRS0=[^@]+@fwd\.example\.com$/);
    assert.deepEqual(h.srs.reverse(returnPath, new Date()), { ok: true, address: 'alice@sender.test' });
    const text = copy!.raw.toString('utf8');
    assert.match(text, /^From: "Alice Sender via example\.com" <alias@example\.com>\r$/m);
    assert.match(text, /^Reply-To: "Alice Sender" <alice@sender\.test>\r$/m);
    assert.match(text, /^ARC-Seal: i=1;/m, 'sealed with the sandbox ARC key');
  });

  it('forwarded mail whose sender cannot be authenticated → relay, bounces to the sink', async () => {
    const m = await deliver({
      from: 'deals@unauth.test',
      to: 'alias@example.com',
      ip: '198.18.0.25',
      helo: 'smtp.bulk.test',
      data: plain('Deals <deals@unauth.test>', 'alias@example.com', 'relay'),
    });
    assert.equal(m.verdicts.spf, 'FAIL');
    assert.deepEqual(m.reasons, ['unauthenticated-relay']);
    const [copy] = await assertPools(m, 'relay', [
      { kind: 'forward', to: ['dest@remote.test'], pool: 'relay' },
    ]);
    assert.equal(copy?.feedbackForwardingEmailAddress, h.sandbox.config.bounceSink);
  });

  it('GTUBE → spam verdict FAIL → high-risk', async () => {
    const m = await deliver({
      from: 'alice@sender.test',
      to: 'alias@example.com',
      ip: '192.0.2.10',
      helo: 'mx.sender.test',
      data: plain('Alice <alice@sender.test>', 'alias@example.com', 'gtube', `Spam test:\r\n${GTUBE}\r\n`),
    });
    assert.equal(m.verdicts.spam, 'FAIL');
    assert.ok(m.reasons.includes('spam'));
    await assertPools(m, 'high-risk', [{ kind: 'forward', to: ['dest@remote.test'], pool: 'high-risk' }]);
  });

  it('EICAR in a base64 attachment → virus verdict FAIL → blocked: nothing forwarded, an NDR to the sender', async () => {
    const attachment = Buffer.from(EICAR).toString('base64');
    const data = eml(
      [
        'From: Alice <alice@sender.test>',
        'To: alias@example.com',
        'Subject: invoice',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b1"',
      ],
      `--b1\r\nContent-Type: text/plain\r\n\r\nSee attachment.\r\n--b1\r\nContent-Type: application/octet-stream; name="eicar.com"\r\nContent-Transfer-Encoding: base64\r\n\r\n${attachment}\r\n--b1--\r\n`,
    );
    const m = await deliver({
      from: 'alice@sender.test',
      to: 'alias@example.com',
      ip: '192.0.2.10',
      helo: 'mx.sender.test',
      data,
    });
    assert.equal(m.verdicts.virus, 'FAIL');
    assert.ok(m.reasons.includes('virus'));
    await assertPools(m, 'blocked', [{ kind: 'ndr', to: ['alice@sender.test'], pool: 'high-risk' }]);
  });

  it('a bounce (null sender DSN) to an SRS address → reversed to the original sender through high-risk', async () => {
    const srsAddress = h.srs.forward('alice@sender.test', new Date());
    const data = eml(
      [
        'From: Mail Delivery System <MAILER-DAEMON@mx.remote.test>',
        `To: ${srsAddress}`,
        'Subject: Undelivered Mail Returned to Sender',
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r1"',
      ],
      '--r1\r\nContent-Type: text/plain\r\n\r\nMailbox full.\r\n--r1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.remote.test\r\n\r\nFinal-Recipient: rfc822; dest@remote.test\r\nAction: failed\r\nStatus: 5.2.2\r\n--r1--\r\n',
    );
    const m = await deliver({ from: '<>', to: srsAddress, ip: '192.0.2.40', helo: 'mx.remote.test', data });
    assert.equal(m.sender, '');
    assert.ok(m.reasons.includes('ndr') && m.reasons.includes('srs-bounce'), m.reasons.join(', '));
    await assertPools(m, 'high-risk', [{ kind: 'srs-bounce', to: ['alice@sender.test'], pool: 'high-risk' }]);
  });

  it('the trace API searches by sender (the first test sent as carol@example.com) and names a bad parameter', async () => {
    const found = await fetch(`${h.sandbox.endpoints.traceApi}/messages?sender=carol%40example.com`);
    assert.equal(found.status, 200);
    const { messages } = (await found.json()) as { messages: { sender: string; pool: string }[] };
    assert.ok(messages.length >= 1);
    assert.ok(messages.every((m) => m.sender === 'carol@example.com' && m.pool === 'normal'));
    const bad = await fetch(`${h.sandbox.endpoints.traceApi}/messages?sender=carol%40example.com&limit=lots`);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { parameter: string }).parameter, 'limit');
  });

  it('a recipient without a route is refused at RCPT (550 5.1.1), a foreign domain too (554 5.7.1)', async () => {
    const before = h.sandbox.processed().length;
    const unrouted = await swaks({
      from: 'alice@sender.test',
      to: 'nobody@example.com',
      ip: '192.0.2.10',
      helo: 'mx.sender.test',
      data: plain('Alice <alice@sender.test>', 'nobody@example.com', 'unrouted'),
    });
    assert.equal(unrouted.code, 24, `swaks exits 24 when no recipient is accepted:\n${unrouted.output}`);
    assert.match(unrouted.output, /<\*\* +550 5\.1\.1 <nobody@example\.com>/);
    const foreign = await swaks({
      from: 'alice@sender.test',
      to: 'someone@elsewhere.test',
      ip: '192.0.2.10',
      helo: 'mx.sender.test',
      data: plain('Alice <alice@sender.test>', 'someone@elsewhere.test', 'foreign'),
    });
    assert.equal(foreign.code, 24, foreign.output);
    assert.match(foreign.output, /<\*\* +554 5\.7\.1 .*Relay access denied/);
    await h.sandbox.idle();
    assert.equal(h.sandbox.processed().length, before, 'nothing reached the router');
  });
});
