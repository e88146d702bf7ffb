/**
 * One deadline for all DNS work of a message (SPEC 2a). The decision makes its lookups
 * (source domain, SPF behind a gateway, DKIM keys, ARC keys) through one resolver; wrapped
 * here, every lookup still pending when the message's deadline passes, and every lookup
 * started after it, fails at once as a timeout (`ETIMEOUT`): a temporary failure
 * (`resolver.ts` contract), never "no record". So a sender whose name servers never answer
 * costs at most the deadline, however many keys its signatures name (10 signatures whose key
 * server never answered cost 57 s one after the other before this).
 */
import { asResolver, dnsError, type Resolver } from './resolver.js';

/**
 * Wraps `inner` so that no lookup outlives `deadlineMs` from now (the clock starts at the
 * call: make one per message). Each timer is cleared as its lookup settles, so none outlives
 * the lookup it guards.
 * @throws RangeError when `deadlineMs` is not a positive number.
 */
export function deadlineResolver(
  inner: Resolver,
  deadlineMs: number,
  now: () => number = Date.now,
): Resolver {
  if (!(deadlineMs > 0)) throw new RangeError(`deadlineResolver: deadlineMs must be > 0, got ${deadlineMs}`);
  const deadline = now() + deadlineMs;
  return asResolver(async (name, rrtype) => {
    const left = deadline - now();
    if (left <= 0) throw dnsError('ETIMEOUT', name, rrtype);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(dnsError('ETIMEOUT', name, rrtype)), left);
    });
    try {
      return await Promise.race([inner(name, rrtype), expired]);
    } finally {
      clearTimeout(timer);
    }
  });
}
