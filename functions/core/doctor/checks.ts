/**
 * `outbound-pools doctor`: is the deployment around the code set up the way the pipeline
 * needs it? Each check gives one row `{ domain, check, ok, detail, fix }`, where `ok` is
 * `true` (✔), `false` (✗, with the fix to apply) or `null` (? unknown or skipped: AWS not
 * reachable, a temporary DNS failure, a check that depends on a failed one).
 *
 * DNS goes through the injected `Resolver` (live DNS, or the `--zones` map offline); AWS
 * through the small {@link SesInspector} port (implemented with the SDK in
 * `functions/adapters/ses-inspector.ts`), or `null` when AWS is not consulted. Nothing here
 * imports the AWS SDK. This module runs the checks and assembles the report; the checks
 * live by what they check: `domain-dns.ts` (mx, a-or-mx, spf, dmarc), `ses-identity.ts`
 * (ses-identity, dkim, dkim-dns, mail-from), `pipeline-resources.ts` (configuration sets,
 * receipt rule set), `account.ts` (issue 14), `sender-proof.ts`; `rows.ts` holds the row
 * and the rows they share, `inspector.ts` the AWS port. Their exported names are
 * re-exported here, so importers need only this module.
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
import type { Resolver } from '../dns/resolver.js';
import { POOLS } from '../vocabulary.js';
import { accountIsolationRows } from './account.js';
import { checkAOrMx, checkDmarc, checkMx, checkSpf } from './domain-dns.js';
import type { ReceiptRuleSetInfo, SesIdentityInfo, SesInspector } from './inspector.js';
import { checkConfigurationSet, receiptRuleSetRow } from './pipeline-resources.js';
import { ACCOUNT, awsErrorRow, awsUnknown, type DoctorRow, isCredentialsError } from './rows.js';
import { checkSenderProof } from './sender-proof.js';
import { checkDkimDns, checkMailFrom, identityRows } from './ses-identity.js';

export { checkAOrMx, checkDmarc, checkMx, checkSpf, spfIncludesSes } from './domain-dns.js';
export type { ConfigurationSetInfo, ReceiptRuleSetInfo, SesIdentityInfo, SesInspector } from './inspector.js';
export { checkConfigurationSet, checkReceiptRuleSet } from './pipeline-resources.js';
export { ACCOUNT, type DoctorRow, isCredentialsError } from './rows.js';
export { checkDkimDns, checkMailFrom, EASY_DKIM_ZONE } from './ses-identity.js';

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
