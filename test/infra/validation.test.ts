/**
 * Combinations the stack cannot (or must not) deploy fail at synth time with an error that
 * names the configuration field or prop, before any resource or bundle is made.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Duration, Stack } from 'aws-cdk-lib';
import type { CfnRule } from 'aws-cdk-lib/aws-events';
import * as ses from 'aws-cdk-lib/aws-ses';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { OutboundPoolsError } from '../../functions/core/errors.js';
import { InfrastructureValidationError, logRetentionFromDays } from '../../lib/validation.js';
import { buildConstruct, infraConfig } from './helpers.js';

const pools = (over: Record<string, Record<string, string>>) =>
  infraConfig({
    pools: {
      normal: { configurationSet: 'outbound-normal' },
      'high-risk': { configurationSet: 'outbound-high-risk' },
      relay: { configurationSet: 'outbound-relay' },
      ...over,
    },
  });

/** Asserts the build throws an InfrastructureValidationError with this field and exact message. */
function rejects(build: () => unknown, field: string, message: string): void {
  assert.throws(build, (error: unknown) => {
    assert.ok(error instanceof InfrastructureValidationError, String(error));
    assert.ok(error instanceof OutboundPoolsError);
    assert.equal(error.name, 'InfrastructureValidationError');
    assert.equal(error.field, field);
    assert.equal(error.message, `${field}: ${message}`);
    return true;
  });
}

describe('pools', () => {
  const cases: [string, () => unknown, string, string][] = [
    [
      'two pools on one configuration set',
      () => buildConstruct({ config: pools({ relay: { configurationSet: 'outbound-normal' } }) }),
      'pools.relay.configurationSet',
      // Deployed names: the stack name ("Validation") is the prefix.
      '"validation-outbound-normal" is already the configuration set of pool normal; every pool needs its own configuration set',
    ],
    [
      'two pools on one dedicated IP pool',
      () =>
        buildConstruct({
          config: pools({
            normal: { configurationSet: 'outbound-normal', ipPool: 'shared-ips' },
            relay: { configurationSet: 'outbound-relay', ipPool: 'shared-ips' },
          }),
        }),
      'pools.relay.ipPool',
      '"validation-shared-ips" is already the IP pool of pool normal; pools that share dedicated IPs share their reputation',
    ],
    [
      'an IP pool name SES would refuse to create',
      () =>
        buildConstruct({
          config: pools({ normal: { configurationSet: 'outbound-normal', ipPool: 'Normal_IPs' } }),
        }),
      'pools.normal.ipPool',
      'SES dedicated IP pool names are 1-64 lowercase letters, digits, _ and - (got "validation-Normal_IPs"); ' +
        'name an existing pool in existingIpPools to use it as it is',
    ],
    [
      'a scaling mode for ses-shared-pool',
      () =>
        buildConstruct({
          config: pools({ normal: { configurationSet: 'outbound-normal', ipPool: 'ses-shared-pool' } }),
          ipPoolScaling: { normal: ses.ScalingMode.MANAGED },
        }),
      'ipPoolScaling.normal',
      'a scaling mode applies to a dedicated IP pool this stack creates; "ses-shared-pool" is managed by SES',
    ],
    [
      'a scaling mode for an existing pool',
      () =>
        buildConstruct({
          existingIpPools: ['outbound-relay'],
          ipPoolScaling: { relay: ses.ScalingMode.MANAGED },
        }),
      'ipPoolScaling.relay',
      'a scaling mode applies to a dedicated IP pool this stack creates; "outbound-relay" is an existing pool (existingIpPools)',
    ],
    [
      'an existing pool no pool uses (a typo)',
      () => buildConstruct({ existingIpPools: ['outbound-relais'] }),
      'existingIpPools',
      '"outbound-relais" is not the ipPool of any pool (validation-outbound-normal, validation-outbound-high-risk, validation-outbound-relay)',
    ],
  ];
  for (const [name, build, field, message] of cases) it(name, () => rejects(build, field, message));

  it('ses-shared-pool may serve several pools (no isolation, a warning only)', () => {
    const shared = { ipPool: 'ses-shared-pool' };
    assert.doesNotThrow(() =>
      buildConstruct({
        config: pools({
          normal: { configurationSet: 'outbound-normal', ...shared },
          relay: { configurationSet: 'outbound-relay', ...shared },
        }),
      }),
    );
  });

  it('an existing pool may keep a name SES created with upper case', () => {
    assert.doesNotThrow(() =>
      buildConstruct({
        config: pools({ normal: { configurationSet: 'outbound-normal', ipPool: 'Legacy_IPs' } }),
        existingIpPools: ['Legacy_IPs'],
      }),
    );
  });
});

