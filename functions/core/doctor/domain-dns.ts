/**
 * `doctor`'s DNS checks of a domain, through the injected `Resolver` (live DNS, or the
 * `--zones` map offline):
 * - `mx`: every MX host is SES's inbound endpoint of the region
 *   (`inbound-smtp.<region>.amazonaws.com`) or a trusted gateway (an A/AAAA record of the MX
 *   host inside a `trustedGateways` CIDR);
 * - `a-or-mx` (accepted domains): SPEC 3 rule 3 on our own domains, or all their mail
 *   leaves through `high-risk`;
 * - `spf` (SRS domain): an SPF record with `include:amazonses.com`;
 * - `dmarc`: a DMARC record at `_dmarc.<domain>` (or inherited from the organizational
 *   domain, RFC 7489 6.6.3).
 */
import type { Config } from '../config.js';
import { organizationalDomain } from '../dkim.js';
import { type MxRecord, normalizeName, type Resolver } from '../dns/resolver.js';
import { DnsTemporaryError } from '../errors.js';
import { trustedGatewayMatcher } from '../gateways.js';
import { checkSourceDomain } from '../source-domain.js';
import { type DoctorRow, dnsUnknown, type Lookup, lookup, RETRY_DNS, txtStrings } from './rows.js';

const sesInbound = (region: string | null) => `inbound-smtp.${region ?? '<region>'}.amazonaws.com`;
const SES_INBOUND_RE = /^inbound-smtp\.([a-z0-9-]+)\.amazonaws\.com$/;

/** `mx`: every MX host is SES inbound of the region, or a trusted gateway. */
export async function checkMx(
  domain: string,
  resolver: Resolver,
  region: string | null,
  gateways: Config['trustedGateways'],
): Promise<DoctorRow> {
  const check = 'mx';
  const fix = `publish \`${domain}. MX 10 ${sesInbound(region)}.\`${
    gateways.length > 0 ? ", or add the MX host's addresses to trustedGateways" : ''
  }`;
  const mx = await lookup<MxRecord>(resolver, domain, 'MX');
  if ('temporary' in mx) return dnsUnknown(domain, check, mx.temporary);
  const hosts = mx.records
    .filter((r) => typeof r?.exchange === 'string' && r.exchange !== '' && r.exchange !== '.')
    .sort((a, b) => a.priority - b.priority)
    .map((r) => normalizeName(r.exchange));
  if (hosts.length === 0) {
    const nullMx = mx.records.length > 0;
    return {
      domain,
      check,
      ok: false,
      detail: nullMx
        ? 'null MX (RFC 7505): the domain accepts no mail'
        : 'no MX record: SES never receives its mail',
      fix,
    };
  }
  const gatewayOf = trustedGatewayMatcher(gateways);
  const good: string[] = [];
  const bad: string[] = [];
  const unknown: string[] = [];
  for (const host of [...new Set(hosts)]) {
    const ses = SES_INBOUND_RE.exec(host);
    if (ses) {
      if (region === null) unknown.push(`${host} (no --region to compare with)`);
      else if (ses[1] === region) good.push(`${host} (SES ${region})`);
      else bad.push(`${host} is SES in ${ses[1]}, not ${region}`);
      continue;
    }
    if (gateways.length === 0) {
      bad.push(`${host} is not SES`);
      continue;
    }
    const [a, aaaa] = await Promise.all([
      lookup<string>(resolver, host, 'A'),
      lookup<string>(resolver, host, 'AAAA'),
    ]);
    const addresses = [...('records' in a ? a.records : []), ...('records' in aaaa ? aaaa.records : [])];
    const gateway = addresses.map((ip) => gatewayOf(ip)).find((g) => g !== undefined);
    if (gateway !== undefined) good.push(`${host} (trusted gateway ${gateway})`);
    else if ('temporary' in a || 'temporary' in aaaa) unknown.push(`${host} (temporary DNS failure)`);
    else
      bad.push(
        `${host} is neither SES nor a trusted gateway (${addresses.length > 0 ? addresses.join(', ') : 'no address'})`,
      );
  }
  if (bad.length > 0) return { domain, check, ok: false, detail: [...bad, ...good].join('; '), fix };
  if (unknown.length > 0) {
    return {
      domain,
      check,
      ok: null,
      detail: [...unknown, ...good].join('; '),
      fix: region === null ? 'pass --region (or set AWS_REGION)' : RETRY_DNS,
    };
  }
  return { domain, check, ok: true, detail: `MX ${good.join(', ')}`, fix: '' };
}

/** `a-or-mx`: SPEC 3 rule 3 for our own domain (the pipeline's own check). */
export async function checkAOrMx(domain: string, resolver: Resolver): Promise<DoctorRow> {
  const check = 'a-or-mx';
  try {
    const v = await checkSourceDomain(domain, resolver);
    if (v.ok) {
      const has = [v.hasAddress && 'A/AAAA', v.hasMx && 'MX'].filter(Boolean).join(' and ');
      return { domain, check, ok: true, detail: `has ${has}`, fix: '' };
    }
    return {
      domain,
      check,
      ok: false,
      detail: `no A/AAAA and no MX record${v.nullMx ? ' (null MX)' : ''}: all its mail leaves through high-risk (no-a-mx)`,
      fix: `publish \`${domain}. MX 10 <your inbound MX>.\` (or an A record)`,
    };
  } catch (error) {
    if (error instanceof DnsTemporaryError) return dnsUnknown(domain, check, error.message);
    throw error;
  }
}

