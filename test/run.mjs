/**
 * `npm test`: every test file, in two batches side by side (docs/testing.md, "How long it
 * takes"):
 *
 * - the CDK files (`test/infra/*.test.ts`) in one process (`--experimental-test-isolation=none`):
 *   each of them otherwise loads `aws-cdk-lib` and the stack's code afresh and starts CDK's
 *   template validation, ~150 s of CPU as 17 processes against ~57 s as one. One process is
 *   one core, so it runs beside the other batch rather than before it;
 * - every other file in its own process, two at a time.
 *
 * The other batch reports as it goes; the CDK batch's report is printed when both are done.
 * The exit code is the first non-zero of the two.
 */
import { spawn } from 'node:child_process';

const common = ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-timeout=120000'];

const cdk = spawn(
  process.execPath,
  [...common, '--experimental-test-isolation=none', 'test/infra/*.test.ts'],
  {
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
const cdkReport = [];
cdk.stdout.on('data', (chunk) => cdkReport.push(chunk));
cdk.stderr.on('data', (chunk) => cdkReport.push(chunk));

const others = spawn(process.execPath, [...common, '--test-concurrency=2', 'test/!(infra)/**/*.test.ts'], {
  stdio: 'inherit',
});

/** The exit code of a child (1 when a signal ended it). */
const exited = (child) => new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));

const [othersCode, cdkCode] = await Promise.all([exited(others), exited(cdk)]);
process.stdout.write('\n# test/infra (one process)\n');
process.stdout.write(Buffer.concat(cdkReport));
process.exitCode = othersCode || cdkCode;
