import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Srs } from '../../functions/core/srs.js';
import { dryRunArgs, runCli, runCliInProcess } from '../helpers/cli.js';

/**
 * `main` in this process (no process start per case); two cases run the binary as operators
 * do, to prove its exit codes and streams (0 with JSON on stdout, 2 with usage on stderr).
 */
const cli = (...args: string[]) => runCliInProcess(args);
const binary = (...args: string[]) => runCli(args);

import { CONFIG_JSON, dkimKey, message, NOW, sesEvent, sign, testConfig, zones } from '../helpers/mail.js';

// Each case reads read-only fixtures: they run side by side.
describe('outbound-pools dry-run', { concurrency: true }, () => {
  let dir: string;
  const f = (name: string) => join(dir, name);
  const key = dkimKey('sender.test');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'op-cli-'));
    writeFileSync(f('config.json'), JSON.stringify(CONFIG_JSON));
    writeFileSync(f('zones.json'), JSON.stringify(zones([key])));
    writeFileSync(f('event.json'), JSON.stringify(sesEvent({ spf: 'FAIL' })));
    writeFileSync(f('event-servfail.json'), JSON.stringify(sesEvent({ source: 'x@servfail.test' })));
    writeFileSync(f('signed.eml'), await sign(message(), key));
    writeFileSync(f('plain.eml'), message());
    writeFileSync(f('broken.json'), '{"Records": [');
    writeFileSync(
      f('bad-config.json'),
      JSON.stringify({ ...CONFIG_JSON, limits: { default: { action: 'nope' } } }),
    );
    writeFileSync(
      f('senders.json'),
      JSON.stringify({ 'alias@example.com': { counters: { externalHour: 5 } } }),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const base = () => dryRunArgs(f, NOW);

  it('prints one JSON object with pool, reasons, configuration set and sends; exit 0', async () => {
    // Act: the binary, as operators run it.
    const r = await binary(...base(), '--event', f('event.json'), '--message', f('signed.eml'));
    // Assess
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.pool, 'normal');
    assert.deepEqual(out.reasons, ['dkim-aligned-pass', 'srs-rewritten']);
    assert.equal(out.configurationSet, 'outbound-normal');
    assert.equal(out.sends.length, 1);
    const s = out.sends[0];
    assert.deepEqual(s.to, ['dest@remote.test']);
    assert.equal(s.pool, 'normal');
    assert.equal(s.configurationSet, 'outbound-normal');
    assert.deepEqual(new Srs(testConfig().srs).reverse(s.envelopeFrom, NOW), {
      ok: true,
      address: 'alice@sender.test',
    });
    assert.equal(s.from, '"Alice Sender via example.com" <alias@example.com>');
    assert.equal(s.replyTo, '"Alice Sender" <alice@sender.test>');
    assert.equal(r.stdout.trim().split('\n').length, 1, 'exactly one line of JSON');
    // SPEC 2a: who proved what, so the operator sees why.
    assert.equal(out.authentication.envelopeDomain, 'sender.test');
    assert.equal(out.authentication.fromDomain, 'sender.test');
    assert.equal(out.authentication.spfPass, false);
    assert.equal(out.authentication.dkimAuthorAligned, true);
    assert.equal(out.authentication.envelopeAuthenticated, true);
    assert.equal(out.authentication.authorAuthenticated, true);
    assert.equal(out.authentication.spoof, false);
  });

  it('the unsigned copy of the same message is unauthenticated relay', async () => {
    const r = await cli(...base(), '--event', f('event.json'), '--message', f('plain.eml'));
    assert.equal(JSON.parse(r.stdout).pool, 'relay');
  });

  it('--senders feeds counters: over the hourly limit the message is blocked', async () => {
    const r = await cli(
      ...base(),
      '--event',
      f('event.json'),
      '--message',
      f('signed.eml'),
      '--senders',
      f('senders.json'),
    );
    const out = JSON.parse(r.stdout);
    assert.equal(out.pool, 'blocked');
    assert.ok(out.reasons.includes('limit-external-hour'));
    assert.equal(out.restrictions[0].until, '2026-11-24T00:00:00.000Z');
  });

  it('--pretty prints a table for people', async () => {
    const r = await cli(...base(), '--event', f('event.json'), '--message', f('signed.eml'), '--pretty');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^pool\s+normal/m);
    assert.match(r.stdout, /kind\s+pool\s+to/);
    assert.match(
      r.stdout,
      /^proved\s+E sender\.test, F sender\.test, aligned yes; envelope-authenticated yes, author-authenticated yes; forwarded$/m,
    );
  });

  it('a temporary DNS failure prints {"error", "retryable": true} and exits 75', async () => {
    const r = await cli(...base(), '--event', f('event-servfail.json'), '--message', f('plain.eml'));
    assert.equal(r.code, 75);
    const out = JSON.parse(r.stdout);
    assert.equal(out.retryable, true);
    assert.match(out.error, /servfail\.test/);
  });

  const badInputs: { name: string; args: () => string[]; stderr: RegExp }[] = [
    {
      name: 'missing --event',
      args: () => [...base(), '--message', f('plain.eml')],
      stderr: /--event: required/,
    },
    {
      name: 'unreadable message file',
      args: () => [...base(), '--event', f('event.json'), '--message', f('nope.eml')],
      stderr: /--message: cannot read .*nope\.eml: no such file/,
    },
    {
      name: 'invalid event JSON',
      args: () => [...base(), '--event', f('broken.json'), '--message', f('plain.eml')],
      stderr: /--event: .*broken\.json is not valid JSON/,
    },
    {
      name: 'JSON that is not an SES event',
      args: () => [...base(), '--event', f('zones.json'), '--message', f('plain.eml')],
      stderr: /event: not an SES receipt event: Records/,
    },
    {
      name: 'invalid configuration',
      args: () => [
        'dry-run',
        '--config',
        f('bad-config.json'),
        '--event',
        f('event.json'),
        '--message',
        f('plain.eml'),
      ],
      stderr: /limits\.default\.action/,
    },
    {
      name: 'bad --now',
      args: () => [...base(), '--event', f('event.json'), '--message', f('plain.eml'), '--now', 'yesterday'],
      stderr: /--now: not an ISO-8601 time/,
    },
    {
      name: 'invalid zones file',
      args: () => [
        'dry-run',
        '--config',
        f('config.json'),
        '--zones',
        f('event.json'),
        '--event',
        f('event.json'),
        '--message',
        f('plain.eml'),
      ],
      stderr: /zones/,
    },
    { name: 'unknown option', args: () => [...base(), '--frobnicate'], stderr: /frobnicate/ },
  ];
  for (const c of badInputs) {
    it(`bad input (${c.name}): a clear message on stderr, exit 2, nothing on stdout`, async () => {
      const r = await cli(...c.args());
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, c.stderr);
      assert.equal(r.stdout, '');
    });
  }
});

