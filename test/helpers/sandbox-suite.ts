/**
 * The sandbox as the end-to-end tests use it: started once per test file (hooks registered in
 * the calling `describe`), mail sent with real `swaks` (the client IP for SPF given with
 * XCLIENT), and the checks that a message's pool agrees everywhere it is recorded.
 *
 * swaks is required (`apt-get install swaks`; `.ci/run` installs it): without it these tests
 * fail, they never skip.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { promisify } from 'node:util';
import { Srs } from '../../functions/core/srs.js';
import type { Pool } from '../../functions/core/vocabulary.js';
import type { RecordedSend } from '../../sandbox/emulators/index.js';
import { type Sandbox, startSandbox } from '../../sandbox/server.js';
import type { ProcessedMessage } from '../../sandbox/smtp-ingress.js';
import { runCliInProcess } from './cli.js';
import { dkimKey } from './mail.js';

import { CONFIG, SWAKS, type SwaksResult, zonesFor } from './sandbox-fixtures.js';

const run = promisify(execFile);

export interface TraceReport {
  pool: string;
  outboundIpPoolName: string | null;
  configurationSet: string | null;
  reasons: string[];
  sends: { pool: string; configurationSet: string; sesMessageId: string }[];
}

/** Call inside a `describe`: starts a sandbox before its tests and stops it after. */
export function sandboxSuite() {
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

  // `main` in this process with the sandbox's environment (test/cli/operator.test.ts runs the binary).
  const cli = (...args: string[]) => runCliInProcess(args, { ...process.env, ...sandbox.env, NO_COLOR: '1' });

  const tag = (s: RecordedSend, name: string) => s.emailTags.find((t) => t.Name === name)?.Value;

  /**
   * The message's pool, and every send's pool, agree in the three places: the handler's
   * result, the SES recording layer (configuration set + `pool` tag) and the trace, read from
   * the trace API — and, with `viaCli`, from the trace CLI too (the two share their lookup).
   */
  async function assertPools(
    m: ProcessedMessage,
    pool: string,
    sends: { kind: string; to: string[]; pool: Pool }[],
    { viaCli = false } = {},
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
    const api = await fetch(`${sandbox.endpoints.traceApi}/messages/${encodeURIComponent(m.messageId)}`);
    assert.equal(api.status, 200);
    const trace = ((await api.json()) as { message: TraceReport }).message;
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
    if (viaCli) {
      const r = await cli('trace', '--message-id', m.messageId, '--json');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), [trace], 'the trace CLI reports what the trace API does');
    }
    return recorded;
  }

  return {
    get sandbox() {
      return sandbox;
    },
    get srs() {
      return srs;
    },
    key,
    file,
    swaks,
    deliver,
    cli,
    tag,
    assertPools,
  };
}
