/**
 * Processes as a user starts them (`npm start`, `npm run demo`): spawn through npm, watch the
 * output line by line, and check that a signal to npm ends npm and every process below it.
 */
import assert from 'node:assert/strict';
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import type { Readable } from 'node:stream';

export type Child = ChildProcessByStdio<null, Readable, Readable>;

/** Every live process below `root`, from /proc (Linux). */
export function descendantsOf(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may contain spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(entry), ppid);
    } catch {
      // The process ended while we read.
    }
  }
  const below: number[] = [];
  let frontier = [root];
  while (frontier.length > 0) {
    const next = [...parent].filter(([, ppid]) => frontier.includes(ppid)).map(([pid]) => pid);
    below.push(...next);
    frontier = next;
  }
  return below;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Collects a child's output and resolves with the first line matching `pattern`. */
export function watch(child: Child) {
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const line = stdout.split('\n').find((l) => w.pattern.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    check();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    exited,
    output: () => ({ stdout, stderr }),
    line(pattern: RegExp, timeoutMs = 90_000): Promise<string> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line ${pattern} within ${timeoutMs} ms:\n${stdout}\n${stderr}`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        exited.then((code) => reject(new Error(`exited ${code} before ${pattern}:\n${stdout}\n${stderr}`)));
        check();
      });
    },
  };
}

const started = new Set<Child>();

export function npm(args: string[]): Child {
  const child = spawn('npm', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  started.add(child);
  return child;
}

/** For `after()`: a failed test must not leave npm and its sandbox running. */
export function killLeftovers(): void {
  for (const child of started) {
    for (const pid of descendantsOf(child.pid ?? -1)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

/** Signals npm and checks that npm and everything below it ended and the port is closed. */
export async function stopsEverything(
  child: Child,
  watched: ReturnType<typeof watch>,
  signal: NodeJS.Signals,
  port: number,
) {
  const tree = descendantsOf(child.pid ?? -1);
  assert.ok(tree.length >= 1, 'npm runs the sandbox in a child process');
  child.kill(signal);
  const code = await watched.exited;
  assert.equal(code, 0, `npm exits 0 on ${signal}: ${watched.output().stderr}`);
  // The children may outlive npm by a moment while they close their servers.
  const deadline = Date.now() + 15_000;
  while (tree.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(
    tree.filter(isAlive),
    [],
    `every process npm started has ended after ${signal} (${tree.join(', ')})`,
  );
  assert.ok(await refusesConnections(port), `port ${port} is free again`);
}
