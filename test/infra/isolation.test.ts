/**
 * Issue 14, "Isolation that reaches the SES account", as the template shows it: one SES tenant
 * per pool with its reputation policy, tenant-scoped suppression and the associations SES
 * needs to send as it; configuration sets that say what they mean.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Template } from 'aws-cdk-lib/assertions';
import { infraConfig, logicalId, REGION, resourcesOf, synthStack } from './helpers.js';

type Json = Record<string, unknown>;

let template: Template;
before(() => {
  template = synthStack().template;
});

const POOL_IDS = { normal: 'Normal', 'high-risk': 'HighRisk', relay: 'Relay' } as const;
const policyArn = (policy: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:ses:${REGION}:aws:reputation-policy/${policy}`]],
});

describe('tenants (one per pool)', () => {
  it('three tenants, named as the configuration says, with the default reputation policies', () => {
    const tenants = resourcesOf(template, 'AWS::SES::Tenant');
    assert.equal(tenants.length, 3);
    const expected = { normal: 'standard', 'high-risk': 'strict', relay: 'strict' } as const;
    const config = infraConfig();
    for (const [pool, policy] of Object.entries(expected)) {
      const id = logicalId(template, 'AWS::SES::Tenant', POOL_IDS[pool as keyof typeof POOL_IDS]);
      const props = tenants.find(([i]) => i === id)![1];
      assert.equal(props.TenantName, config.pools[pool as keyof typeof expected].tenant);
      assert.deepEqual(props.ReputationEntity, { Policy: { ReputationEntityPolicy: policyArn(policy) } });
      // The policy ARN must match CloudFormation's pattern once the partition is resolved.
      const resolved = `arn:aws:ses:${REGION}:aws:reputation-policy/${policy}`;
      assert.match(resolved, /^arn:[a-z0-9-]+:ses:[a-z0-9-]+:aws:reputation-policy\/(none|standard|strict)$/);
    }
  });

  it('each tenant keeps its own suppression list, for hard bounces and complaints', () => {
    for (const [, props] of resourcesOf(template, 'AWS::SES::Tenant')) {
      assert.deepEqual(props.SuppressionAttributes, {
        SuppressionScope: 'TENANT',
        SuppressedReasons: ['BOUNCE', 'COMPLAINT'],
      });
    }
  });

  it('each tenant is associated with its own configuration set and every sending identity', () => {
    for (const pid of Object.values(POOL_IDS)) {
      const tenantId = logicalId(template, 'AWS::SES::Tenant', pid);
      const props = resourcesOf(template, 'AWS::SES::Tenant').find(([i]) => i === tenantId)![1];
      const arns = (props.ResourceAssociations as { ResourceArn: unknown }[]).map((a) =>
        JSON.stringify(a.ResourceArn),
      );
      const setRef = JSON.stringify({ Ref: logicalId(template, 'AWS::SES::ConfigurationSet', pid) });
      const sets = arns.filter((a) => a.includes(':configuration-set/'));
      assert.equal(sets.length, 1, `one configuration set for ${pid}`);
      assert.ok(sets[0]!.includes(setRef), `${pid}'s tenant names its own configuration set`);
      const identities = arns
        .filter((a) => a.includes(':identity/'))
        .map((a) => /identity\/([^"]+)/.exec(a)![1]);
      assert.deepEqual(identities.sort(), ['example.com', 'example.org', 'fwd.example.com']);
    }
  });

  it('per-pool policies and tenant names come from the configuration', () => {
    const t = synthStack(
      {
        config: infraConfig({
          pools: {
            normal: { configurationSet: 'n-set', tenant: 'tenant-n', reputationPolicy: 'none' },
            'high-risk': { configurationSet: 'h-set', reputationPolicy: 'standard' },
          },
        }),
      },
      { bundle: false },
    ).template;
    const byName = new Map(resourcesOf(t, 'AWS::SES::Tenant').map(([, p]) => [p.TenantName, p]));
    assert.deepEqual([...byName.keys()].sort(), ['h-set', 'outbound-relay', 'tenant-n']);
    const policyOf = (name: string) =>
      JSON.stringify((byName.get(name)!.ReputationEntity as Json).Policy).match(
        /reputation-policy\/(\w+)/,
      )![1];
    assert.deepEqual(['tenant-n', 'h-set', 'outbound-relay'].map(policyOf), ['none', 'standard', 'strict']);
  });

  it('two pools with one tenant are refused at synth time, naming the field', () => {
    assert.throws(
      () =>
        synthStack(
          {
            config: infraConfig({
              pools: {
                normal: { configurationSet: 'a', tenant: 'shared' },
                relay: { configurationSet: 'b', tenant: 'shared' },
              },
            }),
          },
          { bundle: false },
        ),
      /pools\.relay\.tenant.*already the tenant of pool normal/s,
    );
  });
});

describe('configuration sets say what they mean', () => {
  it('every configuration set suppresses bounces and complaints, VDM engagement off, no tracking', () => {
    const sets = resourcesOf(template, 'AWS::SES::ConfigurationSet');
    assert.equal(sets.length, 3);
    for (const [id, props] of sets) {
      assert.deepEqual(props.SuppressionOptions, { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] }, id);
      assert.deepEqual(props.VdmOptions, { DashboardOptions: { EngagementMetrics: 'DISABLED' } }, id);
      assert.equal(props.TrackingOptions, undefined, `${id} has no open/click tracking options`);
      assert.deepEqual(props.ReputationOptions, { ReputationMetricsEnabled: true }, id);
    }
  });
});
