/**
 * The traffic simulation (`outbound-pools simulate`, issue 12 item 8): the stream, its labels,
 * the report's arithmetic, the CLI's flags and bad input, and one run through the sandbox
 * twice — as a child process and in this process, at the same time — which must give the
 * same report (determinism across processes) and account for every message.
 *
 * What the router *decides* for the trust model's attacks is not asserted here (that is
 * `simulate-trust.test.ts`); only what holds before and after the trust model: the
 * accounting, and the classes the product already routed right.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '../../functions/cli/main.js';
import { formatReport, parseSeed } from '../../functions/cli/simulate.js';
import { parseConfig } from '../../functions/core/config.js';
import { Srs } from '../../functions/core/srs.js';
import { CLASS_IDS, CLASSES, classCounts, MIN_MESSAGES } from '../../sandbox/simulate/classes.js';
import { Random } from '../../sandbox/simulate/random.js';
import { buildReport, COLUMNS, failedChecks, type SimulationReport } from '../../sandbox/simulate/report.js';
import { DEFAULT_SIMULATION_CONFIG, runSimulation } from '../../sandbox/simulate/run.js';
import { buildStream, labelByPolicy, type SimMessage } from '../../sandbox/simulate/stream.js';
import { buildWorld, loadSimulationKey, routeDestinations } from '../../sandbox/simulate/world.js';
import { runCli } from '../helpers/cli.js';

const CONFIG_JSON = JSON.parse(readFileSync(DEFAULT_SIMULATION_CONFIG, 'utf8')) as Record<string, unknown>;
const config = parseConfig(CONFIG_JSON);

async function stream(seed: number, n: number) {
  const world = buildWorld(config, await loadSimulationKey());
  return { world, stream: await buildStream(config, world, seed, n) };
}

describe('simulate: the stream', () => {
  it('class counts add up to the stream size, each class at least its minimum', () => {
    for (const n of [MIN_MESSAGES, MIN_MESSAGES + 1, 97, 250, 2000, 12_345]) {
      const counts = classCounts(n);
      assert.equal(
        Object.values(counts).reduce((a, b) => a + b, 0),
        n,
      );
      for (const c of CLASSES) assert.ok(counts[c.id] >= c.minimum, `${c.id} at ${n}`);
    }
    assert.throws(() => classCounts(MIN_MESSAGES - 1), RangeError);
  });

  it('the random generator is reproducible and in range', () => {
    const a = new Random(42);
    const b = new Random(42);
    const xs = Array.from({ length: 1000 }, () => a.next());
    assert.deepEqual(
      xs,
      Array.from({ length: 1000 }, () => b.next()),
    );
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    assert.notDeepEqual(
      xs.slice(0, 10),
      Array.from({ length: 10 }, () => new Random(43).next()),
    );
    // Roughly uniform: each decile holds 10 % ± 3 % of 1000 draws.
    for (let d = 0; d < 10; d++) {
      const share = xs.filter((x) => Math.floor(x * 10) === d).length;
      assert.ok(share > 70 && share < 130, `decile ${d}: ${share}`);
    }
  });

  it('same seed, same stream (bytes and labels); another seed, another stream', async () => {
    const one = (await stream(7, 120)).stream;
    const two = (await stream(7, 120)).stream;
    const other = (await stream(8, 120)).stream;
    assert.equal(one.digest, two.digest);
    assert.deepEqual(
      one.messages.map((m) => ({ ...m, raw: m.raw.toString('base64') })),
      two.messages.map((m) => ({ ...m, raw: m.raw.toString('base64') })),
    );
    assert.notEqual(one.digest, other.digest);
    assert.equal(one.messages.length, 120);
    assert.deepEqual(
      one.messages.map((m) => m.seq),
      one.messages.map((_, i) => i),
    );
    // In virtual-time order, on one virtual day.
    for (let i = 1; i < one.messages.length; i++) {
      assert.ok(one.messages[i]!.at >= one.messages[i - 1]!.at);
    }
    assert.equal(new Set(one.messages.map((m) => m.at.toISOString().slice(0, 10))).size, 1);
  });

  it('labels every class, with the nature its class promises', async () => {
    const { stream: s } = await stream(3, 250);
    assert.deepEqual(new Set(s.messages.map((m) => m.class)), new Set(CLASS_IDS));
    for (const c of CLASSES) {
      const natures = new Set(s.messages.filter((m) => m.class === c.id).map((m) => m.nature));
      if (c.nature === 'mixed') assert.deepEqual(natures, new Set(['good', 'bad']), c.id);
      else assert.deepEqual(natures, new Set([c.nature]), c.id);
    }
  });

  it('routes, SRS and DKIM in the stream are what the labels say', async () => {
    const { stream: s } = await stream(5, 200);
    const srs = new Srs(config.srs);
    for (const m of s.messages) {
      const text = m.raw.toString('utf8');
      if (m.class.startsWith('bounce-srs')) {
        const reversed = srs.reverse(m.rcptTo[0]!, m.at);
        if (m.class === 'bounce-srs-valid') assert.deepEqual(reversed, { ok: true, address: m.allowed[0] });
        else assert.equal(reversed.ok, false, m.rcptTo[0]);
        assert.equal(m.mailFrom, '');
      } else if (!m.rcptTo[0]!.endsWith(`@${config.srs.domain}`)) {
        assert.deepEqual(m.allowed, routeDestinations(config.routes, m.rcptTo[0]!));
        assert.ok(m.allowed.length > 0, `${m.class}: ${m.rcptTo[0]} has a route`);
      }
      const signed = /^DKIM-Signature:[\s\S]*?\bd=([^;\s]+)/m.exec(text)?.[1];
      const expectSigned = ['good-accepted', 'forwarded-dkim', 'spoof-own-domain-dkim', 'no-a-mx'].includes(
        m.class,
      );
      if (expectSigned) assert.ok(signed, `${m.class} is signed`);
      if (
        ['forwarded-spf', 'forwarded-unauthenticated', 'spoof-accepted-from', 'spoof-dmarc-fail'].includes(
          m.class,
        )
      ) {
        assert.equal(signed, undefined, `${m.class} is not signed`);
      }
      if (m.class === 'subaddress-restricted' && m.nature === 'bad' && m.mailFrom.includes('+')) {
        assert.match(m.mailFrom, /^sim-newsletter\+[a-z]+@example\.com$/);
      }
    }
  });

  it('the limit oracle: good while the copies fit the hourly limit, bad from the crossing one on', () => {
    const policy = { externalPerHour: 6, internalPerHour: 100, perDay: 100, recipientsPerMessage: 50 };
    for (const copies of [1, 2, 3, 4, 7]) {
      const labels = labelByPolicy({ ...policy, action: 'block' }, { external: copies, internal: 0 }, 10);
      const good = labels.filter((l) => l === 'good').length;
      assert.deepEqual(labels, [...Array(good).fill('good'), ...Array(10 - good).fill('bad')]);
      assert.ok(good * copies <= 6 && (good + 1) * copies > 6, `${copies} copies: ${good} good`);
    }
    // Alert-only: past the limit every message is bad (high-risk), the counter keeps going.
    assert.deepEqual(labelByPolicy({ ...policy, action: 'alert' }, { external: 2, internal: 0 }, 5), [
      'good',
      'good',
      'good',
      'bad',
      'bad',
    ]);
    // The per-day limit counts internal and external together.
    assert.deepEqual(
      labelByPolicy({ ...policy, perDay: 3, action: 'block-for-today' }, { external: 1, internal: 1 }, 3),
      ['good', 'bad', 'bad'],
    );
  });
});

describe('simulate: the report', () => {
  const msg = (
    seq: number,
    cls: SimMessage['class'],
    nature: 'good' | 'bad',
    extra: Partial<SimMessage> = {},
  ) =>
    ({
      seq,
      class: cls,
      nature,
      at: new Date(0),
      mailFrom: 'a@x.test',
      rcptTo: ['alias@example.com'],
      clientIp: '192.0.2.1',
      helo: 'x.test',
      raw: Buffer.alloc(0),
      allowed: ['dest@remote.test'],
      ndrTo: 'a@x.test',
      ...extra,
    }) satisfies SimMessage;

  it('counts leak, collateral, lost, duplicates, stray copies and backscatter from the labels', () => {
    const messages = [
      msg(0, 'good-accepted', 'good'),
      msg(1, 'good-accepted', 'good'),
      msg(2, 'spoof-dmarc-fail', 'bad', { ndrTo: null }),
      msg(3, 'spoof-dmarc-fail', 'bad'),
      msg(4, 'forwarded-unauthenticated', 'bad'),
    ];
    const r = buildReport({
      seed: 1,
      config: 'c.json',
      streamSha256: 'x',
      simulatedSenders: {},
      messages,
      outcomes: [
        { seq: 0, column: 'normal', reasons: ['accepted-domain'] },
        { seq: 1, column: 'relay', reasons: [] },
        { seq: 2, column: 'normal', reasons: ['spf-pass'] },
        { seq: 3, column: 'blocked', reasons: [] },
        // seq 4: never came back
      ],
      sends: [
        { seq: 0, kind: 'forward', to: ['dest@remote.test'] },
        { seq: 0, kind: 'forward', to: ['DEST@remote.test'] }, // a duplicate
        { seq: 2, kind: 'forward', to: ['dest@remote.test', 'victim@else.test'] }, // one stray
        { seq: 2, kind: 'ndr', to: ['a@x.test'] }, // no NDR allowed for seq 2
        { seq: 3, kind: 'ndr', to: ['a@x.test'] }, // allowed
      ],
    });
    assert.deepEqual(r.leak, { count: 1, of: 3, percent: 33.33 });
    assert.deepEqual(r.collateral, { count: 1, of: 2, percent: 50 });
    assert.equal(r.lost, 1);
    assert.equal(r.duplicates, 1);
    assert.equal(r.strayCopies, 1);
    assert.equal(r.backscatter, 1);
    assert.deepEqual(r.totals.pools, {
      normal: 2,
      'high-risk': 0,
      relay: 1,
      blocked: 1,
      refused: 0,
      lost: 1,
    });
    const spoofs = r.classes.find((c) => c.class === 'spoof-dmarc-fail')!;
    assert.deepEqual([spoofs.sent, spoofs.leak, spoofs.reasons], [2, 1, { '-': 1, 'spf-pass': 1 }]);
    assert.deepEqual(failedChecks(r), [
      'leak 1 (33.33 %)',
      'collateral 50 % (≥ 1 %)',
      '1 lost',
      '1 duplicates',
    ]);
  });

  it('nothing to fail on when nothing leaked and collateral is under 1 %', () => {
    const messages = Array.from({ length: 200 }, (_, i) => msg(i, 'good-accepted', 'good'));
    const outcomes = messages.map((m) => ({
      seq: m.seq,
      column: m.seq === 0 ? ('relay' as const) : ('normal' as const),
      reasons: [],
    }));
    const r = buildReport({
      seed: 1,
      config: 'c',
      streamSha256: 'x',
      simulatedSenders: {},
      messages,
      outcomes,
      sends: [],
    });
    assert.deepEqual(r.collateral, { count: 1, of: 200, percent: 0.5 });
    assert.deepEqual(failedChecks(r), []);
    const worse = buildReport({
      seed: 1,
      config: 'c',
      streamSha256: 'x',
      simulatedSenders: {},
      messages,
      outcomes: outcomes.map((o) => (o.seq === 1 ? { ...o, column: 'blocked' as const } : o)),
      sends: [],
    });
    assert.deepEqual(failedChecks(worse), ['collateral 1 % (≥ 1 %)']);
  });
});

describe('simulate: CLI flags and bad input', () => {
  let dir: string;
  const f = (name: string) => join(dir, name);
  /** The CLI's own entry point in this process (a child process costs seconds; see the last test). */
  const simulate = async (...args: string[]) => {
    let stdout = '';
    let stderr = '';
    const sink = (write: (s: string) => void) =>
      new Writable({
        write(chunk, _encoding, done) {
          write(String(chunk));
          done();
        },
      });
    const code = await main(
      ['simulate', ...args],
      sink((s) => {
        stdout += s;
      }) as unknown as typeof process.stdout,
      sink((s) => {
        stderr += s;
      }) as unknown as typeof process.stderr,
    );
    return { code, stdout, stderr };
  };
  const oneLine = (stderr: string, pattern: RegExp) => {
    assert.equal(stderr.trimEnd().split('\n').length, 1, stderr);
    assert.match(stderr, pattern);
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'op-simulate-'));
    writeFileSync(
      f('bad-field.json'),
      JSON.stringify({ ...CONFIG_JSON, limits: { default: { action: 'nope' } } }),
    );
    writeFileSync(f('no-routes.json'), JSON.stringify({ ...CONFIG_JSON, routes: {} }));
    writeFileSync(f('broken.json'), '{"acceptedDomains": [');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--help lists the options and every class', async () => {
    const r = await simulate('--help');
    assert.equal(r.code, 0);
    for (const flag of ['--seed', '--messages', '--config', '--json', '--fail-on-leak'])
      assert.ok(r.stdout.includes(flag));
    for (const id of CLASS_IDS) assert.ok(r.stdout.includes(id), id);
    assert.match(r.stdout, /^Usage: outbound-pools simulate/);
  });

  it('an unknown flag or a positional argument: one line, exit 2', async () => {
    const unknown = await simulate('--speed', '3');
    assert.equal(unknown.code, 2);
    oneLine(unknown.stderr, /--speed/);
    const positional = await simulate('now');
    assert.equal(positional.code, 2);
    oneLine(positional.stderr, /now/);
  });

  it('a bad --seed or --messages: one line naming the flag, exit 2', async () => {
    for (const seed of ['abc', '-1', '1.5', '4294967296', '']) {
      const r = await simulate(`--seed=${seed}`);
      assert.equal(r.code, 2, seed);
      oneLine(r.stderr, /--seed: must be an integer from 0 to 4294967295/);
      assert.equal(r.stdout, '');
    }
    for (const n of ['0', String(MIN_MESSAGES - 1), '100001', 'many']) {
      const r = await simulate('--messages', n);
      assert.equal(r.code, 2, n);
      oneLine(r.stderr, /--messages: must be an integer from/);
    }
    // A value that looks like an option: node's parseArgs objects, in one line too.
    const dash = await simulate('--seed', '-1');
    assert.equal(dash.code, 2);
    oneLine(dash.stderr, /--seed/);
    assert.equal(parseSeed('4294967295'), 4294967295);
    assert.equal(parseSeed(undefined), 1);
  });

  it('a bad --config: missing, not JSON, a bad field, no routes → exit 2 naming the problem', async () => {
    const missing = await simulate('--config', f('nope.json'));
    assert.equal(missing.code, 2);
    oneLine(missing.stderr, /nope\.json: no such file/);
    const broken = await simulate('--config', f('broken.json'));
    assert.equal(broken.code, 2);
    oneLine(broken.stderr, /broken\.json is not valid JSON/);
    const field = await simulate('--config', f('bad-field.json'));
    assert.equal(field.code, 2);
    assert.match(field.stderr, /limits\.default\.action/);
    const noRoutes = await simulate('--config', f('no-routes.json'));
    assert.equal(noRoutes.code, 2);
    oneLine(noRoutes.stderr, /no routes/);
  });

  it('as operators run it (a child process): a bad seed is one line and exit 2; --help names the command', async () => {
    const [bad, help] = await Promise.all([runCli(['simulate', '--seed', 'x']), runCli(['--help'])]);
    assert.equal(bad.code, 2);
    oneLine(bad.stderr, /^outbound-pools: --seed: must be an integer/);
    assert.match(help.stdout, /^ {2}simulate {6}/m);
  });

  it('npm run simulate runs this command', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts.simulate, 'node bin/outbound-pools.mjs simulate');
  });
});

