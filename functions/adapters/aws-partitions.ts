/**
 * The DNS suffix of a region's AWS partition, for the requests this project addresses itself
 * (`ssm-parameter-reader.ts`, `s3-direct-get.ts`, `ses-direct.ts`): the SDK's partitions table (`@aws-sdk/core`,
 * `util-endpoints/lib/aws/partitions.js`), which the services' endpoint rules read as
 * `{partitionResult#dnsSuffix}`.
 */

/**
 * The partitions other than `aws` (and `aws-us-gov`, also `amazonaws.com`), with their region
 * patterns.
 */
const PARTITION_SUFFIXES: readonly [RegExp, string][] = [
  [/^cn-\w+-\d+$/, 'amazonaws.com.cn'],
  [/^eusc-de-\w+-\d+$/, 'amazonaws.eu'],
  [/^us-iso-\w+-\d+$/, 'c2s.ic.gov'],
  [/^us-isob-\w+-\d+$/, 'sc2s.sgov.gov'],
  [/^eu-isoe-\w+-\d+$/, 'cloud.adc-e.uk'],
  [/^us-isof-\w+-\d+$/, 'csp.hci.ic.gov'],
];

/**
 * `region`'s partition DNS suffix (default `amazonaws.com`); throws for what is not a region
 * name (it becomes part of a host name). `service` names the caller in the error.
 */
export function partitionDnsSuffix(region: string, service: string): string {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(region))
    throw new Error(`${service}: not a region: ${JSON.stringify(region)}`);
  return PARTITION_SUFFIXES.find(([pattern]) => pattern.test(region))?.[1] ?? 'amazonaws.com';
}
