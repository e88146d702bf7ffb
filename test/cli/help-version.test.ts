/**
 * Issue 15 item 8, in part: `--help`/`-h` on every command (exit 0, the command's usage on
 * stdout, wherever the flag stands) and `--version`, as operators expect of a CLI.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { main } from '../../functions/cli/main.js';
import { runCli } from '../helpers/cli.js';

function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  let buffer = '';
  const stream = {
    isTTY: false,
    write(chunk: string | Uint8Array) {
      buffer += String(chunk);
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  return { stream, text: () => buffer };
}

const COMMANDS = [
  'dry-run',
  'config',
  'srs',
  'trace',
  'restrictions',
  'limits',
  'doctor',
  'simulate',
  'pools',
  'redrive',
];
// Read independently of the CLI's own code.
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; version: string };

describe('outbound-pools: --help on every command, --version', () => {
  for (const command of COMMANDS) {
    for (const args of [['--help'], ['-h'], ['--config', 'nowhere.json', '--help']]) {
      it(`${command} ${args.join(' ')}: its usage on stdout, exit 0, nothing on stderr`, async () => {
        const out = capture();
        const err = capture();
        const code = await main([command, ...args], out.stream, err.stream);
        assert.equal(code, 0);
        assert.match(out.text(), new RegExp(`^Usage: outbound-pools ${command}\\b`));
        assert.equal(err.text(), '');
      });
    }
  }

  it('--version, -V and version print the package name and version, exit 0', async () => {
    for (const flag of ['--version', '-V', 'version']) {
      const out = capture();
      assert.equal(await main([flag], out.stream, capture().stream), 0);
      assert.equal(out.text(), `${pkg.name} ${pkg.version}\n`);
    }
  });

  it('as operators run it (bin/outbound-pools.mjs): --version, and dry-run --help', async () => {
    const version = await runCli(['--version']);
    assert.equal(version.code, 0);
    assert.equal(version.stdout.trim(), `${pkg.name} ${pkg.version}`);
    const help = await runCli(['dry-run', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: outbound-pools dry-run --event EVENT\.json/);
  });

  it('an unknown command is still an error: exit 2, the overall usage on stderr', async () => {
    const out = capture();
    const err = capture();
    assert.equal(await main(['no-such-command', '--help'], out.stream, err.stream), 2);
    assert.match(err.text(), /unknown command "no-such-command"/);
  });
});