describe('simulate: a run through the sandbox', { timeout: 300_000 }, () => {
  const SEED = 11;
  const N = 60;
  let child: Awaited<ReturnType<typeof runCli>>;
  let inProcess: SimulationReport;
  let fromChild: SimulationReport;

  before(async () => {
    // Both at once: two processes, two cores, the same seed.
    [child, inProcess] = await Promise.all([
      runCli(['simulate', '--seed', String(SEED), '--messages', String(N), '--json', '--fail-on-leak']),
      runSimulation({ seed: SEED, messages: N }),
    ]);
    fromChild = JSON.parse(child.stdout) as SimulationReport;
  });

  it('is deterministic: the same report from another process', () => {
    assert.deepEqual(fromChild, inProcess);
  });

  it('accounts for every message: none lost, none duplicated, totals = messages sent', () => {
    const r = inProcess;
    assert.equal(r.messages, N);
    assert.equal(r.lost, 0);
    assert.equal(r.duplicates, 0);
    assert.equal(r.totals.sent, N);
    assert.equal(r.totals.good + r.totals.bad, N);
    assert.equal(
      COLUMNS.reduce((s, c) => s + r.totals.pools[c], 0),
      N,
    );
    for (const c of r.classes) {
      assert.equal(
        COLUMNS.reduce((s, col) => s + c.pools[col], 0),
        c.sent,
        c.class,
      );
      assert.equal(
        Object.values(c.reasons).reduce((a, b) => a + b, 0),
        c.sent,
        c.class,
      );
    }
    assert.deepEqual(new Set(r.classes.map((c) => c.class)), new Set(CLASS_IDS));
    assert.equal(
      r.leak.count,
      r.classes.reduce((s, c) => s + c.leak, 0),
    );
    assert.equal(r.leak.of, r.totals.bad);
    assert.equal(r.collateral.of, r.totals.good);
  });

  it('routes the classes the product already handled as the labels expect', () => {
    const row = (id: string) => inProcess.classes.find((c) => c.class === id)!;
    assert.equal(row('forwarded-unauthenticated').pools.relay, row('forwarded-unauthenticated').sent);
    assert.equal(row('bounce-srs-forged').pools.blocked, row('bounce-srs-forged').sent);
    assert.equal(row('bounce-srs-valid').pools['high-risk'], row('bounce-srs-valid').sent);
    assert.equal(row('no-a-mx').pools['high-risk'], row('no-a-mx').sent);
    // The limit oracle of the labels and the router's counters agree.
    const burst = row('compromised-burst');
    assert.deepEqual([burst.pools.normal, burst.pools.blocked], [burst.good, burst.bad]);
    const alerts = row('alert-only');
    assert.deepEqual([alerts.pools.normal, alerts.pools['high-risk']], [alerts.good, alerts.bad]);
    for (const id of ['good-accepted', 'forwarded-spf', 'forwarded-dkim']) {
      assert.equal(row(id).pools.normal, row(id).sent, id);
    }
  });

  it('the JSON report has its documented shape', () => {
    assert.deepEqual(Object.keys(fromChild).sort(), [
      'backscatter',
      'classes',
      'collateral',
      'config',
      'duplicates',
      'leak',
      'lost',
      'messages',
      'seed',
      'simulatedSenders',
      'strayCopies',
      'streamSha256',
      'totals',
    ]);
    assert.equal(fromChild.seed, SEED);
    assert.match(fromChild.streamSha256, /^[0-9a-f]{64}$/);
    for (const c of fromChild.classes) {
      assert.deepEqual(Object.keys(c.pools), [...COLUMNS]);
      assert.equal(typeof c.trustModel, 'boolean');
    }
    for (const k of ['burst', 'newsletter', 'alerts'])
      assert.match(fromChild.simulatedSenders[k]!.identity, /^sim-/);
  });

  it('--fail-on-leak exits 1 exactly when a check fails, and says which; progress went to stderr', () => {
    const failed = failedChecks(fromChild);
    assert.equal(child.code, failed.length > 0 ? 1 : 0, child.stderr);
    if (failed.length > 0) assert.match(child.stderr, /--fail-on-leak: /);
    assert.match(child.stderr, new RegExp(`simulate: \\d+/${N} messages`));
  });

  it('the text table: one row per class and a total row that adds up', () => {
    const text = formatReport(inProcess, (_style, s) => s);
    const lines = text.split('\n');
    const total = lines.find((l) => l.startsWith('total'))!.split(/\s+/);
    // total, nature, sent, 6 columns, leak, collateral
    assert.equal(Number(total[2]), N);
    assert.equal(
      total.slice(3, 9).reduce((s, x) => s + Number(x), 0),
      N,
    );
    for (const id of CLASS_IDS)
      assert.ok(
        lines.some((l) => l.startsWith(`${id} `)),
        id,
      );
    assert.match(text, new RegExp(`leak: ${inProcess.leak.count} of ${inProcess.leak.of} bad messages`));
  });
});
