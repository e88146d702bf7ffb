/**
 * Issue 14 end to end in the sandbox: real SMTP (swaks) → ingress → the router's handler →
 * the SES emulator (which records each send's TenantName and enforces configuration-set
 * sending options as SES does) and the SNS emulator (the operators' notices); the operator
 * CLI runs against both: its `main` in this process with the sandbox's environment, and once
 * as a child process of the binary (the first trace lookup).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { NoticeMessage } from '../../functions/core/notices.js';
import type { RecordedSend } from '../../sandbox/emulators/index.js';
import { type Sandbox, startSandbox } from '../../sandbox/server.js';
import { GTUBE, type ProcessedMessage } from '../../sandbox/smtp-ingress.js';
import { runCli, runCliInProcess } from '../helpers/cli.js';

const run = promisify(execFile);
const SWAKS = '/usr/bin/swaks';

const CONFIG = {
  acceptedDomains: ['example.com'],
  routes: { 'alias@example.com': ['dest@remote.test'] },
  srs: { domain: 'fwd.example.com', secrets: ['sandbox-isolation-secret'] },
  pools: { 'high-risk': { configurationSet: 'risky-set', tenant: 'risky-tenant' } },
  limits: { senders: { 'burst@example.com': { externalPerHour: 1, action: 'block' } } },
};

const ZONES = {
  'sender.test': {
    A: ['192.0.2.10'],
    MX: [{ exchange: 'mx.sender.test', priority: 10 }],
    TXT: ['v=spf1 ip4:192.0.2.0/24 -all'],
  },
  'example.com': {
    MX: [{ exchange: 'inbound-smtp.us-east-1.amazonaws.com', priority: 10 }],
    TXT: ['v=spf1 ip4:198.51.100.0/24 -all'],
  },
  'remote.test': { MX: [{ exchange: 'mx.remote.test', priority: 10 }] },
};

let seq = 0;
const message = (from: string, subject: string, body: string) =>
  [
    `From: ${from}`,
    'To: alias@example.com',
    `Subject: ${subject}`,
    `Message-ID: <iso-${process.pid}-${++seq}@sandbox.test>`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
  ].join('\r\n');

describe('sandbox: tenants, pausing a pool, notices (issue 14)', () => {
  let dir: string;
  let sandbox: Sandbox;

  before(async () => {
    assert.ok(existsSync(SWAKS), `swaks is not installed at ${SWAKS}: apt-get install swaks`);
    dir = mkdtempSync(join(tmpdir(), 'op-isolation-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
    writeFileSync(join(dir, 'zones.json'), JSON.stringify(ZONES));
    sandbox = await startSandbox({
      config: join(dir, 'config.json'),
      zones: join(dir, 'zones.json'),
      smtpPort: 0,
      quiet: true,
      retryDelaysMs: [50, 100],
    });
  });
  after(async () => {
    await sandbox?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function deliver(from: string, ip: string, data: string): Promise<ProcessedMessage> {
    const file = join(dir, `m${++seq}.eml`);
    writeFileSync(file, data);
    const { stdout, stderr } = await run(SWAKS, [
      '--server',
      `127.0.0.1:${sandbox.smtp.port}`,
      '--xclient-addr',
      ip,
      '--from',
      from,
      '--to',
      'alias@example.com',
      '--data',
      file,
      '--timeout',
      '20',
    ]);
    const id = /<- {2}250 2\.0\.0 Ok (\S+)/.exec(stdout + stderr)?.[1];
    assert.ok(id, `no message id in:\n${stdout}${stderr}`);
    const m = await sandbox.waitFor(id, 20_000);
    assert.equal(m.outcome, 'processed', m.error);
    return m;
  }
  const gtube = () =>
    deliver(
      'alice@sender.test',
      '192.0.2.10',
      message('Alice <alice@sender.test>', 'gtube', `Spam:\r\n${GTUBE}\r\n`),
    );
  const sendsOf = (m: ProcessedMessage): RecordedSend[] =>
    sandbox.emulators.ses
      .sent()
      .filter((s) => s.emailTags.some((t) => t.Name === 'inbound_id' && t.Value === m.messageId));
  const cliEnv = () => ({
    ...process.env,
    ...sandbox.env,
    OUTBOUND_POOLS_CONFIG: join(dir, 'config.json'),
    NO_COLOR: '1',
  });
  const cli = (...args: string[]) => runCliInProcess(args, cliEnv());
  const binary = (...args: string[]) => runCli(args, cliEnv());
  const notices = () =>
    sandbox.emulators.sns
      .published()
      .map((n) => ({ subject: n.subject, ...(JSON.parse(n.message) as NoticeMessage) }));

  it('every send names its pool tenant, and the trace shows it', async () => {
    const m = await deliver(
      'carol@example.com',
      '198.51.100.7',
      message('Carol <carol@example.com>', 'tenant', 'hi\r\n'),
    );
    assert.equal(m.pool, 'normal');
    const sends = sendsOf(m);
    assert.deepEqual(
      sends.map((s) => [s.configurationSetName, s.tenantName]),
      [['outbound-normal', 'outbound-normal']],
    );
    const high = await gtube();
    assert.deepEqual(
      sendsOf(high).map((s) => [s.configurationSetName, s.tenantName]),
      [['risky-set', 'risky-tenant']],
    );
    const r = await binary('trace', '--message-id', high.messageId, '--json');
    assert.equal(r.code, 0, r.stderr);
    const [trace] = JSON.parse(r.stdout) as { sends: { tenant?: string; sesMessageId: string }[] }[];
    assert.deepEqual(
      trace!.sends.map((s) => [s.tenant, s.sesMessageId]),
      sendsOf(high).map((s) => [s.tenantName, s.messageId]),
    );
  });

  it('pools pause high-risk → GTUBE mail blocked pool-paused, nothing sent, a notice; resume → sent again', async () => {
    const paused = await cli('pools', 'pause', 'high-risk', '--reason', 'test pause', '--json');
    assert.equal(paused.code, 0, paused.stderr);
    assert.deepEqual(JSON.parse(paused.stdout), {
      pool: 'high-risk',
      configurationSet: 'risky-set',
      sendingEnabled: false,
      notice: 'published',
    });
    // SES itself (the emulator) holds the state the router reads.
    assert.deepEqual(sandbox.emulators.ses.disabledConfigurationSets(), ['risky-set']);
    const status = await cli('pools', 'status', '--json');
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(
      (JSON.parse(status.stdout) as { pool: string; sendingEnabled: boolean }[]).map((s) => [
        s.pool,
        s.sendingEnabled,
      ]),
      [
        ['normal', true],
        ['high-risk', false],
        ['relay', true],
      ],
    );
    const pauseNotice = notices().find((n) => n.notice.kind === 'pool-paused');
    assert.ok(pauseNotice, 'a pool-paused notice');
    assert.deepEqual(pauseNotice.notice, {
      kind: 'pool-paused',
      pool: 'high-risk',
      configurationSet: 'risky-set',
      by: 'operator',
      detail: 'test pause',
    });
    assert.equal(pauseNotice.subject, 'outbound-pools: Pool paused: high-risk (operator)');

    const blocked = await gtube();
    assert.equal(blocked.pool, 'blocked');
    assert.ok(blocked.reasons.includes('pool-paused'), blocked.reasons.join(','));
    assert.ok(blocked.reasons.includes('spam'), 'the verdict is kept beside the pause');
    assert.deepEqual(sendsOf(blocked), [], 'nothing sent');
    const r = await cli('trace', '--message-id', blocked.messageId, '--json');
    const [trace] = JSON.parse(r.stdout) as { pool: string; reasons: string[]; sends: unknown[] }[];
    assert.equal(trace!.pool, 'blocked');
    assert.ok(trace!.reasons.includes('pool-paused'));
    assert.deepEqual(trace!.sends, []);

    // An authenticated sender over its limit would get an NDR through high-risk: not while paused.
    const burst = (n: number) =>
      deliver(
        'burst@example.com',
        '198.51.100.8',
        message('Burst <burst@example.com>', `burst ${n}`, 'x\r\n'),
      );
    assert.equal((await burst(1)).pool, 'normal');
    const over = await burst(2);
    assert.equal(over.pool, 'blocked');
    assert.ok(over.reasons.includes('pool-paused'), over.reasons.join(','));
    assert.deepEqual(sendsOf(over), [], 'no NDR through a paused pool');

    const resumed = await cli('pools', 'resume', 'high-risk', '--json');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(JSON.parse(resumed.stdout).sendingEnabled, true);
    assert.deepEqual(sandbox.emulators.ses.disabledConfigurationSets(), []);
    const again = await gtube();
    assert.equal(again.pool, 'high-risk');
    assert.equal(sendsOf(again).length, 1);
    assert.ok(notices().some((n) => n.notice.kind === 'pool-resumed'));
  });

  it('a sender driven over a block limit: exactly one "sender restricted" notice, however many messages', async () => {
    // burst@ crossed its limit in the previous test; more of its mail is blocked again.
    for (const n of [3, 4, 5]) {
      const m = await deliver(
        'burst@example.com',
        '198.51.100.8',
        message('Burst <burst@example.com>', `more ${n}`, 'x\r\n'),
      );
      assert.equal(m.pool, 'blocked');
      assert.ok(m.reasons.includes('sender-restricted'), m.reasons.join(','));
    }
    const restricted = notices().filter((n) => n.notice.kind === 'sender-restricted');
    assert.equal(restricted.length, 1, JSON.stringify(restricted));
    assert.deepEqual(restricted[0]!.notice, {
      kind: 'sender-restricted',
      identity: 'burst@example.com',
      reason: 'limit-external-hour',
      until: null,
    });
    assert.equal(restricted[0]!.version, 1);
    assert.equal(restricted[0]!.source, 'outbound-pools');
  });

  it('SES pausing a tenant (DISABLED) pauses its pool: GTUBE blocked pool-paused, nothing sent; status says "tenant"', async () => {
    sandbox.emulators.ses.setTenantSendingStatus('risky-tenant', 'DISABLED');
    try {
      const status = await cli('pools', 'status', '--json');
      assert.equal(status.code, 0, status.stderr);
      const highRisk = (
        JSON.parse(status.stdout) as { pool: string; pausedBy: string[]; sendingEnabled: boolean }[]
      )
        .filter((s) => s.pool === 'high-risk')
        .map((s) => [s.sendingEnabled, s.pausedBy]);
      assert.deepEqual(highRisk, [[true, ['tenant']]], 'the configuration set sends; the tenant does not');

      const blocked = await gtube();
      assert.equal(blocked.pool, 'blocked');
      assert.ok(blocked.reasons.includes('pool-paused'), blocked.reasons.join(','));
      assert.deepEqual(sendsOf(blocked), [], 'nothing sent');
    } finally {
      sandbox.emulators.ses.setTenantSendingStatus('risky-tenant', 'ENABLED');
    }
    const again = await gtube();
    assert.equal(again.pool, 'high-risk');
    assert.equal(sendsOf(again).length, 1);
  });

  it('pools: bad input is refused with the usage, exit 2', async () => {
    for (const args of [
      ['pools'],
      ['pools', 'pause'],
      ['pools', 'pause', 'blocked'],
      ['pools', 'status', 'normal'],
    ]) {
      const r = await cli(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /Usage: outbound-pools pools status/);
    }
  });
});
