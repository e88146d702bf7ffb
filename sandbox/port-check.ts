/** The fixed ports the sandbox is asked to listen on, checked before anything starts. */
import { createServer as createNetServer } from 'node:net';

/**
 * Fails fast, before any emulator starts, when a fixed port is taken (the listen that follows
 * still reports a port lost in between).
 */
export async function assertPortFree(port: number | undefined, service: string): Promise<void> {
  if (!port) return;
  const host = '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const what =
        err.code === 'EADDRINUSE'
          ? `port ${port} on ${host} is already in use (EADDRINUSE)`
          : `cannot listen on ${host}:${port}: ${err.message}`;
      reject(
        Object.assign(new Error(`${service}: ${what}`, { cause: err }), { code: err.code, service, port }),
      );
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
