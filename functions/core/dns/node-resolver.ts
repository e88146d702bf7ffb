/**
 * The network `Resolver`: Node's `dns.promises.Resolver` (c-ares, so the lookups go to the
 * DNS servers and never through `getaddrinfo`, `/etc/hosts` or a search list). This is the
 * only module allowed to import `node:dns`.
 *
 * Node already rejects with `code` `ENOTFOUND` (NXDOMAIN), `ENODATA` (NODATA) and, for
 * failures, `ESERVFAIL`, `ETIMEOUT`, `EREFUSED`, `ECONNREFUSED`..., which is the contract of
 * `resolver.ts`; the answers are passed through unchanged.
 */
import { Resolver as DnsPromisesResolver } from 'node:dns/promises';
import { asResolver, dnsError, errorCode, type Resolver } from './resolver.js';

export interface NodeResolverOptions {
  /**
   * Timeout of the first try of a query, in ms (c-ares backs off on later tries). Default 2000:
   * a Lambda must not spend its budget waiting for DNS, and a timeout is a temporary failure
   * that the caller retries anyway.
   */
  timeoutMs?: number;
  /** Tries per server before giving up with `ETIMEOUT`. Default 2. */
  tries?: number;
  /** DNS servers (`'192.0.2.53'`, `'[2001:db8::53]:5353'`, ...). Default: the system's. */
  servers?: string[];
}

/** A `Resolver` that queries the network. */
export function nodeResolver(opts: NodeResolverOptions = {}): Resolver {
  const resolver = new DnsPromisesResolver({ timeout: opts.timeoutMs ?? 2000, tries: opts.tries ?? 2 });
  if (opts.servers !== undefined) resolver.setServers(opts.servers);
  // async: Node throws synchronously for an unknown rrtype; make that a rejection too.
  return asResolver(async (name, rrtype) => {
    // c-ares reads the name as a C string, which ends at a NUL: `k.attacker.test<NUL>._domainkey.
    // example.com` (a DKIM selector is the sender's to write) would ask for `k.attacker.test`.
    // No DNS name we could ask for holds one: no record, without a query.
    if (name.includes('\0')) throw dnsError('ENOTFOUND', name, rrtype);
    try {
      return await resolver.resolve(name, rrtype.toUpperCase());
    } catch (error) {
      // A name no query can carry (a space, a label over 63 octets): the same every time, so
      // no record, as NXDOMAIN reads everywhere (mailauth's key lookup included: "no key",
      // where `EBADNAME` was a temporary error that bought the sender two retries).
      if (errorCode(error) === 'EBADNAME') throw dnsError('ENOTFOUND', name, rrtype);
      throw error;
    }
  });
}
