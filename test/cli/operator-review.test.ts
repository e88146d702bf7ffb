/**
 * Review findings on the operator CLI: catch-all route keys and router normalization in
 * `restrictions release` and `limits show` (1, 5), AWS errors of `pools` said in one line (4),
 * `pools resume` of a pool SES paused at the tenant (6), redrive's non-retryable failures and
 * interrupted runs (2, 3).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoLimitsStore } from '../../functions/adapters/dynamo-limits-store.js';
import { SqsDeadLetterQueue } from '../../functions/adapters/sqs-dead-letter-queue.js';
import { createTables } from '../../functions/adapters/tables.js';
import { releaseRestriction } from '../../functions/cli/restrictions.js';
import { type Emulators, startEmulators } from '../../sandbox/emulators/index.js';
import { CLI_BIN, runCli, runCliInProcess } from '../helpers/cli.js';
import { emulatorDeadLetter } from '../helpers/dead-letter-queue.js';

const execFileAsync = promisify(execFile);

const TABLE = 'operator-review-limits';

describe('operator commands: identities, pools, redrive failures', () => {
  let emu: Emulators;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    emu = await startEmulators();
    const ddb = new DynamoDBClient(emu.clientConfig('dynamodb'));
    await createTables(ddb, { limits: TABLE });
    const store = new DynamoLimitsStore({ client: ddb, tableName: TABLE, restrictionCacheMs: 0 });
    const now = new Date();
    for (const identity of ['alice@example.com', 'bob@xn--bcher-kva.example', '@example.org']) {
      assert.equal(
        await store.restrict(
          { identity, reason: 'limit-external-hour', since: now.toISOString(), until: null },
          now,
        ),
        true,
      );
    }
    env = { ...process.env, ...emu.env, LIMITS_TABLE: TABLE, NO_COLOR: '1' };
  });
  after(async () => {
    await emu?.stop();
  });

  it('restrictions release of a sub-address of a restricted identity does not say "not restricted"', async () => {
    const r = await runCliInProcess(['restrictions', 'release', 'Alice+news@Example.com', '--json'], env);
    const list = await runCliInProcess(['restrictions', 'list', '--json'], env);
    const still = (JSON.parse(list.stdout) as { identity: string }[]).map((x) => x.identity);
    assert.ok(
      !(r.code === 1 && still.includes('alice@example.com')),
      `release said ${r.stdout.trim()} (exit ${r.code}) while alice@example.com stays restricted: ${still}`,
    );
  });

  it('restrictions release of an IDN domain in U-labels finds the A-label identity the router restricted', async () => {
    const r = await runCliInProcess(['restrictions', 'release', 'bob@bücher.example', '--json'], env);
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
  });

  it('a catch-all route identity the router restricted (@example.org) can be released and shown', async () => {
    const list = await runCliInProcess(['restrictions', 'list', '--json'], env);
    assert.ok(list.stdout.includes('"@example.org"'), list.stdout);
    const r = await runCliInProcess(['restrictions', 'release', '@example.org', '--json'], env);
    const show = await runCliInProcess(['limits', 'show', '@example.org', '--json'], env);
    assert.deepEqual(
      [r.code, show.code],
      [0, 0],
      `release: ${r.stderr.trim().split('\n').at(-1)} | limits show: ${show.stderr.trim().split('\n').at(-1)}`,
    );
  });

  it('limits show of a sub-address shows the identity the router counts and restricts', async () => {
    const r = await runCliInProcess(['limits', 'show', 'alice+news@example.com', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(
      report.identity,
      'alice@example.com',
      `shown: ${report.identity}, restriction ${JSON.stringify(report.restriction)}`,
    );
  });

  it('pools status with no AWS region: exit 2, one line (as the other commands)', async () => {
    const clean: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: '/nonexistent', NO_COLOR: '1' };
    const r = await runCli(['pools', 'status'], clean);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `stack trace: ${r.stderr}`);
    assert.equal(r.code, 2, r.stderr);
  });

  it('pools resume of a pool SES paused (tenant) does not report it resumed with exit 0', async () => {
    const status = await runCliInProcess(['pools', 'status', '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    const normal = (JSON.parse(status.stdout) as { pool: string; tenant: string }[]).find(
      (s) => s.pool === 'normal',
    )!;
    emu.ses.setTenantSendingStatus(normal.tenant, 'DISABLED');
    const r = await runCliInProcess(['pools', 'resume', 'normal'], env);
    const after = await runCliInProcess(['pools', 'status', '--json'], env);
    const paused = (JSON.parse(after.stdout) as { pool: string; paused: boolean }[]).find(
      (s) => s.pool === 'normal',
    )!.paused;
    assert.equal(paused, true);
    assert.ok(
      r.code !== 0 || /tenant|still paused/i.test(r.stdout + r.stderr),
      `exit ${r.code}, said: ${r.stdout.trim()} | ${r.stderr.trim()} — yet the pool is still paused`,
    );
  });

  it('release and limits show say on stderr which identity the input is', async () => {
    const r = await runCliInProcess(['limits', 'show', 'Alice+News@EXAMPLE.com', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Alice\+News@EXAMPLE\.com → identity alice@example\.com/);
  });

  it('an input that is neither an address nor a route key: exit 2, one line, before the table', async () => {
    for (const bad of ['not-an-address', '@', 'a@', '@not a domain']) {
      const r = await runCliInProcess(['restrictions', 'release', bad], env);
      assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
      assert.match(r.stderr, /not an email address or a catch-all route key/);
      const s = await runCliInProcess(['limits', 'show', bad], env);
      assert.equal(s.code, 2, `${bad}: ${s.stderr}`);
    }
  });

  it("releaseRestriction without a configuration (the sandbox console's button): route keys and U-labels", async () => {
    const asked: string[] = [];
    const store = {
      release: async (identity: string) => {
        asked.push(identity);
        return true;
      },
    };
    const now = new Date();
    assert.deepEqual(await releaseRestriction(store, ' @Example.ORG ', now), {
      identity: '@example.org',
      released: true,
    });
    assert.equal(
      (await releaseRestriction(store, 'Bob@Bücher.example', now)).identity,
      'bob@xn--bcher-kva.example',
    );
    // No configuration: no sub-address separator known, the address is only lower-cased.
    assert.equal((await releaseRestriction(store, 'A+b@example.com', now)).identity, 'a+b@example.com');
    assert.equal(
      (await releaseRestriction(store, 'A+b@example.com', now, { subaddressSeparator: '+', identities: {} }))
        .identity,
      'a@example.com',
    );
    assert.equal(
      (
        await releaseRestriction(store, 'Old@example.com', now, {
          subaddressSeparator: '+',
          identities: { 'old@example.com': 'new@example.com' },
        })
      ).identity,
      'new@example.com',
    );
    await assert.rejects(releaseRestriction(store, 'nobody', now), /not an email address/);
    assert.equal(asked.length, 5);
  });

  it("release follows the configuration's identities aliases; without a configuration it says so", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'operator-review-'));
    try {
      const config = JSON.parse(await readFile('config/outbound-pools.json', 'utf8')) as Record<
        string,
        unknown
      >;
      delete config.$schema;
      const domain = (config.acceptedDomains as string[])[0]!;
      config.identities = { [`sales@${domain}`]: `carol@${domain}` };
      const file = join(dir, 'config.json');
      await writeFile(file, JSON.stringify(config));
      const ddb = new DynamoDBClient(emu.clientConfig('dynamodb'));
      const store = new DynamoLimitsStore({ client: ddb, tableName: TABLE, restrictionCacheMs: 0 });
      const now = new Date();
      await store.restrict(
        { identity: `carol@${domain}`, reason: 'limit-external-hour', since: now.toISOString(), until: null },
        now,
      );
      const r = await runCliInProcess(
        ['restrictions', 'release', `Sales+x@${domain}`, '--config', file, '--json'],
        env,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { identity: `carol@${domain}`, released: true });
      assert.match(r.stderr, new RegExp(`Sales\\+x@${domain.replace(/\./g, '\\.')} → identity carol@`));
      // Away from the repository (no default file): release still works, only lower-cased.
      const { stderr } = await execFileAsync(
        process.execPath,
        [join(process.cwd(), CLI_BIN), 'restrictions', 'release', 'Nobody@Example.com'],
        { cwd: dir, env: { ...env, OUTBOUND_POOLS_CONFIG: undefined } },
      ).catch((e: { stderr: string; code: number }) => {
        assert.equal(e.code, 1, e.stderr);
        return e;
      });
      assert.match(stderr, /no configuration \(config\/outbound-pools\.json\): the address is not folded/);
      assert.match(
        stderr,
        /nobody@example\.com is not restricted|Nobody@Example\.com → identity nobody@example\.com/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('pools status with no credentials: exit 2, one line', async () => {
    const clean: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: '/nonexistent',
      NO_COLOR: '1',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_SESV2: 'http://127.0.0.1:9',
    };
    const r = await runCli(['pools', 'status'], clean);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `stack trace: ${r.stderr}`);
    assert.match(r.stderr, /no AWS credentials found/);
    assert.equal(r.code, 2, r.stderr);
  });

  it('pools status and resume when SES denies access, or knows no such configuration set: one line, exit 1 / 2', async () => {
    let answer = {
      status: 403,
      type: 'AccessDeniedException',
      message: 'not authorized to perform: ses:GetConfigurationSet',
    };
    const server: Server = createServer((req, res) => {
      req.resume();
      res.writeHead(answer.status, { 'content-type': 'application/json', 'x-amzn-errortype': answer.type });
      res.end(JSON.stringify({ message: answer.message }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const sesEnv = { ...env, AWS_ENDPOINT_URL_SESV2: `http://127.0.0.1:${port}` };
    try {
      for (const args of [
        ['pools', 'status'],
        ['pools', 'resume', 'normal'],
      ]) {
        const r = await runCliInProcess(args, sesEnv);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /outbound-pools: access denied to .*not authorized/);
        assert.doesNotMatch(r.stderr, /unexpected error|\n\s+at /);
      }
      answer = { status: 404, type: 'NotFoundException', message: 'Configuration set does not exist' };
      const r = await runCliInProcess(['pools', 'status'], sesEnv);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /no such configuration set or tenant/);
    } finally {
      server.close();
    }
  });

  it('redrive finding nothing while records are hidden says so, exit 75; empty only when none are', async () => {
    const url = emu.sqs.createQueue('in-flight');
    const sqs = new SQSClient(emu.clientConfig('sqs'));
    const q = new SqsDeadLetterQueue({ client: sqs, queueUrl: url });
    const redriveEnv = { ...env, DEAD_LETTER_QUEUE_URL: url, ROUTER_FUNCTION: 'router' };
    try {
      const empty = await runCliInProcess(['redrive', '--json'], redriveEnv);
      assert.equal(empty.code, 0, empty.stderr);
      assert.match(empty.stderr, /the dead-letter queue is empty/);
      for (const id of ['h1', 'h2']) {
        await q.send(emulatorDeadLetter(id));
      }
      assert.equal((await q.receive(10, 600)).length, 2, 'another reader holds both');
      const r = await runCliInProcess(['redrive', '--json'], redriveEnv);
      assert.equal(r.code, 75, r.stderr);
      assert.doesNotMatch(r.stderr, /empty/);
      assert.match(
        r.stderr,
        /2 records in flight \(another redrive, or an interrupted run; back within --visibility-timeout/,
      );
      assert.deepEqual(JSON.parse(r.stdout), { dryRun: false, results: [], inFlight: 2 });
    } finally {
      sqs.destroy();
    }
  });

  it('redrive when the router refuses the invoke (AccessDenied): one line, no stack, records not hidden', async () => {
    const url = emu.sqs.createQueue('denied');
    const sqs = new SQSClient(emu.clientConfig('sqs'));
    const q = new SqsDeadLetterQueue({ client: sqs, queueUrl: url });
    for (const id of ['d1', 'd2']) {
      await q.send(emulatorDeadLetter(id));
    }
    const server: Server = createServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException' });
      res.end(JSON.stringify({ Message: 'User is not authorized to perform: lambda:InvokeFunction' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const r = await runCliInProcess(['redrive', '--json'], {
        ...env,
        DEAD_LETTER_QUEUE_URL: url,
        ROUTER_FUNCTION: 'router',
        AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${port}`,
      });
      assert.equal(r.code, 1, r.stderr);
      const again = await runCliInProcess(['redrive', '--dry-run', '--json'], {
        ...env,
        DEAD_LETTER_QUEUE_URL: url,
        ROUTER_FUNCTION: 'router',
      });
      const listed = JSON.parse(again.stdout).results.length;
      assert.equal(
        listed,
        2,
        `the records are visible again for the next look; dry run said: ${again.stderr.trim()} (exit ${again.code})`,
      );
      assert.doesNotMatch(r.stderr, /\n\s+at /, `stack trace on stderr:\n${r.stderr.slice(0, 400)}`);
      assert.match(
        r.stderr,
        /outbound-pools: redrive stopped: access denied to the router function router: User is not authorized/,
      );
      const json = JSON.parse(r.stdout) as { results: unknown[]; error: string; retryable: boolean };
      assert.deepEqual(
        [json.results, json.retryable],
        [[], false],
        'the partial results, as JSON, on stdout',
      );
      assert.match(json.error, /access denied/);
    } finally {
      server.close();
      sqs.destroy();
    }
  });
});
