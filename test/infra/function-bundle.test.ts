/**
 * The functions' bundling step (`bin/bundle-function.ts`, run by `functionCode` of
 * `lib/lambda-bundling.ts`): what it writes, and how it fails — a bad argument or a handler
 * that does not build is a one-line error and a non-zero exit, and a synthesis whose bundling
 * fails stops with that line instead of deploying something else.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { PROJECT_ROOT } from '../../lib/function-bundle.js';
import { functionCode, RUNTIME } from '../../lib/lambda-bundling.js';
import { testApp } from './helpers.js';

const SCRIPT = join(PROJECT_ROOT, 'bin/bundle-function.ts');
const run = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { cwd: PROJECT_ROOT, encoding: 'utf8' });

describe('bundle-function', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bundle-function-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('bundles a handler with its source map and copies the extra files, world-readable', () => {
    const extra = join(dir, 'extra.json');
    writeFileSync(extra, '{"a":1}\n', { mode: 0o600 });
    const out = join(dir, 'out');
    const result = run('functions/trace-api/handler.ts', out, `settings.json=${extra}`);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(existsSync(join(out, 'index.mjs')));
    assert.ok(existsSync(join(out, 'index.mjs.map')));
    assert.equal(readFileSync(join(out, 'settings.json'), 'utf8'), '{"a":1}\n');
    assert.equal(statSync(join(out, 'settings.json')).mode & 0o777, 0o644);
  });

  it('--help prints the usage and exits 0', () => {
    const result = run('--help');
    assert.equal(result.status, 0);
    assert.match(result.stdout, /^usage: bundle-function <entry> <outdir>/);
  });

  it('bad arguments exit 2 with the usage', () => {
    for (const args of [
      [],
      ['functions/router/handler.ts'],
      ['functions/router/handler.ts', dir, 'no-equals-sign'],
    ]) {
      const result = run(...args);
      assert.equal(result.status, 2, args.join(' '));
      assert.match(result.stderr, /usage: bundle-function/);
    }
  });

  it('a handler that does not build exits 1 with one line naming it, and writes no bundle', () => {
    const out = join(dir, 'broken');
    const result = run('functions/no-such-handler.ts', out);
    assert.equal(result.status, 1);
    assert.match(
      result.stderr.trim().split('\n').at(-1)!,
      /^bundle-function: functions\/no-such-handler\.ts: Could not resolve/,
    );
    assert.equal(existsSync(join(out, 'index.mjs')), false);
  });

  it('a synthesis whose bundling fails stops with the bundler’s line', () => {
    const stack = new Stack(testApp(), 'Broken');
    // CDK bundles an asset when the function that uses it is built.
    assert.throws(
      () =>
        new lambda.Function(stack, 'Fn', {
          runtime: RUNTIME,
          handler: 'index.handler',
          code: functionCode('no-such-handler.ts'),
        }),
      /bundling no-such-handler\.ts failed: bundle-function: \S*no-such-handler\.ts: Could not resolve/,
    );
  });
});
