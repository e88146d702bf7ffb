/**
 * Where the stack may be deployed (issue 15 item 4): SES receives email in a few regions
 * only, and a receipt rule set created elsewhere is refused at deploy time — or, worse, an
 * environment-agnostic assembly goes to whatever region the deploying CLI defaults to. So
 * the region is required explicitly and checked at synth time.
 */
import { Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { InfrastructureValidationError } from './validation.js';

/**
 * The regions with an SES email receiving endpoint (`inbound-smtp.<region>.amazonaws.com`),
 * from the "Email receiving endpoints" table of "Amazon Simple Email Service endpoints and
 * quotas", https://docs.aws.amazon.com/general/latest/gr/ses.html (linked from "Regions and
 * Amazon SES", https://docs.aws.amazon.com/ses/latest/dg/regions.html). Read 2026-12-07 (from
 * a copy of that table: the search tool's excerpt of the page stopped before it). AWS adds
 * receiving regions over time: when a region is missing, check the page and add it here.
 */
export const SES_RECEIVING_REGIONS: readonly string[] = [
  'us-east-1',
  'us-east-2',
  'us-west-2',
  'ap-southeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-northeast-1',
  'ca-central-1',
  'eu-central-1',
  'eu-west-1',
  'eu-west-2',
];
export const SES_RECEIVING_REGIONS_READ_ON = '2026-12-07';

/** The region unless SES receives no email there (one-line error naming `region`). */
export function checkReceivingRegion(region: string, scope?: IConstruct): string {
  if (Token.isUnresolved(region)) {
    throw new InfrastructureValidationError(
      'region',
      'the stack needs an explicit region (env.region); an environment-agnostic stack would deploy to the CLI default region',
      scope,
    );
  }
  if (!SES_RECEIVING_REGIONS.includes(region)) {
    throw new InfrastructureValidationError(
      'region',
      `SES does not receive email in ${region}; deploy to one of ${SES_RECEIVING_REGIONS.join(', ')}`,
      scope,
    );
  }
  return region;
}

/**
 * The region of `bin/app.ts`: the `region` context key (`-c region=eu-west-1`) first, then
 * `CDK_DEFAULT_REGION` (which the CDK CLI sets from the profile or `AWS_REGION`). Neither is
 * an error: no environment-agnostic synth.
 */
export function resolveAppRegion(
  contextRegion: string | undefined,
  defaultRegion: string | undefined,
): string {
  const region = contextRegion?.trim() || defaultRegion?.trim();
  if (!region) {
    throw new InfrastructureValidationError(
      'region',
      'no region: pass -c region=<region> or set AWS_REGION (the CDK CLI passes it as CDK_DEFAULT_REGION)',
    );
  }
  return checkReceivingRegion(region);
}
