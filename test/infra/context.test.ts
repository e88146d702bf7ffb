/**
 * The CDK app's settings from context: `cdk.json` values (JSON) and `-c key=value` (strings)
 * alike, with errors naming the context key.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ses from 'aws-cdk-lib/aws-ses';
import { DEFAULT_CONFIG_PATH, DEFAULT_STACK_NAME, readContextSettings } from '../../lib/context.js';
import { InfrastructureValidationError } from '../../lib/validation.js';

const read = (context: Record<string, unknown>) => readContextSettings(new App({ context }).node);

describe('readContextSettings', () => {
  it('defaults: the example configuration, stack OutboundPools, no extra props', () => {
    const s = read({});
    assert.equal(s.configPath, DEFAULT_CONFIG_PATH);
    assert.equal(s.stackName, DEFAULT_STACK_NAME);
    assert.deepEqual(s.props, {});
  });

  it('reads -c strings', () => {
    // Act
    const s = read({
      config: 'config/prod.json',
      stackName: 'MailPools',
      reservedConcurrency: '20',
      sesSendRate: '12.5',
      routerTimeoutSeconds: '120',
      routerMemoryMb: '512',
      logRetentionDays: '90',
      mailRetentionDays: '30',
      existingIpPools: 'legacy-a, legacy-b',
      ipPoolScaling: 'managed',
      alarmEmail: 'ops@example.com',
      activateRuleSet: 'true',
      createIdentities: 'false',
      ruleSetName: 'inbound',
      terminationProtection: 'true',
    });
    // Assess
    assert.equal(s.terminationProtection, true);
    assert.equal(read({}).terminationProtection, undefined);
    assert.equal(s.configPath, 'config/prod.json');
    assert.equal(s.stackName, 'MailPools');
    const { routerTimeout, mailRetention, ...rest } = s.props;
    assert.equal(routerTimeout?.toSeconds(), 120);
    assert.equal(mailRetention?.toDays(), 30);
    assert.deepEqual(rest, {
      routerMemorySize: 512,
      reservedConcurrency: 20,
      sesSendRate: 12.5,
      logRetention: logs.RetentionDays.THREE_MONTHS,
      existingIpPools: ['legacy-a', 'legacy-b'],
      ipPoolScaling: { normal: ses.ScalingMode.MANAGED },
      alarmEmail: 'ops@example.com',
      activateRuleSet: true,
      createIdentities: false,
      ruleSetName: 'inbound',
    });
  });

  it('reads cdk.json JSON values, and per-pool scaling as an object or a JSON string', () => {
    const fromJson = read({
      reservedConcurrency: 5,
      sesSendRate: 40,
      activateRuleSet: true,
      ipPoolScaling: { relay: 'MANAGED' },
    });
    assert.equal(fromJson.props.reservedConcurrency, 5);
    assert.equal(fromJson.props.sesSendRate, 40);
    assert.equal(fromJson.props.activateRuleSet, true);
    assert.deepEqual(fromJson.props.ipPoolScaling, { relay: ses.ScalingMode.MANAGED });
    const fromString = read({ ipPoolScaling: '{"high-risk":"STANDARD","normal":"MANAGED"}' });
    assert.deepEqual(fromString.props.ipPoolScaling, {
      'high-risk': ses.ScalingMode.STANDARD,
      normal: ses.ScalingMode.MANAGED,
    });
  });

  const errors: [string, Record<string, unknown>, string][] = [
    [
      'reservedConcurrency=0',
      { reservedConcurrency: '0' },
      'context reservedConcurrency: must be an integer of at least 1 (got "0")',
    ],
    [
      'reservedConcurrency=many',
      { reservedConcurrency: 'many' },
      'context reservedConcurrency: must be an integer of at least 1 (got "many")',
    ],
    ['sesSendRate=0', { sesSendRate: '0' }, 'context sesSendRate: must be a number above 0 (got "0")'],
    ['sesSendRate=-3', { sesSendRate: -3 }, 'context sesSendRate: must be a number above 0 (got -3)'],
    [
      'sesSendRate=fast',
      { sesSendRate: 'fast' },
      'context sesSendRate: must be a number above 0 (got "fast")',
    ],
    [
      'activateRuleSet=yes',
      { activateRuleSet: 'yes' },
      'context activateRuleSet: must be true or false (got "yes")',
    ],
    [
      'ipPoolScaling=FAST',
      { ipPoolScaling: 'FAST' },
      'context ipPoolScaling: must be STANDARD or MANAGED (got "FAST")',
    ],
    [
      'ipPoolScaling for no pool',
      { ipPoolScaling: '{"bulk":"MANAGED"}' },
      'context ipPoolScaling.bulk: is not a pool (normal, high-risk, relay)',
    ],
    [
      'logRetentionDays=8',
      { logRetentionDays: '8' },
      'context logRetentionDays: CloudWatch Logs keeps logs for one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 days (got 8)',
    ],
    [
      'routerMemoryMb=100',
      { routerMemoryMb: '100' },
      'context routerMemoryMb: must be an integer of at least 128 (got "100")',
    ],
    [
      'routerMemoryMb=20000',
      { routerMemoryMb: 20000 },
      'context routerMemoryMb: must be at most 10240 (got 20000)',
    ],
    [
      'existingIpPools=3',
      { existingIpPools: 3 },
      'context existingIpPools: must be a comma-separated string or a list of strings (got 3)',
    ],
  ];
  for (const [name, context, message] of errors) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => read(context),
        (e: unknown) => e instanceof InfrastructureValidationError && e.message === message,
      );
    });
  }
});
