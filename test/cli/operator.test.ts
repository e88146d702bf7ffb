/**
 * The operator commands (`trace`, `restrictions`, `limits`) against the local DynamoDB
 * emulator, with tables seeded through the same stores the router writes with. `main` runs in
 * this process with the test's environment (no process start per case); the cases that need
 * the SDK's own credential and region chain, which reads only the process's environment, run
 * the binary as a child process, as does one lookup that proves the binary end to end.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoLimitsStore } from '../../functions/adapters/dynamo-limits-store.js';
import { DynamoTraceStore } from '../../functions/adapters/dynamo-trace-store.js';
import { createTables } from '../../functions/adapters/tables.js';
import { nextUtcMidnight } from '../../functions/core/limits.js';
import type { SendRecord, TraceSummary } from '../../functions/core/ports.js';
import { type Emulators, startEmulators } from '../../sandbox/emulators/index.js';
import { type CliResult as Result, runCli, runCliInProcess } from '../helpers/cli.js';
import { CONFIG_JSON } from '../helpers/mail.js';

const TABLES = { limits: 'op-cli-limits', trace: 'op-cli-trace' };

/** The environment without the developer's own AWS settings. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('AWS_') && k !== 'TRACE_TABLE' && k !== 'LIMITS_TABLE') env[k] = v;
  }
  return { ...env, NO_COLOR: '1', AWS_EC2_METADATA_DISABLED: 'true' };
}

describe('operator CLI: trace, restrictions, limits', () => {
  let emu: Emulators;
  let dir: string;
  let env: Record<string, string>;
  // The CLI reads the real clock for "this hour": the counters are written in the same clock
  // hour as the assertions read them, so a run that would straddle the hour waits for it.
  let now = new Date();
  const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000).toISOString();

  /** The command in this process, or as a child process of the binary with `binary`. */
  async function cli(
    args: string[],
    extraEnv: Record<string, string | undefined> = {},
    binary = false,
  ): Promise<Result> {
    const merged: Record<string, string> = { ...env };
    for (const [k, v] of Object.entries(extraEnv)) {
      if (v === undefined) delete merged[k];
      else merged[k] = v;
    }
    return binary ? runCli(args, merged) : runCliInProcess(args, merged);
  }

  /** One processed message in the trace, as the router writes it. */
  async function seedMessage(
    trace: DynamoTraceStore,
    s: Omit<
      TraceSummary,
      'plan' | 'sizeBytes' | 'decisionMs' | 'unrouted' | 'outboundIpPoolName' | 'configurationSet'
    >,
    sends: Omit<SendRecord, 'index' | 'at' | 'status'>[],
  ) {
    const claim = await trace.claim(s.messageId, new Date(s.receivedAt), 60_000);
    assert.equal(claim.state, 'claimed');
    if (claim.state !== 'claimed') return;
    const pool = s.pool;
    const summary: TraceSummary = {
      ...s,
      unrouted: [],
      outboundIpPoolName: pool === 'blocked' ? null : `outbound-${pool}`,
      configurationSet: pool === 'blocked' ? null : `outbound-${pool}`,
      plan: [],
      sizeBytes: 512,
      decisionMs: 3,
    };
    if (sends.length === 0) await trace.recordSend(s.messageId, claim.attempt, null, summary, true);
    for (const [index, send] of sends.entries()) {
      await trace.recordSend(
        s.messageId,
        claim.attempt,
        { ...send, index, status: 'sent', at: s.receivedAt },
        index === 0 ? summary : null,
        index === sends.length - 1,
      );
    }
  }

  before(async () => {
    const toNextHour = 3_600_000 - (Date.now() % 3_600_000);
    if (toNextHour < 60_000) await new Promise((r) => setTimeout(r, toNextHour + 1_000));
    now = new Date();
    dir = mkdtempSync(join(tmpdir(), 'op-operator-'));
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        ...CONFIG_JSON,
        limits: {
          default: { externalPerHour: 500, internalPerHour: 1000, perDay: 1000 },
          senders: { 'bulk@example.com': { externalPerHour: 2, action: 'block' } },
        },
      }),
    );
    emu = await startEmulators();
    const client = new DynamoDBClient(emu.clientConfig('dynamodb'));
    await createTables(client, TABLES);
    env = { ...cleanEnv(), ...emu.env, TRACE_TABLE: TABLES.trace, LIMITS_TABLE: TABLES.limits };

    const trace = new DynamoTraceStore({ client, tableName: TABLES.trace, retentionDays: 30 });
    await seedMessage(
      trace,
      {
        messageId: 'msg-normal-1',
        receivedAt: minutesAgo(5),
        sender: 'alice@sender.test',
        recipients: ['alias@example.com'],
        destinations: ['dest@remote.test'],
        pool: 'normal',
        reasons: ['spf-pass', 'srs-rewritten'],
      },
      [
        {
          kind: 'forward',
          to: ['dest@remote.test'],
          pool: 'normal',
          configurationSet: 'outbound-normal',
          envelopeFrom: 'SRS0=abcd=JM=sender.test=alice@fwd.example.com',
          sesMessageId: 'ses-0001',
        },
      ],
    );
    await trace.appendEvent('msg-normal-1', {
      type: 'Delivery',
      at: minutesAgo(4),
      sesMessageId: 'ses-0001',
      recipients: ['dest@remote.test'],
      detail: '250 2.0.0 OK',
    });
    await seedMessage(
      trace,
      {
        messageId: 'msg-bounce-2',
        receivedAt: minutesAgo(3),
        sender: '',
        recipients: ['srs0=abcd=jm=sender.test=alice@fwd.example.com'],
        destinations: ['alice@sender.test'],
        pool: 'high-risk',
        reasons: ['ndr', 'srs-bounce'],
      },
      [
        {
          kind: 'srs-bounce',
          to: ['alice@sender.test'],
          pool: 'high-risk',
          configurationSet: 'outbound-high-risk',
          envelopeFrom: 'mailer-daemon@fwd.example.com',
          sesMessageId: 'ses-0002',
        },
      ],
    );
    await seedMessage(
      trace,
      {
        messageId: 'msg-relay-old',
        receivedAt: minutesAgo(180),
        sender: 'deals@unauth.test',
        recipients: ['alias@example.com'],
        destinations: ['dest@remote.test'],
        pool: 'relay',
        reasons: ['unauthenticated-relay'],
      },
      [
        {
          kind: 'forward',
          to: ['dest@remote.test'],
          pool: 'relay',
          configurationSet: 'outbound-relay',
          envelopeFrom: 'mailer-daemon@fwd.example.com',
          sesMessageId: 'ses-0003',
        },
      ],
    );

    const limits = new DynamoLimitsStore({ client, tableName: TABLES.limits, restrictionCacheMs: 0 });
    await limits.count({ identity: 'bulk@example.com', external: 3, internal: 1 }, now);
    await limits.restrict(
      { identity: 'bulk@example.com', reason: 'limit-external-hour', since: now.toISOString(), until: null },
      now,
    );
    await limits.count({ identity: 'other@example.com', external: 1, internal: 0 }, now);
    await limits.restrict(
      {
        identity: 'other@example.com',
        reason: 'limit-day',
        since: now.toISOString(),
        until: nextUtcMidnight(now).toISOString(),
      },
      now,
    );
  });
  after(async () => {
    await emu?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // Read-only lookups: they run side by side.
  describe('trace', { concurrency: true }, () => {
    it('--message-id --json: pool, OutboundIpPoolName, configuration set, reasons, sends with SES ids and events', async () => {
      // Act: the binary as operators run it, end to end.
      const r = await cli(['trace', '--message-id', 'msg-normal-1', '--json'], {}, true);
      // Assess
      assert.equal(r.code, 0, r.stderr);
      const [m, ...rest] = JSON.parse(r.stdout);
      assert.deepEqual(rest, []);
      assert.equal(m.messageId, 'msg-normal-1');
      assert.equal(m.status, 'done');
      assert.equal(m.sender, 'alice@sender.test');
      assert.deepEqual(m.recipients, ['alias@example.com']);
      assert.equal(m.pool, 'normal');
      assert.equal(m.outboundIpPoolName, 'outbound-normal');
      assert.equal(m.configurationSet, 'outbound-normal');
      assert.deepEqual(m.reasons, ['spf-pass', 'srs-rewritten']);
      assert.equal(m.sends.length, 1);
      assert.equal(m.sends[0].sesMessageId, 'ses-0001');
      assert.equal(m.sends[0].kind, 'forward');
      assert.deepEqual(
        m.sends[0].events.map((e: { type: string; detail: string }) => [e.type, e.detail]),
        [['Delivery', '250 2.0.0 OK']],
      );
    });

    it('a table for people: one row per message with its sends and delivery events', async () => {
      const r = await cli(['trace', '--message-id', 'msg-normal-1', '--pretty']);
      assert.equal(r.code, 0, r.stderr);
      const [header, row] = r.stdout.trimEnd().split('\n');
      for (const h of [
        'received',
        'message id',
        'sender',
        'recipients',
        'pool',
        'OutboundIpPoolName',
        'configuration set',
        'reasons',
      ]) {
        assert.ok(header?.includes(h), `column ${h}`);
      }
      assert.match(
        row ?? '',
        /msg-normal-1 +alice@sender\.test +alias@example\.com +normal +outbound-normal +outbound-normal +spf-pass, srs-rewritten +forward → dest@remote\.test ses-0001 \(Delivery 250 2\.0\.0 OK\)/,
      );
      assert.doesNotMatch(r.stdout, /\u001b\[/, 'no colours with NO_COLOR');
    });

    it('by sender, by recipient (or destination), the null sender, a time range and a limit', async () => {
      const ids = (r: Result) => {
        assert.equal(r.code, 0, r.stderr);
        return (JSON.parse(r.stdout) as { messageId: string }[]).map((m) => m.messageId);
      };
      const [bySender, byRecipient, byDestination, bounces, recent, limited] = await Promise.all([
        cli(['trace', '--sender', 'Alice@Sender.test', '--json']),
        cli(['trace', '--recipient', 'alias@example.com', '--json']),
        cli(['trace', '--recipient', 'alice@sender.test', '--json']),
        cli(['trace', '--sender', '<>', '--json']),
        cli(['trace', '--recipient', 'dest@remote.test', '--since', minutesAgo(60), '--json']),
        cli(['trace', '--recipient', 'dest@remote.test', '--limit', '1', '--json']),
      ]);
      assert.deepEqual(ids(bySender), ['msg-normal-1']);
      assert.deepEqual(ids(byRecipient), ['msg-normal-1', 'msg-relay-old'], 'most recent first');
      assert.deepEqual(ids(byDestination), ['msg-bounce-2']);
      assert.deepEqual(ids(bounces), ['msg-bounce-2']);
      assert.deepEqual(ids(recent), ['msg-normal-1']);
      assert.deepEqual(ids(limited), ['msg-normal-1']);
    });

    it('an unknown message id: exit 1, an empty list and a message on stderr', async () => {
      const r = await cli(['trace', '--message-id', 'no-such-message', '--json']);
      assert.equal(r.code, 1);
      assert.deepEqual(JSON.parse(r.stdout), []);
      assert.match(r.stderr, /no trace record for message id no-such-message/);
    });

    it('bad input: exit 2 with what to do', async () => {
      // The credential and region cases run the binary: the SDK's chain reads process.env.
      const cases: [string[], Record<string, string | undefined>, RegExp, binary?: boolean][] = [
        [['trace'], {}, /one of --message-id, --sender, --recipient, --pool or --reason is required/],
        [
          ['trace', '--sender', 'alice@sender.test', '--since', 'last tuesday'],
          {},
          /--since: not a time: "last tuesday" \(ISO-8601, or 30m, 1h/,
        ],
        [
          ['trace', '--sender', 'alice@sender.test', '--limit', '0'],
          {},
          /--limit: expected a whole number from 1 to 1000/,
        ],
        [['trace', '--message-id', 'x', '--sender', 'a@b.test'], {}, /cannot be combined/],
        [['trace', '--recipient', 'not-an-address'], {}, /--recipient: not an address/],
        [['trace', '--bogus'], {}, /Unknown option '--bogus'/],
        [['trace', '--message-id', 'x'], { TRACE_TABLE: undefined }, /set TRACE_TABLE or pass --trace-table/],
        [
          ['trace', '--message-id', 'x', '--trace-table', 'no-such-table'],
          {},
          /table "no-such-table" not found/,
        ],
        [
          ['trace', '--message-id', 'x'],
          {
            AWS_ACCESS_KEY_ID: undefined,
            AWS_SECRET_ACCESS_KEY: undefined,
            HOME: dir,
            AWS_CONFIG_FILE: join(dir, 'none'),
            AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
          },
          /no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
          true,
        ],
        [
          ['trace', '--message-id', 'x'],
          {
            AWS_REGION: undefined,
            AWS_DEFAULT_REGION: undefined,
            HOME: dir,
            AWS_CONFIG_FILE: join(dir, 'none'),
          },
          /no AWS region: set AWS_REGION/,
          true,
        ],
      ];
      const results = await Promise.all(cases.map(([args, extra, , binary]) => cli(args, extra, binary)));
      results.forEach((r, i) => {
        const [args, , pattern] = cases[i]!;
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, pattern, args.join(' '));
      });
    });

    it('an unreachable endpoint is a temporary failure: exit 75, the sandbox is named', async () => {
      const closed = await new Promise<number>((resolve) => {
        const s = createServer();
        s.listen(0, '127.0.0.1', () => {
          const { port } = s.address() as { port: number };
          s.close(() => resolve(port));
        });
      });
      const r = await cli(['trace', '--message-id', 'x'], {
        AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${closed}`,
      });
      assert.equal(r.code, 75, r.stderr);
      assert.equal(JSON.parse(r.stdout).retryable, true);
      assert.match(r.stderr, /connection refused — is the sandbox running/);
    });
  });

  describe('restrictions', () => {
    it('list: JSON and a table, "until released" for a block', async () => {
      const [json, pretty] = await Promise.all([
        cli(['restrictions', 'list', '--json']),
        cli(['restrictions', 'list', '--pretty']),
      ]);
      assert.equal(json.code, 0, json.stderr);
      const list = JSON.parse(json.stdout) as { identity: string; reason: string; until: string | null }[];
      assert.deepEqual(
        list.map((r) => [r.identity, r.reason, r.until]),
        [
          ['bulk@example.com', 'limit-external-hour', null],
          ['other@example.com', 'limit-day', nextUtcMidnight(now).toISOString()],
        ],
      );
      assert.equal(pretty.code, 0, pretty.stderr);
      assert.match(pretty.stdout, /^identity +reason +since +until/);
      assert.match(pretty.stdout, /bulk@example\.com +limit-external-hour +\S+ +until released/);
    });

    it('release: exit 0 when lifted, 1 when the address was not restricted; bad input exit 2', async () => {
      const first = await cli(['restrictions', 'release', 'Other@Example.com', '--json']);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(JSON.parse(first.stdout), { identity: 'other@example.com', released: true });
      const again = await cli(['restrictions', 'release', 'other@example.com', '--pretty']);
      assert.equal(again.code, 1);
      assert.match(again.stdout, /other@example\.com is not restricted/);
      const list = await cli(['restrictions', 'list', '--json']);
      assert.deepEqual(
        (JSON.parse(list.stdout) as { identity: string }[]).map((r) => r.identity),
        ['bulk@example.com'],
      );
      const [badAddress, badVerb, noTable] = await Promise.all([
        cli(['restrictions', 'release', 'not-an-address']),
        cli(['restrictions', 'purge']),
        cli(['restrictions', 'list'], { LIMITS_TABLE: undefined }),
      ]);
      assert.equal(badAddress.code, 2);
      assert.match(badAddress.stderr, /not an email address/);
      assert.equal(badVerb.code, 2);
      assert.match(badVerb.stderr, /expected "list" or "release ADDRESS"/);
      assert.equal(noTable.code, 2);
      assert.match(noTable.stderr, /set LIMITS_TABLE or pass --limits-table/);
    });
  });

  describe('limits show', () => {
    it('counters against the policy of the identity (sender override), with its restriction', async () => {
      const config = join(dir, 'config.json');
      const [json, pretty] = await Promise.all([
        cli(['limits', 'show', 'bulk@example.com', '--config', config, '--json']),
        cli(['limits', 'show', 'bulk@example.com', '--config', config, '--pretty']),
      ]);
      assert.equal(json.code, 0, json.stderr);
      const r = JSON.parse(json.stdout);
      assert.equal(r.identity, 'bulk@example.com');
      assert.equal(r.known, true);
      assert.equal(r.policySource, 'sender');
      assert.deepEqual(r.counters, { externalHour: 3, internalHour: 1, day: 4, rolling24h: 4 });
      assert.deepEqual(r.limits, { externalHour: 2, internalHour: 1000, day: 1000, rolling24h: 10000 });
      assert.equal(r.remaining.externalHour, 0);
      assert.equal(r.policy.action, 'block');
      assert.equal(r.restriction.reason, 'limit-external-hour');
      assert.equal(r.restriction.until, null);
      assert.equal(pretty.code, 0, pretty.stderr);
      assert.match(pretty.stdout, /policy +limits\.senders\["bulk@example\.com"\] · action block/);
      assert.match(pretty.stdout, /external, this hour \(UTC\) +3 +2 +0 \(over by 1\)/);
      assert.match(pretty.stdout, /restriction +limit-external-hour since .*until released/);
    });

    it('an identity never counted: zeros against the default policy', async () => {
      const r = await cli([
        'limits',
        'show',
        'quiet@example.com',
        '--config',
        join(dir, 'config.json'),
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.known, false);
      assert.equal(out.policySource, 'default');
      assert.deepEqual(out.counters, { externalHour: 0, internalHour: 0, day: 0, rolling24h: 0 });
      assert.equal(out.restriction, null);
    });

    it('bad input: exit 2', async () => {
      const [badAddress, noVerb, badConfig] = await Promise.all([
        cli(['limits', 'show', 'nope', '--config', join(dir, 'config.json')]),
        cli(['limits', 'bulk@example.com']),
        cli(['limits', 'show', 'bulk@example.com', '--config', join(dir, 'missing.json')]),
      ]);
      assert.equal(badAddress.code, 2);
      assert.match(badAddress.stderr, /not an email address/);
      assert.equal(noVerb.code, 2);
      assert.match(noVerb.stderr, /expected "show ADDRESS"/);
      assert.equal(badConfig.code, 2);
      assert.match(badConfig.stderr, /cannot read configuration/);
    });
  });
});
