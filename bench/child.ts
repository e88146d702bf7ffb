/**
 * Running a module of the bench in a child process: each measurement that must not share a
 * heap, a JIT or module caches with another runs in a fresh Node (the one running us), and
 * hands its result back as the last JSON line of its stdout.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Runs a TypeScript module of the bench in a fresh Node (the one running us) with tsx;
 * resolves with its stdout. `onLine` sees its stderr line by line as it comes.
 */
export function runTsChild(
  script: string,
  args: string[],
  nodeFlags: string[] = [],
  onLine?: (line: string) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', script, ...args], {
      cwd: PROJECT_ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let pending = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString();
      err += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine?.(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (pending) onLine?.(pending);
      if (code === 0) resolve(out);
      else reject(new Error(`${script} ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`));
    });
  });
}

/** The last line of a child's stdout that is a JSON document. */
export function lastJson<T>(stdout: string): T {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no JSON in child output: ${stdout.slice(-500)}`);
  return JSON.parse(line) as T;
}
