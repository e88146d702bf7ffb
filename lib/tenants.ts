/**
 * Each delivery pool is also an SES **tenant** (issue 14, SPEC 2): SES judges a tenant's
 * reputation on its own and, under its reputation policy, pauses the tenant rather than the
 * account; with tenant-scoped suppression a hard bounce of a `high-risk` copy no longer
 * suppresses the same destination for `normal` mail.
 *
 * What SES requires (SESv2 `SendEmail`, `TenantName`): "the email sending operation will only
 * succeed if all referenced resources (identities, configuration sets, and templates) are
 * associated with this tenant". So each tenant is associated with its pool's configuration
 * set and with every sending identity. An identity may belong to several tenants
 * (`CreateTenantResourceAssociation`: "a single resource can be associated with multiple
 * tenants"), which is what lets one verified domain send through all three pools while each
 * pool keeps its own reputation.
 */
import { Stack } from 'aws-cdk-lib';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct, type IDependable } from 'constructs';
import type { Config, ReputationPolicy } from '../functions/core/config.js';
import { POOLS, type Pool } from '../functions/core/vocabulary.js';
import type { IDeliveryPools } from './delivery-pools.js';
import { InfrastructureValidationError } from './validation.js';

/** Reasons a destination enters the tenant's own suppression list (hard bounces, complaints). */
export const TENANT_SUPPRESSED_REASONS: readonly string[] = ['BOUNCE', 'COMPLAINT'];

const TENANT_ID: Record<Pool, string> = { normal: 'Normal', 'high-risk': 'HighRisk', relay: 'Relay' };

/** Properties of {@link PoolTenants}. */
export interface PoolTenantsProps {
  /** The pools of the validated configuration (`config.pools`): tenant names and policies. */
  readonly pools: Config['pools'];
  /** The configuration sets each tenant is associated with. */
  readonly deliveryPools: IDeliveryPools;
  /** ARNs of the identities the router sends as: associated with every tenant. */
  readonly identityArns: readonly string[];
  /**
   * Resources the tenants must wait for (identities this stack creates: an association
   * with an identity that does not exist yet fails).
   *
   * @default - none
   */
  readonly dependsOn?: readonly IDependable[];
}

/** One tenant per pool. */
export class PoolTenants extends Construct {
  readonly tenants: Readonly<Record<Pool, ses.CfnTenant>>;
  /** Tenant names by pool (from the configuration, never tokens). */
  readonly tenantNames: Readonly<Record<Pool, string>>;

  constructor(scope: Construct, id: string, props: PoolTenantsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const seen = new Map<string, Pool>();
    const tenants = {} as Record<Pool, ses.CfnTenant>;
    const names = {} as Record<Pool, string>;
    for (const pool of POOLS) {
      const { tenant: tenantName, reputationPolicy } = props.pools[pool];
      const other = seen.get(tenantName);
      if (other) {
        throw new InfrastructureValidationError(
          `pools.${pool}.tenant`,
          `"${tenantName}" is already the tenant of pool ${other}; pools that share a tenant share their reputation`,
          this,
        );
      }
      seen.set(tenantName, pool);
      const tenant = new ses.CfnTenant(this, `${TENANT_ID[pool]}Tenant`, {
        tenantName,
        reputationEntity: {
          policy: { reputationEntityPolicy: reputationPolicyArn(stack, reputationPolicy) },
        },
        suppressionAttributes: {
          suppressionScope: 'TENANT',
          suppressedReasons: [...TENANT_SUPPRESSED_REASONS],
        },
        resourceAssociations: [
          { resourceArn: poolConfigurationSetArn(stack, props.deliveryPools, pool) },
          ...props.identityArns.map((resourceArn) => ({ resourceArn })),
        ],
      });
      // cfn-lint 1.51's resource schemas predate the tenant's ReputationEntity and
      // SuppressionAttributes, which the CloudFormation registry schema (and so this L1,
      // generated from it: AWS::SES::Tenant in the CloudFormation User Guide) has: E3002 is
      // silenced on this resource alone, every other check still runs on it.
      tenant.addMetadata('cfn-lint', { config: { ignore_checks: ['E3002'] } });
      for (const d of props.dependsOn ?? []) tenant.node.addDependency(d);
      tenants[pool] = tenant;
      names[pool] = tenantName;
    }
    this.tenants = tenants;
    this.tenantNames = names;
  }
}

/** `arn:<partition>:ses:<region>:aws:reputation-policy/<policy>`: the SES-managed policies. */
export function reputationPolicyArn(stack: Stack, policy: ReputationPolicy): string {
  return stack.formatArn({
    service: 'ses',
    account: 'aws',
    resource: 'reputation-policy',
    resourceName: policy,
  });
}

function poolConfigurationSetArn(stack: Stack, pools: IDeliveryPools, pool: Pool): string {
  return stack.formatArn({
    service: 'ses',
    resource: 'configuration-set',
    // The token (a Ref): the association waits for the configuration set.
    resourceName: pools.pools[pool].configurationSet.configurationSetName,
  });
}
