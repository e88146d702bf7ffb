/**
 * Bench entry of the feedback function as deployed (`functions/feedback/handler.ts`), in a bundle
 * of its own as its Lambda has: the all-in figures (WRU, logs) run it over the router's
 * in-memory transport, and the router's bundle stays what the router's Lambda loads.
 */
import { createFeedbackHandler } from '../../functions/feedback/handler.js';
import type { InMemoryAws } from '../transport.js';
import { clientConfig } from './client-config.js';

export function makeFeedback(transport: InMemoryAws) {
  return createFeedbackHandler(clientConfig(transport));
}
