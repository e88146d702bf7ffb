/**
 * SDK client settings of the bench's entries: every client talks to the in-memory transport,
 * with fixed region and credentials (as the environment gives them in Lambda).
 */
import type { InMemoryAws } from '../transport.js';

export const clientConfig = (transport: InMemoryAws) => ({
  requestHandler: transport,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' },
});
