/**
 * The console's figures and feed without a browser: the per-pool counts, per-minute series,
 * reasons and filters (`sandbox/console/stats.ts`), the bounded feed and its reports
 * (`feed.ts`), the raw-copy split (`server.ts`). Oracles are counted here another way, over
 * generated data (fast-check).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { TraceRecord } from '../../functions/adapters/dynamo-trace-store.js';
import { consoleReport, MessageFeed } from '../../sandbox/console/feed.js';
import { RAW_DISPLAY_LIMIT, rawForDisplay } from '../../sandbox/console/server.js';
import { DISPOSITIONS, filterMessages, overview, type ReportFacts } from '../../sandbox/console/stats.js';
import type { ProcessedMessage } from '../../sandbox/smtp-ingress.js';

const NOW = new Date('2026-03-01T12:34:56.789Z');
const POOL_OR_NONE = fc.constantFrom(...DISPOSITIONS, null);
const REASON = fc.constantFrom('spf-pass', 'limit-external-hour', 'limit-per-day', 'spam', 'virus');

/** Reports received from 90 minutes before NOW to NOW. */
const reports = fc
  .array(
    fc.record({
      messageId: fc.string({ minLength: 1, maxLength: 8 }),
      offsetMs: fc.integer({ min: 0, max: 90 * 60_000 }),
      pool: POOL_OR_NONE,
      reasons: fc.uniqueArray(REASON, { maxLength: 3 }),
    }),
    { maxLength: 60 },
  )
  .map((list) =>
    list.map(
      (r): ReportFacts => ({
        messageId: r.messageId,
        receivedAt: new Date(NOW.getTime() - r.offsetMs).toISOString(),
        pool: r.pool,
        reasons: r.reasons,
      }),
    ),
  );

/** Whole minutes between the start of `iso`'s minute and the start of NOW's minute. */
function minutesAgo(iso: string): number {
  const minuteOf = (d: Date) => {
    const copy = new Date(d);
    copy.setUTCSeconds(0, 0);
    return copy.getTime();
  };
  return (minuteOf(NOW) - minuteOf(new Date(iso))) / 60_000;
}

describe('console figures', () => {
  it('counts each decided message once, under its pool, and the undecided apart', () => {
    fc.assert(
      fc.property(reports, (list) => {
        const o = overview(list, NOW);
        for (const pool of DISPOSITIONS) {
          assert.equal(o.totals[pool], list.filter((r) => r.pool === pool).length);
        }
        assert.equal(o.undecided, list.filter((r) => r.pool === null).length);
      }),
    );
  });

  it('puts each message of the last 30 minutes in its minute, and no other', () => {
    fc.assert(
      fc.property(reports, (list) => {
        const o = overview(list, NOW, 30);
        assert.equal(o.series.minutes.length, 30);
        // Minutes are consecutive, the last one NOW's.
        assert.equal(o.series.minutes.at(-1)! * 1000, Math.floor(NOW.getTime() / 60_000) * 60_000);
        for (let i = 1; i < 30; i++) assert.equal(o.series.minutes[i]! - o.series.minutes[i - 1]!, 60);
        for (const pool of DISPOSITIONS) {
          for (let slot = 0; slot < 30; slot++) {
            const expected = list.filter((r) => r.pool === pool && minutesAgo(r.receivedAt) === 29 - slot);
            assert.equal(o.series.counts[pool][slot], expected.length, `${pool} at slot ${slot}`);
          }
        }
      }),
    );
  });

  it('ranks reasons and limit hits of decided messages, most frequent first', () => {
    fc.assert(
      fc.property(reports, (list) => {
        const o = overview(list, NOW);
        const decided = list.filter((r) => r.pool !== null);
        for (const { reason, count } of o.reasons) {
          assert.equal(count, decided.filter((r) => r.reasons.includes(reason)).length);
        }
        assert.equal(
          o.reasons.reduce((sum, r) => sum + r.count, 0),
          decided.reduce((sum, r) => sum + r.reasons.length, 0),
        );
        for (let i = 1; i < o.reasons.length; i++) assert.ok(o.reasons[i - 1]!.count >= o.reasons[i]!.count);
        assert.deepEqual(
          o.limitHits,
          o.reasons.filter((r) => r.reason.startsWith('limit-')),
        );
      }),
    );
  });

  it('filters by pool and reason, newest first', () => {
    fc.assert(
      fc.property(
        reports,
        fc.option(fc.constantFrom(...DISPOSITIONS, 'undecided'), { nil: undefined }),
        fc.option(REASON, { nil: undefined }),
        (list, pool, reason) => {
          const out = filterMessages(list, { pool, reason });
          const matches = (r: ReportFacts) =>
            (pool === undefined || (pool === 'undecided' ? r.pool === null : r.pool === pool)) &&
            (reason === undefined || r.reasons.includes(reason));
          assert.equal(out.length, list.filter(matches).length);
          assert.ok(out.every(matches));
          for (let i = 1; i < out.length; i++) assert.ok(out[i - 1]!.receivedAt >= out[i]!.receivedAt);
        },
      ),
    );
  });
});