describe('router', () => {
  const cases: [string, () => unknown, string, string][] = [
    [
      'reserved concurrency below 1',
      () => buildConstruct({ reservedConcurrency: 0 }),
      'reservedConcurrency',
      'must be an integer of at least 1 (got 0)',
    ],
    [
      'fractional reserved concurrency',
      () => buildConstruct({ reservedConcurrency: 2.5 }),
      'reservedConcurrency',
      'must be an integer of at least 1 (got 2.5)',
    ],
    [
      'an SES send rate of 0',
      () => buildConstruct({ sesSendRate: 0 }),
      'sesSendRate',
      "must be the SES account's maximum send rate, messages per second, above 0 (got 0)",
    ],
    [
      'an SES send rate that is not a number',
      () => buildConstruct({ sesSendRate: Number.NaN }),
      'sesSendRate',
      "must be the SES account's maximum send rate, messages per second, above 0 (got NaN)",
    ],
    [
      'a timeout over Lambda’s 900 s',
      () => buildConstruct({ routerTimeout: Duration.seconds(901) }),
      'routerTimeout',
      'must be an integer from 10 to 900 (got 901)',
    ],
    [
      'an ARC key file (not in Lambda)',
      () =>
        buildConstruct({
          config: infraConfig({
            arc: { domain: 'fwd.example.com', selector: 'arc1', privateKey: { file: 'keys/arc.pem' } },
          }),
        }),
      'arc.privateKey.file',
      'a key file exists only on this machine, not in Lambda; store the key in an SSM SecureString parameter and set arc.privateKey.ssmParameter',
    ],
  ];
  for (const [name, build, field, message] of cases) it(name, () => rejects(build, field, message));

  it('bursts wait: the reserved concurrency is derived from the SES send rate unless given', () => {
    // Oracle: the documented formula, max(2, ceil(rate × 1 s)), worked out by hand.
    const cap = (props: Parameters<typeof buildConstruct>[0]) => {
      const router = buildConstruct(props).router;
      const cfn = router.function.node.defaultChild as { reservedConcurrentExecutions?: number };
      assert.equal(cfn.reservedConcurrentExecutions, router.reservedConcurrency, 'the function gets it');
      return router.reservedConcurrency;
    };
    assert.equal(cap({}), 14, 'SES production default: 14 messages/s');
    assert.equal(cap({ sesSendRate: 50 }), 50);
    assert.equal(cap({ sesSendRate: 2.5 }), 3, 'rounded up');
    assert.equal(cap({ sesSendRate: 1 }), 2, 'the floor: SES sandbox rate');
    assert.equal(cap({ sesSendRate: 0.2 }), 2);
    assert.equal(cap({ sesSendRate: 50, reservedConcurrency: 7 }), 7, 'reservedConcurrency overrides');
  });
});

