/**
 * `doctor`, the SES account (issue 14): what must hold for mail to leave at all and for the
 * pools' isolation to reach the account. Rows for domain `(account)`:
 *
 * - `account-sending`: production access (out of the sandbox) and sending enabled
 *   (SESv2 `GetAccount`: `ProductionAccessEnabled`, `SendingEnabled`, `EnforcementStatus`);
 * - `send-quota`: what was sent in the last 24 hours against `Max24HourSend`;
 * - `engagement-tracking`: account-level VDM engagement tracking off — on, SES rewrites bodies
 *   (open pixel, link wrapping) and breaks DKIM and ARC of every re-sent copy;
 * - `suppression`: the account suppresses hard bounces and complaints (the tenants keep their
 *   own lists; mail outside a tenant falls back on the account's);
 * - `ip-pool:<pool>`: a `STANDARD` dedicated IP pool holds IPs (SES creates it empty, and a
 *   configuration set on an empty pool sends nothing);
 * - `tenant:<pool>`: the pool's tenant exists and SES lets it send (`SendingStatus` not
 *   `DISABLED`: SES pauses a tenant under its reputation policy);
 * - `receipt-rule-set:owner`: the active receipt rule set is this stack's;
 * - `region-receives`: the region has an SES inbound endpoint (`inbound-smtp.<region>.amazonaws.com`
 *   resolves): SES receives mail in some regions only.
 *
 * Pure: AWS answers come through {@link AccountInspector}, DNS through the resolver.
 */
import type { Config } from '../config.js';
import { isNoRecord, type Resolver } from '../dns/resolver.js';
import { POOLS } from '../vocabulary.js';
import type { DoctorRow, ReceiptRuleSetInfo } from './checks.js';

const ACCOUNT = '(account)';

/** SESv2 `GetAccount`, as doctor reads it. */
export interface AccountInfo {
  productionAccessEnabled: boolean;
  sendingEnabled: boolean;
  /** `HEALTHY`, `PROBATION`, `SHUTDOWN`, or null. */
  enforcementStatus: string | null;
  max24HourSend: number | null;
  sentLast24Hours: number | null;
  /** Account-level suppression reasons (`BOUNCE`, `COMPLAINT`). */
  suppressedReasons: string[];
  /** Account-level VDM engagement metrics (`ENABLED`/`DISABLED`), null when VDM is not set up. */
  engagementMetrics: string | null;
}

/** SESv2 `GetDedicatedIpPool` and `GetDedicatedIps`. */
export interface IpPoolInfo {
  scalingMode: string | null;
  ipCount: number;
}

/** SESv2 `GetTenant`. */
export interface TenantInfo {
  sendingStatus: string | null;
}

/** The account side of doctor; `null` for "does not exist". */
export interface AccountInspector {
  getAccount(): Promise<AccountInfo>;
  getDedicatedIpPool(name: string): Promise<IpPoolInfo | null>;
  getTenant(name: string): Promise<TenantInfo | null>;
}

export interface AccountCheckInput {
  config: Config;
  resolver: Resolver;
  region: string | null;
  /** null (or without the account methods): the account is not consulted. */
  inspector: Partial<AccountInspector> | null;
  offlineReason: string;
  /** The active receipt rule set as found by the receipt-rule-set check (undefined: unknown). */
  activeRuleSet?: ReceiptRuleSetInfo | null;
  /** The rule set this stack deploys; default `OutboundPools-inbound` (the default stack's). */
  expectedRuleSet?: string;
}

/** The IP pool names SES manages itself: never STANDARD pools of ours. */
const SES_MANAGED = new Set(['ses-shared-pool', 'ses-default-dedicated-pool']);

const row = (check: string, ok: boolean | null, detail: string, fix = ''): DoctorRow => ({
  domain: ACCOUNT,
  check,
  ok,
  detail,
  fix: ok === true ? '' : fix,
});

function errorRow(check: string, action: string, error: unknown): DoctorRow {
  const e = error as Error;
  return row(
    check,
    null,
    `${action} failed: ${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`,
    'check the AWS credentials, region and the ses:Get* permissions, then retry',
  );
}

