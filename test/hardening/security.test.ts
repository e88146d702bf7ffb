/**
 * Security checks that run with the tests:
 *
 * - dependencies pinned: exact versions in package.json, a v3 lock file in step with it,
 *   every package locked with a sha512 integrity from the npm registry, and the installed
 *   tree matching the lock;
 * - no secret in what is shipped (no PEM private key, AWS access key id or SRS secret in the
 *   function bundles, their source maps, the template or the router's bundled configuration):
 *   in test/infra/app.test.ts, over the cloud assembly `bin/app.ts` synthesizes there (one
 *   synthesis of the repository's configuration, bundling included, serves both files' checks).
 *
 * `npm audit` needs the registry's advisory service, which is not reachable here; see
 * bench/README.md ("Security") for what to run where it is.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../lib/lambda-bundling.js';

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
