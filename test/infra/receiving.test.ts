/**
 * Receiving that cannot hurt its neighbours (issue 15 items 3 and 4): the receipt rule's TLS
 * policy and recipients, the activation custom resource, SES names derived from the stack
 * (two stacks in one app, no collision), and the region checks. No function code is needed:
 * every synth here skips bundling.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ses from 'aws-cdk-lib/aws-ses';
import { parseConfig } from '../../functions/core/config.js';
import { OutboundPoolsError } from '../../functions/core/errors.js';
import { deployedConfig, withNamePrefix } from '../../functions/core/resource-names.js';
import { readContextSettings } from '../../lib/context.js';
import { OutboundPools } from '../../lib/outbound-pools.js';
import { OutboundPoolsStack } from '../../lib/outbound-pools-stack.js';
import { MAX_RULE_RECIPIENTS, receiptRecipients } from '../../lib/receipt-rules.js';
import { checkReceivingRegion, resolveAppRegion, SES_RECEIVING_REGIONS } from '../../lib/regions.js';
import { ACTIVATION_ACTIONS } from '../../lib/rule-set-activation.js';
import { InfrastructureValidationError } from '../../lib/validation.js';
import {
  ACCOUNT,
  allStatements,
  asArray,
  INFRA_CONFIG_JSON,
  infraConfig,
  NO_BUNDLING,
  REGION,
  resourceNamed,
  resourcesOf,
  synthStack,
} from './helpers.js';

type Json = Record<string, unknown>;

/** Asserts an InfrastructureValidationError (or another project error) naming `field`. */
function rejects(build: () => unknown, field: string, message: RegExp): void {
  assert.throws(build, (error: unknown) => {
    assert.ok(error instanceof OutboundPoolsError, String(error));
    assert.match(error.message, new RegExp(`^${field.replace('.', '\\.')}: `));
    assert.match(error.message, message);
    assert.ok(!error.message.includes('\n'), 'one line');
    return true;
  });
}

const ruleOf = (template: Template) =>
  resourceNamed(template, 'AWS::SES::ReceiptRule', 'Receipt')[1].Rule as Json;

// One synth with every receiving option on (each synth costs seconds).
const { template } = synthStack(
  { tlsPolicy: ses.TlsPolicy.REQUIRE, exactRecipients: true, activateRuleSet: true },
  { bundle: false },
);

describe('receipt rule: TLS policy and recipients', () => {
  it('TLS Require when asked (the default, Optional, is asserted with the whole rule in the stack test)', () => {
    assert.equal(ruleOf(template).TlsPolicy, 'Require');
  });

  it('exactRecipients: the catch-all domain, the routed addresses of other domains, the SRS domain', () => {
    // Routes: alias@example.com, team@example.com, @example.org (catch-all); SRS fwd.example.com.
    assert.deepEqual(ruleOf(template).Recipients, [
      'example.org',
      'alias@example.com',
      'team@example.com',
      'fwd.example.com',
    ]);
  });

  it('receiptRecipients: a catch-all covers its domain’s addresses; case folded; duplicates once', () => {
    const config = {
      acceptedDomains: ['Example.com', 'example.net'],
      routes: {
        'Boss@Example.com': ['x@remote.test'],
        '@example.net': ['y@remote.test'],
        'a@example.net': ['z@r.test'],
      },
      srs: { domain: 'fwd.example.com' },
    } as unknown as Parameters<typeof receiptRecipients>[0];
    assert.deepEqual(receiptRecipients(config, true), ['example.net', 'boss@example.com', 'fwd.example.com']);
    assert.deepEqual(receiptRecipients(config, false), ['example.com', 'example.net', 'fwd.example.com']);
  });

  it(`more than ${MAX_RULE_RECIPIENTS} exact recipients are refused, naming routes`, () => {
    const routes = Object.fromEntries(
      Array.from({ length: MAX_RULE_RECIPIENTS }, (_, i) => [`user${i}@example.com`, ['d@remote.test']]),
    );
    const config = infraConfig({ routes });
    rejects(
      () => synthStack({ config, exactRecipients: true }, { bundle: false }),
      'routes',
      /gives 101 rule recipients .* at most 100 per rule: give the busiest domains a catch-all route/,
    );
    // The same routes with whole domains fit in one rule.
    assert.equal(receiptRecipients(config, false).length, 3);
  });
});

