/**
 * The sandbox end to end: real SMTP with `swaks` (the client IP for SPF given with XCLIENT)
 * → SES-like ingress → the router's middy handler → the SES emulator's recording layer and the
 * trace table, read back with the operator CLI as a child process.
 *
 * swaks is required (`apt-get install swaks`; `.ci/run` installs it): without it these tests
 * fail, they never skip.
 */

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { parseConfig } from '../../functions/core/config.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { TransientDependencyError } from '../../functions/core/errors.js';
import { parseReceiptEvent } from '../../functions/core/ses-event.js';
import { Srs } from '../../functions/core/srs.js';
import type { Pool } from '../../functions/core/vocabulary.js';
import type { PipelineResult } from '../../functions/router/process.js';
import { smtpSend } from '../../sandbox/demo.js';
import type { RecordedSend } from '../../sandbox/emulators/index.js';
import { type Emulators, startEmulators } from '../../sandbox/emulators/index.js';
import { type Sandbox, startSandbox } from '../../sandbox/server.js';
import {
  containsTestString,
  dkimVerdict,
  dmarcVerdict,
  EICAR,
  GTUBE,
  type IngressEvent,
  type Invoke,
  type ProcessedMessage,
  spfVerdict,
  startSmtpIngress,
} from '../../sandbox/smtp-ingress.js';
import { runCli } from '../helpers/cli.js';
import { type DkimKey, dkimKey } from '../helpers/mail.js';

const run = promisify(execFile);
const SWAKS = '/usr/bin/swaks';

const CONFIG = {
  acceptedDomains: ['example.com', 'example.org'],
  routes: {
    'alias@example.com': ['dest@remote.test'],
    'team@example.com': ['ann@remote.test', 'bob@example.org'],
  },
  srs: { domain: 'fwd.example.com', secrets: ['sandbox-test-secret'] },
  // A tiny hourly limit for one sender; `block` so that a release is not undone the same day.
  limits: { senders: { 'bulk@example.com': { externalPerHour: 2, action: 'block' } } },
};

function zonesFor(key: DkimKey) {
  return {
    'sender.test': {
      A: ['192.0.2.10'],
      MX: [{ exchange: 'mx.sender.test', priority: 10 }],
      TXT: ['v=spf1 ip4:192.0.2.0/24 -all'],
    },
    [`${key.selector}._domainkey.sender.test`]: { TXT: [key.record] },
    '_dmarc.sender.test': { TXT: ['v=DMARC1; p=reject'] },
    'example.com': {
      MX: [{ exchange: 'inbound-smtp.us-east-1.amazonaws.com', priority: 10 }],
      TXT: ['v=spf1 ip4:198.51.100.0/24 -all'],
    },
    'example.org': { MX: [{ exchange: 'inbound-smtp.us-east-1.amazonaws.com', priority: 10 }] },
    'unauth.test': { A: ['203.0.113.50'], TXT: ['v=spf1 ip4:203.0.113.0/24 -all'] },
    'remote.test': { MX: [{ exchange: 'mx.remote.test', priority: 10 }] },
    'mx.remote.test': { A: ['192.0.2.40'], TXT: ['v=spf1 a -all'] },
  };
}

const eml = (headers: string[], body: string) => `${headers.join('\r\n')}\r\n\r\n${body}`;
const plain = (from: string, to: string, subject: string, body = 'Hello from the sandbox test.\r\n') =>
  eml(
    [
      `From: ${from}`,
      `To: ${to}`,
      `Subject: ${subject}`,
      `Message-ID: <${subject.replace(/\W+/g, '-')}-${process.pid}@sandbox.test>`,
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
    ],
    body,
  );

async function signed(text: string, key: DkimKey): Promise<string> {
  const raw = Buffer.from(text);
  const result = await dkimSign(raw, {
    signTime: new Date(Date.now() - 60_000),
    signatureData: [{ signingDomain: key.domain, selector: key.selector, privateKey: key.privateKey }],
  } as unknown as Parameters<typeof dkimSign>[1]);
  if (result.errors?.length) throw new Error(`signing failed: ${JSON.stringify(result.errors)}`);
  return result.signatures + text;
}

