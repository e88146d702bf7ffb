/**
 * Security checks that run with the tests:
 *
 * - no secret in what is shipped: the router, feedback and trace API bundles and their source
 *   maps as the stack builds them (its own esbuild bundling, the assets of one synthesis of the
 *   repository's configuration), the synthesized CloudFormation template and every function
 *   asset (code and the router's bundled configuration file) hold no PEM private key, no AWS
 *   access key id and none of the configuration's SRS secrets;
 * - dependencies pinned: exact versions in package.json, a v3 lock file in step with it,
 *   every package locked with a sha512 integrity from the npm registry, and the installed
 *   tree matching the lock.
 *
 * `npm audit` needs the registry's advisory service, which is not reachable here; see
 * bench/README.md ("Security") for what to run where it is.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../functions/core/config.js';
import { PROJECT_ROOT } from '../../lib/lambda-bundling.js';
import { CONFIG_JSON } from '../helpers/mail.js';

const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/;
const AWS_ACCESS_KEY_ID = /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/;

/** The SRS secrets of the repository's configuration and of the test configuration. */
function srsSecrets(): string[] {
  const file = JSON.parse(readFileSync(join(PROJECT_ROOT, 'config/outbound-pools.json'), 'utf8')) as {
    srs: { secrets: string[] };
  };
  return [...new Set([...file.srs.secrets, ...CONFIG_JSON.srs.secrets])];
}

interface Finding {
  file: string;
  what: string;
}

/** Secrets found in `files` (paths relative to the project root in the findings). */
function scan(files: string[], secrets: readonly string[]): Finding[] {
  const findings: Finding[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const where = relative(PROJECT_ROOT, file);
    if (PEM_PRIVATE_KEY.test(text)) findings.push({ file: where, what: 'PEM private key' });
    const key = AWS_ACCESS_KEY_ID.exec(text);
    if (key) findings.push({ file: where, what: `AWS access key id ${key[0]}` });
    for (const s of secrets)
      if (text.includes(s)) findings.push({ file: where, what: `SRS secret ${s.slice(0, 4)}…` });
  }
  return findings;
}

function walk(dir: string, keep: (file: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path, keep));
    else if (keep(path)) out.push(path);
  }
  return out;
}

describe('security: no secret in what we ship', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'op-security-'));
  const outdir = join(scratch, 'cdk.out');
  const secrets = srsSecrets();
  let templateFile: string;

  // One synthesis, bundling included: the bundles scanned are the ones the stack deploys.
  before(async () => {
    const { App } = await import('aws-cdk-lib');
    const { OutboundPoolsStack } = await import('../../lib/outbound-pools-stack.js');
    const config = parseConfig(
      JSON.parse(readFileSync(join(PROJECT_ROOT, 'config/outbound-pools.json'), 'utf8')),
    );
    const app = new App({ outdir });
    new OutboundPoolsStack(app, 'SecurityScan', {
      env: { account: '123456789012', region: 'us-east-1' },
      config,
    });
    app.synth();
    templateFile = join(outdir, 'SecurityScan.template.json');
  });
  after(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('the router, feedback and trace API bundles and their source maps hold no private key, AWS key or SRS secret', () => {
    const template = JSON.parse(readFileSync(templateFile, 'utf8')) as {
      Resources: Record<string, { Type: string; Properties?: { Code?: { S3Key?: string } } }>;
    };
    const functions = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::Lambda::Function',
    );
    const bundleFiles = ['Router', 'Feedback', 'TraceApi'].flatMap((part) => {
      const found = functions.filter(([id]) => id.includes(part) && !id.includes('Activation'));
      assert.equal(found.length, 1, `one ${part} function: ${found.map(([id]) => id).join(', ')}`);
      const key = found[0]![1].Properties?.Code?.S3Key?.replace(/\.zip$/, '');
      const dir = resolve(outdir, `asset.${key}`);
      return [join(dir, 'index.mjs'), join(dir, 'index.mjs.map')].filter((f) => existsSync(f));
    });
    assert.equal(bundleFiles.length, 6, 'three bundles and their source maps were built');
    assert.deepEqual(scan(bundleFiles, secrets), []);
  });

  it('the synthesized template and the function assets (code, bundled configuration) hold none either', () => {
    const templates = walk(outdir, (f) => f.endsWith('.template.json'));
    assert.ok(templates.length >= 1, 'a template was written');
    assert.deepEqual(scan(templates, secrets), []);
    // The function code of the assets: the bundles the stack built itself.
    const code = walk(outdir, (f) => /\.(?:mjs|js)$/.test(f));
    assert.deepEqual(scan(code, secrets), []);
    // The configuration file bundled next to the router: its SRS secrets come from SSM at run
    // time, never from the asset (anyone with lambda:GetFunction could read them there).
    const configs = walk(outdir, (f) => f.endsWith('outbound-pools.json'));
    assert.ok(configs.length >= 1, 'the router asset carries its configuration file');
    assert.deepEqual(scan(configs, secrets), []);
  });
});

describe('security: dependencies are pinned', () => {
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const lock = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as {
    lockfileVersion: number;
    packages: Record<
      string,
      {
        version?: string;
        resolved?: string;
        integrity?: string;
        link?: boolean;
        inBundle?: boolean;
        dependencies?: Record<string, string>;
        devDependencies?: Record<string, string>;
      }
    >;
  };
  const EXACT = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

  it('package.json names exact versions only (no ranges, tags, URLs or git)', () => {
    const loose = Object.entries({ ...pkg.dependencies, ...pkg.devDependencies }).filter(
      ([, v]) => !EXACT.test(v),
    );
    assert.deepEqual(loose, []);
  });

  it('package-lock.json is v3 and in step with package.json', () => {
    assert.ok(lock.lockfileVersion >= 3, `lockfileVersion ${lock.lockfileVersion}`);
    const root = lock.packages[''];
    assert.deepEqual(root?.dependencies ?? {}, pkg.dependencies);
    assert.deepEqual(root?.devDependencies ?? {}, pkg.devDependencies);
    for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
      assert.equal(lock.packages[`node_modules/${name}`]?.version, version, name);
    }
  });

  it('every locked package has a sha512 integrity and no foreign source (bundled ones through their parent)', () => {
    const problems: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === '' || entry.link) continue;
      if (entry.inBundle) {
        // Shipped inside its parent's tarball: covered by the parent's integrity.
        const parent = path.slice(0, path.lastIndexOf('/node_modules/'));
        if (!lock.packages[parent]?.integrity?.startsWith('sha512-'))
          problems.push(`${path}: parent unverified`);
        continue;
      }
      if (!entry.integrity?.startsWith('sha512-')) problems.push(`${path}: integrity ${entry.integrity}`);
      // No `resolved` is the configured registry (npm omits it with omit-lockfile-registry-resolved).
      if (entry.resolved !== undefined && !entry.resolved.startsWith('https://registry.npmjs.org/')) {
        problems.push(`${path}: from ${entry.resolved}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('the installed tree is the locked one', () => {
    const drift: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === '' || entry.link) continue;
      const manifest = join(PROJECT_ROOT, path, 'package.json');
      if (!existsSync(manifest)) continue; // optional, for another platform
      const installed = (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version;
      if (installed !== entry.version) drift.push(`${path}: installed ${installed}, locked ${entry.version}`);
    }
    assert.deepEqual(drift, []);
  });
});
