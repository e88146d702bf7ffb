/**
 * `bin/app.ts` as the CDK CLI runs it (`cdk.json`: `npx tsx bin/app.ts`), without the CLI:
 * the CLI passes context in `CDK_CONTEXT_JSON` (`cdk.json`'s, then `-c`'s) and the output
 * directory in `CDK_OUTDIR`.
 * No credentials, no network: the app synthesizes (bundling included) from the repository's
 * configuration, and a bad configuration stops it with the field named.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../lib/lambda-bundling.js';
import { CDK_JSON } from './cdk-context.js';

// An explicit region is required (lib/regions.ts): every run passes one unless it tests that.
function runApp(context: Record<string, unknown>, withRegion = true) {
  if (withRegion) context = { region: 'eu-west-1', ...context };
  const outdir = mkdtempSync(join(tmpdir(), 'outbound-pools-app-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CDK_OUTDIR: outdir,
    CDK_CONTEXT_JSON: JSON.stringify({ ...CDK_JSON.context, ...context }),
  };
  for (const key of [
    'AWS_PROFILE',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'CDK_DEFAULT_ACCOUNT',
    'CDK_DEFAULT_REGION',
  ])
    delete env[key];
  // Asynchronous, so that the three synths of this file run side by side (see the describe).
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/app.ts'], { cwd: PROJECT_ROOT, env });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  child.stdout.resume();
  return new Promise<{ status: number | null; stderr: string; outdir: string }>((resolve) =>
    child.on('close', (status) => resolve({ status, stderr, outdir })),
  );
}

describe('bin/app.ts', { concurrency: true }, () => {
  it('synthesizes the repository configuration offline, cdk-nag clean', async () => {
    // Act
    const run = await runApp({ config: 'config/outbound-pools.json', stackName: 'OutboundPools' });
    // Assess
    assert.equal(run.status, 0, run.stderr);
    const template = JSON.parse(readFileSync(join(run.outdir, 'OutboundPools.template.json'), 'utf8'));
    const types = new Set(
      Object.values(template.Resources as Record<string, { Type: string }>).map((r) => r.Type),
    );
    for (const type of ['AWS::SES::ReceiptRule', 'AWS::SES::ConfigurationSet', 'AWS::Lambda::Function']) {
      assert.ok(types.has(type), type);
    }
    const report = JSON.parse(readFileSync(join(run.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; violations: { ruleName: string; severity: string }[] }[];
    };
    // cdk-nag: nothing. The one annotation is the intended reminder that the repository's
    // configuration has no `namePrefix` (docs/deploying.md, "Several stacks in one account").
    assert.deepEqual(
      report.pluginReports.map((r) => ({
        plugin: r.pluginName,
        violations: r.violations.map((v) => `${v.severity} ${v.ruleName}`),
      })),
      [{ plugin: 'Construct Annotations', violations: ['warning Annotation::outbound-pools:namePrefix'] }],
    );
  });

  it('a bad configuration stops the synth with the field named, no stack trace', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'outbound-pools-config-'));
    const file = join(dir, 'bad.json');
    const config = JSON.parse(readFileSync(join(PROJECT_ROOT, 'config/outbound-pools.json'), 'utf8'));
    config.limits.default.action = 'explode';
    writeFileSync(file, JSON.stringify(config));
    // Act
    const run = await runApp({ config: file });
    // Assess
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^outbound-pools: invalid configuration:\n {2}limits\.default\.action: /m);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });

  it('no region (neither -c region nor CDK_DEFAULT_REGION) stops the synth in one line', async () => {
    const run = await runApp({ config: 'config/outbound-pools.json' }, false);
    assert.equal(run.status, 1);
    assert.equal(
      run.stderr.trim(),
      'outbound-pools: region: no region: pass -c region=<region> or set AWS_REGION (the CDK CLI passes it as CDK_DEFAULT_REGION)',
    );
  });

  // A region where SES receives no email: the same one-line path, tested without a child
  // process in test/infra/receiving.test.ts ("region").
  it('an impossible combination stops the synth too', async () => {
    const run = await runApp({ reservedConcurrency: '0' });
    assert.equal(run.status, 1);
    assert.equal(
      run.stderr.trim().split('\n').at(-1),
      'outbound-pools: context reservedConcurrency: must be an integer of at least 1 (got "0")',
    );
  });
});