interface SwaksResult {
  code: number;
  output: string;
  messageId: string | undefined;
}

describe('sandbox: SMTP (swaks) → ingress → router handler → SES emulator and trace', () => {
  let dir: string;
  let sandbox: Sandbox;
  let srs: Srs;
  const key = dkimKey('sender.test', 'sbx1');
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  before(async () => {
    // swaks is a test dependency: a missing one must fail the suite, not skip it.
    assert.ok(existsSync(SWAKS), `swaks is not installed at ${SWAKS}: apt-get install swaks`);
    dir = mkdtempSync(join(tmpdir(), 'op-sandbox-'));
    file('config.json', JSON.stringify(CONFIG));
    file('zones.json', JSON.stringify(zonesFor(key)));
    sandbox = await startSandbox({
      config: join(dir, 'config.json'),
      zones: join(dir, 'zones.json'),
      smtpPort: 0,
      quiet: true,
      retryDelaysMs: [50, 100],
    });
    srs = new Srs(sandbox.config.srs);
  });
  after(async () => {
    await sandbox?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function swaks(o: {
    from: string;
    to: string;
    ip: string;
    helo: string;
    data: string;
  }): Promise<SwaksResult> {
    const dataFile = file(`msg-${Math.random().toString(36).slice(2)}.eml`, o.data);
    const args = [
      '--server',
      `127.0.0.1:${sandbox.smtp.port}`,
      '--xclient-addr',
      o.ip,
      '--helo',
      o.helo,
      '--from',
      o.from,
      '--to',
      o.to,
      '--data',
      dataFile,
      '--timeout',
      '20',
    ];
    try {
      const { stdout, stderr } = await run(SWAKS, args);
      const output = stdout + stderr;
      return { code: 0, output, messageId: /<- {2}250 2\.0\.0 Ok (\S+)/.exec(output)?.[1] };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, output: `${e.stdout}${e.stderr}`, messageId: undefined };
    }
  }

  /** Sends with swaks and waits for the router to finish the message. */
  async function deliver(o: Parameters<typeof swaks>[0]): Promise<ProcessedMessage> {
    const r = await swaks(o);
    assert.equal(r.code, 0, r.output);
    assert.ok(r.messageId, `no message id in the 250 reply:\n${r.output}`);
    return sandbox.waitFor(r.messageId, 20_000);
  }

  const cli = (...args: string[]) => runCli(args, { ...process.env, ...sandbox.env, NO_COLOR: '1' });

  const tag = (s: RecordedSend, name: string) => s.emailTags.find((t) => t.Name === name)?.Value;

  /**
   * The message's pool, and every send's pool, agree in the three places: the handler's
   * result, the SES recording layer (configuration set + `pool` tag) and the trace CLI — whose
   * report the trace API gives too.
   */
  async function assertPools(
    m: ProcessedMessage,
    pool: string,
    sends: { kind: string; to: string[]; pool: Pool }[],
  ): Promise<RecordedSend[]> {
    assert.equal(m.outcome, 'processed', m.error);
    assert.equal(m.pool, pool, `reasons: ${m.reasons.join(', ')}`);
    const recorded = sandbox.emulators.ses.sent().filter((s) => tag(s, 'inbound_id') === m.messageId);
    assert.deepEqual(
      recorded.map((s) => ({
        kind: tag(s, 'kind'),
        to: s.destination.ToAddresses,
        pool: tag(s, 'pool'),
        configurationSet: s.configurationSetName,
      })),
      sends.map((s) => ({ ...s, configurationSet: sandbox.config.pools[s.pool].configurationSet })),
    );
    const r = await cli('trace', '--message-id', m.messageId, '--json');
    assert.equal(r.code, 0, r.stderr);
    const [trace] = JSON.parse(r.stdout) as {
      pool: string;
      outboundIpPoolName: string | null;
      configurationSet: string | null;
      reasons: string[];
      sends: { pool: string; configurationSet: string; sesMessageId: string }[];
    }[];
    assert.ok(trace, 'a trace record');
    assert.equal(trace.pool, pool);
    assert.deepEqual(trace.reasons, m.reasons);
    if (pool === 'blocked') {
      assert.equal(trace.outboundIpPoolName, null);
    } else {
      const p = sandbox.config.pools[pool as Pool];
      assert.equal(trace.outboundIpPoolName, p.ipPool);
      assert.equal(trace.configurationSet, p.configurationSet);
    }
    assert.deepEqual(
      trace.sends.map((s) => [s.pool, s.configurationSet, s.sesMessageId]),
      recorded.map((s) => [tag(s, 'pool'), s.configurationSetName, s.messageId]),
    );
    const api = await fetch(`${sandbox.endpoints.traceApi}/messages/${encodeURIComponent(m.messageId)}`);
    assert.equal(api.status, 200);
    assert.deepEqual(((await api.json()) as { message: unknown }).message, trace);
    return recorded;
  }

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
    const [copy] = await assertPools(m, 'normal', [
      { kind: 'forward', to: ['dest@remote.test'], pool: 'normal' },
    ]);
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
    assert.deepEqual(srs.reverse(returnPath, new Date()), { ok: true, address: 'alice@sender.test' });
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
    assert.equal(copy?.feedbackForwardingEmailAddress, sandbox.config.bounceSink);
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
    const srsAddress = srs.forward('alice@sender.test', new Date());
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

  it('a sender over its hourly limit → blocked and restricted; restrictions list shows it, release lifts it', async () => {
    const send = (n: number) =>
      deliver({
        from: 'bulk@example.com',
        to: 'alias@example.com',
        ip: '198.51.100.9',
        helo: 'mail.example.com',
        data: plain('Bulk <bulk@example.com>', 'alias@example.com', `bulk ${n}`),
      });
    // Prepare: two messages within the limit of 2 external recipients an hour.
    for (const n of [1, 2]) {
      await assertPools(await send(n), 'normal', [
        { kind: 'forward', to: ['dest@remote.test'], pool: 'normal' },
      ]);
    }
    // Act: the third crosses it.
    const third = await send(3);
    // Assess
    assert.ok(third.reasons.includes('limit-external-hour'), third.reasons.join(', '));
    await assertPools(third, 'blocked', [{ kind: 'ndr', to: ['bulk@example.com'], pool: 'high-risk' }]);
    const listed = await cli('restrictions', 'list', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const restrictions = JSON.parse(listed.stdout) as {
      identity: string;
      reason: string;
      since: string;
      until: string | null;
    }[];
    assert.deepEqual(
      restrictions.map(({ identity, reason, until }) => ({ identity, reason, until })),
      [{ identity: 'bulk@example.com', reason: 'limit-external-hour', until: null }],
    );
    const fourth = await send(4);
    assert.ok(fourth.reasons.includes('sender-restricted'));
    assert.equal(fourth.pool, 'blocked');

    const released = await cli('restrictions', 'release', 'bulk@example.com', '--json');
    assert.equal(released.code, 0, released.stderr);
    assert.deepEqual(JSON.parse(released.stdout), { identity: 'bulk@example.com', released: true });
    const after = await cli('restrictions', 'list', '--json');
    assert.deepEqual(JSON.parse(after.stdout), []);
    // Released today: still over the limit, but a `block` sender is not restricted again that
    // day; its mail leaves through high-risk with an alert.
    const fifth = await send(5);
    assert.ok(!fifth.reasons.includes('sender-restricted'), fifth.reasons.join(', '));
    await assertPools(fifth, 'high-risk', [{ kind: 'forward', to: ['dest@remote.test'], pool: 'high-risk' }]);
  });

  it('the trace API searches by sender (the first test sent as carol@example.com) and names a bad parameter', async () => {
    const found = await fetch(`${sandbox.endpoints.traceApi}/messages?sender=carol%40example.com`);
    assert.equal(found.status, 200);
    const { messages } = (await found.json()) as { messages: { sender: string; pool: string }[] };
    assert.ok(messages.length >= 1);
    assert.ok(messages.every((m) => m.sender === 'carol@example.com' && m.pool === 'normal'));
    const bad = await fetch(`${sandbox.endpoints.traceApi}/messages?sender=carol%40example.com&limit=lots`);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { parameter: string }).parameter, 'limit');
  });

  it('a recipient without a route is refused at RCPT (550 5.1.1), a foreign domain too (554 5.7.1)', async () => {
    const before = sandbox.processed().length;
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
    await sandbox.idle();
    assert.equal(sandbox.processed().length, before, 'nothing reached the router');
  });
});

