/**
 * Trace by sender, recipient, pool, reason and time window (issue 15 item 9, issue 16) on the
 * local DynamoDB emulator: messages written by the router's own trace store, then found through
 * the `byPoolDay` index (every message, one entry each) by the store, the lookup (relative
 * times, validation), the HTTP API and the CLI. The oracle is the seeded list filtered in plain
 * code.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoTraceStore } from '../../functions/adapters/dynamo-trace-store.js';
import { createTables, TRACE_POOL_INDEX_PK } from '../../functions/adapters/tables.js';
import { mainKey } from '../../functions/adapters/trace-items.js';
import { windowDays } from '../../functions/adapters/trace-window.js';
import { main } from '../../functions/cli/main.js';
import { InvalidInputError } from '../../functions/core/errors.js';
import type { TraceSummary } from '../../functions/core/ports.js';
import type { Disposition, Reason } from '../../functions/core/vocabulary.js';
import { handleTraceRequest } from '../../functions/trace-api/http.js';
import { lookUpTrace, parseTraceLookup, parseWhen } from '../../functions/trace-api/lookup.js';
import { type DynamoDbEmulator, EMULATOR_CREDENTIALS, startDynamoDb } from '../../sandbox/emulators/index.js';

const TABLE = 'trace-window';
const NOW = new Date('2026-12-07T10:30:00.000Z');
const ago = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000).toISOString();

interface Seed {
  id: string;
  pool: Disposition;
  reasons: Reason[];
  receivedAt: string;
  sender: string;
}

const SEEDS: Seed[] = [
  { id: 'n1', pool: 'normal', reasons: ['spf-pass'], receivedAt: ago(10), sender: 'ann@good.test' },
  { id: 'h1', pool: 'high-risk', reasons: ['spam'], receivedAt: ago(5), sender: 'spam@bad.test' },
  { id: 'h2', pool: 'high-risk', reasons: ['spam', 'no-a-mx'], receivedAt: ago(50), sender: 'x@bad.test' },
  { id: 'h3', pool: 'high-risk', reasons: ['spam'], receivedAt: ago(90), sender: 'y@bad.test' },
  // Yesterday (UTC), 23:50: another day's index partitions.
  {
    id: 'h4',
    pool: 'high-risk',
    reasons: ['spam'],
    receivedAt: '2026-12-06T23:50:00.000Z',
    sender: 'z@bad.test',
  },
  {
    id: 'b1',
    pool: 'blocked',
    reasons: ['sender-restricted'],
    receivedAt: ago(20),
    sender: 'bulk@good.test',
  },
  {
    id: 'b2',
    pool: 'blocked',
    reasons: ['sender-restricted'],
    receivedAt: ago(180),
    sender: 'bulk@good.test',
  },
  {
    id: 'b3',
    pool: 'blocked',
    reasons: ['sender-restricted'],
    receivedAt: '2026-12-06T22:00:00.000Z',
    sender: 'bulk@good.test',
  },
  { id: 'b4', pool: 'blocked', reasons: ['virus'], receivedAt: ago(30), sender: 'spam@bad.test' },
  {
    id: 'r1',
    pool: 'relay',
    reasons: ['unauthenticated-relay'],
    receivedAt: ago(15),
    sender: 'r@relay.test',
  },
  // Enough high-risk mail in one hour to spread over every shard.
  ...Array.from(
    { length: 12 },
    (_, i): Seed => ({
      id: `hx${String(i).padStart(2, '0')}`,
      pool: 'high-risk',
      reasons: ['spam'],
      receivedAt: ago(120 + i * 7),
      sender: `bulk${i}@bad.test`,
    }),
  ),
];

/** What a search must return: the seeds that match, newest first (plain code, no index). */
function expected(match: (s: Seed) => boolean, since: string, until: string, limit = 50): string[] {
  return SEEDS.filter((s) => match(s) && s.receivedAt >= since && s.receivedAt <= until)
    .sort((a, b) => (a.receivedAt < b.receivedAt ? 1 : -1))
    .slice(0, limit)
    .map((s) => s.id);
}

