/**
 * Props and configuration variants: IP pools SES manages or that exist already, MANAGED
 * scaling, concurrency, timeouts, retention, rule set activation, identities, alarm
 * notifications. No function code is needed, so these synthesize without bundling.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ses from 'aws-cdk-lib/aws-ses';
import { parseConfig, parseConfigText } from '../../functions/core/config.js';
import { PROJECT_ROOT } from '../../lib/lambda-bundling.js';
import { CONFIG_JSON } from '../helpers/mail.js';
import { allStatements, asArray, infraConfig, resourceNamed, resourcesOf, synthStack } from './helpers.js';

type Json = Record<string, unknown>;

const pools = (over: Record<string, Record<string, string>>) => ({
  pools: {
    normal: { configurationSet: 'outbound-normal' },
    'high-risk': { configurationSet: 'outbound-high-risk' },
    relay: { configurationSet: 'outbound-relay' },
    ...over,
  },
});

const sendingPoolOf = (props: Json) => (props.DeliveryOptions as Json | undefined)?.SendingPoolName;
const configurationSet = (template: ReturnType<typeof synthStack>['template'], name: string) =>
  resourcesOf(template, 'AWS::SES::ConfigurationSet').find(([, p]) => p.Name === name)![1];

describe('IP pools', () => {
  it('a pool on ses-shared-pool gets no DedicatedIpPool; its configuration set names the shared pool', () => {
    // Act
    const { template } = synthStack(
      {
        config: infraConfig(
          pools({ normal: { configurationSet: 'outbound-normal', ipPool: 'ses-shared-pool' } }),
        ),
      },
      { bundle: false },
    );
    // Assess
    template.resourceCountIs('AWS::SES::DedicatedIpPool', 2);
    assert.deepEqual(
      resourcesOf(template, 'AWS::SES::DedicatedIpPool').map(([, p]) => p.PoolName),
      // Deployed names carry the stack's prefix ("Test"); the SES-managed pool keeps its name.
      ['test-outbound-high-risk', 'test-outbound-relay'],
    );
    assert.equal(sendingPoolOf(configurationSet(template, 'test-outbound-normal')), 'ses-shared-pool');
  });

  it('an existing pool is referenced by name, not created', () => {
    const { template } = synthStack(
      {
        config: infraConfig(
          pools({ relay: { configurationSet: 'outbound-relay', ipPool: 'legacy-relay-ips' } }),
        ),
        existingIpPools: ['legacy-relay-ips'],
      },
      { bundle: false },
    );
    template.resourceCountIs('AWS::SES::DedicatedIpPool', 2);
    // An existing pool keeps its own name; the configuration set is the stack's.
    assert.equal(sendingPoolOf(configurationSet(template, 'test-outbound-relay')), 'legacy-relay-ips');
  });

  it('all three on ses-shared-pool (a test account): no pool resource, and a warning', () => {
    const shared = { ipPool: 'ses-shared-pool' };
    const { stack, template } = synthStack(
      {
        config: infraConfig(
          pools({
            normal: { configurationSet: 'outbound-normal', ...shared },
            'high-risk': { configurationSet: 'outbound-high-risk', ...shared },
            relay: { configurationSet: 'outbound-relay', ...shared },
          }),
        ),
      },
      { bundle: false },
    );
    template.resourceCountIs('AWS::SES::DedicatedIpPool', 0);
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('all send through ses-shared-pool'));
  });

  it('two pools on ses-default-dedicated-pool share its IPs: a warning, as for the shared pool', () => {
    // Review of December 2026: only ses-shared-pool was warned about, yet two pools on SES's
    // default dedicated pool send from the same IPs just the same.
    const { stack } = synthStack(
      {
        config: infraConfig(
          pools({
            normal: { configurationSet: 'outbound-normal', ipPool: 'ses-default-dedicated-pool' },
            'high-risk': { configurationSet: 'outbound-high-risk', ipPool: 'ses-default-dedicated-pool' },
            relay: { configurationSet: 'outbound-relay' },
          }),
        ),
      },
      { bundle: false },
    );
    Annotations.fromStack(stack).hasWarning(
      '*',
      Match.stringLikeRegexp('normal, high-risk all send through ses-default-dedicated-pool'),
    );
  });

  it('MANAGED scaling where asked, STANDARD elsewhere', () => {
    const { template } = synthStack(
      { ipPoolScaling: { normal: ses.ScalingMode.MANAGED } },
      { bundle: false },
    );
    template.hasResourceProperties('AWS::SES::DedicatedIpPool', {
      PoolName: 'test-outbound-normal',
      ScalingMode: 'MANAGED',
    });
    template.hasResourceProperties('AWS::SES::DedicatedIpPool', {
      PoolName: 'test-outbound-relay',
      ScalingMode: 'STANDARD',
    });
  });
});

describe('router and retention props', () => {
  it('reserved concurrency, timeout (lease = timeout + 60 s), log and mail retention', () => {
    const { template } = synthStack(
      {
        reservedConcurrency: 20,
        routerTimeout: Duration.seconds(120),
        logRetention: logs.RetentionDays.THREE_MONTHS,
        mailRetention: Duration.days(30),
      },
      { bundle: false },
    );
    const [, router] = resourceNamed(template, 'AWS::Lambda::Function', 'Router');
    assert.equal(router.ReservedConcurrentExecutions, 20);
    assert.equal(router.Timeout, 120);
    assert.equal(((router.Environment as Json).Variables as Json).LEASE_SECONDS, '140');
    for (const [, group] of resourcesOf(template, 'AWS::Logs::LogGroup'))
      assert.equal(group.RetentionInDays, 90);
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30 })] },
    });
  });

  it('without ARC sealing the router reads only the SRS secrets parameter from SSM', () => {
    const config = infraConfig();
    delete (config as { arc?: unknown }).arc;
    const { template } = synthStack({ config }, { bundle: false });
    const ssm = allStatements(template).filter((s) =>
      asArray(s.Action as string | string[]).some((a) => a.startsWith('ssm:')),
    );
    assert.equal(ssm.length, 1);
    assert.match(JSON.stringify(ssm[0]!.Resource), /parameter\/outbound-pools\/srs-secrets/);
    assert.doesNotMatch(JSON.stringify(ssm[0]!.Resource), /arc-key/);
  });

  it('a configuration without srs.secretsParameter cannot be deployed (secrets would ship in the code)', () => {
    const json = { ...CONFIG_JSON }; // literal srs.secrets only
    assert.throws(
      () => synthStack({ config: parseConfig(json) }, { bundle: false }),
      /srs\.secretsParameter: a deployment reads the SRS secrets from an SSM SecureString parameter/,
    );
  });

  it('a bounce sink in another domain adds that identity to the send permission', () => {
    const { template } = synthStack(
      { config: infraConfig({ bounceSink: 'bounces@sink.example.net' }) },
      { bundle: false },
    );
    const send = allStatements(template).find((s) =>
      asArray(s.Action as string[]).includes('ses:SendEmail'),
    )!;
    assert.ok(JSON.stringify(send.Resource).includes(':identity/sink.example.net'));
  });
});

describe('removal and deletion protection', () => {
  it('removalPolicy reaches every stateful resource; tables refuse a delete outside CloudFormation unless DESTROY', () => {
    // Found in a review (December 2026): the feedback dead-letter queue and the activation's
    // log group stayed Retain under DESTROY, and the tables had no deletion protection.
    const kept = synthStack({ activateRuleSet: true }, { bundle: false, validate: false }).template;
    for (const [id, table] of resourcesOf(kept, 'AWS::DynamoDB::Table'))
      assert.equal(table.DeletionProtectionEnabled, true, id);
    const destroyed = synthStack(
      { removalPolicy: RemovalPolicy.DESTROY, activateRuleSet: true },
      { bundle: false, validate: false },
    ).template;
    const retained = Object.entries(destroyed.toJSON().Resources as Record<string, Json>)
      .filter(([, r]) => r.DeletionPolicy === 'Retain')
      .map(([id]) => id);
    assert.deepEqual(retained, []);
    for (const [id, table] of resourcesOf(destroyed, 'AWS::DynamoDB::Table'))
      assert.equal(table.DeletionProtectionEnabled, false, id);
  });
});

describe('identities (opt-in)', () => {
  it('creates a domain identity for each sending domain', () => {
    const { template } = synthStack({ createIdentities: true }, { bundle: false });
    assert.deepEqual(
      resourcesOf(template, 'AWS::SES::EmailIdentity').map(([, p]) => p.EmailIdentity),
      ['example.com', 'example.org', 'fwd.example.com'],
    );
  });

  it('creates none by default', () => {
    const { template } = synthStack({}, { bundle: false });
    template.resourceCountIs('AWS::SES::EmailIdentity', 0);
  });
});

describe('alarm notifications', () => {
  it('alarmEmail: a KMS-encrypted, TLS-only topic CloudWatch may use, subscribed, on every alarm', () => {
    const { template } = synthStack({ alarmEmail: 'ops@example.com' }, { bundle: false });
    const [topicId] = resourceNamed(template, 'AWS::SNS::Topic', 'AlarmTopic');
    const [keyId] = resourceNamed(template, 'AWS::KMS::Key', 'AlarmTopic');
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          // A topic policy replaces SNS's default one: without this allow, no alarm could
          // publish (review of December 2026), scoped to this account's alarms.
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topicId },
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': Match.anyValue() },
            },
          }),
        ]),
      },
    });
    const alarms = resourcesOf(template, 'AWS::CloudWatch::Alarm');
    assert.equal(alarms.length, 25); // 24 + PoolPausedMail
    for (const [id, alarm] of alarms) {
      // Every alarm notifies the topic; the pool rate alarms also invoke the pause function.
      const actions = alarm.AlarmActions as unknown[];
      assert.deepEqual(
        actions.filter((a) => JSON.stringify(a).includes(topicId)),
        [{ Ref: topicId }],
        id,
      );
      assert.ok(
        actions.length === 1 || id.includes('PoolBounceRate') || id.includes('PoolComplaintRate'),
        id,
      );
    }
  });
});

describe('the example configuration of the repository', () => {
  it('config/outbound-pools.json synthesizes, receiving for its accepted domains and SRS domain', () => {
    // Prepare
    const config = parseConfigText(readFileSync(join(PROJECT_ROOT, 'config/outbound-pools.json'), 'utf8'));
    // Act
    const { template } = synthStack({ config }, { bundle: false });
    // Assess
    template.hasResourceProperties('AWS::SES::ReceiptRule', {
      Rule: Match.objectLike({ Recipients: [...config.acceptedDomains, config.srs.domain] }),
    });
  });
});
