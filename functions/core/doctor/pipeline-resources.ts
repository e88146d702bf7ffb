/**
 * `doctor`'s checks of what the stack deploys in the account (domain `(account)`): the three
 * configuration sets exist and send through their dedicated IP pools
 * (`config.pools.<pool>`), and a receipt rule set is active and has an enabled rule for
 * every domain.
 */
import type { Config } from '../config.js';
import { normalizeName } from '../dns/resolver.js';
import type { Pool } from '../vocabulary.js';
import type { ConfigurationSetInfo, ReceiptRuleSetInfo, SesInspector } from './inspector.js';
import { ACCOUNT, awsErrorRow, type DoctorRow } from './rows.js';

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

export function receiptRuleSetRow(domains: string[], set: ReceiptRuleSetInfo | null): DoctorRow {
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
