/**
 * `npm run demo`, as the README runs it: every example message takes its expected pool, and
 * `--keep` leaves the sandbox up to explore (the trace API answers about the demo's messages)
 * until a signal to npm stops it and everything it started.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { killLeftovers, npm, stopsEverything, watch } from '../helpers/processes.js';

describe('npm run demo -- --keep', () => {
  after(killLeftovers);

  it('sends the example messages, stays up with its endpoints, answers trace lookups, and SIGTERM stops it all', async () => {
    const child = npm(['run', 'demo', '--', '--keep', '--json']);
    const watched = watch(child);
    const report = JSON.parse(await watched.line(/^\{"messages":/, 110_000)) as {
      messages: { title: string; pool: string; ok: boolean }[];
      totals: Record<string, number>;
    };
    assert.deepEqual(
      report.messages.filter((m) => !m.ok).map((m) => m.title),
      [],
      'every example message took its expected pool',
    );
    // The demo's messages cover every pool (the README's table shows these totals).
    for (const pool of ['normal', 'high-risk', 'relay', 'blocked', 'refused'])
      assert.ok((report.totals[pool] ?? 0) > 0, `the demo shows the ${pool} outcome`);

    const kept = JSON.parse(await watched.line(/"event":"kept"/)) as {
      endpoints: { smtp: string; traceApi: string };
      env: Record<string, string>;
    };
    assert.match(kept.env.AWS_ENDPOINT_URL_DYNAMODB ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    // Still up: the trace API knows the demo's messages from alice@sender.test.
    const answer = await fetch(`${kept.endpoints.traceApi}/messages?sender=alice%40sender.test`);
    assert.equal(answer.status, 200);
    const { messages } = (await answer.json()) as { messages: { pool: string }[] };
    const alice = report.messages.filter((m) => m.title && m.pool !== 'refused').length;
    assert.ok(
      messages.length > 0 && messages.length <= alice,
      `trace lists alice's messages (${messages.length})`,
    );
    assert.ok(messages.some((m) => m.pool === 'normal') && messages.some((m) => m.pool === 'high-risk'));

    const smtpPort = Number(kept.endpoints.smtp.split(':')[1]);
    await stopsEverything(child, watched, 'SIGTERM', smtpPort);
  });
});
