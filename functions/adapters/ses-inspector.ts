/**
 * The AWS side of `outbound-pools doctor` (`SesInspector`), read-only:
 *
 * - SESv2 `GetEmailIdentity`: verification, DKIM attributes (Easy DKIM tokens), custom
 *   MAIL FROM domain;
 * - SESv2 `GetConfigurationSet`: the dedicated IP pool of its delivery options
 *   (`DeliveryOptions.SendingPoolName`);
 * - SES v1 `DescribeActiveReceiptRuleSet`: receipt rules exist only in the v1 API.
 *
 * "Does not exist" (`NotFoundException`, or no active rule set) is `null`; every other error
 * is thrown as the SDK raised it, for the checks to report (credentials, access denied...).
 * - SESv2 `GetAccount`, `GetDedicatedIpPool` + `GetDedicatedIps`, `GetTenant` (issue 14: the
 *   account, the STANDARD pools' IPs, the pools' tenants).
 *
 * IAM: `ses:GetEmailIdentity`, `ses:GetConfigurationSet`, `ses:DescribeActiveReceiptRuleSet`,
 * `ses:GetAccount`, `ses:GetDedicatedIpPool`, `ses:GetDedicatedIps`, `ses:GetTenant`.
 */
import { DescribeActiveReceiptRuleSetCommand, SESClient } from '@aws-sdk/client-ses';
import {
  GetAccountCommand,
  GetConfigurationSetCommand,
  GetDedicatedIpPoolCommand,
  GetDedicatedIpsCommand,
  GetEmailIdentityCommand,
  GetTenantCommand,
  SESv2Client,
} from '@aws-sdk/client-sesv2';
import type { AccountInfo, AccountInspector, IpPoolInfo, TenantInfo } from '../core/doctor/account.js';
import type {
  ConfigurationSetInfo,
  ReceiptRuleSetInfo,
  SesIdentityInfo,
  SesInspector,
} from '../core/doctor/checks.js';

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFoundException' || e?.name === 'NotFound';
}

export class AwsSesInspector implements SesInspector, AccountInspector {
  readonly #sesv2: SESv2Client;
  readonly #ses: SESClient;

  constructor(clients: { sesv2: SESv2Client; ses: SESClient }) {
    this.#sesv2 = clients.sesv2;
    this.#ses = clients.ses;
  }

  async getIdentity(domain: string): Promise<SesIdentityInfo | null> {
    try {
      const out = await this.#sesv2.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));
      const dkim = out.DkimAttributes;
      const mailFrom = out.MailFromAttributes;
      return {
        verifiedForSending: out.VerifiedForSendingStatus === true,
        dkim: {
          signingEnabled: dkim?.SigningEnabled === true,
          status: dkim?.Status ?? null,
          tokens: dkim?.Tokens ?? [],
          origin: dkim?.SigningAttributesOrigin ?? null,
          signingHostedZone: dkim?.SigningHostedZone ?? null,
        },
        mailFrom: mailFrom?.MailFromDomain
          ? { domain: mailFrom.MailFromDomain, status: mailFrom.MailFromDomainStatus ?? null }
          : null,
      };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async getConfigurationSet(name: string): Promise<ConfigurationSetInfo | null> {
    try {
      const out = await this.#sesv2.send(new GetConfigurationSetCommand({ ConfigurationSetName: name }));
      return { sendingPoolName: out.DeliveryOptions?.SendingPoolName ?? null };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async getAccount(): Promise<AccountInfo> {
    const out = await this.#sesv2.send(new GetAccountCommand({}));
    return {
      productionAccessEnabled: out.ProductionAccessEnabled === true,
      sendingEnabled: out.SendingEnabled === true,
      enforcementStatus: out.EnforcementStatus ?? null,
      max24HourSend: out.SendQuota?.Max24HourSend ?? null,
      sentLast24Hours: out.SendQuota?.SentLast24Hours ?? null,
      suppressedReasons: out.SuppressionAttributes?.SuppressedReasons ?? [],
      engagementMetrics: out.VdmAttributes?.DashboardAttributes?.EngagementMetrics ?? null,
    };
  }

  async getDedicatedIpPool(name: string): Promise<IpPoolInfo | null> {
    try {
      const pool = await this.#sesv2.send(new GetDedicatedIpPoolCommand({ PoolName: name }));
      let ipCount = 0;
      let token: string | undefined;
      do {
        const page = await this.#sesv2.send(
          new GetDedicatedIpsCommand({ PoolName: name, NextToken: token, PageSize: 100 }),
        );
        ipCount += page.DedicatedIps?.length ?? 0;
        token = page.NextToken;
      } while (token);
      return { scalingMode: pool.DedicatedIpPool?.ScalingMode ?? null, ipCount };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async getTenant(name: string): Promise<TenantInfo | null> {
    try {
      const out = await this.#sesv2.send(new GetTenantCommand({ TenantName: name }));
      return { sendingStatus: out.Tenant?.SendingStatus ?? null };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async getActiveReceiptRuleSet(): Promise<ReceiptRuleSetInfo | null> {
    const out = await this.#ses.send(new DescribeActiveReceiptRuleSetCommand({}));
    if (!out.Metadata?.Name) return null;
    return {
      name: out.Metadata.Name,
      rules: (out.Rules ?? []).map((r) => ({
        name: r.Name ?? '',
        enabled: r.Enabled === true,
        recipients: r.Recipients ?? [],
      })),
    };
  }
}

/**
 * An inspector for `region` with the default credential chain. Few attempts: `doctor` is
 * interactive, and an unreachable endpoint should become an "unknown" row quickly.
 */
export function createSesInspector(region: string): AwsSesInspector {
  const common = { region, maxAttempts: 2 };
  return new AwsSesInspector({ sesv2: new SESv2Client(common), ses: new SESClient(common) });
}
