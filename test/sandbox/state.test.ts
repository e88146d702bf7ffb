/**
 * `--state-dir`: the sandbox's tables survive a restart, the snapshot is on disk soon after a
 * message (not only on a clean stop), and a snapshot is never half-written.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoTraceStore } from '../../functions/adapters/dynamo-trace-store.js';
import { createTables } from '../../functions/adapters/tables.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { smtpSend } from '../../sandbox/demo.js';
import { type Emulators, startEmulators } from '../../sandbox/emulators/index.js';
import { SANDBOX_TABLES, startSandbox } from '../../sandbox/server.js';
import { loadTables, saveTables, TableSnapshots } from '../../sandbox/state.js';
import { CONFIG_JSON } from '../helpers/mail.js';

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('sandbox state: snapshots of the tables', () => {
  let emu: Emulators;
  let client: DynamoDBClient;
  let dir: string;
  const tables = ['state-a', 'state-b'];
  const put = (table: string, pk: string) =>
    client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk }, n: { N: '1' } } }));

  before(async () => {
    emu = await startEmulators();
    client = new DynamoDBClient(emu.clientConfig('dynamodb'));
    await createTables(client, { limits: tables[0]!, trace: tables[1]! });
    dir = mkdtempSync(join(tmpdir(), 'op-state-'));
  });
  after(async () => {
    client?.destroy();
    await emu?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('saves every item and loads them back; no temporary file is left', async () => {
    await put(tables[0]!, 'L#a@example.com');
    const file = join(dir, 'round-trip.json');
    await saveTables(client, tables, file);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
    );
    const other = await startEmulators();
    try {
      const otherClient = new DynamoDBClient(other.clientConfig('dynamodb'));
      await createTables(otherClient, { limits: tables[0]!, trace: tables[1]! });
      assert.equal(await loadTables(otherClient, file), 1);
      await saveTables(otherClient, tables, join(dir, 'copy.json'));
      assert.deepEqual(
        JSON.parse(readFileSync(join(dir, 'copy.json'), 'utf8')),
        JSON.parse(readFileSync(file, 'utf8')),
      );
      otherClient.destroy();
    } finally {
      await other.stop();
    }
  });

  it('a missing snapshot loads nothing; a corrupt one is a clear error naming the file', async () => {
    assert.equal(await loadTables(client, join(dir, 'none.json')), 0);
    const corrupt = join(dir, 'corrupt.json');
    writeFileSync(corrupt, '{"version":1,"tables":{"state-a":[{"pk"');
    await assert.rejects(loadTables(client, corrupt), new RegExp(`${corrupt} is not a sandbox snapshot`));
  });

  it('writes soon after a change, and a last time on close; nothing after', async () => {
    const file = join(dir, 'live.json');
    const snapshots = new TableSnapshots(client, tables, file, { settleMs: 20, everyMs: 60_000 });
    await put(tables[0]!, 'L#soon@example.com');
    snapshots.changed();
    await until(
      () => existsSync(file) && readFileSync(file, 'utf8').includes('L#soon@example.com'),
      5_000,
      'the snapshot',
    );
    await put(tables[0]!, 'L#last@example.com');
    await snapshots.close();
    assert.match(readFileSync(file, 'utf8'), /L#last@example\.com/);
    await put(tables[0]!, 'L#after@example.com');
    snapshots.changed();
    await new Promise((r) => setTimeout(r, 100));
    assert.doesNotMatch(readFileSync(file, 'utf8'), /L#after@example\.com/);
  });
});

describe('sandbox --state-dir', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'op-state-dir-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG_JSON));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has the trace on disk soon after a message, and the next sandbox on the same directory finds it', async () => {
    const state = join(dir, 'state');
    const options = {
      config: join(dir, 'config.json'),
      // Every name NXDOMAIN: the pool does not matter here, only that the message is traced.
      resolver: zoneResolver({}),
      smtpPort: 0,
      quiet: true,
      statePath: state,
      retryDelaysMs: [10],
    };
    const first = await startSandbox(options);
    let messageId: string | undefined;
    try {
      const sent = await smtpSend({
        host: first.smtp.host,
        port: first.smtp.port,
        clientIp: '192.0.2.10',
        helo: 'mx.sender.test',
        mailFrom: 'alice@sender.test',
        rcptTo: ['alias@example.com'],
        data: Buffer.from(
          'From: alice@sender.test\r\nTo: alias@example.com\r\nSubject: kept\r\n\r\nHello.\r\n',
        ),
      });
      messageId = sent.messageId;
      assert.ok(messageId, JSON.stringify(sent));
      await first.waitFor(messageId);
      // Before any stop: a crash from here on keeps the message's trace.
      const snapshot = join(state, 'dynamodb.json');
      await until(
        () => existsSync(snapshot) && readFileSync(snapshot, 'utf8').includes(messageId!),
        5_000,
        'the snapshot after the message',
      );
    } finally {
      await first.stop();
    }

    const second = await startSandbox(options);
    try {
      const trace = new DynamoTraceStore({
        client: new DynamoDBClient(second.emulators.clientConfig('dynamodb')),
        tableName: SANDBOX_TABLES.trace,
        retentionDays: 30,
      });
      const record = await trace.get(messageId);
      assert.equal(record?.messageId, messageId);
      assert.equal(record?.status, 'done');
      const api = await fetch(`${second.endpoints.traceApi}/messages/${encodeURIComponent(messageId)}`);
      assert.equal(api.status, 200);
    } finally {
      await second.stop();
    }
  });
});
