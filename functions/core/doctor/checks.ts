/**
 * `outbound-pools doctor`: is the deployment around the code set up the way the pipeline
 * needs it? Each check gives one row `{ domain, check, ok, detail, fix }`, where `ok` is
 * `true` (✔), `false` (✗, with the fix to apply) or `null` (? unknown or skipped: AWS not
 * reachable, a temporary DNS failure, a check that depends on a failed one).
 *
 * DNS goes through the injected `Resolver` (live DNS, or the `--zones` map offline); AWS
 * through the small {@link SesInspector} port (implemented with the SDK in
 * `functions/adapters/ses-inspector.ts`), or `null` when AWS is not consulted. Nothing here
 * imports the AWS SDK.
 *
 * Per accepted domain and the SRS domain:
 * - `mx`: every MX host is SES's inbound endpoint of the region
 *   (`inbound-smtp.<region>.amazonaws.com`) or a trusted gateway (an A/AAAA record of the MX
 *   host inside a `trustedGateways` CIDR);
 * - `a-or-mx` (accepted domains): SPEC 3 rule 3 on our own domains, or all their mail
 *   leaves through `high-risk`;
 * - `ses-identity`, `dkim`, `dkim-dns` (AWS): a verified SES identity, DKIM signing enabled
 *   and verified (the article: "make sure you enable DKIM for sending domain"), and its Easy
 *   DKIM CNAMEs `<token>._domainkey.<domain>` → `<token>.dkim.amazonses.com` resolve;
 * - `mail-from` (AWS): a custom MAIL FROM domain has its MX
 *   (`feedback-smtp.<region>.amazonses.com`) and an SPF record with `include:amazonses.com`;
 * - `spf` (SRS domain): an SPF record with `include:amazonses.com`;
 * - `dmarc`: a DMARC record at `_dmarc.<domain>` (or inherited from the organizational
 *   domain, RFC 7489 6.6.3).
 * - `sender-proof` (accepted domains, `sender-proof.ts`): a warning when SPF does not end in
 *   `-all`/`~all` or DMARC is not `quarantine`/`reject`.
 *
 * Once (domain `(account)`): the three configuration sets exist and send through their
 * dedicated IP pools (`config.pools.<pool>`), and a receipt rule set is active and has an
 * enabled rule for every domain.
 */
import type { Config } from '../config.js';
import { organizationalDomain } from '../dkim.js';
import { isNoRecord, type MxRecord, normalizeName, type Resolver } from '../dns/resolver.js';
import { DnsTemporaryError } from '../errors.js';
import { trustedGatewayMatcher } from '../gateways.js';
import { checkSourceDomain } from '../source-domain.js';
import { POOLS, type Pool } from '../vocabulary.js';
import { type AccountInspector, accountIsolationRows } from './account.js';
import { checkSenderProof } from './sender-proof.js';

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

/** What `doctor` needs to know about an SES domain identity (SESv2 `GetEmailIdentity`). */
export interface SesIdentityInfo {
  verifiedForSending: boolean;
  dkim: {
    signingEnabled: boolean;
    /** `PENDING`, `SUCCESS`, `FAILED`, `TEMPORARY_FAILURE`, `NOT_STARTED`. */
    status: string | null;
    /** Easy DKIM tokens (or the selector of a BYODKIM key). */
    tokens: string[];
    /** `AWS_SES` (Easy DKIM), `EXTERNAL` (BYODKIM), ... */
    origin: string | null;
    /** Where SES publishes the keys (Easy DKIM's CNAME targets are `<token>.<zone>`). */
    signingHostedZone: string | null;
  };
  /** The custom MAIL FROM domain, null when SES's default (amazonses.com) is used. */
  mailFrom: { domain: string; status: string | null } | null;
}

/** SESv2 `GetConfigurationSet`: the dedicated IP pool its delivery options name. */
export interface ConfigurationSetInfo {
  sendingPoolName: string | null;
}

/** SES v1 `DescribeActiveReceiptRuleSet`. */
export interface ReceiptRuleSetInfo {
  name: string;
  rules: { name: string; enabled: boolean; recipients: string[] }[];
}

/** The AWS side of `doctor`; every method returns null for "does not exist". */
export interface SesInspector extends Partial<AccountInspector> {
  getIdentity(domain: string): Promise<SesIdentityInfo | null>;
  getConfigurationSet(name: string): Promise<ConfigurationSetInfo | null>;
  getActiveReceiptRuleSet(): Promise<ReceiptRuleSetInfo | null>;
}