describe('trace by pool, reason and time window', () => {
  let emu: DynamoDbEmulator;
  let client: DynamoDBClient;
  let store: DynamoTraceStore;
  /** Write requests per message, by message id (counted on the client the store uses). */
  const writes = new Map<string, number>();

  before(async () => {
    emu = await startDynamoDb();
    client = new DynamoDBClient({
      endpoint: emu.endpoint,
      region: 'us-east-1',
      credentials: { ...EMULATOR_CREDENTIALS },
    });
    await createTables(client, { trace: TABLE });
    const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    doc.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: { pk?: string } };
        const id = input.Key?.pk?.slice(2);
        if (id && /Update|Put|Write/.test(context.commandName ?? ''))
          writes.set(id, (writes.get(id) ?? 0) + 1);
        return next(args);
      },
      { step: 'initialize', name: 'countWrites' },
    );
    store = new DynamoTraceStore({ client: doc, tableName: TABLE, retentionDays: 30 });
    for (const s of SEEDS) {
      const claim = await store.claim(s.id, new Date(s.receivedAt), 60_000);
      assert.equal(claim.state, 'claimed');
      if (claim.state !== 'claimed') continue;
      const summary: TraceSummary = {
        messageId: s.id,
        receivedAt: s.receivedAt,
        sender: s.sender,
        recipients: ['alias@example.com'],
        destinations: ['dest@remote.test'],
        unrouted: [],
        pool: s.pool,
        outboundIpPoolName: s.pool === 'blocked' ? null : `ips-${s.pool}`,
        configurationSet: s.pool === 'blocked' ? null : `outbound-${s.pool}`,
        reasons: s.reasons,
        plan: [],
        sizeBytes: 100,
        decisionMs: 1,
      };
      await store.recordSend(s.id, claim.attempt, null, summary, true);
    }
  });
  after(async () => {
    client?.destroy();
    await emu?.stop();
  });

  const search = async (input: Parameters<typeof parseTraceLookup>[0]) =>
    (
      await lookUpTrace(
        store,
        parseTraceLookup(input, (p) => p, '', NOW),
      )
    ).map((r) => r.messageId);

  it('every message has its window key, written with the summary: two writes per message', async () => {
    const doc = DynamoDBDocumentClient.from(client);
    const item = async (id: string) =>
      (await doc.send(new GetCommand({ TableName: TABLE, Key: mainKey(id) }))).Item;
    assert.match(String((await item('n1'))?.[TRACE_POOL_INDEX_PK]), /^normal#2026-12-07#[0-3]$/);
    assert.match(String((await item('h1'))?.[TRACE_POOL_INDEX_PK]), /^high-risk#2026-12-07#[0-3]$/);
    assert.match(String((await item('h4'))?.[TRACE_POOL_INDEX_PK]), /^high-risk#2026-12-06#[0-3]$/);
    // The same two writes (claim, final update) for every message.
    assert.equal(writes.get('n1'), 2);
    for (const s of SEEDS) assert.equal(writes.get(s.id), 2, s.id);
    // The shard comes from the message id: the high-risk mail of one day spreads out.
    const shards = new Set<string>();
    for (const s of SEEDS.filter((x) => x.id.startsWith('hx')))
      shards.add(String((await item(s.id))?.[TRACE_POOL_INDEX_PK]));
    assert.ok(shards.size >= 3, [...shards].join());
  });

  it('all high-risk mail in the last hour, newest first', async () => {
    const got = await search({ pool: 'high-risk', since: '1h' });
    assert.deepEqual(
      got,
      expected((s) => s.pool === 'high-risk', ago(60), NOW.toISOString()),
    );
    assert.deepEqual(got, ['h1', 'h2']);
  });

  it('what was blocked as sender-restricted today', async () => {
    const got = await search({ reason: 'sender-restricted', since: 'today' });
    assert.deepEqual(
      got,
      expected((s) => s.reasons.includes('sender-restricted'), '2026-12-07T00:00:00.000Z', NOW.toISOString()),
    );
    assert.deepEqual(got, ['b1', 'b2']);
  });

  it('a reason alone covers every indexed pool; pool and reason together narrow', async () => {
    const since = '2026-12-06T00:00:00.000Z';
    assert.deepEqual(
      await search({ reason: 'spam', since: 'yesterday' }),
      expected((s) => s.reasons.includes('spam'), since, NOW.toISOString()),
    );
    assert.deepEqual(await search({ pool: 'blocked', reason: 'virus', since: 'yesterday' }), ['b4']);
    assert.deepEqual(await search({ pool: 'relay', reason: 'virus', since: 'yesterday' }), []);
  });

  it('across days and shards with a limit: the newest N', async () => {
    const all = expected((s) => s.pool === 'high-risk', '2026-12-06T00:00:00.000Z', NOW.toISOString());
    assert.equal(all.length, 16);
    assert.deepEqual(await search({ pool: 'high-risk', since: 'yesterday', limit: '1000' }), all);
    assert.deepEqual(await search({ pool: 'high-risk', since: 'yesterday', limit: '5' }), all.slice(0, 5));
    // An ISO window in the past, until included.
    assert.deepEqual(
      await search({ pool: 'high-risk', since: '2026-12-06T23:00:00Z', until: '2026-12-07T08:30:00Z' }),
      expected((s) => s.pool === 'high-risk', '2026-12-06T23:00:00.000Z', '2026-12-07T08:30:00.000Z'),
    );
    // The default window: the last 24 hours.
    assert.deepEqual(
      await search({ pool: 'blocked' }),
      expected((s) => s.pool === 'blocked', ago(24 * 60), NOW.toISOString()),
    );
  });

  it('pool and reason narrow a search by sender (normal included there)', async () => {
    assert.deepEqual(await search({ sender: 'spam@bad.test', pool: 'high-risk' }), ['h1']);
    assert.deepEqual(await search({ sender: 'spam@bad.test', reason: 'virus' }), ['b4']);
    assert.deepEqual(await search({ sender: 'ann@good.test', pool: 'normal' }), ['n1']);
    assert.deepEqual(await search({ recipient: 'alias@example.com', pool: 'relay' }), ['r1']);
  });

  it('a sender or a recipient alone searches every pool over the window (default: the last 24 hours)', async () => {
    const day = ago(24 * 60);
    assert.deepEqual(
      await search({ sender: 'bulk@good.test' }),
      expected((s) => s.sender === 'bulk@good.test', day, NOW.toISOString()),
    );
    assert.deepEqual(await search({ sender: 'bulk@good.test' }), ['b1', 'b2', 'b3']);
    assert.deepEqual(await search({ sender: 'BULK@good.test', since: 'today' }), ['b1', 'b2']);
    assert.deepEqual(await search({ sender: 'spam@bad.test' }), ['h1', 'b4']);
    // Every seed went from alias@example.com to dest@remote.test: found by either address.
    const recent = expected(() => true, ago(60), NOW.toISOString());
    assert.deepEqual(await search({ recipient: 'dest@remote.test', since: '1h' }), recent);
    assert.deepEqual(await search({ recipient: 'Alias@Example.com', since: '1h' }), recent);
    assert.deepEqual(await search({ recipient: 'nobody@remote.test' }), []);
    assert.deepEqual(await search({ recipient: 'dest@remote.test', sender: 'r@relay.test', since: '1h' }), [
      'r1',
    ]);
    // Outside the window: not found.
    assert.deepEqual(await search({ sender: 'bulk@good.test', until: '2026-12-06T21:00:00Z' }), []);
  });

  it('relative times: 30m, 1h, 2d, 1w, today, yesterday, now, ISO', () => {
    const t = (v: string) => parseWhen(v, 'since', NOW)?.toISOString();
    assert.equal(t('30m'), ago(30));
    assert.equal(t('1h'), ago(60));
    assert.equal(t('2d'), ago(2 * 24 * 60));
    assert.equal(t('1w'), ago(7 * 24 * 60));
    assert.equal(t('90s'), new Date(NOW.getTime() - 90_000).toISOString());
    assert.equal(t('today'), '2026-12-07T00:00:00.000Z');
    assert.equal(t('Yesterday'), '2026-12-06T00:00:00.000Z');
    assert.equal(t('now'), NOW.toISOString());
    assert.equal(t('2026-12-01T12:00:00+01:00'), '2026-12-01T11:00:00.000Z');
    assert.deepEqual(windowDays('2026-12-05T23:00:00.000Z', '2026-12-07T01:00:00.000Z'), [
      '2026-12-07',
      '2026-12-06',
      '2026-12-05',
    ]);
  });

  // As the CLI spells them.
  const name = (p: string) => (p === 'messageId' ? '--message-id' : `--${p}`);
  const bad: [string, Parameters<typeof parseTraceLookup>[0], string, RegExp][] = [
    [
      'an unknown pool',
      { pool: 'highrisk' },
      '--pool',
      /unknown pool "highrisk" \(one of normal, high-risk, relay, blocked/,
    ],
    [
      'an unknown reason, with a suggestion',
      { reason: 'restricted' },
      '--reason',
      /did you mean "sender-restricted"\?/,
    ],
    [
      'an unknown reason, with the list',
      { reason: 'xyz' },
      '--reason',
      /unknown reason code "xyz" \(one of sender-restricted, virus/,
    ],
    ['an inverted window', { pool: 'blocked', since: '1h', until: '2h' }, '--since', /is after --until/],
    [
      'since in the future of the default until',
      { pool: 'blocked', since: '2026-12-08' },
      '--since',
      /is after --until/,
    ],
    ['a window over 31 days', { reason: 'spam', since: '40d' }, '--since', /at most 31 days/],
    ['a search by sender over 31 days', { sender: 'a@b.test', since: '32d' }, '--since', /at most 31 days/],
    ['a message id and a pool', { messageId: 'm-1', pool: 'blocked' }, '--message-id', /cannot be combined/],
    ['nonsense time', { pool: 'blocked', since: 'last week' }, '--since', /not a time: "last week"/],
    ['a negative duration', { pool: 'blocked', since: '-1h' }, '--since', /not a time/],
    [
      'nothing to look up',
      { since: '1h' },
      'trace',
      /one of --message-id, --sender, --recipient, --pool or --reason/,
    ],
  ];
  for (const [what, input, parameter, message] of bad) {
    it(`rejects ${what}`, () => {
      assert.throws(
        () => parseTraceLookup(input, name as never, '', NOW),
        (e: unknown) => e instanceof InvalidInputError && e.input === parameter && message.test(e.message),
      );
    });
  }

  it('the HTTP API (and so the sandbox trace API server) searches by pool and reason', async () => {
    const get = async (query: string) => {
      const r = await handleTraceRequest(
        { method: 'GET', rawPath: '/messages', rawQueryString: query },
        store,
      );
      return {
        status: r.statusCode,
        body: JSON.parse(r.body) as { messages?: { messageId: string }[]; parameter?: string },
      };
    };
    const ok = await get(
      `pool=blocked&reason=sender-restricted&since=${encodeURIComponent('2026-12-07T00:00:00Z')}&until=${encodeURIComponent(NOW.toISOString())}`,
    );
    assert.equal(ok.status, 200);
    assert.deepEqual(
      ok.body.messages?.map((m) => m.messageId),
      ['b1', 'b2'],
    );
    const badPool = await get('pool=grey');
    assert.equal(badPool.status, 400);
    assert.equal(badPool.body.parameter, 'pool');
  });

  it('the CLI: trace --pool high-risk --since 1h, and which table it read on stderr', async () => {
    const capture = () => {
      const stream = new PassThrough();
      let text = '';
      stream.on('data', (c: Buffer) => {
        text += c.toString();
      });
      return { stream, text: () => text };
    };
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: emu.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
    });
    const out = capture();
    const err = capture();
    try {
      const code = await main(
        [
          'trace',
          '--pool',
          'high-risk',
          '--since',
          '1h',
          '--now',
          NOW.toISOString(),
          '--trace-table',
          TABLE,
          '--json',
        ],
        out.stream as unknown as typeof process.stdout,
        err.stream as unknown as typeof process.stderr,
      );
      await new Promise((r) => setImmediate(r));
      assert.equal(code, 0, err.text());
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
    const reports = JSON.parse(out.text()) as { messageId: string; pool: string }[];
    assert.deepEqual(
      reports.map((r) => r.messageId),
      ['h1', 'h2'],
    );
    assert.ok(reports.every((r) => r.pool === 'high-risk'));
    assert.match(err.text(), new RegExp(`table ${TABLE} \\(from --trace-table\\)`));
    assert.match(
      err.text(),
      /searching high-risk mail from 2026-12-07T09:30:00\.000Z to 2026-12-07T10:30:00\.000Z/,
    );
  });
});
