/**
 * Runs the `outbound-pools` CLI: as operators do (a child process of the real binary, keeping
 * its exit code), or in this process (`main` with its own environment and captured streams —
 * the same code without a process start per case, and safe to run side by side).
 */
import { execFile } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { main } from '../../functions/cli/main.js';

const run = promisify(execFile);
export const CLI_BIN = 'bin/outbound-pools.mjs';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' },
): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI_BIN, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A stream that keeps what is written to it (not a terminal, like a child's piped stdout). */
function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

/**
 * `main(args)` in this process with `env` as the environment its commands read (nothing of
 * `process.env` is changed), stdout and stderr captured: the result `runCli` gives.
 */
export async function runCliInProcess(
  args: string[],
  env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' },
): Promise<CliResult> {
  const out = capture();
  const err = capture();
  const code = await main(args, out.stream, err.stream, env);
  // PassThrough delivers 'data' on a later tick: let the last writes arrive.
  await new Promise((r) => setImmediate(r));
  return { code, stdout: out.text(), stderr: err.text() };
}

/**
 * `dry-run` over a test's fixture folder (`file(name)` is a path in it): its `config.json` and
 * `zones.json`, the clock at `now`, and the event and message files when given.
 */
export function dryRunArgs(
  file: (name: string) => string,
  now: Date,
  event?: string,
  message?: string,
): string[] {
  return [
    'dry-run',
    '--config',
    file('config.json'),
    '--zones',
    file('zones.json'),
    '--now',
    now.toISOString(),
    ...(event === undefined ? [] : ['--event', file(event)]),
    ...(message === undefined ? [] : ['--message', file(message)]),
  ];
}