describe('activation custom resource (activateRuleSet)', () => {
  const [id, resource] = Object.entries(template.findResources('Custom::ActiveReceiptRuleSet'))[0]!;
  const props = (resource as { Properties: Json }).Properties;

  it('one resource, no AwsCustomResource, naming the rule set; created after the rule', () => {
    template.resourceCountIs('Custom::ActiveReceiptRuleSet', 1);
    template.resourceCountIs('Custom::AWS', 0);
    assert.equal(props.RuleSetName, 'test-inbound');
    const fn = resourceNamed(template, 'AWS::Lambda::Function', 'Activation')[0];
    assert.deepEqual(props.ServiceToken, { 'Fn::GetAtt': [fn, 'Arn'] });
    const rule = Object.keys(template.findResources('AWS::SES::ReceiptRule'))[0]!;
    assert.ok(asArray((resource as { DependsOn?: string[] }).DependsOn).includes(rule), id);
  });

  it('its role may read and set the active rule set, read its own stack, write its own logs, and nothing else', () => {
    const [roleId] = resourceNamed(template, 'AWS::IAM::Role', 'ActivationRole');
    const policies = resourcesOf(template, 'AWS::IAM::Policy').filter(([, p]) =>
      asArray(p.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })),
    );
    const statements = policies.flatMap(([, p]) => (p.PolicyDocument as { Statement: Json[] }).Statement);
    const ses = statements.filter((s) =>
      asArray(s.Action as string | string[]).some((a) => a.startsWith('ses:')),
    );
    assert.equal(ses.length, 1);
    assert.deepEqual(asArray(ses[0]!.Action as string[]).sort(), [...ACTIVATION_ACTIONS].sort());
    assert.equal(ses[0]!.Resource, '*');
    // DescribeStacks on this stack only (is it being deleted, or the resource removed?).
    const cfn = statements.filter((s) =>
      asArray(s.Action as string | string[]).some((a) => a.startsWith('cloudformation:')),
    );
    assert.equal(cfn.length, 1);
    assert.deepEqual(asArray(cfn[0]!.Action as string[]), ['cloudformation:DescribeStacks']);
    assert.deepEqual(cfn[0]!.Resource, { Ref: 'AWS::StackId' });
    const others = statements.filter((s) => s !== ses[0] && s !== cfn[0]);
    for (const s of others) {
      for (const action of asArray(s.Action as string | string[]))
        assert.match(action, /^logs:(CreateLogStream|PutLogEvents)$/);
    }
    // No other role in the template got the SES activation actions.
    const anywhere = allStatements(template).filter((s) =>
      asArray(s.Action as string | string[]).includes('ses:SetActiveReceiptRuleSet'),
    );
    assert.equal(anywhere.length, 1);
  });
});

/** Every SES (and other explicitly) named resource of a template: type → names. */
function sesNames(template: Template): string[] {
  const names: string[] = [];
  const pick = (type: string, get: (p: Json) => unknown) => {
    for (const [, p] of resourcesOf(template, type)) names.push(String(get(p)));
  };
  pick('AWS::SES::ConfigurationSet', (p) => p.Name);
  pick('AWS::SES::DedicatedIpPool', (p) => p.PoolName);
  pick('AWS::SES::Tenant', (p) => p.TenantName);
  pick('AWS::SES::ReceiptRuleSet', (p) => p.RuleSetName);
  pick('AWS::SES::ReceiptRule', (p) => `${JSON.stringify(p.RuleSetName)}/${(p.Rule as Json).Name}`);
  return names;
}

/** Properties that name a resource uniquely in the account and region (not MetricName, PolicyName). */
const ACCOUNT_WIDE_NAME =
  /^(FunctionName|TableName|BucketName|QueueName|TopicName|LogGroupName|RoleName|DashboardName|AlarmName|ManagedPolicyName|Name)$/;

/** Literal names of any other resource that must be unique in the account (plain strings). */
function otherLiteralNames(template: Template): string[] {
  const out: string[] = [];
  for (const r of Object.values(
    template.toJSON().Resources as Record<string, { Type: string; Properties?: Json }>,
  )) {
    if (r.Type.startsWith('AWS::SES::')) continue;
    for (const [k, v] of Object.entries(r.Properties ?? {})) {
      if (ACCOUNT_WIDE_NAME.test(k) && typeof v === 'string') out.push(`${r.Type}.${k}=${v}`);
    }
  }
  return out;
}

