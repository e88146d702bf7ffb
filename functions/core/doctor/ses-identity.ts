/**
 * `doctor`'s checks of a domain's SES identity (SESv2 `GetEmailIdentity`), with DNS where
 * the answer names records:
 * - `ses-identity`, `dkim`: a verified SES identity, DKIM signing enabled and verified (the
 *   article: "make sure you enable DKIM for sending domain");
 * - `dkim-dns`: its Easy DKIM CNAMEs `<token>._domainkey.<domain>` →
 *   `<token>.dkim.amazonses.com` resolve (or the BYODKIM key TXT is published);
 * - `mail-from`: a custom MAIL FROM domain has its MX (`feedback-smtp.<region>.amazonses.com`)
 *   and an SPF record with `include:amazonses.com`.
 */
import { type MxRecord, normalizeName, type Resolver } from '../dns/resolver.js';
import { spfIncludesSes, spfRecord, spfWithSes } from './domain-dns.js';
import type { SesIdentityInfo } from './inspector.js';
import { type DoctorRow, dnsUnknown, lookup, txtStrings } from './rows.js';

/** SES's Easy DKIM key zone (CNAME targets `<token>.dkim.amazonses.com`). */
export const EASY_DKIM_ZONE = 'dkim.amazonses.com';

const sesFeedback = (region: string | null) => `feedback-smtp.${region ?? '<region>'}.amazonses.com`;

const createIdentity = (domain: string) =>
  `aws sesv2 create-email-identity --email-identity ${domain}, then publish the 3 DKIM CNAME records it returns (cdk deploy creates the identities too)`;

export function identityRows(
  domain: string,
  identity: SesIdentityInfo | null,
): { identityRow: DoctorRow; dkimRow: DoctorRow } {
  if (identity === null) {
    return {
      identityRow: {
        domain,
        check: 'ses-identity',
        ok: false,
        detail: 'not an SES identity: SES will not send mail from it',
        fix: createIdentity(domain),
      },
      dkimRow: {
        domain,
        check: 'dkim',
        ok: false,
        detail: 'no DKIM: the domain is not an SES identity',
        fix: createIdentity(domain),
      },
    };
  }
  const identityRow: DoctorRow = identity.verifiedForSending
    ? { domain, check: 'ses-identity', ok: true, detail: 'verified for sending', fix: '' }
    : {
        domain,
        check: 'ses-identity',
        ok: false,
        detail: 'an SES identity, not verified for sending',
        fix: `publish its DKIM CNAME records (see dkim-dns) and wait for SES to verify it (up to 72 hours); check with: aws sesv2 get-email-identity --email-identity ${domain}`,
      };
  const { signingEnabled, status } = identity.dkim;
  let dkimRow: DoctorRow;
  if (!signingEnabled) {
    dkimRow = {
      domain,
      check: 'dkim',
      ok: false,
      detail: 'DKIM signing is disabled: forwarded copies of its mail cannot pass DKIM',
      fix: `aws sesv2 put-email-identity-dkim-attributes --email-identity ${domain} --signing-enabled`,
    };
  } else if (status !== 'SUCCESS') {
    dkimRow = {
      domain,
      check: 'dkim',
      ok: false,
      detail: `DKIM signing enabled, status ${status ?? 'unknown'}`,
      fix: `publish the DKIM CNAME records (see dkim-dns); SES re-checks them for up to 72 hours`,
    };
  } else {
    dkimRow = { domain, check: 'dkim', ok: true, detail: 'signing enabled, status SUCCESS', fix: '' };
  }
  return { identityRow, dkimRow };
}

