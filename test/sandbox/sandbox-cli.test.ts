/**
 * `sandbox/main.ts` as a child process: the ready line with every endpoint, a clean stop on
 * SIGTERM, and a port already in use named with the flag that changes it.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dkimKey } from '../helpers/mail.js';
import { CONFIG, zonesFor } from '../helpers/sandbox-fixtures.js';

describe('sandbox CLI (sandbox/main.ts as a child process)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'op-sandbox-cli-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
    writeFileSync(join(dir, 'zones.json'), JSON.stringify(zonesFor(dkimKey('sender.test'))));
  });
  const children = new Set<ReturnType<typeof spawn>>();
  after(() => {
    // A failed assertion must not leave a sandbox running (it would keep this file alive).
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (...args: string[]) => {
    const child = spawn(
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
    children.add(child);
    return child;
  };

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
    for (const k of ['smtp', 'ses', 'dynamodb', 's3', 'traceApi'])
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
    // Generous: on a loaded machine closing five servers takes seconds; what matters is that
    // it stops by itself, without a second signal.
    assert.ok(Date.now() - t0 < 30_000, `stopped in ${Date.now() - t0} ms`);
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
