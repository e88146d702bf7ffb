/**
 * The AWS side of `doctor` as a port: what the checks read from SES, implemented with the
 * SDK in `functions/adapters/ses-inspector.ts`. Nothing here imports the AWS SDK.
 */
import type { AccountInspector } from './account.js';

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
