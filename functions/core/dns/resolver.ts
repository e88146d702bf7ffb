/**
 * The DNS seam of the project: one function type that every lookup goes through, so the
 * decision code, `mailauth` (DKIM/SPF/DMARC) and the tests can share a resolver, whether it
 * talks to the network (`node-resolver.ts`), a declarative zone (`zone-resolver.ts`) or a
 * cache in front of either (`cached-resolver.ts`).
 *
 * The contract is the one of Node's `dns.promises.resolve(name, rrtype)`:
 * - A, AAAA, CNAME, NS, PTR answer `string[]`, MX `{ exchange, priority }[]` and TXT
 *   `string[][]` (one array of character-strings per record, RFC 1035 section 3.3.14);
 * - names in answers carry no trailing dot, so a null MX (RFC 7505) has `exchange: ''`;
 * - "no record" is a rejection with `code` `ENOTFOUND` (NXDOMAIN, RFC 1035 section 4.1.1
 *   RCODE 3) or `ENODATA` (NODATA, RFC 2308 section 2.2): never an empty array;
 * - every other rejection (`ESERVFAIL`, `ETIMEOUT`, `EREFUSED`, `ECONNREFUSED`, ...) is a
 *   temporary failure (RFC 7208 section 2.6.6 / RFC 7489 "temperror"), never "no record".
 */

/** One MX record (RFC 1035 section 3.3.9), as Node returns it. */
export interface MxRecord {
  exchange: string;
  priority: number;
}

/** Record types whose answer is a list of strings (addresses or domain names). */
export type StringRecordType = 'A' | 'AAAA' | 'CNAME' | 'NS' | 'PTR';

/** The answers of the typed record types (other types, e.g. SOA or SRV, answer `unknown`). */
export type DnsAnswer = string[] | string[][] | MxRecord[];

/**
 * A DNS lookup function with the shape of Node's `dns.promises.resolve`.
 *
 * The first three overloads type the answers the project reads; the fourth covers any other
 * (or a computed) record type, whose answer shape is then up to the caller to check. The last one is never picked by a call (the fourth always
 * matches first): it is there only so that a `Resolver` is assignable to `mailauth`'s
 * `DNSResolver` (`(domain, rrtype) => Promise<string[][] | string[]>`), whose declared
 * answer type leaves out MX objects although mailauth does query MX through it (SPF `mx`).
 * A `Resolver` can therefore be passed as `{ resolver }` to `dkimVerify`, `authenticate`...
 *
 * Implementations are plain `async (name, rrtype) => ...` functions cast to `Resolver`.
 */
export interface Resolver {
  (name: string, rrtype: StringRecordType): Promise<string[]>;
  (name: string, rrtype: 'MX'): Promise<MxRecord[]>;
  (name: string, rrtype: 'TXT'): Promise<string[][]>;
  (name: string, rrtype: string): Promise<unknown>;
  (name: string, rrtype: string): Promise<string[][] | string[]>;
}

/** The untyped function every `Resolver` implementation is written as. */
export type ResolverFunction = (name: string, rrtype: string) => Promise<unknown>;

/** Gives a plain lookup function the typed `Resolver` overloads. */
export function asResolver(fn: ResolverFunction): Resolver {
  return fn as Resolver;
}

/**
 * Codes meaning "the name has no record of this type": NXDOMAIN and NODATA, and `EBADNAME`,
 * c-ares's answer for a name no query can carry (a space, a label over 63 octets, over 253 in
 * all): it is the same every time, so read as temporary it only bought the sender two retries
 * of its message (a DKIM selector is the sender's to write; review of December 2026).
 */
export const NO_RECORD_CODES: ReadonlySet<string> = new Set(['ENOTFOUND', 'ENODATA', 'EBADNAME']);

/** The `code` of an error-like value, if it has a string one. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const { code } = err as { code: unknown };
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** True for NXDOMAIN (`ENOTFOUND`), NODATA (`ENODATA`) and a name DNS cannot hold (`EBADNAME`): no record. */
export function isNoRecord(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && NO_RECORD_CODES.has(code);
}

/**
 * True for every failure that is not a proven "no record": SERVFAIL, timeout, refused, a
 * network error, and also anything unexpected (SPEC: any other error is temporary). The
 * lookup may succeed later, so a verdict must not be derived from it.
 */
export function isTemporary(err: unknown): boolean {
  return !isNoRecord(err);
}

/** Node's `syscall` name for a query of `rrtype`: `queryA`, `queryAaaa`, `queryTxt`... */
export function querySyscall(rrtype: string): string {
  const t = rrtype.toUpperCase();
  return `query${t.charAt(0)}${t.slice(1).toLowerCase()}`;
}

/** A DNS error shaped like Node's: `queryTxt ENOTFOUND name` with `code`, `syscall`, `hostname`. */
export function dnsError(
  code: string,
  name: string,
  rrtype: string,
): Error & { code: string; syscall: string; hostname: string } {
  const syscall = querySyscall(rrtype);
  return Object.assign(new Error(`${syscall} ${code} ${name}`), { code, syscall, hostname: name });
}

/**
 * Normalises a domain name for comparison: ASCII letters in lower case (DNS compares names
 * case-insensitively for ASCII only, RFC 4343 section 3) and one trailing dot removed.
 */
export function normalizeName(name: string): string {
  const lower = name.replace(/[A-Z]+/g, (s) => s.toLowerCase());
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