describe('SES names derived from the stack', () => {
  it('two stacks with different names in one app: no SES name in common, the functions get their own', () => {
    const app = new App({ context: NO_BUNDLING });
    const build = (name: string) =>
      new OutboundPoolsStack(app, name, { env: { account: ACCOUNT, region: REGION }, config: infraConfig() });
    const stacks = [build('Staging'), build('Production')];
    const templates = stacks.map((s) => Template.fromStack(s));
    const [staging, production] = templates.map(sesNames);
    // 3 configuration sets, 3 IP pools, 3 tenants, a rule set, a rule.
    assert.equal(staging!.length, 11);
    assert.deepEqual(
      staging!.filter((n) => production!.includes(n)),
      [],
    );
    const [stagingOther, productionOther] = templates.map(otherLiteralNames);
    assert.deepEqual(
      stagingOther!.filter((n) => productionOther!.includes(n)),
      [],
    );
    for (const [i, prefix] of ['staging-', 'production-'].entries()) {
      const t = templates[i]!;
      // The operator reads the prefix from the stack's outputs (for the CLI's namePrefix).
      t.hasOutput('NamePrefix', { Value: prefix.slice(0, -1) });
      for (const n of sesNames(t).filter((n) => !n.startsWith('{'))) assert.ok(n.startsWith(prefix), n);
      // The pause function names the configuration sets and tenants the template creates.
      const [, fn] = resourcesOf(t, 'AWS::Lambda::Function').find(([fid]) => fid.includes('PoolPause'))!;
      const pools = JSON.parse((fn.Environment as { Variables: Json }).Variables.POOLS as string) as Record<
        string,
        { configurationSet: string; tenant: string }
      >;
      const sets = resourcesOf(t, 'AWS::SES::ConfigurationSet').map(([, p]) => p.Name);
      const tenants = resourcesOf(t, 'AWS::SES::Tenant').map(([, p]) => p.TenantName);
      for (const p of Object.values(pools)) {
        assert.ok(sets.includes(p.configurationSet), p.configurationSet);
        assert.ok(tenants.includes(p.tenant), p.tenant);
      }
      // The router's bundled configuration is the construct's (prefixed, namePrefix applied).
      const deployed = stacks[i]!.outboundPools.config;
      assert.deepEqual(
        Object.values(deployed.pools).map((p) => p.configurationSet),
        sets,
      );
      assert.equal(deployed.namePrefix, undefined);
    }
  });

  it("the configuration's namePrefix wins over the stack name, and the CLI computes the same names", () => {
    const json = { ...INFRA_CONFIG_JSON, namePrefix: 'prod' };
    const { template } = synthStack({ config: parseConfig(json) }, { bundle: false });
    // What the CLI (doctor, pools) does with the same file: functions/cli/io.ts loadConfig.
    const cli = deployedConfig(parseConfig(json));
    const sets = resourcesOf(template, 'AWS::SES::ConfigurationSet').map(([, p]) => p.Name);
    const pools = resourcesOf(template, 'AWS::SES::DedicatedIpPool').map(([, p]) => p.PoolName);
    const tenants = resourcesOf(template, 'AWS::SES::Tenant').map(([, p]) => p.TenantName);
    assert.deepEqual(sets, ['prod-outbound-normal', 'prod-outbound-high-risk', 'prod-outbound-relay']);
    assert.deepEqual(
      Object.values(cli.pools).map((p) => p.configurationSet),
      sets,
    );
    assert.deepEqual(
      Object.values(cli.pools).map((p) => p.ipPool),
      pools,
    );
    assert.deepEqual(
      Object.values(cli.pools).map((p) => p.tenant),
      tenants,
    );
    template.hasResourceProperties('AWS::SES::ReceiptRuleSet', { RuleSetName: 'prod-inbound' });
    // Applying it again (the bundled file read by a tool) changes nothing.
    assert.deepEqual(deployedConfig(cli), cli);
  });

  it('SES-managed and existing IP pools keep their names', () => {
    const config = parseConfig({
      ...INFRA_CONFIG_JSON,
      pools: {
        normal: { configurationSet: 'n', ipPool: 'ses-shared-pool' },
        'high-risk': { configurationSet: 'h', ipPool: 'legacy-ips' },
        relay: { configurationSet: 'r' },
      },
    });
    const deployed = withNamePrefix(config, 'st', ['legacy-ips']);
    assert.deepEqual(
      Object.values(deployed.pools).map((p) => [p.configurationSet, p.ipPool, p.tenant]),
      [
        ['st-n', 'ses-shared-pool', 'st-n'],
        ['st-h', 'legacy-ips', 'st-h'],
        ['st-r', 'st-r', 'st-r'],
      ],
    );
  });

  it('a name SES would refuse once prefixed, or a bad prefix, is refused naming the field', () => {
    const long = 'x'.repeat(60);
    const config = parseConfig({
      ...INFRA_CONFIG_JSON,
      pools: { normal: { configurationSet: long } },
    });
    rejects(() => withNamePrefix(config, 'staging'), 'pools.normal.configurationSet', /longer than SES's 64/);
    rejects(() => withNamePrefix(infraConfig(), 'Bad_Prefix'), 'namePrefix', /lowercase/);
    assert.throws(() => parseConfig({ ...INFRA_CONFIG_JSON, namePrefix: 'Prod' }), /namePrefix/);
    assert.throws(() => parseConfig({ ...INFRA_CONFIG_JSON, namePrefix: '-prod' }), /namePrefix/);
    assert.throws(() => parseConfig({ ...INFRA_CONFIG_JSON, namePrefix: 'p'.repeat(33) }), /namePrefix/);
  });
});

describe('region', () => {
  it('every listed region is accepted; others fail in one line naming region', () => {
    for (const r of SES_RECEIVING_REGIONS) assert.equal(checkReceivingRegion(r), r);
    for (const r of ['sa-east-1', 'us-west-1', 'eu-south-1', 'EU-WEST-1', '']) {
      rejects(() => checkReceivingRegion(r), 'region', /SES does not receive email in/);
    }
  });

  it('a stack in a region without receiving, or without a region, fails at synth', () => {
    const app = new App({ context: NO_BUNDLING });
    const inSaoPaulo = new Stack(app, 'SaoPaulo', { env: { account: ACCOUNT, region: 'sa-east-1' } });
    rejects(
      () => new OutboundPools(inSaoPaulo, 'OutboundPools', { config: infraConfig() }),
      'region',
      /SES does not receive email in sa-east-1/,
    );
    const agnostic = new Stack(app, 'Agnostic');
    rejects(
      () => new OutboundPools(agnostic, 'OutboundPools', { config: infraConfig() }),
      'region',
      /explicit region/,
    );
  });

  it('bin/app.ts: -c region first, then CDK_DEFAULT_REGION; neither is an error', () => {
    assert.equal(resolveAppRegion('eu-central-1', 'us-east-1'), 'eu-central-1');
    assert.equal(resolveAppRegion(undefined, 'us-east-1'), 'us-east-1');
    assert.equal(resolveAppRegion('  ', 'us-east-2'), 'us-east-2');
    rejects(() => resolveAppRegion(undefined, undefined), 'region', /no region: pass -c region=<region>/);
    rejects(() => resolveAppRegion('', ''), 'region', /no region/);
    rejects(
      () => resolveAppRegion('ap-south-1', undefined),
      'region',
      /SES does not receive email in ap-south-1/,
    );
    assert.ok(
      (() => {
        try {
          resolveAppRegion(undefined, undefined);
          return false;
        } catch (e) {
          return e instanceof InfrastructureValidationError && e.field === 'region';
        }
      })(),
    );
  });
});

describe('context keys', () => {
  const settings = (context: Record<string, unknown>) => readContextSettings(new App({ context }).node);

  it('region, tlsPolicy (any case) and exactRecipients', () => {
    const s = settings({ region: 'eu-west-2', tlsPolicy: 'require', exactRecipients: 'true' });
    assert.equal(s.region, 'eu-west-2');
    assert.equal(s.props.tlsPolicy, ses.TlsPolicy.REQUIRE);
    assert.equal(s.props.exactRecipients, true);
    assert.equal(settings({ tlsPolicy: 'Optional' }).props.tlsPolicy, ses.TlsPolicy.OPTIONAL);
    assert.equal(settings({}).props.tlsPolicy, undefined);
  });

  it('bad values name the key', () => {
    rejects(
      () => settings({ tlsPolicy: 'strict' }),
      'context tlsPolicy',
      /must be Optional or Require \(got "strict"\)/,
    );
    rejects(() => settings({ exactRecipients: 'yes' }), 'context exactRecipients', /must be true or false/);
    rejects(() => settings({ region: 5 }), 'context region', /must be a string/);
  });
});
