/**
 * The trace API's answers stay within what Lambda can return and within the function's
 * timeout, and its window rule is the store's (review H, findings 2 and 3).
 *
 * The oracles are independent of the code: Lambda's 6 MB synchronous response quota ("Lambda
 * quotas", Lambda Developer Guide), the timeout read from the stack's own source
 * (`lib/trace-api.ts`), the seeded records sliced in the test, and the UTC days of a window
 * computed by hand.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TraceQuery, TraceRecord } from '../../functions/adapters/dynamo-trace-store.js';
import type { TraceTable } from '../../functions/adapters/trace-batches.js';
import { queryTrace } from '../../functions/adapters/trace-queries.js';
import { main } from '../../functions/cli/main.js';
import { InvalidInputError } from '../../functions/core/errors.js';
import type { DeliveryEvent, SendRecord } from '../../functions/core/ports.js';
import { MAX_ANSWER_BYTES, SEARCH_TIME_BUDGET_MS } from '../../functions/trace-api/answer.js';
import { answer, type FunctionUrlEvent } from '../../functions/trace-api/handler.js';
import { handleTraceRequest } from '../../functions/trace-api/http.js';
import { parseTraceLookup, type TraceReader, traceReport } from '../../functions/trace-api/lookup.js';

const LAMBDA_RESPONSE_QUOTA = 6 * 1024 * 1024;
const DAY_MS = 86_400_000;

function urlEvent(path: string, query = ''): FunctionUrlEvent {
  return {
    rawPath: path,
    rawQueryString: query,
    requestContext: {
      http: { method: 'GET', sourceIp: '198.51.100.7' },
      authorizer: { iam: { userArn: 'arn:aws:iam::123456789012:user/operator', accountId: '123456789012' } },
    },
  };
}

function send(index: number, sesMessageId: string): SendRecord {
  return {
    index,
    kind: 'forward',
    to: [`to-${index}@dest.test`],
    pool: 'normal',
    configurationSet: 'outbound-normal',
    envelopeFrom: 'srs@relay.test',
    status: 'sent',
    sesMessageId,
    at: '2026-12-07T10:00:00.000Z',
  };
}

/** A message as a sender can make it: 50 long addresses, none routed (listed twice). */
function fatRecord(id: string, receivedAt: string, extra: Partial<TraceRecord> = {}): TraceRecord {
  const recipients = Array.from(
    { length: 50 },
    (_, i) => `${'x'.repeat(60)}${String(i).padStart(4, '0')}@example.com`,
  );
  return {
    messageId: id,
    receivedAt,
    status: 'done',
    attempt: 1,
    leaseUntil: receivedAt,
    expiresAt: 0,
    summary: {
      messageId: id,
      receivedAt,
      sender: 'flood@sender.test',
      recipients,
      destinations: [],
      unrouted: recipients,
      pool: 'normal',
      outboundIpPoolName: 'normal',
      configurationSet: 'outbound-normal',
      reasons: [],
      plan: [],
      sizeBytes: 1000,
      decisionMs: 1,
    },
    sends: [],
    events: [],
    eventsTruncated: false,
    ...extra,
  };
}

/** A reader over `records` (newest first) that honours since, until and limit, as the store does. */
function readerOf(records: TraceRecord[], asked: TraceQuery[] = []): TraceReader {
  return {
    get: async (id) => records.find((r) => r.messageId === id) ?? null,
    query: async (q) => {
      asked.push(q);
      const since = new Date(q.since!).getTime();
      const until = new Date(q.until!).getTime();
      return records
        .filter((r) => Date.parse(r.receivedAt) >= since && Date.parse(r.receivedAt) <= until)
        .slice(0, q.limit);
    },
  };
}

interface SearchBody {
  messages: { messageId: string; receivedAt: string }[];
  truncated?: boolean;
  omitted?: number;
  searchedSince?: string;
  continueUntil?: string;
  note?: string;
  error?: string;
}

