/**
 * The first run, as a new user makes it: `npm start` through npm (not `node sandbox/main.ts`),
 * the banner's `try:` hint sent with swaks, the result compared with what README.md shows, and
 * SIGTERM / SIGINT to the npm process stopping every process it started (issue 17: a
 * `kill -TERM` of npm used to leave tsx and node running, holding the ports).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { killLeftovers, npm, stopsEverything, watch } from '../helpers/processes.js';

const run = promisify(execFile);

describe('first run: npm start as the README shows it', () => {
  after(killLeftovers);

  it('the banner names the example world, and its try: hint gives the result README.md shows; SIGTERM to npm stops every child', async () => {
    const child = npm(['start', '--', '--smtp-port', '0', '--pretty']);
    const watched = watch(child);
    const ready = await watched.line(/sandbox ready: .*SMTP 127\.0\.0\.1:\d+/);
    const port = Number(/SMTP 127\.0\.0\.1:(\d+)/.exec(ready)?.[1]);
    assert.match(
      watched.output().stdout,
      /config examples\/demo\/config\.json · DNS: zones from examples\/demo\/zones\.json/,
    );
    const hint = await watched.line(/^try: swaks /);
    // `try: swaks ARGS   ·   Ctrl-C stops the sandbox`: the arguments have no quoting.
    const args =
      hint
        .replace(/^try: swaks /, '')
        .split('·')[0]
        ?.trim()
        .split(/\s+/) ?? [];
    assert.ok(args.includes('--xclient-addr'), hint);
    const swaks = await run('/usr/bin/swaks', args);
    const id = /250 2\.0\.0 Ok (\S+)/.exec(swaks.stdout)?.[1];
    assert.ok(id, `swaks got a message id:\n${swaks.stdout}`);
    const result = await watched.line(new RegExp(`${id}$`));
    // "HH:MM:SS  from → to  pool  reasons  ⇒ sends  id": the README shows the same line.
    const shown = result.replace(/^\d\d:\d\d:\d\d\s+/, '').replace(/\s+\S+$/, '');
    assert.match(shown, /^alice@sender\.test → alias@example\.com\s+normal\s+spf-pass, srs-rewritten\s+⇒/);
    const readme = readFileSync('README.md', 'utf8');
    assert.ok(
      readme.includes(shown),
      `README.md shows the hint's result:\n${shown}\n(the README tour must be updated when this changes)`,
    );
    await stopsEverything(child, watched, 'SIGTERM', port);
  });

  it('SIGINT to npm start stops every child too', async () => {
    const child = npm(['start', '--', '--smtp-port', '0', '--json']);
    const watched = watch(child);
    const ready = JSON.parse(await watched.line(/"event":"ready"/)) as { smtp: { port: number } };
    await stopsEverything(child, watched, 'SIGINT', ready.smtp.port);
    assert.match(watched.output().stdout, /"event":"stopped"/);
  });
});
