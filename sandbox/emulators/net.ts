/**
 * Listening and closing for the emulators' HTTP servers: a busy port becomes an error naming
 * the service and the port, and closing drops keep-alive sockets so the port is free at once.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export function listen(server: Server, port: number, host: string, service: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const what =
        err.code === 'EADDRINUSE'
          ? `port ${port} on ${host} is already in use (EADDRINUSE)`
          : `cannot listen on ${host}:${port}: ${err.message}`;
      reject(
        Object.assign(new Error(`${service} emulator: ${what}`, { cause: err }), {
          code: err.code,
          service,
          port,
        }),
      );
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    // Drop keep-alive sockets of SDK clients so close() completes immediately and the port is freed.
    server.closeAllConnections();
  });
}
