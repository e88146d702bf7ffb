/**
 * The resolver SPF is evaluated through (`gateways.ts`), with a bound on the size of an SPF
 * record. A sender chooses the names SPF looks up (its envelope domain, then every `include:`
 * and `redirect=` of its records) and answers them from its own name server, with TXT records
 * of up to ~64 KB each (a DNS message is at most 65,535 octets, RFC 1035 section 4.2.2).
 * mailauth splits every TXT record of the answer into terms and checks each of them, one
 * modifier at a time with an array splice: eleven chained records of 64 KB (the first and its
 * ten lookups, RFC 7208 section 4.6.4) cost 70-230 ms of CPU against ~1 ms for a whole
 * ordinary message (December 2026, `test/hardening/hostile-input.test.ts`).
 *
 * - An SPF record (a TXT record whose first term is `v=spf1`, as mailauth selects them,
 *   RFC 7208 section 4.5) longer than {@link MAX_SPF_RECORD_OCTETS} is a `permerror`: the
 *   record is not evaluated, and SPF is not passed (`PROCESSING_FAILED`). Never `none` or
 *   `fail` either: the domain did publish a policy, one we decline to read.
 * - Any other TXT record longer than that is left out of the answer: mailauth discards records
 *   that are not SPF records anyway (RFC 7208 section 4.5), after splitting them into terms.
 *   Shorter ones are kept (an `exp=` explanation, RFC 7208 section 6.2, is one).
 *
 * Other record types pass unchanged.
 */
import { asResolver, type Resolver } from './resolver.js';

/**
 * Longest SPF record read, in characters of the record's joined strings (octets: an SPF record
 * is ASCII, RFC 7208 section 3). RFC 7208 section 3.4 asks publishers to keep the whole answer
 * within 512 octets, since a longer one needs DNS over TCP, which "could be silently ignored"
 * by verifiers; large senders split their ranges over `include:`d records of a few hundred
 * octets. 4,096 is eight times that recommendation (sixteen 255-octet strings); at 4 KB the
 * eleven records a chain may reach cost about as much as an ordinary message.
 */
export const MAX_SPF_RECORD_OCTETS = 4096;

/** How mailauth (lenient mode) recognises an SPF record: `v=spf1` as the first term. */
const SPF_RECORD = /^\s*v=spf1(?:\s|$)/i;

/** The error mailauth's SPF evaluation reads as `permerror` (its `spfResult`), not temperror. */
function oversized(name: string, octets: number): Error {
  const text = `SPF record of ${name} is ${octets} octets, over ${MAX_SPF_RECORD_OCTETS}`;
  return Object.assign(new Error(text), {
    code: 'ESPFRECORDSIZE',
    spfResult: { error: 'permerror', text },
  });
}

/** `inner` with the SPF record bound above, for SPF evaluation only. */
export function spfResolver(inner: Resolver): Resolver {
  return asResolver(async (name, rrtype) => {
    const answer = await inner(name, rrtype);
    if (rrtype.toUpperCase() !== 'TXT' || !Array.isArray(answer)) return answer;
    const kept: unknown[] = [];
    for (const record of answer as unknown[]) {
      const text = Array.isArray(record) ? record.join('') : String(record);
      if (text.length <= MAX_SPF_RECORD_OCTETS) kept.push(record);
      else if (SPF_RECORD.test(text)) throw oversized(name, text.length);
    }
    return kept;
  });
}
