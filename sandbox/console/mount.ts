/**
 * The console as the sandbox mounts it: its feed fed by the SMTP ingress's events, its trace
 * reads through the sandbox's trace store, restrictions through the router's limits store, and
 * the raw copies from the SES emulator's recording layer (which keeps every send in memory).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoLimitsStore } from '../../functions/adapters/dynamo-limits-store.js';
import type { TraceReader } from '../../functions/trace-api/lookup.js';
import type { SesEmulator } from '../emulators/index.js';
import type { IngressEvent } from '../smtp-ingress.js';
import { MessageFeed } from './feed.js';
import { type ConsoleServer, startConsoleServer } from './server.js';

export interface SandboxConsole extends ConsoleServer {
  /** Give it every ingress event; it keeps the processed and dead-lettered messages. */
  onEvent(event: IngressEvent): void;
}

export async function mountConsole(o: {
  dynamo: DynamoDBClient;
  limitsTable: string;
  traces: TraceReader;
  ses: SesEmulator;
  port?: number | undefined;
}): Promise<SandboxConsole> {
  const feed = new MessageFeed(o.traces);
  const server = await startConsoleServer({
    feed,
    // Uncached, as the operator CLI's store: a release is seen at once.
    limits: new DynamoLimitsStore({ client: o.dynamo, tableName: o.limitsTable, restrictionCacheMs: 0 }),
    rawCopy: (sesMessageId) => o.ses.sent().find((s) => s.messageId === sesMessageId)?.raw,
    port: o.port ?? 0,
  });
  return {
    ...server,
    onEvent(event) {
      if (event.type === 'processed' || event.type === 'dead-letter') feed.record(event.message);
    },
  };
}