describe('sandbox CLI (sandbox/main.ts as a child process)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'op-sandbox-cli-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
    writeFileSync(join(dir, 'zones.json'), JSON.stringify(zonesFor(dkimKey('sender.test'))));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const start = (...args: string[]) =>
    spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'sandbox/main.ts',
        '--config',
        join(dir, 'config.json'),
        '--zones',
        join(dir, 'zones.json'),
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );

  function exitOf(
    child: ReturnType<typeof start>,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  }

  it('prints a ready line with every endpoint and the shell environment, and stops cleanly on SIGTERM (exit 0)', async () => {
    const child = start('--smtp-port', '0', '--json');
    const exited = exitOf(child);
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      let buffer = '';
      const timer = setTimeout(() => reject(new Error('no ready line within 30 s')), 30_000);
      child.stdout.on('data', (c: Buffer) => {
        buffer += c.toString();
        const line = buffer.split('\n').find((l) => l.includes('"event":"ready"'));
        if (line) {
          clearTimeout(timer);
          resolve(JSON.parse(line) as Record<string, unknown>);
        }
      });
      child.on('exit', (code) => reject(new Error(`exited ${code} before the ready line`)));
    });
    const endpoints = ready.endpoints as Record<string, string>;
    for (const k of ['smtp', 'sesViewer', 'dynamodb', 's3', 'traceApi'])
      assert.match(endpoints[k] ?? '', /127\.0\.0\.1:\d+/);
    const env = ready.env as Record<string, string>;
    for (const k of [
      'AWS_ENDPOINT_URL_DYNAMODB',
      'AWS_ENDPOINT_URL_S3',
      'AWS_ENDPOINT_URL_SESV2',
      'AWS_REGION',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'LIMITS_TABLE',
      'TRACE_TABLE',
    ]) {
      assert.ok(env[k], `${k} in the ready line`);
    }
    const t0 = Date.now();
    child.kill('SIGTERM');
    const { code, stdout } = await exited;
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 < 5_000, `stopped in ${Date.now() - t0} ms`);
    assert.match(stdout, /"event":"stopped"/);
  });

  it('a port already in use: a clear error naming the service and the port, exit 2', async () => {
    const busy: Server = createServer();
    const port = await new Promise<number>((resolve) =>
      busy.listen(0, '127.0.0.1', () => resolve((busy.address() as { port: number }).port)),
    );
    try {
      const { code, stderr } = await exitOf(start('--smtp-port', String(port), '--json'));
      assert.equal(code, 2, stderr);
      assert.match(stderr, new RegExp(`smtp.*port ${port}.*already in use`));
      assert.match(stderr, /--smtp-port/);
    } finally {
      busy.close();
    }
  });
});

