/**
 * Review finding 2 (operator CLI): an interrupted redrive said "run redrive again", yet the
 * records it held stayed hidden for the visibility timeout (960 s) and the rerun found "the
 * dead-letter queue is empty". On a port's error or an abort, `redrive` releases every record
 * it received and did not delete, then rethrows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TransientDependencyError } from '../../functions/core/errors.js';
import { parseDeadLetter } from '../../functions/dead-letter/record.js';
import {
  partialResults,
  type RouterInvoker,
  redrive,
  unreleasedCount,
} from '../../functions/dead-letter/redrive.js';
import { MemoryQueue, recordFor, router } from '../helpers/dead-letter-queue.js';

const OPTIONS = { dryRun: false, visibilitySeconds: 960 };

describe('redrive interrupted: every record held is made visible again', () => {
  it('after a network fault (exit 75, "run redrive again"), running it again at once finds the rest', async () => {
    const queue = new MemoryQueue(['m1', 'm2', 'm3', 'm4'].map((id) => recordFor(id)));
    let down = true;
    const r: RouterInvoker = {
      invoke: async (event) => {
        const d = parseDeadLetter({ requestContext: {}, requestPayload: event });
        if (down && d.ok && d.deadLetter.messageId === 'm2')
          throw new TransientDependencyError('lambda', 'Invoke failed: ECONNRESET');
        return { ok: true };
      },
    };
    const error = await redrive(queue, r, OPTIONS).then(
      () => assert.fail('expected the fault'),
      (e: unknown) => e,
    );
    assert.deepEqual(
      partialResults(error).map((x) => x.status),
      ['redriven'],
    );
    // The operator does what the CLI says: "the rest stays in the queue, run redrive again".
    down = false;
    queue.t += 5_000; // five seconds later
    const again = await redrive(queue, r, OPTIONS);
    assert.deepEqual(
      again.map((x) => x.deadLetter?.messageId).sort(),
      ['m2', 'm3', 'm4'],
      `second run saw ${again.length} records; the CLI would print "the dead-letter queue is empty" and exit 0 while ${queue.remaining.length} wait hidden`,
    );
  });

  it('a failed record in a run that is then interrupted is released too', async () => {
    const queue = new MemoryQueue(['m1', 'm2', 'm3'].map((id) => recordFor(id)));
    const r: RouterInvoker = {
      invoke: async (event) => {
        const d = parseDeadLetter({ requestContext: {}, requestPayload: event });
        if (d.ok && d.deadLetter.messageId === 'm1') return { ok: false, error: 'Boom' };
        throw new TransientDependencyError('lambda', 'Invoke failed: ECONNRESET');
      },
    };
    await redrive(queue, r, OPTIONS).catch(() => undefined);
    assert.equal(await queue.approximateCount(), 3, 'every record is visible again for the next run');
  });

  it('an abort (Ctrl-C) stops before the next record, releases what is held, throws its reason', async () => {
    const queue = new MemoryQueue(['m1', 'm2', 'm3'].map((id) => recordFor(id)));
    const controller = new AbortController();
    const reason = new Error('interrupted');
    const r = router(new Set(['m1']));
    const error = await redrive(queue, r, {
      ...OPTIONS,
      signal: controller.signal,
      onResult: (x) => {
        if (x.deadLetter?.messageId === 'm2') controller.abort(reason);
      },
    }).then(
      () => assert.fail('expected the abort'),
      (e: unknown) => e,
    );
    assert.equal(error, reason);
    assert.deepEqual(r.invoked, ['m1', 'm2'], 'm3 is not sent once aborted');
    assert.deepEqual(
      partialResults(error).map((x) => x.status),
      ['failed', 'redriven'],
    );
    assert.deepEqual(queue.remaining.sort(), ['q0', 'q2']);
    assert.equal(await queue.approximateCount(), 2, 'm1 (failed) and m3 (never handled) are visible again');
    assert.equal(unreleasedCount(error), 0);
  });

  it('a release that fails too is counted (those come back after their timeout), and the first error is thrown', async () => {
    const queue = new MemoryQueue(['m1', 'm2'].map((id) => recordFor(id)));
    queue.release = async () => {
      throw new TransientDependencyError('sqs', 'ChangeMessageVisibility failed: ECONNRESET');
    };
    const fault = new TransientDependencyError('lambda', 'Invoke failed: ECONNRESET');
    const error = await redrive(
      queue,
      {
        invoke: async () => {
          throw fault;
        },
      },
      OPTIONS,
    ).then(
      () => assert.fail('expected the fault'),
      (e: unknown) => e,
    );
    assert.equal(error, fault);
    assert.equal(unreleasedCount(error), 2);
  });

  it('a record received twice in one run is released with its latest receipt only', async () => {
    const queue = new MemoryQueue(['m1'].map((id) => recordFor(id)));
    // A visibility timeout of 0 s: the failed record comes back on the next receive.
    const results = await redrive(queue, router(new Set(['m1'])), { dryRun: false, visibilitySeconds: 0 });
    assert.deepEqual(
      results.map((x) => x.status),
      ['failed'],
    );
    assert.equal(await queue.approximateCount(), 1);
  });
});