/** `dkim-dns`: the Easy DKIM CNAMEs (or the BYODKIM key TXT) resolve as SES expects. */
export async function checkDkimDns(
  domain: string,
  identity: SesIdentityInfo,
  resolver: Resolver,
): Promise<DoctorRow> {
  const check = 'dkim-dns';
  const { tokens, origin } = identity.dkim;
  if (tokens.length === 0) {
    return {
      domain,
      check,
      ok: false,
      detail: 'SES gave no DKIM tokens',
      fix: `aws sesv2 put-email-identity-dkim-signing-attributes --email-identity ${domain} --signing-attributes-origin AWS_SES`,
    };
  }
  if (origin === 'EXTERNAL') {
    const missing: string[] = [];
    for (const selector of tokens) {
      const name = `${selector}._domainkey.${domain}`;
      const txt = await lookup<string[]>(resolver, name, 'TXT');
      if ('temporary' in txt) return dnsUnknown(domain, check, txt.temporary);
      if (!txtStrings(txt.records).some((r) => /(?:^|;)\s*p\s*=\s*[A-Za-z0-9+/]/.test(r))) missing.push(name);
    }
    return missing.length === 0
      ? { domain, check, ok: true, detail: `BYODKIM key published (${tokens.join(', ')})`, fix: '' }
      : {
          domain,
          check,
          ok: false,
          detail: `no DKIM key TXT at ${missing.join(', ')}`,
          fix: `publish the public key of your BYODKIM key pair at ${missing.join(', ')}`,
        };
  }
  const zone = normalizeName(identity.dkim.signingHostedZone ?? EASY_DKIM_ZONE);
  const problems: string[] = [];
  const fixes: string[] = [];
  for (const token of tokens) {
    const name = `${token}._domainkey.${domain}`;
    const expected = `${token}.${zone}`;
    const cname = await lookup<string>(resolver, name, 'CNAME');
    if ('temporary' in cname) return dnsUnknown(domain, check, cname.temporary);
    const target = cname.records[0] === undefined ? undefined : normalizeName(cname.records[0]);
    if (target === expected) continue;
    problems.push(target === undefined ? `no CNAME at ${name}` : `${name} → ${target}, expected ${expected}`);
    fixes.push(`publish \`${name}. CNAME ${expected}.\``);
  }
  if (problems.length === 0) {
    return { domain, check, ok: true, detail: `${tokens.length} CNAMEs → *.${zone}`, fix: '' };
  }
  return { domain, check, ok: false, detail: problems.join('; '), fix: fixes.join('; ') };
}

/** `mail-from`: a custom MAIL FROM domain has SES's feedback MX and an SPF record for SES. */
export async function checkMailFrom(
  domain: string,
  identity: SesIdentityInfo,
  resolver: Resolver,
  region: string | null,
): Promise<DoctorRow> {
  const check = 'mail-from';
  if (identity.mailFrom === null) {
    return {
      domain,
      check,
      ok: true,
      detail: "SES's default MAIL FROM (amazonses.com): SPF passes but is not aligned; DMARC relies on DKIM",
      fix: '',
    };
  }
  const mf = normalizeName(identity.mailFrom.domain);
  const feedback = sesFeedback(region);
  const [mx, spf] = await Promise.all([lookup<MxRecord>(resolver, mf, 'MX'), spfRecord(resolver, mf)]);
  if ('temporary' in mx) return dnsUnknown(domain, check, mx.temporary);
  if ('temporary' in spf) return dnsUnknown(domain, check, spf.temporary);
  const problems: string[] = [];
  const fixes: string[] = [];
  const exchanges = mx.records.map((r) => normalizeName(r.exchange));
  const feedbackRe = /^feedback-smtp\.([a-z0-9-]+)\.amazonses\.com$/;
  const mxOk =
    exchanges.length === 1 &&
    feedbackRe.test(exchanges[0]!) &&
    (region === null || exchanges[0] === feedback);
  if (!mxOk) {
    problems.push(`MX of ${mf} is ${exchanges.join(', ') || 'missing'}, expected exactly ${feedback}`);
    fixes.push(`publish \`${mf}. MX 10 ${feedback}.\` (only that MX)`);
  }
  if ('problem' in spf) {
    problems.push(spf.problem);
    fixes.push(`publish \`${mf}. TXT "v=spf1 include:amazonses.com ~all"\``);
  } else if (!spfIncludesSes(spf.record)) {
    problems.push(`SPF of ${mf} "${spf.record}" does not include amazonses.com`);
    fixes.push(`publish \`${mf}. TXT "${spfWithSes(spf.record)}"\``);
  }
  const status = identity.mailFrom.status;
  if (problems.length > 0)
    return { domain, check, ok: false, detail: problems.join('; '), fix: fixes.join('; ') };
  if (status !== null && status !== 'SUCCESS') {
    return {
      domain,
      check,
      ok: false,
      detail: `${mf}: DNS is right, SES reports MAIL FROM status ${status}`,
      fix: `wait for SES to re-check ${mf} (up to 72 hours); check with: aws sesv2 get-email-identity --email-identity ${domain}`,
    };
  }
  return {
    domain,
    check,
    ok: true,
    detail: `${mf}: MX ${exchanges[0]}, SPF includes amazonses.com`,
    fix: '',
  };
}
