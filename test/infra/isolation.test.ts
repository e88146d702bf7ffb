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
  // Resources and their properties only: no function code is read, so no bundling.
  template = synthStack({}, { bundle: false }).template;
});

const POOL_IDS = { normal: 'Normal', 'high-risk': 'HighRisk', relay: 'Relay' } as const;
// cdk.json sets @aws-cdk/core:enablePartitionLiterals: the partition is written literally.
const policyArn = (policy: string) => `arn:aws:ses:${REGION}:aws:reputation-policy/${policy}`;

describe('tenants (one per pool)', () => {
  it('three tenants, named as the configuration says, with the default reputation policies', () => {
    const tenants = resourcesOf(template, 'AWS::SES::Tenant');
    assert.equal(tenants.length, 3);
    const expected = { normal: 'standard', 'high-risk': 'strict', relay: 'strict' } as const;
    const config = infraConfig();
    for (const [pool, policy] of Object.entries(expected)) {
      const id = logicalId(template, 'AWS::SES::Tenant', POOL_IDS[pool as keyof typeof POOL_IDS]);
      const props = tenants.find(([i]) => i === id)![1];
      // The deployed name: the stack's prefix ("Test") before the configuration's name.
      assert.equal(props.TenantName, `test-${config.pools[pool as keyof typeof expected].tenant}`);
      assert.deepEqual(props.ReputationEntity, { Policy: { ReputationEntityPolicy: policyArn(policy) } });
      // The policy ARN, as written in the template, matches CloudFormation's pattern.
      assert.match(
        String(
          (props.ReputationEntity as { Policy: { ReputationEntityPolicy: unknown } }).Policy
            .ReputationEntityPolicy,
        ),
        /^arn:[a-z0-9-]+:ses:[a-z0-9-]+:aws:reputation-policy\/(none|standard|strict)$/,
      );
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
    assert.deepEqual([...byName.keys()].sort(), ['test-h-set', 'test-outbound-relay', 'test-tenant-n']);
    const policyOf = (name: string) =>
      JSON.stringify((byName.get(name)!.ReputationEntity as Json).Policy).match(
        /reputation-policy\/(\w+)/,
      )![1];
    assert.deepEqual(['test-tenant-n', 'test-h-set', 'test-outbound-relay'].map(policyOf), [
      'none',
      'standard',
      'strict',
    ]);
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

describe('alarms before SES acts', () => {
  const alarms = () => resourcesOf(template, 'AWS::CloudWatch::Alarm');
  const rateAlarms = (metric: string) =>
    alarms().filter(([, a]) => a.Namespace === 'AWS/SES' && a.MetricName === metric);

  for (const [metric, sesReview, expected] of [
    ['Reputation.BounceRate', 0.05, 0.025],
    ['Reputation.ComplaintRate', 0.001, 0.0005],
  ] as const) {
    it(`${metric}: the account (no dimension) and each of the three pools, below SES's ${sesReview}`, () => {
      const found = rateAlarms(metric);
      const account = found.filter(([, a]) => a.Dimensions === undefined);
      assert.equal(account.length, 1, 'one account-level alarm');
      const sets = new Set(
        found
          .flatMap(([, a]) => (a.Dimensions as { Name: string; Value: string }[] | undefined) ?? [])
          .map((d) => `${d.Name}=${d.Value}`),
      );
      for (const set of ['test-outbound-normal', 'test-outbound-high-risk', 'test-outbound-relay']) {
        assert.ok(sets.has(`ses:configuration-set=${set}`), `${metric} of ${set}`);
      }
      for (const [id, a] of found) {
        assert.ok((a.Threshold as number) < sesReview, `${id} fires before SES reviews`);
        assert.equal(a.Threshold, expected, id);
        assert.equal(a.ComparisonOperator, 'GreaterThanThreshold');
      }
    });
  }

  it('thresholds come from the configuration', () => {
    const t = synthStack(
      { config: infraConfig({ reputation: { bounceRate: 0.01, complaintRate: 0.0002 } }) },
      { bundle: false },
    ).template;
    const thresholds = resourcesOf(t, 'AWS::CloudWatch::Alarm')
      .filter(([, a]) => a.Namespace === 'AWS/SES')
      .map(([, a]) => `${a.MetricName}:${a.Threshold}`);
    assert.deepEqual([...new Set(thresholds)].sort(), [
      'Reputation.BounceRate:0.01',
      'Reputation.ComplaintRate:0.0002',
    ]);
  });

  it('SendsFailed of every pool is alarmed at the first refusal', () => {
    const [, alarm] = resourcesOf(template, 'AWS::CloudWatch::Alarm').find(([id]) =>
      id.includes('SendsFailed'),
    )!;
    const metrics = alarm.Metrics as { Id: string; MetricStat?: { Metric: Json } }[];
    const pools = metrics
      .filter((m) => m.MetricStat)
      .map((m) => {
        const metric = m.MetricStat!.Metric as {
          MetricName: string;
          Dimensions: { Name: string; Value: string }[];
        };
        assert.equal(metric.MetricName, 'SendsFailed');
        return metric.Dimensions.find((d) => d.Name === 'Pool')!.Value;
      });
    assert.deepEqual(pools.sort(), ['high-risk', 'normal', 'relay']);
    assert.equal(alarm.Threshold, 1);
    assert.equal(alarm.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
  });

  it('each pool rate alarm invokes the pause function; account alarms do not', () => {
    const pauseFn = logicalId(template, 'AWS::Lambda::Function', 'PoolPause');
    for (const [id, a] of [
      ...rateAlarms('Reputation.BounceRate'),
      ...rateAlarms('Reputation.ComplaintRate'),
    ]) {
      const actions = JSON.stringify(a.AlarmActions ?? []);
      const pool = a.Dimensions !== undefined;
      if (pool && !id.includes('Dashboard')) assert.match(actions, new RegExp(pauseFn), id);
      if (!pool) assert.doesNotMatch(actions, new RegExp(pauseFn), id);
    }
    // CloudWatch alarms may invoke it: the permission names the alarms' service principal.
    const perms = resourcesOf(template, 'AWS::Lambda::Permission').filter(([, p]) =>
      JSON.stringify(p.FunctionName).includes(pauseFn),
    );
    assert.equal(perms.length, 6);
    for (const [, p] of perms) assert.equal(p.Principal, 'lambda.alarms.cloudwatch.amazonaws.com');
  });
});

describe('the pause function', () => {
  it('may disable sending of the three configuration sets, and nothing else without a topic', () => {
    const [, policy] = resourcesOf(template, 'AWS::IAM::Policy').find(([id]) => id.includes('PoolPause'))!;
    const statements = (policy.PolicyDocument as { Statement: Json[] }).Statement;
    const ses = statements.filter((s) => JSON.stringify(s.Action).includes('ses:'));
    assert.equal(ses.length, 1);
    assert.equal(ses[0]!.Action, 'ses:PutConfigurationSetSendingOptions');
    const resources = JSON.stringify(ses[0]!.Resource);
    for (const pid of Object.values(POOL_IDS)) {
      assert.ok(resources.includes(logicalId(template, 'AWS::SES::ConfigurationSet', pid)), pid);
    }
    assert.equal((ses[0]!.Resource as unknown[]).length, 3);
    // Only its own logs besides (no topic in the default test stack: no sns, no dynamodb).
    const others = statements.filter((s) => s !== ses[0]);
    for (const s of others) assert.match(JSON.stringify(s.Action), /^"?\[?"logs:/);
  });

  it('with a topic: sns:Publish on it and dynamodb:PutItem on the limits table only', () => {
    const t = synthStack({ alarmEmail: 'ops@example.com' }, { bundle: false }).template;
    const [, policy] = resourcesOf(t, 'AWS::IAM::Policy').find(([id]) => id.includes('PoolPause'))!;
    const statements = (policy.PolicyDocument as { Statement: Json[] }).Statement;
    const byAction = (a: string) => statements.filter((s) => JSON.stringify(s.Action).includes(a));
    const topic = logicalId(t, 'AWS::SNS::Topic', 'AlarmTopic');
    assert.deepEqual(
      byAction('sns:Publish').map((s) => s.Resource),
      [{ Ref: topic }],
    );
    const limits = logicalId(t, 'AWS::DynamoDB::Table', 'Limits');
    const put = byAction('dynamodb:');
    assert.equal(put.length, 1);
    assert.equal(put[0]!.Action, 'dynamodb:PutItem');
    assert.deepEqual(put[0]!.Resource, { 'Fn::GetAtt': [limits, 'Arn'] });
    const [, fn] = resourcesOf(t, 'AWS::Lambda::Function').find(([id]) => id.includes('PoolPause'))!;
    const env = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.deepEqual(env.NOTICE_TOPIC_ARN, { Ref: topic });
    assert.deepEqual(JSON.parse(env.POOLS as string).relay, {
      configurationSet: 'test-outbound-relay',
      tenant: 'test-outbound-relay',
    });
  });

  it('is not created when reputation.pauseOnAlarm is off', () => {
    const t = synthStack(
      { config: infraConfig({ reputation: { pauseOnAlarm: false } }) },
      { bundle: false },
    ).template;
    assert.equal(
      resourcesOf(t, 'AWS::Lambda::Function').filter(([id]) => id.includes('PoolPause')).length,
      0,
    );
  });
});