describe('mail, receipt and alarms', () => {
  const many = Array.from({ length: 100 }, (_, i) => `d${i}.example.com`);
  const cases: [string, () => unknown, string, string][] = [
    [
      'mail retention under a day',
      () => buildConstruct({ mailRetention: Duration.hours(12) }),
      'mailRetention',
      'S3 expires objects after whole days, at least 1 (got 0.5 days)',
    ],
    [
      // Issue 15: 14 days in the dead-letter queue, reached up to 6 h after receipt.
      'mail kept for less than a dead letter can wait',
      () => buildConstruct({ mailRetention: Duration.days(14) }),
      'mailRetention',
      'raw mail must be kept at least 15 days (context mailRetentionDays, got 14): a dead letter is kept 14 days in its queue, which it reaches up to 6 hours after the message was received, and a redrive reads the raw message',
    ],
    [
      // Review of December 2026: a redrive after the trace record expired sent copies again.
      'trace records kept for less than a dead letter can wait',
      () => buildConstruct({ config: infraConfig({ trace: { retentionDays: 14 } }) }),
      'trace.retentionDays',
      'trace records must be kept at least 15 days (got 14): a dead letter is kept 14 days in its queue, which it reaches up to 6 hours after the message was received, and a redrive reads its trace to send no copy twice',
    ],
    [
      'more recipients than one receipt rule takes',
      () => buildConstruct({ config: infraConfig({ acceptedDomains: many, routes: {} }) }),
      'acceptedDomains',
      'a receipt rule takes 1 to 100 recipients (accepted domains plus the SRS domain), got 101',
    ],
    [
      'a rule set name SES refuses',
      () => buildConstruct({ ruleSetName: 'inbound rules' }),
      'ruleSetName',
      'SES names are 1-64 letters, digits, _ . and -, starting and ending with a letter or digit (got "inbound rules")',
    ],
    [
      'an alarm address that is not one',
      () => buildConstruct({ alarmEmail: 'ops-at-example' }),
      'alarmEmail',
      'must be an email address such as ops@example.com (got "ops-at-example")',
    ],
    [
      'both a new and an existing alarm topic',
      () =>
        buildConstruct({
          alarmEmail: 'ops@example.com',
          alarmTopic: {} as sns.ITopic,
        }),
      'alarmEmail',
      'give alarmEmail (a new topic) or alarmTopic (an existing one), not both',
    ],
  ];
  for (const [name, build, field, message] of cases) it(name, () => rejects(build, field, message));
});

describe('log retention', () => {
  it('accepts the periods CloudWatch Logs offers', () => {
    assert.equal(logRetentionFromDays('logRetentionDays', 30), 30);
    assert.equal(logRetentionFromDays('logRetentionDays', 3653), 3653);
  });

  it('refuses others, listing the valid ones', () => {
    rejects(
      () => logRetentionFromDays('logRetentionDays', 8),
      'logRetentionDays',
      'CloudWatch Logs keeps logs for one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 days (got 8)',
    );
  });
});

describe('feedback rule: which SES events reach the feedback function (issue 16)', () => {
  const SES_EVENTS = [
    'Email Sent',
    'Email Delivered',
    'Email Bounced',
    'Email Complaint Received',
    'Email Rejected',
    'Email Delivery Delayed',
    'Email Rendering Failed',
  ];
  const FAILURES = SES_EVENTS.slice(2);
  /** The SES detail types the synthesized rule matches (EventBridge: an exact value in the list). */
  const matched = (trace: Record<string, unknown>): string[] => {
    const pools = buildConstruct({ config: infraConfig({ trace }) });
    const rule = pools.feedback.rule.node.defaultChild as CfnRule;
    const pattern = Stack.of(rule).resolve(rule.eventPattern) as Record<string, unknown>;
    assert.deepEqual(pattern.source, ['aws.ses']);
    const types = pattern['detail-type'] as string[];
    return SES_EVENTS.filter((t) => types.includes(t));
  };

  it('by default only the failures: no Send, no Delivery', () => {
    assert.deepEqual(matched({}), FAILURES);
  });

  it('trace.deliveryEvents: true adds Email Delivered, still no Email Sent', () => {
    assert.deepEqual(matched({ deliveryEvents: true }), ['Email Delivered', ...FAILURES]);
  });

  it('trace.deliveryEvents must be a boolean', () => {
    assert.throws(() => infraConfig({ trace: { deliveryEvents: 'yes' } }), /trace\.deliveryEvents/);
  });
});