const SPF_RE = /^v=spf1(?:\s|$)/i;

/** Whether an SPF record authorizes SES: `include:amazonses.com` or `redirect=amazonses.com`. */
export function spfIncludesSes(record: string): boolean {
  return record
    .split(/\s+/)
    .some(
      (term) => /^\+?include:amazonses\.com\.?$/i.test(term) || /^redirect=amazonses\.com\.?$/i.test(term),
    );
}

/** The SPF record to publish: the existing one with `include:amazonses.com` added. */
export function spfWithSes(record: string | undefined): string {
  if (!record) return 'v=spf1 include:amazonses.com ~all';
  return record.replace(SPF_RE, (m) => `${m.trimEnd()} include:amazonses.com `).trim();
}

/** The domain's one SPF record, or why there is none usable (RFC 7208 4.5). */
export async function spfRecord(
  resolver: Resolver,
  name: string,
): Promise<{ record: string } | { problem: string } | { temporary: string }> {
  const txt = await lookup<string[]>(resolver, name, 'TXT');
  if ('temporary' in txt) return txt;
  const spf = txtStrings(txt.records).filter((r) => SPF_RE.test(r));
  if (spf.length === 0) return { problem: `no SPF record at ${name}` };
  if (spf.length > 1) return { problem: `${spf.length} SPF records at ${name} (RFC 7208 3.2: permerror)` };
  return { record: spf[0]! };
}

/** `spf`: the domain's SPF record includes amazonses.com. */
export async function checkSpf(domain: string, resolver: Resolver, check = 'spf'): Promise<DoctorRow> {
  const spf = await spfRecord(resolver, domain);
  if ('temporary' in spf) return dnsUnknown(domain, check, spf.temporary);
  if ('problem' in spf) {
    return {
      domain,
      check,
      ok: false,
      detail: spf.problem,
      fix: `publish one record: \`${domain}. TXT "v=spf1 include:amazonses.com ~all"\``,
    };
  }
  if (!spfIncludesSes(spf.record)) {
    return {
      domain,
      check,
      ok: false,
      detail: `"${spf.record}" does not include amazonses.com`,
      fix: `publish \`${domain}. TXT "${spfWithSes(spf.record)}"\``,
    };
  }
  return { domain, check, ok: true, detail: `"${spf.record}"`, fix: '' };
}

const DMARC_RE = /^v\s*=\s*DMARC1\s*(?:;|$)/i;

async function dmarcRecords(resolver: Resolver, domain: string): Promise<Lookup<string>> {
  const txt = await lookup<string[]>(resolver, `_dmarc.${domain}`, 'TXT');
  if ('temporary' in txt) return txt;
  return { records: txtStrings(txt.records).filter((r) => DMARC_RE.test(r)) };
}

/** `dmarc`: a DMARC record at `_dmarc.<domain>`, or at its organizational domain (RFC 7489 6.6.3). */
export async function checkDmarc(domain: string, resolver: Resolver): Promise<DoctorRow> {
  const check = 'dmarc';
  const fix = `publish \`_dmarc.${domain}. TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@${domain}"\``;
  const own = await dmarcRecords(resolver, domain);
  if ('temporary' in own) return dnsUnknown(domain, check, own.temporary);
  const describe = (r: string) => `p=${/(?:^|;)\s*p\s*=\s*([a-z]+)/i.exec(r)?.[1] ?? '?'}`;
  if (own.records.length === 1) {
    return { domain, check, ok: true, detail: `_dmarc.${domain}: ${describe(own.records[0]!)}`, fix: '' };
  }
  if (own.records.length > 1) {
    return {
      domain,
      check,
      ok: false,
      detail: `${own.records.length} DMARC records at _dmarc.${domain} (RFC 7489 6.6.3: none applies)`,
      fix: `keep exactly one "v=DMARC1" TXT record at _dmarc.${domain}`,
    };
  }
  const org = organizationalDomain(domain);
  if (org !== domain) {
    const inherited = await dmarcRecords(resolver, org);
    if ('temporary' in inherited) return dnsUnknown(domain, check, inherited.temporary);
    if (inherited.records.length === 1) {
      const r = inherited.records[0]!;
      const sp = /(?:^|;)\s*sp\s*=\s*([a-z]+)/i.exec(r)?.[1];
      return {
        domain,
        check,
        ok: true,
        detail: `inherited from _dmarc.${org} (RFC 7489 6.6.3): ${sp ? `sp=${sp}` : describe(r)}`,
        fix: '',
      };
    }
  }
  return { domain, check, ok: false, detail: `no DMARC record at _dmarc.${domain}`, fix };
}