export function accountSendingRows(a: AccountInfo): DoctorRow[] {
  const rows: DoctorRow[] = [];
  const problems: string[] = [];
  if (!a.productionAccessEnabled)
    problems.push('the account is in the SES sandbox (only verified recipients)');
  if (!a.sendingEnabled) problems.push('sending is disabled for the account');
  if (a.enforcementStatus && a.enforcementStatus !== 'HEALTHY')
    problems.push(`enforcement status ${a.enforcementStatus}`);
  rows.push(
    problems.length === 0
      ? row('account-sending', true, 'production access, sending enabled, enforcement HEALTHY')
      : row(
          'account-sending',
          false,
          problems.join('; '),
          !a.productionAccessEnabled
            ? 'request production access: aws sesv2 put-account-details --production-access-enabled --mail-type TRANSACTIONAL --website-url <url> --use-case-description <text>'
            : !a.sendingEnabled
              ? 'if SES paused the account, answer its review in the console (Account dashboard); else aws sesv2 put-account-sending-attributes --sending-enabled'
              : 'read the review notice in the SES console (Reputation metrics) and fix the bounce/complaint source before it is shut down',
        ),
  );
  if (a.max24HourSend === null || a.sentLast24Hours === null) {
    rows.push(
      row('send-quota', null, 'SES did not report the send quota', 'aws sesv2 get-account --query SendQuota'),
    );
  } else {
    const used = a.max24HourSend > 0 ? a.sentLast24Hours / a.max24HourSend : 1;
    const detail = `${a.sentLast24Hours} of ${a.max24HourSend} sent in the last 24 hours (${(used * 100).toFixed(1)} %)`;
    rows.push(
      used < 0.8
        ? row('send-quota', true, detail)
        : row(
            'send-quota',
            false,
            detail,
            'request a higher sending quota (Service Quotas: "Sending quota") before mail is refused',
          ),
    );
  }
  rows.push(
    a.engagementMetrics === 'ENABLED'
      ? row(
          'engagement-tracking',
          false,
          'account-level VDM engagement tracking is ENABLED: SES rewrites bodies and breaks DKIM/ARC of forwarded mail',
          'aws sesv2 put-account-vdm-attributes --vdm-attributes VdmEnabled=ENABLED,DashboardAttributes={EngagementMetrics=DISABLED} (the configuration sets also turn it off)',
        )
      : row(
          'engagement-tracking',
          true,
          `account-level engagement tracking ${a.engagementMetrics ?? 'not configured'}`,
        ),
  );
  const missing = ['BOUNCE', 'COMPLAINT'].filter((r) => !a.suppressedReasons.includes(r));
  rows.push(
    missing.length === 0
      ? row(
          'suppression',
          true,
          'the account suppresses BOUNCE and COMPLAINT (each pool tenant keeps its own list)',
        )
      : row(
          'suppression',
          false,
          `the account does not suppress ${missing.join(' or ')}: repeated sends to bad addresses hurt the rates`,
          'aws sesv2 put-account-suppression-attributes --suppressed-reasons BOUNCE COMPLAINT',
        ),
  );
  return rows;
}

export function ipPoolRow(pool: string, name: string, info: IpPoolInfo | null): DoctorRow {
  const check = `ip-pool:${pool}`;
  if (info === null) {
    return row(
      check,
      false,
      `dedicated IP pool ${name} does not exist`,
      'cdk deploy (it creates the pool), or name an existing pool in pools.' + `${pool}.ipPool`,
    );
  }
  if (info.scalingMode === 'MANAGED')
    return row(check, true, `${name}: MANAGED (SES leases and scales the IPs)`);
  if (info.ipCount === 0) {
    return row(
      check,
      false,
      `${name} is a STANDARD pool with no IP: nothing can leave through pool ${pool}`,
      `lease dedicated IPs, then: aws sesv2 put-dedicated-ip-in-pool --ip <ip> --destination-pool-name ${name}`,
    );
  }
  return row(check, true, `${name}: ${info.ipCount} dedicated IP${info.ipCount === 1 ? '' : 's'}`);
}

export function tenantRow(pool: string, name: string, info: TenantInfo | null): DoctorRow {
  const check = `tenant:${pool}`;
  if (info === null) {
    return row(
      check,
      false,
      `SES tenant ${name} does not exist: every send of pool ${pool} is refused`,
      'cdk deploy (it creates the tenants and their associations)',
    );
  }
  if (info.sendingStatus === 'DISABLED') {
    return row(
      check,
      false,
      `SES paused tenant ${name} under its reputation policy: pool ${pool} cannot send`,
      "read the tenant's reputation findings (aws sesv2 get-reputation-entity); once the cause is fixed, aws sesv2 update-reputation-entity-customer-managed-status, or wait for SES to reinstate it",
    );
  }
  return row(check, true, `tenant ${name}: ${info.sendingStatus ?? 'status unknown'}`);
}

export function ruleSetOwnerRow(active: ReceiptRuleSetInfo | null, expected: string): DoctorRow {
  if (active === null)
    return row(
      'receipt-rule-set:owner',
      false,
      'no active receipt rule set',
      `aws ses set-active-receipt-rule-set --rule-set-name ${expected}`,
    );
  return active.name === expected
    ? row('receipt-rule-set:owner', true, `the active rule set is ${expected}`)
    : row(
        'receipt-rule-set:owner',
        false,
        `the active rule set is ${active.name}, not this stack's ${expected}: received mail does not reach the router`,
        `aws ses set-active-receipt-rule-set --rule-set-name ${expected} (or deploy with -c activateRuleSet=true)`,
      );
}

