/**
 * The CLI as operators expect it (issue 15 item 8): one meaning for OUTBOUND_POOLS_CONFIG (a
 * path, which the sandbox's export line carries), every command naming the configuration and
 * table it used, network faults in one line with exit 75, and `dry-run` refusing a file that
 * is no message (exit 65). `main` runs in this process (the same code as the binary without a
 * process start per case); the environment is swapped around each call.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '../../functions/cli/main.js';
import { Srs } from '../../functions/core/srs.js';
import { type Sandbox, startSandbox } from '../../sandbox/server.js';
import { dryRunArgs } from '../helpers/cli.js';
import { CONFIG_JSON, message, NOW, sesEvent, zones } from '../helpers/mail.js';
import { CONFIG as SANDBOX_CONFIG } from '../helpers/sandbox-fixtures.js';

/** Runs `main` with `env` set on top of the current environment (restored afterwards). */
async function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const capture = () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (c: Buffer) => {
      text += c.toString();
    });
    return { stream, text: () => text };
  };
  const out = capture();
  const err = capture();
  try {
    const code = await main(
      args,
      out.stream as unknown as typeof process.stdout,
      err.stream as unknown as typeof process.stderr,
    );
    await new Promise((r) => setImmediate(r));
    return { code, stdout: out.text(), stderr: err.text() };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Parses `export A=1 B='x y'` as a POSIX shell would (the quoting `exportLine` uses). */
function parseExportLine(line: string): Record<string, string> {
  assert.match(line, /^export /);
  const env: Record<string, string> = {};
  const re = /([A-Za-z_][A-Za-z0-9_]*)=((?:'[^']*'|\\'|[^\s'])*)/g;
  for (const m of line.slice('export '.length).matchAll(re)) {
    env[m[1]!] = m[2]!.replace(/'([^']*)'|\\(')/g, (_s, quoted, escaped) => quoted ?? escaped);
  }
  return env;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const AWS_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_PROFILE: undefined,
  AWS_ENDPOINT_URL: undefined,
  AWS_MAX_ATTEMPTS: '1',
  AWS_EC2_METADATA_DISABLED: 'true',
};

