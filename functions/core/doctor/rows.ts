/**
 * The row of a `doctor` report, and the rows every check shares: a DNS lookup that tells
 * "no record" from a temporary failure, the `?` row of a temporary DNS failure, and the `?`
 * rows of an AWS check skipped (offline) or failed (by the SDK's error name).
 */
import { isNoRecord, type Resolver } from '../dns/resolver.js';

/** One line of the report. `fix` is empty for a passing check. */
export interface DoctorRow {
  domain: string;
  check: string;
  /** true ✔, false ✗, null ? (unknown or skipped). */
  ok: boolean | null;
  detail: string;
  fix: string;
}

/** The `domain` of checks that concern the whole account. */
export const ACCOUNT = '(account)';

export type Lookup<T> = { records: T[] } | { temporary: string };

/** One DNS query: its records, `[]` for NXDOMAIN/NODATA, or the temporary failure. */
export async function lookup<T>(resolver: Resolver, name: string, rrtype: string): Promise<Lookup<T>> {
  try {
    const answer = await resolver(name, rrtype);
    return { records: Array.isArray(answer) ? (answer as T[]) : [] };
  } catch (error) {
    if (isNoRecord(error)) return { records: [] };
    return { temporary: `${rrtype} ${name}: ${(error as Error).message ?? String(error)}` };
  }
}

export const RETRY_DNS = 'retry later; if it persists, check the name servers of the zone';

export function dnsUnknown(domain: string, check: string, why: string): DoctorRow {
  return { domain, check, ok: null, detail: `temporary DNS failure (${why})`, fix: RETRY_DNS };
}

/** TXT records as strings: the character-strings of each record concatenated (RFC 7208 3.3). */
export function txtStrings(records: string[][]): string[] {
  return records.map((r) => (Array.isArray(r) ? r.join('') : String(r)));
}

export function awsUnknown(domain: string, check: string, reason: string, fix: string): DoctorRow {
  return { domain, check, ok: null, detail: `skipped (${reason})`, fix };
}

/** The fix for an AWS call that failed, by the SDK's error name. */
export function awsErrorRow(domain: string, check: string, action: string, error: unknown): DoctorRow {
  const e = error as { name?: string; message?: string };
  const name = e?.name ?? 'Error';
  const fix = /AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(name)
    ? `allow ses:${action} to the caller's IAM principal`
    : isCredentialsError(error)
      ? 'configure AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID...) or run with --offline'
      : 'retry; check --region and the network';
  return {
    domain,
    check,
    ok: null,
    detail: `AWS ${action} failed: ${name}: ${e?.message ?? ''}`.trim(),
    fix,
  };
}

/** The SDK found no credentials (no profile, no environment, no instance role). */
export function isCredentialsError(error: unknown): boolean {
  const name = (error as { name?: string })?.name ?? '';
  return name === 'CredentialsProviderError' || name === 'CredentialsError';
}
