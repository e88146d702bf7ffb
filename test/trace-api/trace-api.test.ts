/**
 * The trace HTTP API over messages the real pipeline processed into the trace table on the
 * local DynamoDB emulator: what operators get back, and every bad request they can make.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { processReceipt } from '../../functions/router/process.js';
import { answer, type FunctionUrlEvent, handler } from '../../functions/trace-api/handler.js';
import type { TraceReader } from '../../functions/trace-api/lookup.js';
import { message, NOW, sesEvent } from '../helpers/mail.js';
import { type Harness, startHarness } from '../helpers/pipeline.js';

/** A function URL event (payload 2.0) as an IAM-authenticated GET produces it. */
function urlEvent(path: string, query = '', method = 'GET'): FunctionUrlEvent {
  return {
    rawPath: path,
    rawQueryString: query,
    requestContext: {
      http: { method, sourceIp: '198.51.100.7' },
      authorizer: { iam: { userArn: 'arn:aws:iam::123456789012:user/operator', accountId: '123456789012' } },
    },
  };
}

interface Parsed {
  status: number;
  headers: Record<string, string>;
  body: {
    message?: { messageId: string; pool: string | null; sends: { sesMessageId: string | null }[] };
    messages?: { messageId: string; receivedAt: string }[];
    error?: string;
    parameter?: string;
  };
}

