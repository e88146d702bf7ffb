/**
 * What a search of the `byPoolDay` index costs in round trips (review H, finding 1), and that
 * it still finds the right messages.
 *
 * A fake table plays the Query semantics that matter here (DynamoDB Developer Guide, "Query –
 * Limiting the number of items in the result set" and "Filter expressions for Query"): `Limit`
 * caps the entries *read*, before the FilterExpression; a page also stops after 1 MB read; a
 * page that stopped early carries a LastEvaluatedKey. Its filter is the sender's equality,
 * evaluated in plain code; the oracle is the seeded entries filtered and sorted in the test.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TRACE_POOL_INDEX_SHARDS } from '../../functions/adapters/tables.js';
import type { TraceTable } from '../../functions/adapters/trace-batches.js';
import { queryTrace } from '../../functions/adapters/trace-queries.js';
import { searchWindow } from '../../functions/adapters/trace-window.js';

/** Index entries are ~250 bytes (key, receivedAt, sender, a few recipients, reasons). */
const ENTRY_BYTES = 250;
const PAGE_BYTES = 1024 * 1024;
const ENTRIES_PER_PAGE = Math.floor(PAGE_BYTES / ENTRY_BYTES);
const DAY = { since: '2026-12-07T00:00:00.000Z', until: '2026-12-07T23:59:59.999Z' };

interface Entry {
  id: string;
  at: string;
  sender: string;
}

/** `perPartition` entries in every partition of the day, newest first; `senderOf` names each. */
function fakeTable(perPartition: number, senderOf: (partition: string, k: number) => string) {
  const queries: { partition: string; limit: number | undefined; filtered: boolean }[] = [];
  const partitions = new Map<string, Entry[]>();
  const entriesOf = (partition: string) => {
    let entries = partitions.get(partition);
    if (!entries) {
      // Spread over the day, newest first; ids unique across partitions.
      entries = Array.from({ length: perPartition }, (_, k) => ({
        id: `${partition}/${k}`,
        at: new Date(Date.parse(DAY.until) - 1 - k * 1000).toISOString(),
        sender: senderOf(partition, k),
      }));
      partitions.set(partition, entries);
    }
    return entries;
  };
  const doc = {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      if (command.constructor.name === 'BatchGetCommand') {
        const input = command.input as { RequestItems: Record<string, { Keys: { pk: string }[] }> };
        const keys = input.RequestItems.trace!.Keys;
        return { Responses: { trace: keys.map((k) => ({ ...k, sk: 'MSG', messageId: k.pk.slice(2) })) } };
      }
      const input = command.input as {
        Limit?: number;
        FilterExpression?: string;
        ExclusiveStartKey?: { pos: number };
        ExpressionAttributeValues: Record<string, unknown>;
      };
      const values = Object.values(input.ExpressionAttributeValues);
      const partition = String(values[0]);
      const wanted = values.find((v) => typeof v === 'string' && v.includes('@'));
      queries.push({ partition, limit: input.Limit, filtered: input.FilterExpression !== undefined });
      const entries = entriesOf(partition);
      const start = input.ExclusiveStartKey?.pos ?? 0;
      const end = Math.min(entries.length, start + Math.min(input.Limit ?? Infinity, ENTRIES_PER_PAGE));
      const read = entries.slice(start, end);
      const items = (input.FilterExpression ? read.filter((e) => e.sender === wanted) : read).map((e) => ({
        pk: `M#${e.id}`,
        receivedAt: e.at,
      }));
      return { Items: items, ...(end < entries.length ? { LastEvaluatedKey: { pos: end } } : {}) };
    },
  } as unknown as DynamoDBDocumentClient;
  const table: TraceTable = { doc, tableName: 'trace' };
  return { table, queries, partitions };
}

/** The pages a partition of `n` entries takes when each request reads a full 1 MB. */
const fullPages = (n: number) => Math.ceil(n / ENTRIES_PER_PAGE);

describe('a filtered search reads the index in 1 MB pages (review H)', () => {
  it('a sender nobody saw, limit=1, over a pool-day of 80,000 messages: a few pages per shard', async () => {
    const { table, queries } = fakeTable(20_000, () => 'someone@else.test');
    const found = await searchWindow(table, { pool: 'normal', sender: 'nobody@sender.test', ...DAY }, 1);
    assert.deepEqual(found, []);
    // 20,000 × 250 B = 5 MB a shard: 5 pages of 1 MB (it was 20,000 requests of Limit 1).
    assert.equal(queries.length, TRACE_POOL_INDEX_SHARDS * fullPages(20_000));
    assert.ok(
      queries.every((q) => q.filtered && q.limit === undefined),
      'a filtered Query sends no Limit',
    );
  });

  it('the default limit through queryTrace, by recipient: the same pages', async () => {
    const { table, queries } = fakeTable(20_000, () => 'someone@else.test');
    await queryTrace(
      table,
      { recipient: 'someone@example.com', pool: 'normal', ...DAY },
      new Date(DAY.until),
    );
    assert.equal(queries.length, TRACE_POOL_INDEX_SHARDS * fullPages(20_000));
  });

  it('stops paging a partition once enough matched, and returns the newest matches', async () => {
    // One message in 2,000 is the sender's: 10 in each shard of 20,000.
    const rare = (_: string, k: number) => (k % 2_000 === 1_234 ? 'rare@sender.test' : 'bulk@sender.test');
    const { table, queries, partitions } = fakeTable(20_000, rare);
    const found = await searchWindow(table, { pool: 'normal', sender: 'rare@sender.test', ...DAY }, 2);
    const oracle = [...partitions.values()]
      .flat()
      .filter((e) => e.sender === 'rare@sender.test')
      .sort((a, b) => (a.at === b.at ? a.id.localeCompare(b.id) : a.at < b.at ? 1 : -1))
      .slice(0, 2)
      .map((e) => e.id);
    assert.deepEqual(
      found.map((i) => i.messageId),
      oracle,
    );
    // The first page (entries 0..4193) of each shard holds 2 matches (1234, 3234): one page each.
    assert.equal(queries.length, TRACE_POOL_INDEX_SHARDS);
  });

  it('a pool-only search (no filter) keeps Limit: every entry read is a match', async () => {
    const { table, queries } = fakeTable(20_000, () => 'a@b.test');
    const found = await searchWindow(table, { pool: 'relay', ...DAY }, 3);
    assert.equal(found.length, 3);
    assert.equal(queries.length, TRACE_POOL_INDEX_SHARDS);
    assert.ok(queries.every((q) => !q.filtered && q.limit === 3));
  });
});
