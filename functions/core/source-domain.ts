/**
 * SPEC rule `no-a-mx`: the source email domain must have an address record (A or AAAA) or an
 * MX record. A domain that has neither cannot receive replies or bounces (RFC 5321 section 5.1
 * falls back from MX to the address records), which is typical of forged senders.
 *
 * Lookups that fail temporarily (SERVFAIL, timeout, refused: RFC 7208 section 2.6.6 /
 * RFC 7489 "temperror") are never read as "no record". They only matter when the answer
 * would otherwise be "not ok": positive evidence from one lookup is enough (a domain with an
 * A record is fine whatever its MX lookup did), so the check throws `DnsTemporaryError` only
 * when no lookup proved the domain ok and at least one could not be completed.
 *
 * On the last attempt (SPEC 2a) that same case is decided instead: `{ ok: false, temperror:
 * true }`. "Not passed" is the conservative reading: the rule fires and the message leaves
 * through `high-risk` (never `normal`), with reason `dns-temperror` rather than `no-a-mx`,
 * since the domain was not proved to lack records. A sender whose name server fails on purpose
 * gains nothing by it.
 */
import { domainToASCII } from 'node:url';
import { isNoRecord, type MxRecord, normalizeName, type Resolver } from './dns/resolver.js';
import { DnsTemporaryError } from './errors.js';

export type SourceDomainVerdict = {
  /** An A or AAAA record exists. */
  hasAddress: boolean;
  /** An MX record with a real exchange exists (a null MX does not count). */
  hasMx: boolean;
  /** The domain publishes a null MX (RFC 7505): it accepts no mail. */
  nullMx: boolean;
  /** `hasAddress || hasMx`: the rule passes. */
  ok: boolean;
  /**
   * Set (to true) only by a last-attempt check: no lookup proved the domain ok and at least one
   * failed temporarily, so `ok` is false without proof (SPEC 2a, reason `dns-temperror`).
   */
  temperror?: boolean;
};

/** What a temporary failure that decides the verdict does: throw (retry), or count as not passed. */
export type OnTemporaryFailure = 'throw' | 'not-passed';

const NO_RECORD: SourceDomainVerdict = { hasAddress: false, hasMx: false, nullMx: false, ok: false };

/**
 * The domain as it is queried: lower case, without a trailing dot, U-labels converted to
 * A-labels (RFC 5890 section 2.3.2.1; an SMTPUTF8 address may carry them, RFC 6531), or
 * undefined when it is not a syntactically valid mail domain:
 * - empty, longer than 253 characters, or with a label that is empty or longer than 63
 *   (RFC 1035 section 2.3.4);
 * - a character other than letters, digits, hyphen, underscore and the dots between labels
 *   (the LDH rule of RFC 5321 section 4.1.2 `Domain`, plus the underscore found in the wild);
 * - an IP address: RFC 5321 section 4.1.3 writes address literals in brackets (`[192.0.2.1]`,
 *   rejected by the character rule), and a bare dotted quad is not a domain since a top-level
 *   label is never all-numeric (RFC 1123 section 2.1, RFC 3696 section 2).
 * Such a name cannot appear in a valid address, and looking it up would at best be NXDOMAIN
 * and at worst ask the resolver something else than a domain, so it is "no record" without
 * a query.
 */
export function queryableDomain(domain: string): string | undefined {
  const ascii = /^[\x00-\x7f]*$/.test(domain) ? domain : domainToASCII(domain);
  const name = normalizeName(ascii);
  if (name.length === 0 || name.length > 253) return undefined;
  if (!/^[a-z0-9_.-]+$/.test(name)) return undefined;
  const labels = name.split('.');
  if (labels.some((label) => label.length === 0 || label.length > 63)) return undefined;
  if (/^[0-9]+$/.test(labels.at(-1) ?? '')) return undefined;
  return name;
}

/** The root name, written `""` by Node and `"."` in zone files: not a mail host (RFC 7505). */
function isRoot(exchange: string): boolean {
  return exchange === '' || exchange === '.';
}

/** Reads one lookup: its records, `[]` for a proven "no record", or the temporary error. */
function outcome<T>(settled: PromiseSettledResult<T[]>): { records: T[] } | { temporary: unknown } {
  if (settled.status === 'fulfilled') {
    return { records: Array.isArray(settled.value) ? settled.value : [] };
  }
  return isNoRecord(settled.reason) ? { records: [] } : { temporary: settled.reason };
}

/**
 * Checks the `no-a-mx` rule for `domain` with A, AAAA and MX lookups run in parallel.
 *
 * - `hasAddress`: an A or AAAA record (RFC 5321 section 5.1 delivers to the address records
 *   when there is no MX).
 * - `hasMx`: at least one MX whose exchange is not the root. A null MX (RFC 7505 section 3:
 *   exactly one MX, preference 0, exchange `.`, which Node answers as `''`) sets `nullMx`
 *   instead; an MX pointing to the root in any other form is not a mail host either.
 * - `ok = hasAddress || hasMx`, per SPEC: a null MX alongside an A record is ok; `nullMx` is
 *   reported so the caller can tell.
 *
 * When a verdict is `ok` although some lookup failed temporarily, that lookup's fields are
 * `false` (unknown, not proven absent): they did not change the outcome.
 * @throws DnsTemporaryError (retryable, `cause` = the resolver's error; `rrtype` = the first
 *   failed of A, AAAA, MX) when no lookup proved the domain ok and at least one failed
 *   temporarily — unless `onTemporary` is `not-passed` (the last attempt): then the verdict
 *   is `ok: false, temperror: true`.
 */
export async function checkSourceDomain(
  domain: string,
  resolver: Resolver,
  onTemporary: OnTemporaryFailure = 'throw',
): Promise<SourceDomainVerdict> {
  const name = queryableDomain(domain);
  if (name === undefined) return { ...NO_RECORD };

  const [a, aaaa, mx] = await Promise.allSettled([
    resolver(name, 'A'),
    resolver(name, 'AAAA'),
    resolver(name, 'MX'),
  ]);
  const results = { A: outcome<string>(a), AAAA: outcome<string>(aaaa), MX: outcome<MxRecord>(mx) };

  const hasRecords = (r: { records: unknown[] } | { temporary: unknown }) =>
    'records' in r && r.records.length > 0;
  const hasAddress = hasRecords(results.A) || hasRecords(results.AAAA);
  const mxRecords = 'records' in results.MX ? results.MX.records : [];
  const hasMx = mxRecords.some((r) => typeof r?.exchange === 'string' && !isRoot(r.exchange));
  const only = mxRecords.length === 1 ? mxRecords[0] : undefined;
  const nullMx = typeof only?.exchange === 'string' && isRoot(only.exchange) && only.priority === 0;
  const ok = hasAddress || hasMx;

  if (!ok) {
    for (const [rrtype, result] of Object.entries(results)) {
      if (!('temporary' in result)) continue;
      if (onTemporary === 'not-passed') return { hasAddress, hasMx, nullMx, ok: false, temperror: true };
      throw new DnsTemporaryError(name, rrtype, { cause: result.temporary });
    }
  }
  return { hasAddress, hasMx, nullMx, ok };
}
