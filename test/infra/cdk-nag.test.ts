/**
 * cdk-nag's AWS Solutions pack finds nothing unacknowledged, in the default stack and with
 * every optional part (rule set activation, alarm topic, identities), and every
 * acknowledgement says why. cdk-nag 3 reports through CDK's policy validation (not
 * annotations): `validateScope` gives its report directly, and a registered plugin fails
 * synthesis on any error.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { OutboundPoolsStack } from '../../lib/outbound-pools-stack.js';
import { ACCOUNT, infraConfig, NO_BUNDLING, REGION, synthStack, testApp } from './helpers.js';

function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  const out: { path: string; id: string; reason: string }[] = [];
  for (const c of root.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        out.push({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return out;
}

const variants = [
  ['default stack', {}],
  ['every option on', { activateRuleSet: true, alarmEmail: 'ops@example.com', createIdentities: true }],
] as const;

describe('cdk-nag AwsSolutionsChecks', () => {
  for (const [name, props] of variants) {
    it(`${name}: no unacknowledged error or warning`, () => {
      // Prepare
      const { app } = synthStack(props, { bundle: false });
      // Act
      const report = new AwsSolutionsChecks().validateScope(app);
      // Assess
      assert.deepEqual(
        report.violations.map(
          (v) => `${v.severity} ${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`,
        ),
        [],
      );
      assert.equal(report.success, true);
    });

    it(`${name}: every acknowledgement is specific and explained`, () => {
      const { app } = synthStack(props, { bundle: false });
      const acks = acknowledgements(app);
      assert.ok(acks.length > 0);
      for (const ack of acks) {
        assert.match(ack.id, /^AwsSolutions-[A-Z0-9]+(\[.+\])?$/, ack.path);
        assert.ok(ack.reason.length >= 80, `${ack.path} ${ack.id}: a reason, not a shrug`);
        // A wildcard is only ever acknowledged finding by finding, never as a whole rule.
        if (ack.id.startsWith('AwsSolutions-IAM5')) assert.match(ack.id, /\[Resource::.+\]$/);
      }
    });
  }

  it('registered on the app (as bin/app.ts does), the stack synthesizes', () => {
    const app = testApp(NO_BUNDLING);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    assert.doesNotThrow(() => synthStack({ activateRuleSet: true, alarmEmail: 'ops@example.com' }, { app }));
  });

  it('registered on the app, an unacknowledged finding fails synthesis (the check is live)', () => {
    const app = testApp(NO_BUNDLING);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const stack = new OutboundPoolsStack(app, 'Test', {
      env: { account: ACCOUNT, region: REGION },
      config: infraConfig(),
    });
    new s3.Bucket(stack, 'Unchecked');
    assert.throws(() => app.synth(), /Validation failed/);
  });
});