describe('outbound-pools: configuration, network faults, bad messages', () => {
  let dir: string;
  const f = (name: string) => join(dir, name);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'op-ops-cli-'));
    writeFileSync(f('config.json'), JSON.stringify(CONFIG_JSON));
    writeFileSync(f('zones.json'), JSON.stringify(zones([])));
    writeFileSync(f('event.json'), JSON.stringify(sesEvent({})));
    writeFileSync(f('empty.eml'), '');
    writeFileSync(f('body-only.eml'), '\r\nHello, this is only a body.\r\nRegards: me\r\n');
    writeFileSync(f('no-fields.eml'), 'just some pasted text\nand more text\n\nSubject: too late\n');
    writeFileSync(f('message.eml'), message());
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('dry-run refuses a file with no header section: one line, exit 65', () => {
    const dryRun = (file: string) => cli([...dryRunArgs(f, NOW, 'event.json', file)]);
    for (const [file, why] of [
      ['empty.eml', /the file is empty/],
      ['body-only.eml', /no header field \(Name: value\) before the first empty line/],
      ['no-fields.eml', /no header field/],
    ] as const) {
      it(file, async () => {
        const r = await dryRun(file);
        assert.equal(r.code, 65, r.stderr);
        assert.equal(r.stdout, '');
        const lines = r.stderr.trimEnd().split('\n');
        assert.match(lines.at(-1)!, /^outbound-pools: --message: .* is not a message: /);
        assert.match(lines.at(-1)!, why);
      });
    }
    it('a message with a header section is still decided (exit 0)', async () => {
      const r = await dryRun('message.eml');
      assert.equal(r.code, 0, r.stderr);
      assert.ok(['normal', 'relay', 'high-risk', 'blocked'].includes(JSON.parse(r.stdout).pool));
    });
  });

  describe('which configuration: one stderr line, stdout left to the output', () => {
    it('--config, OUTBOUND_POOLS_CONFIG (a path), else the default', async () => {
      const flag = await cli(['srs', 'forward', 'a@sender.test', '--config', f('config.json'), '--json']);
      assert.equal(flag.code, 0, flag.stderr);
      assert.ok(JSON.parse(flag.stdout), 'stdout is JSON alone');
      assert.equal(flag.stderr, `outbound-pools: configuration ${f('config.json')} (from --config)\n`);
      const env = await cli(['srs', 'forward', 'a@sender.test', '--json'], {
        OUTBOUND_POOLS_CONFIG: f('config.json'),
      });
      assert.equal(env.code, 0, env.stderr);
      assert.equal(
        env.stderr,
        `outbound-pools: configuration ${f('config.json')} (from OUTBOUND_POOLS_CONFIG)\n`,
      );
      const none = await cli(['srs', 'forward', 'a@sender.test'], {
        OUTBOUND_POOLS_CONFIG: join(dir, 'missing.json'),
      });
      assert.equal(none.code, 2);
      assert.match(none.stderr, /cannot read configuration .*missing\.json/);
    });
  });

  describe('network faults: one line, exit 75, no stack', () => {
    const assertOneLine = (r: { code: number; stdout: string; stderr: string }, pattern: RegExp) => {
      assert.equal(r.code, 75, r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack frame');
      assert.match(lines.at(-1)!, pattern);
      assert.match(lines.at(-1)!, /\(temporary; try again\)$/);
      assert.equal(JSON.parse(r.stdout).retryable, true);
    };

    it('trace against a closed loopback port', async () => {
      const port = await closedPort();
      const r = await cli(['trace', '--sender', 'a@sender.test', '--trace-table', 'op-trace'], {
        ...AWS_ENV,
        AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${port}`,
      });
      assertOneLine(r, /ECONNREFUSED|connection refused/);
      // It says where it looked first.
      assert.match(
        r.stderr,
        new RegExp(`table op-trace \\(from --trace-table\\), DynamoDB at http://127\\.0\\.0\\.1:${port}`),
      );
    });

    it('limits show against a host that does not resolve (RFC 2606 .invalid)', async () => {
      const r = await cli(
        ['limits', 'show', 'a@example.com', '--config', f('config.json'), '--limits-table', 'op-limits'],
        { ...AWS_ENV, AWS_ENDPOINT_URL_DYNAMODB: 'http://dynamodb.outbound-pools.invalid:8000' },
      );
      assertOneLine(r, /network error: .*(ENOTFOUND|EAI_AGAIN)/);
    });
  });

  describe("the sandbox's export line carries its configuration", () => {
    let sandbox: Sandbox;
    let env: Record<string, string>;

    before(async () => {
      writeFileSync(f('sandbox-config.json'), JSON.stringify(SANDBOX_CONFIG));
      sandbox = await startSandbox({ config: f('sandbox-config.json'), smtpPort: 0, quiet: true });
      const line = sandbox.readyText.split('\n').find((l) => l.startsWith('export '));
      assert.ok(line, sandbox.readyText);
      env = parseExportLine(line);
    });
    after(async () => {
      await sandbox?.stop();
    });

    it('OUTBOUND_POOLS_CONFIG names a private file with the effective configuration', () => {
      const path = env.OUTBOUND_POOLS_CONFIG;
      assert.ok(path, 'OUTBOUND_POOLS_CONFIG is in the export line');
      assert.equal(statSync(path).mode & 0o077, 0, 'only its owner may read the SRS secrets');
      const written = JSON.parse(readFileSync(path, 'utf8'));
      assert.deepEqual(written.srs.secrets, SANDBOX_CONFIG.srs.secrets);
      assert.deepEqual(written.limits, SANDBOX_CONFIG.limits);
    });

    it('limits show uses the sandbox policy; srs forward signs with its secret', async () => {
      const limits = await cli(['limits', 'show', 'bulk@example.com', '--json'], env);
      assert.equal(limits.code, 0, limits.stderr);
      const report = JSON.parse(limits.stdout);
      assert.equal(report.policySource, 'sender');
      assert.equal(
        report.policy.externalPerHour,
        SANDBOX_CONFIG.limits.senders['bulk@example.com'].externalPerHour,
      );
      assert.equal(report.policy.action, 'block');
      assert.match(limits.stderr, /configuration .* \(from OUTBOUND_POOLS_CONFIG\)/);
      assert.match(limits.stderr, /table \S+ \(from LIMITS_TABLE\), DynamoDB at http:\/\/127\.0\.0\.1:\d+/);

      const now = new Date();
      const forward = await cli(
        ['srs', 'forward', 'ann@sender.test', '--now', now.toISOString(), '--json'],
        env,
      );
      assert.equal(forward.code, 0, forward.stderr);
      const out = JSON.parse(forward.stdout) as Record<string, unknown>;
      const address = Object.values(out).find((v) => typeof v === 'string' && /^SRS0/i.test(v)) as string;
      assert.ok(address, forward.stdout);
      // Oracle: the sandbox's own SRS (its secret) decodes it; another secret does not.
      const decoded = new Srs(sandbox.config.srs).reverse(address, now);
      assert.equal(decoded.ok, true, JSON.stringify(decoded));
      const other = new Srs({ ...sandbox.config.srs, secrets: ['another-secret'] }).reverse(address, now);
      assert.equal(other.ok, false);
    });
  });
});