describe('trace API', () => {
  let h: Harness;
  const call = async (event: FunctionUrlEvent, reader?: TraceReader): Promise<Parsed> => {
    const r = await answer(event, reader ?? h.trace);
    return { status: r.statusCode, headers: r.headers, body: JSON.parse(r.body) };
  };

  before(async () => {
    h = await startHarness();
    // Two messages from the same sender, a minute apart, through the real pipeline.
    for (const [i, id] of ['msg-api-1', 'msg-api-2'].entries()) {
      h.clock.now = new Date(NOW.getTime() + i * 60_000);
      await h.put(id, message());
      const event = sesEvent({ messageId: id });
      const { ses } = (
        event.Records as { ses: { mail: { timestamp: string }; receipt: { timestamp: string } } }[]
      )[0]!;
      ses.mail.timestamp = h.clock.now.toISOString();
      ses.receipt.timestamp = h.clock.now.toISOString();
      await processReceipt(event, await h.deps());
    }
  });
  after(() => h.stop());

  it('returns one message by its SES message id, with its sends', async () => {
    const r = await call(urlEvent('/messages/msg-api-1'));
    assert.equal(r.status, 200);
    assert.equal(r.body.message?.messageId, 'msg-api-1');
    assert.equal(r.body.message?.pool, (await h.trace.get('msg-api-1'))?.summary?.pool);
    assert.equal(r.body.message?.sends.length, 1);
    assert.match(r.body.message?.sends[0]?.sesMessageId ?? '', /\S/);
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(r.headers['cache-control'], 'no-store');
  });

  it('decodes a percent-encoded message id and ignores a trailing slash', async () => {
    const r = await call(urlEvent('/messages/msg%2Dapi%2D1/'));
    assert.equal(r.status, 200);
    assert.equal(r.body.message?.messageId, 'msg-api-1');
  });

  it('answers 404 for a message id with no trace record', async () => {
    const r = await call(urlEvent('/messages/no-such-message'));
    assert.equal(r.status, 404);
    assert.match(r.body.error ?? '', /no trace record for message id no-such-message/);
  });

  it('searches by sender and by recipient, most recent first, within the limit and range', async () => {
    // The messages were received on NOW's day, more than the default 24 hours ago: a window.
    const day = 'since=2026-11-23&until=2026-11-24';
    const bySender = await call(urlEvent('/messages', `sender=Alice%40Sender.test&${day}`));
    assert.equal(bySender.status, 200);
    assert.deepEqual(
      bySender.body.messages?.map((m) => m.messageId),
      ['msg-api-2', 'msg-api-1'],
    );
    const limited = await call(urlEvent('/messages', `recipient=alias@example.com&limit=1&${day}`));
    assert.deepEqual(
      limited.body.messages?.map((m) => m.messageId),
      ['msg-api-2'],
    );
    const later = new Date(NOW.getTime() + 30_000).toISOString();
    const since = await call(
      urlEvent('/messages', `sender=alice@sender.test&since=${encodeURIComponent(later)}&until=2026-11-24`),
    );
    assert.deepEqual(
      since.body.messages?.map((m) => m.messageId),
      ['msg-api-2'],
    );
    const none = await call(urlEvent('/messages', `sender=nobody@sender.test&${day}`));
    // Without since/until: the last 24 hours, which hold neither.
    const recent = await call(urlEvent('/messages', 'sender=alice@sender.test'));
    assert.deepEqual(recent.body.messages, []);
    assert.deepEqual(none.body.messages, []);
  });

  it('takes a + in a parameter literally (an address tag), and decodes %40', async () => {
    const asked: unknown[] = [];
    const recording: TraceReader = {
      get: () => Promise.resolve(null),
      query: (q) => {
        asked.push(q);
        return Promise.resolve([]);
      },
    };
    const r = await call(
      urlEvent('/messages', 'sender=alice+tag%40sender.test&recipient=a%2Bb@example.com'),
      recording,
    );
    assert.equal(r.status, 200);
    // The window is read a UTC day at a time, newest first (the time budget, `lookup.ts`).
    const days = asked as { since: Date; until: Date }[];
    assert.ok(days.length >= 1 && days.length <= 2, `${days.length} queries`);
    for (const q of days) {
      assert.deepEqual(q, {
        sender: 'alice+tag@sender.test',
        recipient: 'a+b@example.com',
        since: q.since,
        until: q.until,
        limit: 50,
      });
    }
    for (let k = 1; k < days.length; k++)
      assert.equal(days[k]!.until.getTime(), days[k - 1]!.since.getTime() - 1);
    // The default window: the 24 hours up to now.
    assert.equal(days[0]!.until.getTime() - days.at(-1)!.since.getTime(), 24 * 3_600_000);
  });

  it('applies a time range to a message id lookup too', async () => {
    const r = await call(urlEvent('/messages/msg-api-1', 'until=2026-11-22'));
    assert.equal(r.status, 404);
  });

  const badRequests: [string, FunctionUrlEvent, string, RegExp][] = [
    [
      'nothing to look up',
      urlEvent('/messages'),
      'trace',
      /one of messageId, sender, recipient, pool or reason is required/,
    ],
    ['an unknown parameter (typo)', urlEvent('/messages', 'sendr=a@b.test'), 'sendr', /unknown parameter/],
    [
      'a parameter twice',
      urlEvent('/messages', 'sender=a@b.test&sender=c@d.test'),
      'sender',
      /given more than once/,
    ],
    [
      'a limit of 0',
      urlEvent('/messages', 'sender=a@b.test&limit=0'),
      'limit',
      /whole number from 1 to 1000/,
    ],
    ['a limit over 1000', urlEvent('/messages', 'sender=a@b.test&limit=1001'), 'limit', /1 to 1000/],
    [
      'a time that is neither ISO-8601 nor relative',
      urlEvent('/messages', 'sender=a@b.test&since=last%20tuesday'),
      'since',
      /not a time: "last tuesday" \(ISO-8601, or 30m/,
    ],
    [
      'since after until',
      urlEvent('/messages', 'sender=a@b.test&since=2026-11-23&until=2026-11-22'),
      'since',
      /is after until/,
    ],
    ['a sender that is no address', urlEvent('/messages', 'sender=alice'), 'sender', /not an address/],
    [
      'a search parameter on a message',
      urlEvent('/messages/msg-api-1', 'limit=5'),
      'limit',
      /unknown parameter/,
    ],
    ['a broken percent-encoding', urlEvent('/messages/%E0%A4%A'), 'messageId', /percent-encoding/],
    [
      'a broken percent-encoding in a value',
      urlEvent('/messages', 'sender=a%ZZ@b.test'),
      'sender',
      /percent-encoding/,
    ],
    ['a message id with spaces', urlEvent('/messages/a%20b'), 'messageId', /not a message id/],
  ];
  for (const [name, event, parameter, error] of badRequests) {
    it(`answers 400 naming the parameter: ${name}`, async () => {
      const r = await call(event);
      assert.equal(r.status, 400);
      assert.equal(r.body.parameter, parameter);
      assert.match(r.body.error ?? '', error);
    });
  }

  it('answers 404 for other paths and 405 for other methods', async () => {
    assert.equal((await call(urlEvent('/'))).status, 404);
    assert.equal((await call(urlEvent('/messagesx'))).status, 404);
    const post = await call(urlEvent('/messages', 'sender=a@b.test', 'POST'));
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET');
  });

  it('answers 503 with Retry-After when the table is throttled, and reads nothing else', async () => {
    const throttled: TraceReader = {
      get: () => Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })),
      query: () => Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })),
    };
    const r = await call(urlEvent('/messages/msg-api-1'), throttled);
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '1');
  });

  it('answers 500 without the internal error text for an unexpected failure', async () => {
    const broken: TraceReader = {
      get: () => Promise.reject(new Error('AccessDeniedException: secret detail')),
      query: () => Promise.reject(new Error('AccessDeniedException: secret detail')),
    };
    const r = await call(urlEvent('/messages', 'sender=a@b.test'), broken);
    assert.equal(r.status, 500);
    assert.doesNotMatch(JSON.stringify(r.body), /secret detail/);
  });

  it('the Lambda handler reads TRACE_TABLE and answers through the real trace store', async () => {
    const previous = process.env.TRACE_TABLE;
    process.env.TRACE_TABLE = h.env.TRACE_TABLE;
    try {
      const r = (await handler(urlEvent('/messages/msg-api-2'), {
        functionName: 'trace-api',
        awsRequestId: 'req-1',
      } as never)) as { statusCode: number; body: string };
      assert.equal(r.statusCode, 200);
      assert.equal(JSON.parse(r.body).message.messageId, 'msg-api-2');
    } finally {
      if (previous === undefined) delete process.env.TRACE_TABLE;
      else process.env.TRACE_TABLE = previous;
    }
  });
});
