/**
 * Review findings 2 and 3 (operator CLI): a redrive that stops — the network, Ctrl-C — makes
 * the records it held visible again, so "run redrive again" finds them at once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsDeadLetterQueue } from '../../functions/adapters/sqs-dead-letter-queue.js';
import { type Emulators, startEmulators } from '../../sandbox/emulators/index.js';
import { CLI_BIN, runCli } from '../helpers/cli.js';
import { emulatorDeadLetter } from '../helpers/dead-letter-queue.js';

async function fill(emu: Emulators, name: string, ids: string[]): Promise<string> {
  const url = emu.sqs.createQueue(name);
  const sqs = new SQSClient(emu.clientConfig('sqs'));
  const q = new SqsDeadLetterQueue({ client: sqs, queueUrl: url });
  for (const id of ids) {
    await q.send(emulatorDeadLetter(id));
  }
  sqs.destroy();
  return url;
}

describe('redrive interrupted, CLI', () => {
  let emu: Emulators;
  before(async () => {
    emu = await startEmulators();
  });
  after(async () => {
    await emu?.stop();
  });

  it('exit 75 says "run redrive again"; running it again at once redrives the rest', async () => {
    const url = await fill(emu, 'interrupted', ['i1', 'i2', 'i3']);
    let calls = 0;
    let flaky = true;
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        calls++;
        if (flaky && calls === 2) {
          req.socket.destroy(); // the network drops mid-way
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('null');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const env = {
      ...process.env,
      ...emu.env,
      NO_COLOR: '1',
      DEAD_LETTER_QUEUE_URL: url,
      ROUTER_FUNCTION: 'router',
      AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${port}`,
      AWS_MAX_ATTEMPTS: '1',
    };
    try {
      const first = await runCli(['redrive', '--json'], env);
      assert.equal(first.code, 75, first.stderr);
      assert.match(first.stderr, /run redrive again/);
      flaky = false;
      const second = await runCli(['redrive', '--json'], env);
      assert.equal(
        JSON.parse(second.stdout).results.length,
        2,
        `second run (exit ${second.code}): ${second.stderr.trim()}; records still in the queue: ${emu.sqs.bodies('interrupted').length}`,
      );
    } finally {
      server.close();
    }
  });

  it('Ctrl-C: stops after the record being redriven, releases the rest, exit 130; the rerun finds them', async () => {
    const url = await fill(emu, 'ctrl-c', ['c1', 'c2', 'c3']);
    let calls = 0;
    let onSecond: () => void = () => undefined;
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        calls++;
        const answer = () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('null');
        };
        if (calls === 2) onSecond = answer;
        else answer();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const env = {
      ...process.env,
      ...emu.env,
      NO_COLOR: '1',
      DEAD_LETTER_QUEUE_URL: url,
      ROUTER_FUNCTION: 'router',
      AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${port}`,
    };
    try {
      const child = spawn(process.execPath, [CLI_BIN, 'redrive', '--json'], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      // The second invocation is in flight: the operator presses Ctrl-C, then it returns.
      while (calls < 2) await new Promise((r) => setTimeout(r, 20));
      child.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 200));
      onSecond();
      const code = await exited;
      assert.equal(code, 130, stderr);
      assert.match(stderr, /interrupted \(Ctrl-C\): the rest is back in the queue; run redrive again/);
      assert.deepEqual(
        (JSON.parse(stdout) as { results: { status: string }[] }).results.map((r) => r.status),
        ['redriven', 'redriven'],
      );
      assert.equal(calls, 2, 'the third record is not sent after Ctrl-C');
      const again = await runCli(['redrive', '--json'], env);
      assert.equal(again.code, 0, again.stderr);
      assert.equal((JSON.parse(again.stdout) as { results: unknown[] }).results.length, 1, again.stderr);
    } finally {
      server.close();
    }
  });
});