function processed(messageId: string): ProcessedMessage {
  return {
    messageId,
    receivedAt: NOW.toISOString(),
    sender: 'a@b.test',
    recipients: ['c@d.test'],
    clientIp: '192.0.2.1',
    helo: 'b.test',
    verdicts: { spam: 'PASS', virus: 'PASS', spf: 'PASS', dkim: 'PASS', dmarc: 'PASS', arc: 'none' },
    outcome: 'processed',
    pool: 'normal',
    reasons: [],
    sends: [],
    attempts: 1,
  };
}

describe('console feed', () => {
  it('keeps the newest messages only, and tells subscribers of each', async () => {
    const reads: string[] = [];
    const feed = new MessageFeed(
      {
        get: async (id) => {
          reads.push(id);
          return null;
        },
        query: async () => [],
      },
      3,
    );
    const told: string[] = [];
    const unsubscribe = feed.subscribe((id) => told.push(id));
    for (const id of ['m1', 'm2', 'm3', 'm4', 'm5']) feed.record(processed(id));
    unsubscribe();
    feed.record(processed('m6'));
    assert.equal(feed.size, 3);
    assert.deepEqual(
      (await feed.items()).map((i) => i.receipt.messageId),
      ['m4', 'm5', 'm6'],
    );
    assert.deepEqual(told, ['m1', 'm2', 'm3', 'm4', 'm5']);
    assert.equal(await feed.item('m1'), null, 'forgotten');
    assert.ok(!reads.includes('m1'), 'a forgotten message is not read');
  });

  it('reports recorded fields the trace report does not name, but not the resume plan', () => {
    const record = {
      messageId: 'x',
      receivedAt: NOW.toISOString(),
      status: 'done',
      attempt: 1,
      leaseUntil: '',
      expiresAt: 0,
      summary: {
        messageId: 'x',
        receivedAt: NOW.toISOString(),
        sender: 'a@b.test',
        recipients: ['c@d.test'],
        destinations: ['e@f.test'],
        unrouted: [],
        pool: 'normal',
        outboundIpPoolName: null,
        configurationSet: 'set',
        reasons: [],
        plan: [{ secret: 'resume data' }],
        sizeBytes: 1,
        decisionMs: 3,
        authentication: { spf: 'pass' },
      },
      sends: [
        {
          index: 0,
          kind: 'forward',
          to: ['e@f.test'],
          pool: 'normal',
          configurationSet: 'set',
          envelopeFrom: 'srs@f.test',
          status: 'sent',
          at: NOW.toISOString(),
          tenant: 'blue',
        },
      ],
      events: [],
    } as unknown as TraceRecord;
    const report = consoleReport(record);
    assert.deepEqual(report.authentication, { spf: 'pass' });
    assert.equal(report.decisionMs, 3);
    assert.ok(!('plan' in report));
    assert.equal((report.sends[0] as Record<string, unknown>).tenant, 'blue');
    assert.equal(report.sender, 'a@b.test');
  });
});

describe('raw copies for display', () => {
  it('splits the header block from the body (CRLF or bare LF)', () => {
    const raw = Buffer.from('A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore');
    assert.deepEqual(rawForDisplay(raw), {
      size: raw.length,
      truncated: false,
      headers: 'A: 1\r\nB: 2',
      body: 'body\r\n\r\nmore',
    });
    assert.equal(rawForDisplay(Buffer.from('A: 1\nB: 2\n\nbody')).body, 'body');
    assert.equal(rawForDisplay(Buffer.from('A: 1\r\nno body')).body, '');
  });

  it('cuts a copy larger than the display limit and says so', () => {
    const raw = Buffer.concat([Buffer.from('A: 1\r\n\r\n'), Buffer.alloc(RAW_DISPLAY_LIMIT, 'x')]);
    const shown = rawForDisplay(raw);
    assert.equal(shown.truncated, true);
    assert.equal(shown.size, raw.length);
    assert.equal(shown.headers.length + 4 + shown.body.length, RAW_DISPLAY_LIMIT);
  });
});
