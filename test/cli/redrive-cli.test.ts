/**
 * `outbound-pools redrive`'s flags and exit codes (issue 15), in process: bad usage and missing
 * configuration are exit 2 with a one-line message; an unreachable queue is exit 75; a
 * failed redrive is exit 1 (against the SQS and Lambda emulators); the table's age column.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsDeadLetterQueue } from '../../functions/adapters/sqs-dead-letter-queue.js';
import { main } from '../../functions/cli/main.js';
import { age } from '../../functions/cli/redrive.js';
import { invocationRecord } from '../../functions/dead-letter/record.js';
import { type Emulators, startEmulators } from '../../sandbox/emulators/index.js';
import { sesEvent } from '../helpers/dead-letter-queue.js';

function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  let buffer = '';
  const stream = {
    isTTY: false,
    write(chunk: string | Uint8Array) {
      buffer += String(chunk);
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  return { stream, text: () => buffer };
}

async function run(args: string[], env: Record<string, string | undefined>) {
  const saved = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const out = capture();
  const err = capture();
  try {
    const code = await main(['redrive', ...args], out.stream, err.stream);
    return { code, stdout: out.text(), stderr: err.text() };
  } finally {
    process.env = saved;
  }
}

const QUEUE = 'http://127.0.0.1:9/000000000000/dlq';

describe('outbound-pools redrive: usage and exit codes', () => {
  let emu: Emulators;
  before(async () => {
    emu = await startEmulators();
  });
  after(async () => {
    await emu?.stop();
  });

  const usage: [string, string[], Record<string, string | undefined>, RegExp][] = [
    [
      'no queue',
      [],
      { DEAD_LETTER_QUEUE_URL: undefined, ROUTER_FUNCTION: 'r' },
      /set DEAD_LETTER_QUEUE_URL or pass --queue-url/,
    ],
    ['not a queue URL', ['--queue-url', 'dlq'], { ROUTER_FUNCTION: 'r' }, /not an SQS queue URL: "dlq"/],
    [
      'no function',
      [],
      { DEAD_LETTER_QUEUE_URL: QUEUE, ROUTER_FUNCTION: undefined },
      /set ROUTER_FUNCTION or pass --function/,
    ],
    [
      '--max 0',
      ['--max', '0'],
      { DEAD_LETTER_QUEUE_URL: QUEUE, ROUTER_FUNCTION: 'r' },
      /--max takes a whole number from 1/,
    ],
    [
      '--max x',
      ['--max', 'x'],
      { DEAD_LETTER_QUEUE_URL: QUEUE, ROUTER_FUNCTION: 'r' },
      /--max takes a whole number/,
    ],
    [
      'an unknown flag',
      ['--all'],
      { DEAD_LETTER_QUEUE_URL: QUEUE, ROUTER_FUNCTION: 'r' },
      /Unknown option '--all'/,
    ],
    [
      'a positional',
      ['now'],
      { DEAD_LETTER_QUEUE_URL: QUEUE, ROUTER_FUNCTION: 'r' },
      /unexpected argument "now"/,
    ],
  ];
  for (const [name, args, env, message] of usage) {
    it(`${name}: exit 2, one line naming what to fix`, async () => {
      const r = await run(args, env);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  }

  it('an unreachable queue: exit 75, one line', async () => {
    const r = await run(['--dry-run'], {
      DEAD_LETTER_QUEUE_URL: QUEUE,
      ROUTER_FUNCTION: 'r',
      AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'y',
      AWS_MAX_ATTEMPTS: '1',
    });
    assert.equal(r.code, 75, r.stderr);
    assert.match(r.stderr, /ReceiveMessage failed.*run redrive again/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack frame');
  });

  it('an unknown queue: exit 2', async () => {
    const r = await run(['--dry-run'], {
      ...emu.env,
      DEAD_LETTER_QUEUE_URL: `${emu.sqs.endpoint}/000000000000/missing`,
      ROUTER_FUNCTION: 'r',
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /the dead-letter queue does not exist/);
  });

  it('a record the router still fails: exit 1, listed with the error, kept', async () => {
    const url = emu.sqs.createQueue('cli');
    // A null sender: the router's path under test does not depend on it.
    const event = sesEvent('m-cli', '');
    const sqs = new SQSClient(emu.clientConfig('sqs'));
    await new SqsDeadLetterQueue({ client: sqs, queueUrl: url }).send(
      JSON.stringify(
        invocationRecord({
          event,
          functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:failing',
          requestId: 'r1',
          at: new Date('2026-12-01T10:03:00.000Z'),
          attempts: 3,
          error: { errorType: 'Error', errorMessage: 'first' },
        }),
      ),
    );
    sqs.destroy();
    emu.lambda.register('failing', async () => {
      throw new TypeError('still failing');
    });
    const r = await run(['--pretty'], {
      ...emu.env,
      DEAD_LETTER_QUEUE_URL: url,
      ROUTER_FUNCTION: 'failing',
      NO_COLOR: '1',
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stdout,
      /failed\s+m-cli\s+<>\s+alias@example\.com\s+3\s+\S+.*RetriesExhausted: Error: first\s+TypeError: still failing/,
    );
    assert.match(r.stderr, /1 failed/);
    assert.equal(emu.sqs.bodies('cli').length, 1, 'kept');
  });

  it('age: days and hours, hours and minutes, seconds; "-" without a time', () => {
    const now = new Date('2026-12-05T12:00:00.000Z');
    assert.equal(age('2026-12-01T10:00:00.000Z', now), '4d 2h');
    assert.equal(age('2026-12-05T09:15:00.000Z', now), '2h 45m');
    assert.equal(age('2026-12-05T11:58:30.000Z', now), '1m 30s');
    assert.equal(age('2026-12-05T11:59:59.000Z', now), '1s');
    assert.equal(age(undefined, now), '-');
    assert.equal(age('yesterday', now), '-');
  });
});
