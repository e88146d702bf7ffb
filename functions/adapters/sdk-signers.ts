/**
 * One SigV4 signer per client and auth scheme, instead of one per request.
 *
 * The AWS SDK's resolved `config.signer` (`resolveAwsSdkSigV4Config`, @aws-sdk/core) builds a
 * `new SignatureV4({ ...config, region, service, ... })` on **every** request — a copy of the
 * whole client configuration and a signer object each time; the signer it builds holds only
 * what the configuration and the endpoint's auth scheme say (service, region, credential
 * provider, hash), and signing keys are cached module-wide, not in the signer. Issue 16: about
 * 5 % of the router's allocations per plain message and 1.3 % of its CPU (five requests).
 *
 * `reuseSigners` wraps that function so a client builds each distinct signer once: the same
 * signer the SDK would have built for the same auth scheme (`validateSigningProperties` passes
 * the endpoint's first auth scheme, the same for every request of a region and service), and
 * the signature is computed per request as before (`test/adapters/sdk-signers.test.ts`
 * compares the signed requests with and without).
 */

/** What the SDK's signer provider takes: the endpoint's auth scheme (plain data), if any. */
type SignerProvider = (authScheme?: unknown) => Promise<unknown>;

/** More distinct auth schemes than a client of ours meets: beyond, signers are not kept. */
const MAX_SIGNERS = 16;

/** Makes `client` reuse the signers its SDK configuration builds; returns the client. */
export function reuseSigners<T extends { config: object }>(client: T): T {
  const config = client.config as { signer?: SignerProvider };
  const build = config.signer;
  if (typeof build !== 'function') return client;
  const built = new Map<string, Promise<unknown>>();
  config.signer = (authScheme?: unknown) => {
    const key = JSON.stringify(authScheme ?? null);
    const known = built.get(key);
    if (known) return known;
    const signer = build(authScheme);
    if (built.size < MAX_SIGNERS) {
      built.set(key, signer);
      signer.catch(() => built.delete(key));
    }
    return signer;
  };
  return client;
}
