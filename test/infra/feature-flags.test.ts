/**
 * CDK feature flags, set before any first deploy: a flag flipped later can change logical ids
 * or replace resources (aws-cdk-lib's FEATURE_FLAGS.md), so `cdk.json` carries every flag
 * aws-cdk-lib currently recommends — what `cdk init` writes for a new project. The oracle is
 * the installed library's own list (`CURRENTLY_RECOMMENDED_FLAGS` of `aws-cdk-lib/cx-api`),
 * so upgrading aws-cdk-lib fails this test until the new flags are decided on.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { App, FeatureFlags, Stack } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { CDK_JSON, FEATURE_FLAGS, isFeatureFlag } from './cdk-context.js';
import { ACCOUNT, REGION, synthStack, testApp } from './helpers.js';

const RECOMMENDED = cxapi.CURRENTLY_RECOMMENDED_FLAGS as Record<string, unknown>;

describe('cdk.json: the recommended CDK feature flags', () => {
  it('carries every flag aws-cdk-lib recommends, with the recommended value', () => {
    assert.ok(Object.keys(RECOMMENDED).length > 50, 'the library lists its recommended flags');
    const missing = Object.keys(RECOMMENDED).filter((flag) => !(flag in CDK_JSON.context));
    assert.deepEqual(missing, [], 'flags missing from cdk.json');
    for (const [flag, value] of Object.entries(RECOMMENDED)) {
      assert.deepEqual(CDK_JSON.context[flag], value, flag);
    }
  });

  it('names no flag the library does not know, nor an expired one (a typo would be silently ignored)', () => {
    const known = new Set(Object.keys(cxapi.FLAGS));
    const flags = Object.keys(CDK_JSON.context).filter(isFeatureFlag);
    assert.deepEqual(
      flags.filter((flag) => !known.has(flag)),
      [],
    );
    assert.deepEqual(
      flags.filter((flag) => cxapi.CURRENT_VERSION_EXPIRED_FLAGS.includes(flag)),
      [],
    );
  });

  it('keeps the app settings next to the flags (config and stackName)', () => {
    assert.equal(CDK_JSON.context.config, 'config/outbound-pools.json');
    assert.equal(CDK_JSON.context.stackName, 'OutboundPools');
    assert.equal(CDK_JSON.app, 'npx tsx bin/app.ts');
  });
});

describe('the tests synthesize what a deploy synthesizes', () => {
  let templateText: string;
  before(() => {
    // The default template, validated in outbound-pools-stack.test.ts.
    templateText = JSON.stringify(synthStack({}, { bundle: false, validate: false }).template.toJSON());
  });

  it("the tests' apps carry cdk.json's flags", () => {
    const app = testApp();
    for (const flag of Object.keys(RECOMMENDED)) {
      assert.deepEqual(app.node.tryGetContext(flag), FEATURE_FLAGS[flag], flag);
    }
    const stack = new Stack(app, 'Flags', { env: { account: ACCOUNT, region: REGION } });
    assert.equal(FeatureFlags.of(stack).isEnabled(cxapi.ENABLE_PARTITION_LITERALS), true);
    assert.equal(FeatureFlags.of(stack).isEnabled(cxapi.IAM_MINIMIZE_POLICIES), true);
  });

  it('the stack under test writes partitions literally, as the flag makes a deploy do', () => {
    // Without the flag, every ARN the stack formats carries {"Ref": "AWS::Partition"}.
    const bare = new Stack(new App(), 'Bare', { env: { account: ACCOUNT, region: REGION } });
    const bareArn = bare.resolve(bare.formatArn({ service: 'ses', resource: 'identity', resourceName: 'x' }));
    assert.match(JSON.stringify(bareArn), /AWS::Partition/);
    assert.ok(templateText.includes(`"arn:aws:ses:${REGION}:${ACCOUNT}:identity/example.com"`));
    assert.doesNotMatch(templateText, /AWS::Partition/);
  });
});