describe('smtp-ingress: the SES receipt event, verdicts and Lambda-like retries', () => {
  let emu: Emulators;
  const key = dkimKey('sender.test', 'sbx2');
  const config = parseConfig(CONFIG);
  const resolver = zoneResolver(zonesFor(key));
  before(async () => {
    emu = await startEmulators({ buckets: ['ingress-test'] });
  });
  after(() => emu?.stop());

  async function ingressWith(invoke: Invoke, retryDelaysMs = [20, 40]) {
    const events: IngressEvent[] = [];
    const ingress = await startSmtpIngress({
      config,
      resolver,
      s3: new S3Client(emu.clientConfig('s3')),
      bucket: 'ingress-test',
      prefix: 'raw/',
      invoke,
      retryDelaysMs,
      onEvent: (e) => events.push(e),
    });
    return { ingress, events };
  }

  const send = (port: number, o: { from: string; ip: string; data: string; to?: string }) =>
    smtpSend({
      host: '127.0.0.1',
      port,
      clientIp: o.ip,
      helo: 'mx.sender.test',
      mailFrom: o.from,
      rcptTo: [o.to ?? 'alias@example.com'],
      data: Buffer.from(o.data),
    });

  const result = (messageId: string): PipelineResult => ({
    messageId,
    outcome: 'processed',
    pool: 'normal',
    reasons: [],
    sends: [],
  });

  it('builds the SES event: envelope, headers, commonHeaders, the five verdicts, dmarcPolicy only when DMARC failed', async () => {
    // Prepare
    const seen: Record<string, unknown>[] = [];
    const { ingress } = await ingressWith(async (event) => {
      seen.push(event);
      return result(parseReceiptEvent(event).mail.messageId);
    });
    try {
      // Act: one authenticated message, one that fails SPF and DMARC (p=reject).
      const good = await send(ingress.port, {
        from: 'alice@sender.test',
        ip: '192.0.2.10',
        data: await signed(plain('Alice Sender <alice@sender.test>', 'alias@example.com', 'event good'), key),
      });
      const bad = await send(ingress.port, {
        from: 'alice@sender.test',
        ip: '198.18.0.99',
        data: plain('Alice Sender <alice@sender.test>', 'alias@example.com', 'event bad'),
      });
      await ingress.idle();
      // Assess
      assert.match(good.messageId ?? '', /^[0-9a-v]{40}$/, 'an SES-like message id');
      const [g, b] = seen.map((e) => parseReceiptEvent(e));
      assert.ok(g && b);
      assert.equal(g.mail.messageId, good.messageId);
      assert.equal(b.mail.messageId, bad.messageId);
      assert.equal(g.mail.source, 'alice@sender.test');
      assert.deepEqual(g.mail.destination, ['alias@example.com']);
      assert.deepEqual(g.receipt.recipients, ['alias@example.com']);
      assert.deepEqual(
        g.mail.headers.slice(0, 2).map((h) => h.name),
        ['Return-Path', 'Received'],
      );
      assert.equal(g.mail.headersTruncated, false);
      assert.deepEqual((g.mail.commonHeaders as { from: string[] }).from, [
        'Alice Sender <alice@sender.test>',
      ]);
      assert.equal((g.mail.commonHeaders as { subject: string }).subject, 'event good');
      const status = (r: typeof g) =>
        [
          r.receipt.spamVerdict,
          r.receipt.virusVerdict,
          r.receipt.spfVerdict,
          r.receipt.dkimVerdict,
          r.receipt.dmarcVerdict,
        ].map((v) => v.status);
      assert.deepEqual(status(g), ['PASS', 'PASS', 'PASS', 'PASS', 'PASS']);
      assert.equal(g.receipt.dmarcPolicy, undefined);
      assert.deepEqual(status(b), ['PASS', 'PASS', 'FAIL', 'GRAY', 'FAIL']);
      assert.equal(b.receipt.dmarcPolicy, 'reject');
      assert.deepEqual(g.receipt.action, {
        type: 'Lambda',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:outbound-pools-router',
        invocationType: 'Event',
      });
      // The S3 object: SES-like trace fields on top of the message as received.
      const stored = await new S3Client(emu.clientConfig('s3')).send(
        new GetObjectCommand({ Bucket: 'ingress-test', Key: `raw/${good.messageId}` }),
      );
      const text = await stored.Body!.transformToString();
      assert.match(
        text,
        /^Return-Path: <alice@sender\.test>\r\nReceived: from mx\.sender\.test \(mx\.sender\.test \[192\.0\.2\.10\]\)\r\n by inbound-smtp\.sandbox\.localhost with SMTP id [0-9a-v]{40} for alias@example\.com;/,
      );
      assert.match(text, /^X-SES-Spam-Verdict: PASS\r$/m);
      assert.match(text, /^Authentication-Results: inbound-smtp\.sandbox\.localhost;/m);
    } finally {
      await ingress.close();
    }
  });

  it('a retryable failure is retried after each delay, then dead-lettered; a permanent one at once', async () => {
    // Prepare
    let calls = 0;
    const { ingress, events } = await ingressWith(async (event) => {
      calls++;
      const id = parseReceiptEvent(event).mail.messageId;
      if (/permanent/.test(JSON.stringify(event))) throw new Error('boom');
      throw new TransientDependencyError('dynamodb', `throttled ${id}`);
    });
    try {
      const data = (subject: string) => plain('Alice <alice@sender.test>', 'alias@example.com', subject);
      // Act
      const transient = await send(ingress.port, {
        from: 'alice@sender.test',
        ip: '192.0.2.10',
        data: data('transient'),
      });
      const transientEnd = await ingress.waitFor(transient.messageId!);
      const permanent = await send(ingress.port, {
        from: 'alice@sender.test',
        ip: '192.0.2.10',
        data: data('permanent'),
      });
      const permanentEnd = await ingress.waitFor(permanent.messageId!);
      // Assess: the SMTP client got its 250 before any of that.
      assert.equal(transient.data?.code, 250);
      assert.equal(transientEnd.outcome, 'failed');
      assert.equal(transientEnd.attempts, 3);
      assert.deepEqual(
        events.filter((e) => e.type === 'retry').map((e) => (e as { delayMs: number }).delayMs),
        [20, 40],
      );
      assert.equal(permanentEnd.attempts, 1);
      assert.equal(calls, 4);
      assert.deepEqual(
        ingress.deadLetters().map((d) => [d.messageId, d.attempts, d.retryable]),
        [
          [transient.messageId, 3, true],
          [permanent.messageId, 1, false],
        ],
      );
    } finally {
      await ingress.close();
    }
  });

  it('a message larger than maxMessageBytes is refused 552 5.3.4 and never stored or invoked', async () => {
    let calls = 0;
    const small = await startSmtpIngress({
      config: parseConfig({ ...CONFIG, maxMessageBytes: 2_000 }),
      resolver,
      s3: new S3Client(emu.clientConfig('s3')),
      bucket: 'ingress-test',
      prefix: 'raw/',
      invoke: async (event) => {
        calls++;
        return result(parseReceiptEvent(event).mail.messageId);
      },
    });
    try {
      const big = await send(small.port, {
        from: 'alice@sender.test',
        ip: '192.0.2.10',
        data: plain(
          'Alice <alice@sender.test>',
          'alias@example.com',
          'big',
          `${'x'.repeat(70)}\r\n`.repeat(80),
        ),
      });
      assert.equal(big.data?.code, 552);
      assert.match(big.data?.text ?? '', /^5\.3\.4 /);
      assert.equal(big.messageId, undefined);
      await small.idle();
      assert.equal(calls, 0);
    } finally {
      await small.close();
    }
  });

  it('maps mailauth results to SES verdicts as documented', () => {
    assert.deepEqual(
      ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', undefined].map(spfVerdict),
      ['PASS', 'FAIL', 'FAIL', 'GRAY', 'GRAY', 'PROCESSING_FAILED', 'PROCESSING_FAILED', 'PROCESSING_FAILED'],
    );
    const dkim = (...r: string[]) => dkimVerdict(r.map((result) => ({ status: { result } })));
    assert.deepEqual(
      [dkim(), dkim('none'), dkim('fail', 'pass'), dkim('fail', 'temperror'), dkim('neutral', 'permerror')],
      ['GRAY', 'GRAY', 'PASS', 'PROCESSING_FAILED', 'FAIL'],
    );
    assert.deepEqual(dmarcVerdict({ status: { result: 'fail' }, policy: 'quarantine' }), {
      status: 'FAIL',
      policy: 'quarantine',
    });
    assert.deepEqual(dmarcVerdict(false), { status: 'GRAY' });
    assert.deepEqual(dmarcVerdict({ status: { result: 'temperror' } }), { status: 'PROCESSING_FAILED' });
    assert.equal(
      containsTestString(Buffer.from(`x\r\n${Buffer.from(`pad ${EICAR}`).toString('base64')}\r\n`), EICAR),
      true,
    );
    assert.equal(containsTestString(Buffer.from('nothing to see'), GTUBE), false);
  });
});
