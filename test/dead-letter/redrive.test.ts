/**
 * The redrive logic (issue 15) over an in-memory queue with SQS's visibility semantics and a
 * router that fails for chosen messages: delete only after success, --max, a dry run that
 * touches nothing, malformed records reported and kept, a network fault keeping its partial
 * results. Plus the invocation record parser the recorder and redrive share.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TransientDependencyError } from '../../functions/core/errors.js';
import { invocationRecord, parseDeadLetter } from '../../functions/dead-letter/record.js';
import { partialResults, type RouterInvoker, redrive } from '../../functions/dead-letter/redrive.js';
import { MemoryQueue, recordFor, router, sesEvent } from '../helpers/dead-letter-queue.js';

const OPTIONS = { dryRun: false, visibilitySeconds: 960 };

describe('redrive', () => {
  it('deletes a record only after the router accepted it; a failed one stays, reported', async () => {
    const queue = new MemoryQueue(['m1', 'm2', 'm3'].map((id) => recordFor(id)));
    const r = router(new Set(['m2']));
    const results = await redrive(queue, r, OPTIONS);
    assert.deepEqual(
      results.map((x) => [x.status, x.deadLetter?.messageId, x.problem]),
      [
        ['redriven', 'm1', undefined],
        ['failed', 'm2', 'Boom: still failing'],
        ['redriven', 'm3', undefined],
      ],
    );
    assert.deepEqual(r.invoked, ['m1', 'm2', 'm3']);
    assert.deepEqual(queue.remaining, ['q1']);
    assert.deepEqual(queue.deleted, ['q0', 'q2']);
    // The failed record is visible again at once, for the next run.
    assert.equal(await queue.approximateCount(), 1);
  });

  it('stops after --max records, leaving the rest untouched', async () => {
    const ids = Array.from({ length: 25 }, (_, i) => `m${i}`);
    const queue = new MemoryQueue(ids.map((id) => recordFor(id)));
    const r = router();
    const results = await redrive(queue, r, { ...OPTIONS, max: 12 });
    assert.equal(results.length, 12);
    assert.deepEqual(r.invoked, ids.slice(0, 12));
    assert.equal(queue.remaining.length, 13);
    assert.equal(await queue.approximateCount(), 13, 'nothing left hidden');
  });

  it('a dry run lists every record once, invokes nothing, deletes nothing, hides nothing', async () => {
    const ids = Array.from({ length: 14 }, (_, i) => `m${i}`);
    const queue = new MemoryQueue([...ids.map((id) => recordFor(id)), 'not json']);
    const r = router();
    const results = await redrive(queue, r, { ...OPTIONS, dryRun: true });
    assert.deepEqual(r.invoked, []);
    assert.deepEqual(queue.deleted, []);
    assert.equal(await queue.approximateCount(), 15, 'every record is visible again when it ends');
    const listed = results.filter((x) => x.status === 'listed').map((x) => x.deadLetter?.messageId);
    assert.deepEqual(listed, ids);
    assert.deepEqual(
      results.filter((x) => x.status === 'malformed').map((x) => x.problem),
      ['not JSON'],
    );
    const first = results[0]!.deadLetter!;
    assert.equal(first.sender, 'alice@sender.test');
    assert.deepEqual(first.recipients, ['alias@example.com']);
    assert.equal(first.attempts, 3);
    assert.equal(first.error, 'TransientDependencyError: ses down');
    assert.equal(first.condition, 'RetriesExhausted');
  });

  it('malformed records are reported with the reason, never sent to the router nor deleted', async () => {
    const notSes = JSON.stringify({
      requestContext: {},
      requestPayload: { Records: [{ eventSource: 'aws:s3' }] },
    });
    const queue = new MemoryQueue(['{', JSON.stringify({ hello: 1 }), notSes, recordFor('ok')]);
    const r = router();
    const results = await redrive(queue, r, OPTIONS);
    assert.deepEqual(
      results.map((x) => [x.status, x.problem]),
      [
        ['malformed', 'not JSON'],
        ['malformed', 'not a Lambda invocation record (no requestContext/requestPayload)'],
        ['malformed', 'requestPayload is not an SES receipt event'],
        ['redriven', undefined],
      ],
    );
    assert.deepEqual(r.invoked, ['ok']);
    assert.deepEqual(queue.remaining, ['q0', 'q1', 'q2']);
  });

  it('a network fault stops the run and keeps the results so far on the error', async () => {
    const queue = new MemoryQueue(['m1', 'm2'].map((id) => recordFor(id)));
    const r: RouterInvoker = {
      invoke: async (event) => {
        const d = parseDeadLetter({ requestContext: {}, requestPayload: event });
        if (d.ok && d.deadLetter.messageId === 'm2')
          throw new TransientDependencyError('lambda', 'Invoke failed: ECONNREFUSED');
        return { ok: true };
      },
    };
    const error = await redrive(queue, r, OPTIONS).then(
      () => assert.fail('expected the fault'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TransientDependencyError);
    assert.deepEqual(
      partialResults(error).map((x) => [x.status, x.deadLetter?.messageId]),
      [['redriven', 'm1']],
    );
    assert.deepEqual(queue.remaining, ['q1']);
  });

  it('a record delivered twice in one run is handled once', async () => {
    const queue = new MemoryQueue([recordFor('m1'), recordFor('m2')]);
    // SQS's at-least-once: the second receive returns m1 again (as if a copy surfaced).
    const receive = queue.receive.bind(queue);
    let calls = 0;
    queue.receive = async (max, visibility) => {
      const got = await receive(max, visibility);
      return ++calls === 2 ? [{ id: 'q0', receipt: 'q0/dup', body: recordFor('m1') }, ...got] : got;
    };
    queue.release = async () => undefined;
    const r = router(new Set(['m2']));
    const results = await redrive(queue, r, OPTIONS);
    assert.deepEqual(r.invoked, ['m1', 'm2']);
    assert.equal(results.length, 2);
  });

  it('an empty queue is one receive and no result', async () => {
    const queue = new MemoryQueue([]);
    assert.deepEqual(await redrive(queue, router(), OPTIONS), []);
    assert.equal(queue.receives, 1);
  });
});

describe('parseDeadLetter', () => {
  it("unwraps the recorder's own failure record around the router's", () => {
    const inner = JSON.parse(
      recordFor('m9', { errorType: 'Error', errorMessage: 'router crashed' }),
    ) as Record<string, unknown>;
    const outer = invocationRecord({
      event: inner,
      functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:recorder',
      requestId: 'r',
      at: new Date('2026-12-01T10:10:00.000Z'),
      attempts: 3,
      error: { errorType: 'TransientDependencyError', errorMessage: 'dynamodb down' },
    });
    const parsed = parseDeadLetter(JSON.stringify(outer));
    assert.ok(parsed.ok);
    assert.equal(parsed.deadLetter.messageId, 'm9');
    assert.equal(parsed.deadLetter.error, 'Error: router crashed');
    assert.deepEqual(parsed.deadLetter.requestPayload, sesEvent('m9'));
  });

  it('a timeout record (no error payload) says its condition; long errors are cut', () => {
    const timeout = { requestContext: { condition: 'EventAgeExceeded' }, requestPayload: sesEvent('m1', '') };
    const parsed = parseDeadLetter(timeout);
    assert.ok(parsed.ok);
    assert.equal(parsed.deadLetter.error, 'EventAgeExceeded');
    assert.equal(parsed.deadLetter.sender, '');
    const long = parseDeadLetter(recordFor('m2', { errorType: 'E', errorMessage: 'x'.repeat(5000) }));
    assert.ok(long.ok);
    assert.equal(long.deadLetter.error.length, 1000);
  });
});
