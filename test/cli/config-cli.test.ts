/**
 * `outbound-pools config validate FILE` and `config schema`: exit codes, the one-line error
 * naming the field, and the schema printed. A few cases run the CLI as operators do (a child
 * process); the others call its `main` in this process, which is the same code without the
 * seconds a process start costs on a loaded machine.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '../../functions/cli/main.js';
import { runCli } from '../helpers/cli.js';

/** The CLI's `main` with its output captured (stdout is not a terminal, as in a pipe). */
async function cli(...args: string[]) {
  const capture = () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (c: Buffer) => {
      text += c.toString();
    });
    return { stream, text: () => text };
  };
  const out = capture();
  const err = capture();
  const code = await main(
    args,
    out.stream as unknown as typeof process.stdout,
    err.stream as unknown as typeof process.stderr,
  );
  await new Promise((r) => setImmediate(r));
  return { code, stdout: out.text(), stderr: err.text() };
}
// biome-ignore lint/suspicious/noExplicitAny: the cases below mutate parsed JSON at any depth
type Mutable = Record<string, any>;
const demo = () => JSON.parse(readFileSync('examples/demo/config.json', 'utf8')) as Mutable;

describe('outbound-pools config', () => {
  let dir: string;
  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'op-config-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  // One example through the binary (a child process), the other through `main`.
  for (const [example, how] of [
    ['config/outbound-pools.json', 'the CLI as a child process'],
    ['examples/demo/config.json', 'main in this process'],
  ] as const) {
    it(`validate ${example} (${how}): exit 0, "valid"`, async () => {
      const r =
        how === 'main in this process'
          ? await cli('config', 'validate', example)
          : await runCli(['config', 'validate', example]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${example}: valid\n`);
      assert.equal(r.stderr, '');
    });
  }

  const bad: [string, (c: Mutable) => void, string][] = [
    [
      'a misspelt field',
      (c) => {
        c.limits.default.perDya = 5;
      },
      'limits.default.perDya',
    ],
    [
      'a misspelt required field (unknown first, then missing)',
      (c) => {
        c.acceptedDomian = c.acceptedDomains;
        delete c.acceptedDomains;
      },
      'acceptedDomian',
    ],
    [
      'a wrong type',
      (c) => {
        c.srs.maxAgeDays = '21';
      },
      'srs.maxAgeDays',
    ],
    [
      'a bad action',
      (c) => {
        c.limits.default.action = 'quarantine';
      },
      'limits.default.action',
    ],
    [
      'a route outside the accepted domains',
      (c) => {
        c.routes['x@elsewhere.test'] = ['a@b.test'];
      },
      'routes',
    ],
    [
      'an unparsable gateway CIDR',
      (c) => {
        c.trustedGateways = [{ name: 'f', cidrs: ['300.1.1.1/8'] }];
      },
      'trustedGateways',
    ],
  ];
  for (const [what, mutate, field] of bad) {
    it(`validate: ${what} → exit 2, one line naming ${field}`, async () => {
      const config = demo();
      mutate(config);
      const path = file('bad.json', config);
      const r = await cli('config', 'validate', path);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.ok(lines[0]?.startsWith(`outbound-pools: ${path}: ${field}`), lines[0]);

      const json = await cli('config', 'validate', path, '--json');
      assert.equal(json.code, 2);
      const answer = JSON.parse(json.stdout) as { valid: boolean; field: string; problems: string[] };
      assert.equal(answer.valid, false);
      assert.ok(answer.field.startsWith(field), answer.field);
      assert.ok(answer.problems.length >= 1);
    });
  }

  it('validate --json of a valid file: {"valid": true}', async () => {
    const r = await cli('config', 'validate', 'examples/demo/config.json', '--json');
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), { valid: true });
  });

  it('validate: not JSON, a missing file, no file → exit 2 with what is wrong', async () => {
    const notJson = await cli('config', 'validate', file('broken.json', '{"acceptedDomains": ['));
    assert.equal(notJson.code, 2);
    assert.match(notJson.stderr, /not valid JSON/);
    const missing = await cli('config', 'validate', join(dir, 'nope.json'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*nope\.json: no such file/);
    const none = await cli('config', 'validate');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /expected "validate FILE" or "schema"/);
    const unknown = await cli('config', 'check', 'x.json');
    assert.equal(unknown.code, 2);
  });

  it('a typo, in a child process: exit 2 and one line on stderr', async () => {
    const config = demo();
    config.limits.default.perDya = 5;
    const path = file('typo.json', config);
    const r = await runCli(['config', 'validate', path]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `outbound-pools: ${path}: limits.default.perDya: unknown field (misspelt, or not a setting of this version)\n`,
    );
  });

  it('schema prints the committed JSON Schema', async () => {
    const r = await cli('config', 'schema');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      JSON.parse(r.stdout),
      JSON.parse(readFileSync('config/outbound-pools.schema.json', 'utf8')),
    );
    assert.equal(JSON.parse(r.stdout).$schema, 'http://json-schema.org/draft-07/schema#');
  });

  it('--help explains both verbs (exit 0), and the top-level help lists the command', async () => {
    const r = await cli('config', '--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /config validate FILE/);
    assert.match(r.stdout, /config schema/);
    const top = await cli('--help');
    assert.match(top.stdout, /^ {2}config {8}/m);
  });
});
