/**
 * `doctor` check `sender-proof` (issue 12, SPEC 2a), per accepted domain: can a genuine
 * sender of the domain prove itself by SPF, and does a forgery fail loudly?
 *
 * The trust model counts a sender as a genuine accepted-domain sender only when it proved
 * both its envelope and its author (SPF aligned, or DKIM). Without an SPF record ending in
 * `-all` or `~all` (RFC 7208 5.1: `all` is the catch-all; `?all`/`+all`/no `all` prove
 * nothing about other hosts) and a DMARC policy of `quarantine` or `reject` (RFC 7489
 * 6.3), SES reports a forgery of the domain as `GRAY` rather than `FAIL`, and a genuine sender
 * can only prove itself by DKIM. That is a warning, not a failure: the row is `ok: null`
 * (`?`) with the detail starting "warning:", so `doctor`'s exit code does not change.
 */
import { organizationalDomain } from '../dkim.js';
import { isNoRecord, type Resolver } from '../dns/resolver.js';
import type { DoctorRow } from './checks.js';

const SPF_RE = /^v=spf1(?:\s|$)/i;
const DMARC_RE = /^v\s*=\s*DMARC1\s*(?:;|$)/i;

type Txt = { records: string[] } | { temporary: string };

async function txt(resolver: Resolver, name: string): Promise<Txt> {
  try {
    const answer = await resolver(name, 'TXT');
    const records = Array.isArray(answer) ? (answer as string[][]).map((r) => r.join('')) : [];
    return { records };
  } catch (error) {
    if (isNoRecord(error)) return { records: [] };
    return { temporary: `TXT ${name}: ${(error as Error).message ?? String(error)}` };
  }
}

/** The `all` qualifier of an SPF record (following one `redirect=`), or why there is none. */
async function spfAll(resolver: Resolver, domain: string, hops = 0): Promise<string | { temporary: string }> {
  const answer = await txt(resolver, domain);
  if ('temporary' in answer) return answer;
  const spf = answer.records.filter((r) => SPF_RE.test(r));
  if (spf.length !== 1)
    return spf.length === 0 ? `no SPF record at ${domain}` : `${spf.length} SPF records at ${domain}`;
  const terms = spf[0]!.split(/\s+/).slice(1);
  const all = terms.find((t) => /^[-~?+]?all$/i.test(t));
  if (all) return all.length === 3 ? '+all' : all.toLowerCase();
  const redirect = terms.find((t) => /^redirect=/i.test(t));
  if (redirect && hops === 0) return spfAll(resolver, redirect.slice('redirect='.length), hops + 1);
  return `SPF record of ${domain} has no "all" term`;
}

/** The DMARC policy that applies to `domain` (its own `p=`, else the organizational domain's `sp=`/`p=`). */
async function dmarcPolicy(
  resolver: Resolver,
  domain: string,
): Promise<string | null | { temporary: string }> {
  const own = await txt(resolver, `_dmarc.${domain}`);
  if ('temporary' in own) return own;
  const tag = (record: string, name: string) =>
    new RegExp(`(?:^|;)\\s*${name}\\s*=\\s*([a-z]+)`, 'i').exec(record)?.[1]?.toLowerCase() ?? null;
  const records = own.records.filter((r) => DMARC_RE.test(r));
  if (records.length === 1) return tag(records[0]!, 'p');
  const org = organizationalDomain(domain);
  if (records.length === 0 && org !== domain) {
    const inherited = await txt(resolver, `_dmarc.${org}`);
    if ('temporary' in inherited) return inherited;
    const r = inherited.records.filter((x) => DMARC_RE.test(x));
    if (r.length === 1) return tag(r[0]!, 'sp') ?? tag(r[0]!, 'p');
  }
  return null;
}

export async function checkSenderProof(domain: string, resolver: Resolver): Promise<DoctorRow> {
  const check = 'sender-proof';
  const [all, policy] = await Promise.all([spfAll(resolver, domain), dmarcPolicy(resolver, domain)]);
  if (typeof all === 'object') return { domain, check, ok: null, detail: all.temporary, fix: 'retry later' };
  if (policy !== null && typeof policy === 'object') {
    return { domain, check, ok: null, detail: policy.temporary, fix: 'retry later' };
  }
  const problems: string[] = [];
  const fixes: string[] = [];
  if (all !== '-all' && all !== '~all') {
    problems.push(all.startsWith('+') || all.startsWith('?') ? `SPF ends in "${all}"` : all);
    fixes.push(`end the SPF record of ${domain} with "-all" (or "~all")`);
  }
  if (policy !== 'quarantine' && policy !== 'reject') {
    problems.push(policy === null ? `no DMARC policy for ${domain}` : `DMARC p=${policy}`);
    fixes.push(`publish \`_dmarc.${domain}. TXT "v=DMARC1; p=quarantine"\` (or p=reject)`);
  }
  if (problems.length === 0) {
    return { domain, check, ok: true, detail: `SPF ${all}, DMARC p=${policy}`, fix: '' };
  }
  return {
    domain,
    check,
    ok: null,
    detail: `warning: ${problems.join('; ')}: a forgery of ${domain} is not refused, and its genuine senders can prove themselves only by DKIM`,
    fix: fixes.join('; '),
  };
}
