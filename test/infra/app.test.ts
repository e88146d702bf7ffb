/**
 * `bin/app.ts` as the CDK CLI runs it (`cdk.json`: `npx tsx bin/app.ts`), without the CLI:
 * the CLI passes context in `CDK_CONTEXT_JSON` (`cdk.json`'s, then `-c`'s) and the output
 * directory in `CDK_OUTDIR`.
 * No credentials, no network: the app synthesizes (bundling included) from the repository's
 * configuration, and a bad configuration stops it with the field named.
 *
 * The security checks on what is shipped run on that synthesis (test/hardening/security.test.ts
 * has the dependency checks): the router, feedback and trace API bundles and their source maps
 * as the stack builds them, the template and every function asset (code, the router's bundled
 * configuration) hold no PEM private key, no AWS access key id and no SRS secret.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../lib/lambda-bundling.js';
import { filesUnder, scanForSecrets, srsSecrets } from '../helpers/secrets.js';
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
  // The repository's configuration, synthesized once (started by the first test that asks,
  // side by side with the other cases): the synth test and the security scans below read the
  // same cloud assembly.
  let repoRun: ReturnType<typeof runApp> | undefined;
  const repoSynth = () => {
    repoRun ??= runApp({
      config: 'config/outbound-pools.json',
      stackName: 'OutboundPools',
      terminationProtection: 'true',
    });
    return repoRun;
  };

  it('synthesizes the repository configuration offline, cdk-nag clean', async () => {
    const run = await repoSynth();
    assert.equal(run.status, 0, run.stderr);
    const template = JSON.parse(readFileSync(join(run.outdir, 'OutboundPools.template.json'), 'utf8'));
    // `-c terminationProtection=true` reaches the stack (a property of the deployment, in the manifest).
    const manifest = JSON.parse(readFileSync(join(run.outdir, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { properties?: { terminationProtection?: boolean } }>;
    };
    assert.equal(manifest.artifacts.OutboundPools?.properties?.terminationProtection, true);
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
  it('security: the router, feedback and trace API bundles and their source maps hold no private key, AWS key or SRS secret', async () => {
    const repo = await repoSynth();
    assert.equal(repo.status, 0, repo.stderr);
    const template = JSON.parse(readFileSync(join(repo.outdir, 'OutboundPools.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties?: { Code?: { S3Key?: string } } }>;
    };
    const functions = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::Lambda::Function',
    );
    const bundleFiles = ['Router', 'Feedback', 'TraceApi'].flatMap((part) => {
      const found = functions.filter(([id]) => id.includes(part));
      assert.equal(found.length, 1, `one ${part} function: ${found.map(([id]) => id).join(', ')}`);
      const key = found[0]![1].Properties?.Code?.S3Key?.replace(/\.zip$/, '');
      const dir = join(repo.outdir, `asset.${key}`);
      return [join(dir, 'index.mjs'), join(dir, 'index.mjs.map')].filter((f) => existsSync(f));
    });
    assert.equal(bundleFiles.length, 6, 'three bundles and their source maps were built');
    assert.deepEqual(scanForSecrets(bundleFiles, srsSecrets()), []);
  });

  it('security: the synthesized template and the function assets (code, bundled configuration) hold none either', async () => {
    const repo = await repoSynth();
    assert.equal(repo.status, 0, repo.stderr);
    const secrets = srsSecrets();
    const templates = filesUnder(repo.outdir, (f) => f.endsWith('.template.json'));
    assert.ok(templates.length >= 1, 'a template was written');
    assert.deepEqual(scanForSecrets(templates, secrets), []);
    // The function code of the assets: the bundles the stack built itself.
    const code = filesUnder(repo.outdir, (f) => /\.(?:mjs|js)$/.test(f));
    assert.ok(code.length >= 3, 'function code was bundled');
    assert.deepEqual(scanForSecrets(code, secrets), []);
    // The configuration file bundled next to the router: its SRS secrets come from SSM at run
    // time, never from the asset (anyone with lambda:GetFunction could read them there).
    const configs = filesUnder(repo.outdir, (f) => f.endsWith('outbound-pools.json'));
    assert.ok(configs.length >= 1, 'the router asset carries its configuration file');
    assert.deepEqual(scanForSecrets(configs, secrets), []);
  });
});