describe('trace API answers stay under Lambda’s 6 MB response quota', () => {
  // 1,000 fat messages, one a second, newest first.
  const newest = Date.parse('2026-12-07T12:00:00.000Z');
  const records = Array.from({ length: 1000 }, (_, k) =>
    fatRecord(`fat-${k}`, new Date(newest - k * 1000).toISOString()),
  );
  const reader = readerOf(records);
  const window = 'since=2026-12-07T00:00:00Z&until=2026-12-07T23:59:59Z';

  it('the report of such a message is large (the premise: 1,000 of them exceed the quota)', () => {
    const bytes = Buffer.byteLength(JSON.stringify(traceReport(records[0]!)));
    assert.ok(bytes * 1000 > LAMBDA_RESPONSE_QUOTA, `${bytes} bytes a report`);
  });

  it('a search with limit=1000 answers the messages that fit, says how many were left out and where to go on', async () => {
    const r = await answer(urlEvent('/messages', `sender=flood%40sender.test&limit=1000&${window}`), reader);
    const bytes = Buffer.byteLength(r.body);
    assert.equal(r.statusCode, 200, r.body.slice(0, 300));
    assert.ok(bytes <= MAX_ANSWER_BYTES && bytes < LAMBDA_RESPONSE_QUOTA, `${bytes} bytes`);
    const body = JSON.parse(r.body) as SearchBody;
    const n = body.messages.length;
    assert.ok(n > 0 && n < 1000, `${n} messages`);
    assert.deepEqual(
      body.messages.map((m) => m.messageId),
      records.slice(0, n).map((m) => m.messageId),
    );
    assert.equal(body.truncated, true);
    assert.equal(body.omitted, 1000 - n);
    assert.equal(body.continueUntil, records[n]!.receivedAt);
    assert.match(body.note ?? '', new RegExp(`${1000 - n} more messages.*until=${records[n]!.receivedAt}`));

    // Asking again from there goes on with the first message left out.
    const next = await answer(
      urlEvent(
        '/messages',
        `sender=flood%40sender.test&limit=1000&since=2026-12-07T00:00:00Z&until=${body.continueUntil}`,
      ),
      reader,
    );
    const more = JSON.parse(next.body) as SearchBody;
    assert.equal(more.messages[0]?.messageId, records[n]!.messageId);
  });

  it('an answer that fits is whole, without truncated', async () => {
    const r = await answer(urlEvent('/messages', `sender=flood%40sender.test&limit=10&${window}`), reader);
    const body = JSON.parse(r.body) as SearchBody;
    assert.equal(body.messages.length, 10);
    assert.equal('truncated' in body, false);
  });

  it('one message with 1,000 large delivery events keeps its newest events that fit, and says so', async () => {
    // SES events of a 50-recipient copy: each names the 50 recipients (~15 KB an event).
    const events: DeliveryEvent[] = Array.from({ length: 1000 }, (_, k) => ({
      type: 'Bounce',
      at: new Date(newest + (k + 1) * 1000).toISOString(),
      sesMessageId: 'ses-big',
      recipients: Array.from({ length: 50 }, (_, i) => `${'y'.repeat(290)}${i}@dest.test`),
      detail: `event ${k}`,
    }));
    const big = fatRecord('big', new Date(newest).toISOString(), { sends: [send(0, 'ses-big')], events });
    const r = await answer(urlEvent('/messages/big'), readerOf([big]));
    const bytes = Buffer.byteLength(r.body);
    assert.equal(r.statusCode, 200);
    assert.ok(bytes <= MAX_ANSWER_BYTES, `${bytes} bytes`);
    const { message } = JSON.parse(r.body) as {
      message: { eventsTruncated: boolean; events: unknown[]; sends: { events: { at: string }[] }[] };
    };
    assert.equal(message.eventsTruncated, true);
    const shown = message.sends[0]!.events.map((e) => e.at);
    assert.ok(shown.length > 100, `${shown.length} events shown`);
    assert.deepEqual(
      shown,
      events.slice(-shown.length).map((e) => e.at),
    );
    // Nearly full: the budget is used, not wasted.
    assert.ok(bytes > MAX_ANSWER_BYTES - 40_000, `${bytes} bytes`);
  });

  it('lists each event once: under its send, or in `events` when it is of no send recorded', () => {
    const event = (sesMessageId: string, k: number): DeliveryEvent => ({
      type: 'Delivery',
      at: `2026-12-07T12:00:0${k}.000Z`,
      sesMessageId,
      recipients: [`r${k}@dest.test`],
    });
    const events = [event('ses-a', 1), event('ses-b', 2), event('ses-a', 3), event('ses-lost', 4)];
    const report = traceReport(
      fatRecord('two-copies', '2026-12-07T11:00:00.000Z', {
        sends: [send(0, 'ses-a'), send(1, 'ses-b')],
        events,
      }),
    );
    assert.deepEqual(
      report.sends.map((s) => s.events.map((e) => e.at)),
      [[events[0]!.at, events[2]!.at], [events[1]!.at]],
    );
    assert.deepEqual(
      report.events.map((e) => e.at),
      [events[3]!.at],
    );
    const json = JSON.stringify(report);
    for (const e of events) assert.equal(json.split(e.at).length - 1, 1, `${e.at} listed once`);
  });
});