export interface DoctorInput {
  config: Config;
  resolver: Resolver;
  /** The SES region (`--region` / `AWS_REGION`), null when unknown. */
  region: string | null;
  /** null: AWS is not consulted, AWS checks are unknown. */
  inspector: SesInspector | null;
  /** Why AWS is not consulted (shown in the detail of skipped rows). */
  offlineReason?: string;
  /** The receipt rule set this stack deploys (issue 14 account checks); default `OutboundPools-inbound`. */
  ruleSetName?: string;
}

/** SES's Easy DKIM key zone (CNAME targets `<token>.dkim.amazonses.com`). */
export const EASY_DKIM_ZONE = 'dkim.amazonses.com';

const sesInbound = (region: string | null) => `inbound-smtp.${region ?? '<region>'}.amazonaws.com`;
const sesFeedback = (region: string | null) => `feedback-smtp.${region ?? '<region>'}.amazonses.com`;
const SES_INBOUND_RE = /^inbound-smtp\.([a-z0-9-]+)\.amazonaws\.com$/;

type Lookup<T> = { records: T[] } | { temporary: string };

/** One DNS query: its records, `[]` for NXDOMAIN/NODATA, or the temporary failure. */
async function lookup<T>(resolver: Resolver, name: string, rrtype: string): Promise<Lookup<T>> {
  try {
    const answer = await resolver(name, rrtype);
    return { records: Array.isArray(answer) ? (answer as T[]) : [] };
  } catch (error) {
    if (isNoRecord(error)) return { records: [] };
    return { temporary: `${rrtype} ${name}: ${(error as Error).message ?? String(error)}` };
  }
}

const RETRY_DNS = 'retry later; if it persists, check the name servers of the zone';

function dnsUnknown(domain: string, check: string, why: string): DoctorRow {
  return { domain, check, ok: null, detail: `temporary DNS failure (${why})`, fix: RETRY_DNS };
}

/** TXT records as strings: the character-strings of each record concatenated (RFC 7208 3.3). */
function txtStrings(records: string[][]): string[] {
  return records.map((r) => (Array.isArray(r) ? r.join('') : String(r)));
}

// --- DNS checks -------------------------------------------------------------------------

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
function spfWithSes(record: string | undefined): string {
  if (!record) return 'v=spf1 include:amazonses.com ~all';
  return record.replace(SPF_RE, (m) => `${m.trimEnd()} include:amazonses.com `).trim();
}

