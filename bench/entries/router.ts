/**
 * Bench entry of the router as deployed: the middy handler of `functions/router/handler.ts`
 * (`createHandler` over `createDeps`, the real adapters), bundled with the stack's esbuild
 * options together with the in-memory transport its SDK clients talk to. Only DNS (an
 * in-memory zone) and the clock are replaced. Nothing else is in the bundle: the feedback
 * function, which the all-in figures also run, has its own (`feedback.ts`), as in the stack.
 */

import { type Zones, zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { createDeps, createHandler } from '../../functions/router/handler.js';
import { InMemoryAws, type TransportOptions } from '../transport.js';
import { clientConfig } from './client-config.js';

export type { TransportOptions };
export { InMemoryAws };

export interface RouterOptions {
  /** The router's environment (`settingsEnvironment`). */
  env: Record<string, string>;
  zones: Zones;
  transport: InMemoryAws;
  /** Fixed clock (ISO); absent: the real one. */
  now?: string;
}

export function makeRouter(o: RouterOptions) {
  const clock = o.now ? { clock: () => new Date(o.now!) } : {};
  return createHandler(() =>
    createDeps(
      o.env,
      { resolver: zoneResolver(o.zones), ...clock },
      { clientConfig: clientConfig(o.transport) },
    ),
  );
}
