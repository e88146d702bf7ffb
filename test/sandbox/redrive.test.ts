/**
 * Issue 15 end to end in the sandbox: a fault at the SES endpoint (the emulator answers
 * SendEmail with AccessDeniedException, as AWS does for a role missing ses:SendEmail) makes a
 * message dead-letter; the trace says so with the error; `outbound-pools redrive --dry-run`
 * (a child process, through the SQS and Lambda emulators with the real SDK clients) lists it
 * and touches nothing; once the fault is gone `redrive` re-invokes the router, the trace shows
 * a sent copy and the queue is empty.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { main } from '../../functions/cli/main.js';
import { SANDBOX_DEAD_LETTER_QUEUE, type Sandbox, startSandbox } from '../../sandbox/server.js';
import type { ProcessedMessage } from '../../sandbox/smtp-ingress.js';
import { runCli } from '../helpers/cli.js';

const run = promisify(execFile);
const SWAKS = '/usr/bin/swaks';

const CONFIG = {
  acceptedDomains: ['example.com'],
  routes: { 'alias@example.com': ['dest@remote.test'] },
  srs: { domain: 'fwd.example.com', secrets: ['sandbox-redrive-secret'] },
};
const ZONES = {
  'sender.test': {
    A: ['192.0.2.10'],
    MX: [{ exchange: 'mx.sender.test', priority: 10 }],
    TXT: ['v=spf1 ip4:192.0.2.0/24 -all'],
  },
  'example.com': { MX: [{ exchange: 'inbound-smtp.us-east-1.amazonaws.com', priority: 10 }] },
  'remote.test': { MX: [{ exchange: 'mx.remote.test', priority: 10 }] },
};

interface RedriveJson {
  dryRun: boolean;
  results: {
    status: string;
    deadLetter?: { messageId: string; sender: string; error: string; attempts: number };
  }[];
}

describe('sandbox: a dead letter recorded in the trace and redriven (issue 15)', () => {
  let dir: string;
  let sandbox: Sandbox;

  before(async () => {
    assert.ok(existsSync(SWAKS), `swaks is not installed at ${SWAKS}: apt-get install swaks`);
    dir = mkdtempSync(join(tmpdir(), 'op-redrive-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
    writeFileSync(join(dir, 'zones.json'), JSON.stringify(ZONES));
    sandbox = await startSandbox({
      config: join(dir, 'config.json'),
      zones: join(dir, 'zones.json'),
      smtpPort: 0,
      quiet: true,
      // Lambda's retry waits, injected as 0: the fault outlasts every attempt at once.
      retryDelaysMs: [0, 0],
    });
  });
  after(async () => {
    await sandbox?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The CLI in this process (a child process costs seconds on a loaded machine; one below is). */
  const cli = async (...args: string[]) => {
    Object.assign(process.env, sandbox.env);
    const chunks = { out: '', err: '' };
    const stream = (key: 'out' | 'err') =>
      ({
        isTTY: false,
        write: (t: string) => {
          chunks[key] += t;
          return true;
        },
      }) as unknown as NodeJS.WriteStream;
    const code = await main(args, stream('out'), stream('err'));
    return { code, stdout: chunks.out, stderr: chunks.err };
  };
  const queued = () => sandbox.emulators.sqs.bodies(SANDBOX_DEAD_LETTER_QUEUE);

  async function deliver(): Promise<ProcessedMessage> {
    const file = join(dir, 'm.eml');
    writeFileSync(
      file,
      'From: Alice <alice@sender.test>\r\nTo: alias@example.com\r\nSubject: redrive me\r\n' +
        `Message-ID: <redrive-${process.pid}@sender.test>\r\n\r\nhello\r\n`,
    );
    const { stdout, stderr } = await run(SWAKS, [
      ...['--server', `127.0.0.1:${sandbox.smtp.port}`, '--xclient-addr', '192.0.2.10'],
      ...['--from', 'alice@sender.test', '--to', 'alias@example.com', '--data', file, '--timeout', '20'],
    ]);
    const id = /<- {2}250 2\.0\.0 Ok (\S+)/.exec(stdout + stderr)?.[1];
    assert.ok(id, `no message id in:\n${stdout}${stderr}`);
    return sandbox.waitFor(id, 20_000);
  }

  it('dead-letters under the fault, lists it with --dry-run, redrives it once the fault is gone', async () => {
    // Every SendEmail is refused while the fault lasts (more than the attempts can use).
    sandbox.emulators.ses.failNext(10, {
      status: 403,
      code: 'AccessDeniedException',
      message: 'not authorized to perform ses:SendEmail',
    });
    const m = await deliver();
    assert.equal(m.outcome, 'failed');
    assert.equal(queued().length, 1, 'the invocation record is in the dead-letter queue');

    const traced = await cli('trace', '--message-id', m.messageId, '--json');
    assert.equal(traced.code, 0, traced.stderr);
    const [report] = JSON.parse(traced.stdout) as {
      status: string;
      deadLetter?: { error: string };
      sends: unknown[];
    }[];
    assert.equal(report?.status, 'dead-letter');
    assert.match(report?.deadLetter?.error ?? '', /AccessDenied/);
    const table = await cli('trace', '--message-id', m.messageId, '--pretty');
    assert.match(table.stdout, /DEAD LETTER RetriesExhausted: AccessDenied/);

    const listed = await cli('redrive', '--dry-run', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const dry = JSON.parse(listed.stdout) as RedriveJson;
    assert.deepEqual(
      dry.results.map((r) => [r.status, r.deadLetter?.messageId, r.deadLetter?.sender]),
      [['listed', m.messageId, 'alice@sender.test']],
    );
    assert.equal(queued().length, 1, 'a dry run deletes nothing');
    const sendsBefore = sandbox.emulators.ses.sent().length;
    // The pretty table names the message, and the record is still visible (visibility 0).
    // As an operator runs it: a child process with the sandbox's export line.
    const pretty = await runCli(['redrive', '--dry-run', '--pretty'], {
      ...process.env,
      ...sandbox.env,
      NO_COLOR: '1',
    });
    assert.equal(pretty.code, 0, pretty.stderr);
    assert.match(pretty.stderr, /1 listed \(dry run: nothing invoked or deleted\)/);
    assert.match(
      pretty.stdout,
      new RegExp(`listed\\s+${m.messageId}\\s+alice@sender\\.test\\s+alias@example\\.com`),
    );

    await sandbox.emulators.ses.clear(); // the operator fixed the cause
    const redriven = await cli('redrive', '--json');
    assert.equal(redriven.code, 0, redriven.stderr);
    assert.deepEqual(
      (JSON.parse(redriven.stdout) as RedriveJson).results.map((r) => [r.status, r.deadLetter?.messageId]),
      [['redriven', m.messageId]],
    );
    assert.deepEqual(queued(), [], 'the queue is empty');
    assert.equal(sandbox.emulators.lambda.invocations('outbound-pools-router'), 1);

    const after = await cli('trace', '--message-id', m.messageId, '--json');
    const [done] = JSON.parse(after.stdout) as {
      status: string;
      sends: { status: string; sesMessageId: string | null; to: string[] }[];
    }[];
    assert.equal(done?.status, 'done');
    assert.deepEqual(
      done?.sends.map((s) => [s.status, s.to]),
      [['sent', ['dest@remote.test']]],
    );
    const sent = sandbox.emulators.ses.sent();
    assert.ok(sent.length >= 1 && sendsBefore === 0, 'the only send is the redriven one');
    assert.equal(done?.sends[0]?.sesMessageId, sent.at(-1)?.messageId);

    const again = await cli('redrive');
    assert.equal(again.code, 0);
    assert.match(again.stderr, /the dead-letter queue is empty/);
  });
});
