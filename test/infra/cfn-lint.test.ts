/**
 * The synthesized template through cfn-lint, AWS's CloudFormation linter, where it is
 * installed (it is a Python tool, not an npm package: CI machines here have 1.51). Errors
 * fail the test; warnings are listed, not failed on. Where cfn-lint is absent the test says
 * so and checks nothing else.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { synthStack } from './helpers.js';

const probe = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const present = probe.status === 0;

describe('cfn-lint on the synthesized template', () => {
  it(
    present ? `has no errors (${probe.stdout.trim()})` : 'cfn-lint is not installed: nothing linted',
    (t) => {
      if (!present) {
        t.diagnostic('cfn-lint not found on PATH; install it (pip install cfn-lint) to lint the template');
        assert.notEqual(probe.status, 0);
        return;
      }
      // The default template (CDK's own validation of it runs in outbound-pools-stack.test.ts).
      const { template } = synthStack({}, { bundle: false, validate: false });
      const dir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
      try {
        const file = join(dir, 'template.json');
        writeFileSync(file, JSON.stringify(template.toJSON()));
        const run = spawnSync('cfn-lint', ['--format', 'parseable', file], {
          encoding: 'utf8',
          timeout: 120_000,
        });
        const findings = `${run.stdout}${run.stderr}`.trim().split('\n').filter(Boolean);
        // cfn-lint's exit code is a bit set: 2 errors, 4 warnings, 8 informational.
        const errors = findings.filter((line) => /:E\d{4}:/.test(line));
        for (const line of findings) t.diagnostic(line);
        assert.equal(run.error, undefined, String(run.error));
        assert.deepEqual(errors, [], 'cfn-lint errors');
        assert.equal((run.status ?? 0) & 2, 0, `cfn-lint exit ${run.status}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
