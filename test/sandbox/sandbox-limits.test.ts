/**
 * Sending limits in the sandbox, end to end: a sender over its hourly limit is blocked and
 * restricted, the operator CLI lists and releases it, and a released `block` sender is not
 * restricted again that day. (Its own file, with its own sandbox: it is the longest of the
 * end-to-end tests, and files run in parallel.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { plain } from '../helpers/sandbox-fixtures.js';
import { sandboxSuite } from '../helpers/sandbox-suite.js';

describe('sandbox: a sender over its limit, restricted and released with the CLI', () => {
  const h = sandboxSuite();
  const { deliver, cli, assertPools } = h;

  it('a sender over its hourly limit → blocked and restricted; restrictions list shows it, release lifts it', async () => {
    const send = (n: number) =>
      deliver({
        from: 'bulk@example.com',
        to: 'alias@example.com',
        ip: '198.51.100.9',
        helo: 'mail.example.com',
        data: plain('Bulk <bulk@example.com>', 'alias@example.com', `bulk ${n}`),
      });
    // Prepare: two messages within the limit of 2 external recipients an hour.
    for (const n of [1, 2]) {
      await assertPools(await send(n), 'normal', [
        { kind: 'forward', to: ['dest@remote.test'], pool: 'normal' },
      ]);
    }
    // Act: the third crosses it.
    const third = await send(3);
    // Assess
    assert.ok(third.reasons.includes('limit-external-hour'), third.reasons.join(', '));
    await assertPools(third, 'blocked', [{ kind: 'ndr', to: ['bulk@example.com'], pool: 'high-risk' }]);
    const listed = await cli('restrictions', 'list', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const restrictions = JSON.parse(listed.stdout) as {
      identity: string;
      reason: string;
      since: string;
      until: string | null;
    }[];
    assert.deepEqual(
      restrictions.map(({ identity, reason, until }) => ({ identity, reason, until })),
      [{ identity: 'bulk@example.com', reason: 'limit-external-hour', until: null }],
    );
    const fourth = await send(4);
    assert.ok(fourth.reasons.includes('sender-restricted'));
    assert.equal(fourth.pool, 'blocked');

    const released = await cli('restrictions', 'release', 'bulk@example.com', '--json');
    assert.equal(released.code, 0, released.stderr);
    assert.deepEqual(JSON.parse(released.stdout), { identity: 'bulk@example.com', released: true });
    const after = await cli('restrictions', 'list', '--json');
    assert.deepEqual(JSON.parse(after.stdout), []);
    // Released today: still over the limit, but a `block` sender is not restricted again that
    // day; its mail leaves through high-risk with an alert.
    const fifth = await send(5);
    assert.ok(!fifth.reasons.includes('sender-restricted'), fifth.reasons.join(', '));
    await assertPools(fifth, 'high-risk', [{ kind: 'forward', to: ['dest@remote.test'], pool: 'high-risk' }]);
  });
});