describe('outbound-pools srs', { concurrency: true }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'op-srs-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG_JSON));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const opts = () => ['--config', join(dir, 'config.json'), '--now', NOW.toISOString(), '--json'];

  it('forward then reverse gives the original address back', async () => {
    const fwd = await cli('srs', 'forward', 'alice@sender.test', ...opts());
    assert.equal(fwd.code, 0, fwd.stderr);
    const { address } = JSON.parse(fwd.stdout);
    assert.match(address, /^SRS0=[^=]{8}=[A-Z2-7]{2}=sender\.test=alice@fwd\.example\.com$/);
    const rev = await cli('srs', 'reverse', address, ...opts());
    assert.deepEqual(JSON.parse(rev.stdout), { ok: true, address: 'alice@sender.test' });
  });

  it('reverse of a forged address exits 1 and says why', async () => {
    const r = await cli('srs', 'reverse', 'SRS0=AAAA=JM=sender.test=alice@fwd.example.com', ...opts());
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stdout), { ok: false, reason: 'bad-hash' });
  });

  it('reverse with --now 22 days later: expired', async () => {
    const fwd = JSON.parse((await cli('srs', 'forward', 'alice@sender.test', ...opts())).stdout).address;
    const later = new Date(NOW.getTime() + 22 * 86_400_000).toISOString();
    const r = await cli(
      'srs',
      'reverse',
      fwd,
      '--config',
      join(dir, 'config.json'),
      '--now',
      later,
      '--json',
    );
    assert.deepEqual(JSON.parse(r.stdout), { ok: false, reason: 'expired' });
  });

  it('a missing verb is bad input (exit 2)', async () => {
    const r = await cli('srs', 'sideways', 'a@b.test', ...opts());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /forward ADDRESS/);
  });
});

describe('outbound-pools doctor (dispatch)', () => {
  it('runs offline over a zone file: JSON rows, exit 1 when a check fails', async () => {
    const r = await cli(
      'doctor',
      '--config',
      'config/outbound-pools.json',
      '--zones',
      'examples/zones.json',
      '--region',
      'us-east-1',
      '--offline',
      '--json',
    );
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.ok, false);
    assert.ok(out.rows.some((row: { check: string; ok: boolean }) => row.check === 'mx' && row.ok === true));
  });
});

describe('outbound-pools (no command)', () => {
  it('unknown command: usage on stderr, exit 2', async () => {
    const r = await binary('frob');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "frob"/);
  });
  it('--help: usage, exit 0', async () => {
    const r = await cli('--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /dry-run/);
  });
});