/** The domain's one SPF record, or why there is none usable (RFC 7208 4.5). */
async function spfRecord(
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

// --- AWS checks (with DNS where the answer names records) ----------------------------------

function awsUnknown(domain: string, check: string, reason: string, fix: string): DoctorRow {
  return { domain, check, ok: null, detail: `skipped (${reason})`, fix };
}

/** The fix for an AWS call that failed, by the SDK's error name. */
function awsErrorRow(domain: string, check: string, action: string, error: unknown): DoctorRow {
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

const createIdentity = (domain: string) =>
  `aws sesv2 create-email-identity --email-identity ${domain}, then publish the 3 DKIM CNAME records it returns (cdk deploy creates the identities too)`;

function identityRows(
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

// --- account checks ---------------------------------------------------------------------

/** SES's name for "no dedicated pool": the configuration set sends from the shared IPs. */
const SHARED_POOL = 'ses-shared-pool';

export async function checkConfigurationSet(
  pool: Pool,
  config: Config,
  inspector: SesInspector,
): Promise<DoctorRow> {
  const { configurationSet, ipPool } = config.pools[pool];
  const check = `configuration-set:${pool}`;
  let info: ConfigurationSetInfo | null;
  try {
    info = await inspector.getConfigurationSet(configurationSet);
  } catch (error) {
    return awsErrorRow(ACCOUNT, check, 'GetConfigurationSet', error);
  }
  if (info === null) {
    return {
      domain: ACCOUNT,
      check,
      ok: false,
      detail: `configuration set ${configurationSet} does not exist`,
      fix: `cdk deploy, or: aws sesv2 create-configuration-set --configuration-set-name ${configurationSet} --delivery-options SendingPoolName=${ipPool}`,
    };
  }
  const actual = info.sendingPoolName ?? (ipPool === SHARED_POOL ? SHARED_POOL : null);
  if (actual !== ipPool) {
    return {
      domain: ACCOUNT,
      check,
      ok: false,
      detail: `${configurationSet} sends through ${actual ?? "SES's shared IPs"}, not the dedicated IP pool ${ipPool}`,
      fix: `aws sesv2 put-configuration-set-delivery-options --configuration-set-name ${configurationSet} --sending-pool-name ${ipPool}`,
    };
  }
  return { domain: ACCOUNT, check, ok: true, detail: `${configurationSet} → IP pool ${ipPool}`, fix: '' };
}

/** Whether a receipt rule's recipient list matches mail to `domain` (empty = every recipient). */
function ruleCovers(recipients: string[], domain: string): boolean {
  if (recipients.length === 0) return true;
  return recipients.some((raw) => {
    const r = normalizeName(raw.trim());
    if (r === domain) return true;
    if (r.includes('@')) return r.slice(r.lastIndexOf('@') + 1) === domain;
    return r.startsWith('.') && domain.endsWith(r);
  });
}

export async function checkReceiptRuleSet(domains: string[], inspector: SesInspector): Promise<DoctorRow> {
  try {
    return receiptRuleSetRow(domains, await inspector.getActiveReceiptRuleSet());
  } catch (error) {
    return awsErrorRow(ACCOUNT, 'receipt-rule-set', 'DescribeActiveReceiptRuleSet', error);
  }
}

function receiptRuleSetRow(domains: string[], set: ReceiptRuleSetInfo | null): DoctorRow {
  const check = 'receipt-rule-set';
  if (set === null) {
    return {
      domain: ACCOUNT,
      check,
      ok: false,
      detail: 'no active receipt rule set: SES receives no mail',
      fix: 'cdk deploy, or: aws ses set-active-receipt-rule-set --rule-set-name <rule set>',
    };
  }
  const enabled = set.rules.filter((r) => r.enabled);
  const uncovered = domains.filter((d) => !enabled.some((r) => ruleCovers(r.recipients, d)));
  if (uncovered.length > 0) {
    return {
      domain: ACCOUNT,
      check,
      ok: false,
      detail: `active rule set ${set.name}: no enabled rule for ${uncovered.join(', ')}`,
      fix: `add ${uncovered.join(', ')} to the recipients of the enabled receipt rule of ${set.name} (cdk deploy does)`,
    };
  }
  return {
    domain: ACCOUNT,
    check,
    ok: true,
    detail: `active rule set ${set.name} (${enabled.length} enabled rule${enabled.length === 1 ? '' : 's'})`,
    fix: '',
  };
}

// --- the whole report ---------------------------------------------------------------------

function offlineFix(what: string, region: string | null): string {
  return `run "npx outbound-pools doctor --region ${region ?? '<region>'}" with AWS credentials, or: ${what}`;
}

async function domainRows(
  domain: string,
  kind: 'accepted' | 'srs',
  input: DoctorInput,
  inspector: SesInspector | null,
  offlineReason: string,
): Promise<DoctorRow[]> {
  const { config, resolver, region } = input;
  const dnsRows = Promise.all([
    checkMx(domain, resolver, region, config.trustedGateways),
    kind === 'accepted' ? checkAOrMx(domain, resolver) : Promise.resolve(null),
  ]);
  const tailRows = Promise.all([
    kind === 'srs' ? checkSpf(domain, resolver) : Promise.resolve(null),
    checkDmarc(domain, resolver),
    kind === 'accepted' ? checkSenderProof(domain, resolver) : Promise.resolve(null),
  ]);

  let awsRows: DoctorRow[];
  const getIdentity = `aws sesv2 get-email-identity --email-identity ${domain}`;
  if (inspector === null) {
    awsRows = [
      awsUnknown(domain, 'ses-identity', offlineReason, offlineFix(getIdentity, region)),
      awsUnknown(domain, 'dkim', offlineReason, offlineFix(`${getIdentity} --query DkimAttributes`, region)),
      awsUnknown(
        domain,
        'dkim-dns',
        `${offlineReason}; the DKIM tokens come from SES`,
        offlineFix(`${getIdentity} --query DkimAttributes.Tokens`, region),
      ),
      awsUnknown(
        domain,
        'mail-from',
        offlineReason,
        offlineFix(`${getIdentity} --query MailFromAttributes`, region),
      ),
    ];
  } else {
    let identity: SesIdentityInfo | null;
    try {
      identity = await inspector.getIdentity(domain);
      const { identityRow, dkimRow } = identityRows(domain, identity);
      awsRows = [
        identityRow,
        dkimRow,
        identity === null
          ? {
              domain,
              check: 'dkim-dns',
              ok: null,
              detail: 'skipped: not an SES identity, no DKIM tokens',
              fix: 'see ses-identity',
            }
          : await checkDkimDns(domain, identity, resolver),
        identity === null
          ? {
              domain,
              check: 'mail-from',
              ok: null,
              detail: 'skipped: not an SES identity',
              fix: 'see ses-identity',
            }
          : await checkMailFrom(domain, identity, resolver, region),
      ];
    } catch (error) {
      awsRows = ['ses-identity', 'dkim', 'dkim-dns', 'mail-from'].map((check) =>
        awsErrorRow(domain, check, 'GetEmailIdentity', error),
      );
    }
  }
  const [mx, aOrMx] = await dnsRows;
  const [spf, dmarc, senderProof] = await tailRows;
  return [mx, aOrMx, ...awsRows, spf, dmarc, senderProof].filter((r): r is DoctorRow => r !== null);
}

/**
 * Runs every check. AWS is probed once first (the active receipt rule set): when the SDK
 * finds no credentials, every AWS check is skipped as unknown rather than failing one by one.
 */
export async function runDoctor(input: DoctorInput): Promise<DoctorRow[]> {
  const { config, region } = input;
  let inspector = input.inspector;
  let offlineReason = input.offlineReason ?? 'offline';
  const domains = [...config.acceptedDomains, config.srs.domain];

  let receiptRow: DoctorRow | null = null;
  let activeRuleSet: ReceiptRuleSetInfo | null | undefined;
  if (inspector !== null) {
    try {
      activeRuleSet = await inspector.getActiveReceiptRuleSet();
      receiptRow = receiptRuleSetRow(domains, activeRuleSet);
    } catch (error) {
      if (isCredentialsError(error)) {
        offlineReason = `no AWS credentials: ${(error as Error).message}`;
        inspector = null;
      } else {
        receiptRow = awsErrorRow(ACCOUNT, 'receipt-rule-set', 'DescribeActiveReceiptRuleSet', error);
      }
    }
  }

  const perDomain = await Promise.all([
    ...config.acceptedDomains.map((d) => domainRows(d, 'accepted', input, inspector, offlineReason)),
    domainRows(config.srs.domain, 'srs', input, inspector, offlineReason),
  ]);

  const accountRows: DoctorRow[] = [];
  for (const pool of POOLS) {
    const { configurationSet, ipPool } = config.pools[pool];
    accountRows.push(
      inspector === null
        ? awsUnknown(
            ACCOUNT,
            `configuration-set:${pool}`,
            offlineReason,
            offlineFix(
              `aws sesv2 get-configuration-set --configuration-set-name ${configurationSet} (expect SendingPoolName ${ipPool})`,
              region,
            ),
          )
        : await checkConfigurationSet(pool, config, inspector),
    );
  }
  accountRows.push(
    receiptRow ??
      awsUnknown(
        ACCOUNT,
        'receipt-rule-set',
        offlineReason,
        offlineFix('aws ses describe-active-receipt-rule-set', region),
      ),
  );
  // Issue 14: the SES account itself (functions/core/doctor/account.ts).
  accountRows.push(
    ...(await accountIsolationRows({
      config,
      resolver: input.resolver,
      region,
      inspector,
      offlineReason,
      activeRuleSet,
      expectedRuleSet: input.ruleSetName,
    })),
  );
  return [...perDomain.flat(), ...accountRows];
}

/** 0 when every known check passed, 1 when any failed (unknown checks do not fail). */
export function doctorExitCode(rows: readonly DoctorRow[]): 0 | 1 {
  return rows.some((r) => r.ok === false) ? 1 : 0;
}

/** Counts of passed, failed and unknown checks. */
export function summarize(rows: readonly DoctorRow[]): { passed: number; failed: number; unknown: number } {
  return {
    passed: rows.filter((r) => r.ok === true).length,
    failed: rows.filter((r) => r.ok === false).length,
    unknown: rows.filter((r) => r.ok === null).length,
  };
}