/**
 * Regions with an SES email receiving endpoint as of this writing (SES Developer Guide, "Email
 * receiving endpoints"); for any other region the endpoint's name is looked up, so a region
 * added later passes without a code change.
 */
export const KNOWN_RECEIVING_REGIONS: readonly string[] = ['us-east-1', 'us-west-2', 'eu-west-1'];

export async function regionReceivesRow(region: string | null, resolver: Resolver): Promise<DoctorRow> {
  if (!region) return row('region-receives', null, 'no region given', 'pass --region or set AWS_REGION');
  const host = `inbound-smtp.${region}.amazonaws.com`;
  if (KNOWN_RECEIVING_REGIONS.includes(region)) {
    return row('region-receives', true, `SES receives mail in ${region} (${host})`);
  }
  try {
    const a = await resolver(host, 'A');
    if (Array.isArray(a) && a.length > 0) {
      return row('region-receives', true, `${host} resolves: SES receives mail in ${region}`);
    }
  } catch (error) {
    if (!isNoRecord(error)) {
      return row(
        'region-receives',
        null,
        `temporary DNS failure (${(error as Error).message})`,
        'retry later',
      );
    }
  }
  return row(
    'region-receives',
    false,
    `${host} does not resolve: SES does not receive mail in ${region}`,
    `deploy in a region where SES receives email, e.g. ${KNOWN_RECEIVING_REGIONS.join(', ')} (SES Developer Guide, "Email receiving endpoints")`,
  );
}

/**
 * Every account row, in a stable order. An inspector without the account methods (an older
 * test double) gives no AWS account rows; offline (`inspector` null), they are unknown.
 * `receipt-rule-set:owner` is only checked when the stack's rule set name is known.
 */
export async function accountIsolationRows(input: AccountCheckInput): Promise<DoctorRow[]> {
  const { config, inspector } = input;
  const regionRow = regionReceivesRow(input.region, input.resolver);
  const ownerRows =
    input.expectedRuleSet === undefined
      ? []
      : [
          input.activeRuleSet === undefined
            ? row(
                'receipt-rule-set:owner',
                null,
                input.offlineReason,
                'aws ses describe-active-receipt-rule-set',
              )
            : ruleSetOwnerRow(input.activeRuleSet, input.expectedRuleSet),
        ];
  const poolNames = POOLS.map((p) => config.pools[p]);
  if (inspector === null) {
    // As the other AWS checks say it offline (checks.ts): how to run it, or the command to run.
    const unknown = (check: string, command: string) =>
      row(
        check,
        null,
        `skipped (${input.offlineReason})`,
        `run "npx outbound-pools doctor --region ${input.region ?? '<region>'}" with AWS credentials, or: ${command}`,
      );
    return [
      unknown('account-sending', 'aws sesv2 get-account'),
      unknown('send-quota', 'aws sesv2 get-account --query SendQuota'),
      unknown('engagement-tracking', 'aws sesv2 get-account --query VdmAttributes'),
      unknown('suppression', 'aws sesv2 get-account --query SuppressionAttributes'),
      ...POOLS.map((p, i) =>
        unknown(`ip-pool:${p}`, `aws sesv2 get-dedicated-ips --pool-name ${poolNames[i]!.ipPool}`),
      ),
      ...POOLS.map((p, i) =>
        unknown(`tenant:${p}`, `aws sesv2 get-tenant --tenant-name ${poolNames[i]!.tenant}`),
      ),
      ...ownerRows,
      await regionRow,
    ];
  }
  const { getAccount, getDedicatedIpPool, getTenant } = inspector;
  if (!getAccount || !getDedicatedIpPool || !getTenant) return [...ownerRows, await regionRow];
  let sending: DoctorRow[];
  try {
    sending = accountSendingRows(await getAccount.call(inspector));
  } catch (error) {
    sending = ['account-sending', 'send-quota', 'engagement-tracking', 'suppression'].map((c) =>
      errorRow(c, 'GetAccount', error),
    );
  }
  const ipRows = await Promise.all(
    POOLS.map(async (p, i) => {
      const name = poolNames[i]!.ipPool;
      if (SES_MANAGED.has(name)) return row(`ip-pool:${p}`, true, `${name} is managed by SES`);
      try {
        return ipPoolRow(p, name, await getDedicatedIpPool.call(inspector, name));
      } catch (error) {
        return errorRow(`ip-pool:${p}`, 'GetDedicatedIpPool', error);
      }
    }),
  );
  const tenantRows = await Promise.all(
    POOLS.map(async (p, i) => {
      const name = poolNames[i]!.tenant;
      try {
        return tenantRow(p, name, await getTenant.call(inspector, name));
      } catch (error) {
        return errorRow(`tenant:${p}`, 'GetTenant', error);
      }
    }),
  );
  return [...sending, ...ipRows, ...tenantRows, ...ownerRows, await regionRow];
}