describe('a search answers within the function’s timeout', () => {
  it('the time budget leaves the function a few seconds (its timeout as lib/trace-api.ts sets it)', () => {
    const source = readFileSync(new URL('../../lib/trace-api.ts', import.meta.url), 'utf8');
    const timeout = /timeout:\s*Duration\.seconds\((\d+)\)/.exec(source);
    assert.ok(timeout, 'lib/trace-api.ts sets a timeout in seconds');
    assert.ok(SEARCH_TIME_BUDGET_MS <= Number(timeout[1]) * 1000 - 4000, `${SEARCH_TIME_BUDGET_MS} ms`);
  });

  it('reads the window a UTC day at a time, newest first, and stops when the budget is spent', async () => {
    // Each day read takes 4 s of a 10 s budget: days 7, 6 and 5 are read (the check comes
    // before a day), then the answer says where it stopped.
    let now = 0;
    const asked: TraceQuery[] = [];
    const records = ['07', '06', '05', '04', '03', '02', '01'].map((d) =>
      fatRecord(`day-${d}`, `2026-12-${d}T09:00:00.000Z`),
    );
    const base = readerOf(records, asked);
    const reader: TraceReader = {
      get: base.get,
      query: async (q) => {
        now += 4000;
        return base.query(q);
      },
    };
    const r = await handleTraceRequest(
      {
        method: 'GET',
        rawPath: '/messages',
        rawQueryString: 'sender=flood%40sender.test&since=2026-12-01T06:00:00Z&until=2026-12-07T10:00:00Z',
      },
      reader,
      { timeBudgetMs: 10_000, clock: () => now },
    );
    assert.equal(r.statusCode, 200, r.body);
    const body = JSON.parse(r.body) as SearchBody;
    assert.deepEqual(
      asked.map((q) => [new Date(q.since!).toISOString(), new Date(q.until!).toISOString()]),
      [
        ['2026-12-07T00:00:00.000Z', '2026-12-07T10:00:00.000Z'],
        ['2026-12-06T00:00:00.000Z', '2026-12-06T23:59:59.999Z'],
        ['2026-12-05T00:00:00.000Z', '2026-12-05T23:59:59.999Z'],
      ],
    );
    assert.deepEqual(
      body.messages.map((m) => m.messageId),
      ['day-07', 'day-06', 'day-05'],
    );
    assert.equal(body.truncated, true);
    assert.equal(body.searchedSince, '2026-12-05T00:00:00.000Z');
    assert.equal(body.continueUntil, '2026-12-04T23:59:59.999Z');
    assert.equal('omitted' in body, false);
    assert.match(body.note ?? '', /ran out of time.*until=2026-12-04T23:59:59\.999Z/);
  });

  it('stops reading days once the limit is reached', async () => {
    const asked: TraceQuery[] = [];
    const records = ['07', '06', '05'].map((d) => fatRecord(`day-${d}`, `2026-12-${d}T09:00:00.000Z`));
    const r = await handleTraceRequest(
      {
        method: 'GET',
        rawPath: '/messages',
        rawQueryString: 'pool=normal&limit=2&since=2026-12-01T00:00:00Z&until=2026-12-07T10:00:00Z',
      },
      readerOf(records, asked),
    );
    const body = JSON.parse(r.body) as SearchBody;
    assert.deepEqual(
      body.messages.map((m) => m.messageId),
      ['day-07', 'day-06'],
    );
    assert.deepEqual(
      asked.map((q) => q.limit),
      [2, 1],
    );
    assert.equal('truncated' in body, false);
  });
});

describe('one window rule: at most 31 days of 24 hours, in the lookup and the store alike', () => {
  // A trace table whose index holds nothing: every search runs to its end.
  const doc = {
    async send() {
      return { Items: [] };
    },
  } as unknown as DynamoDBDocumentClient;
  const table: TraceTable = { doc, tableName: 'trace' };
  const store: TraceReader = { get: async () => null, query: (q) => queryTrace(table, q) };
  const search = (query: string) =>
    handleTraceRequest({ method: 'GET', rawPath: '/messages', rawQueryString: query }, store);

  it('accepts since=31d (which touches 32 UTC days unless it starts at midnight)', async () => {
    const r = await search('sender=a%40b.test&since=31d');
    assert.equal(r.statusCode, 200, r.body);
  });

  it('accepts an explicit window of exactly 31 days not starting at midnight', async () => {
    const r = await search('sender=a%40b.test&since=2026-11-06T12:00:00Z&until=2026-12-07T12:00:00Z');
    assert.equal(r.statusCode, 200, r.body);
    // The store alone agrees.
    await queryTrace(table, {
      sender: 'a@b.test',
      since: '2026-11-06T12:00:00Z',
      until: '2026-12-07T12:00:00Z',
    });
  });

  it('refuses a millisecond more, with the same words from the API, the store and the CLI', async () => {
    const since = '2026-11-06T12:00:00.000Z';
    const until = new Date(Date.parse(since) + 31 * DAY_MS + 1).toISOString();
    const reason = 'the window is 745 hours long; a search covers at most 31 days (744 hours)';

    const r = await search(`sender=a%40b.test&since=${since}&until=${until}`);
    assert.equal(r.statusCode, 400);
    assert.deepEqual(JSON.parse(r.body), { error: `since: ${reason}`, parameter: 'since' });

    await assert.rejects(queryTrace(table, { sender: 'a@b.test', since, until }), (e: unknown) => {
      assert.ok(e instanceof InvalidInputError);
      assert.equal(e.message, `since: ${reason}`);
      return true;
    });

    assert.throws(
      () => parseTraceLookup({ sender: 'a@b.test', since, until }, (p) => `--${p}`),
      (e: unknown) => e instanceof InvalidInputError && e.message === `--since: ${reason}`,
    );
    const err = new PassThrough();
    let text = '';
    err.on('data', (c: Buffer) => {
      text += c.toString();
    });
    const code = await main(
      ['trace', '--sender', 'a@b.test', '--since', since, '--until', until, '--trace-table', 'unused'],
      new PassThrough() as unknown as typeof process.stdout,
      err as unknown as typeof process.stderr,
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(code, 2, text);
    assert.ok(text.includes(`--since: ${reason}`), text);
  });
});
