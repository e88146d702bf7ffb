/**
 * Deployed SES names (issue 15 item 4): the prefix a stack name gives, and the prefixed
 * configuration every component uses.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../functions/core/errors.js';
import {
  deployedConfig,
  prefixFromStackName,
  ruleNameFor,
  ruleSetNameFor,
  withNamePrefix,
} from '../../functions/core/resource-names.js';
import { testConfig } from '../helpers/mail.js';

describe('prefixFromStackName', () => {
  it('lowercases; CloudFormation stack names are letters, digits and - already', () => {
    assert.equal(prefixFromStackName('OutboundPools'), 'outboundpools');
    assert.equal(prefixFromStackName('Staging-EU'), 'staging-eu');
    // Whatever else a construct id holds becomes -, and no - is left at either end.
    assert.equal(prefixFromStackName('a_b.c-'), 'a-b-c');
  });

  it('no usable prefix (too long, nothing left) is a one-line error asking for namePrefix', () => {
    for (const name of ['S'.repeat(33), '---', '']) {
      assert.throws(
        () => prefixFromStackName(name),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.field === 'namePrefix' &&
          /set namePrefix/.test(e.message) &&
          !e.message.includes('\n'),
      );
    }
  });
});

describe('withNamePrefix', () => {
  it('prefixes every pool name and the rule set and rule; the result carries no namePrefix', () => {
    const config = testConfig({ namePrefix: 'prod' });
    const deployed = withNamePrefix(config, 'prod');
    assert.deepEqual(
      Object.values(deployed.pools).map((p) => [p.configurationSet, p.ipPool, p.tenant]),
      [
        ['prod-outbound-normal', 'prod-outbound-normal', 'prod-outbound-normal'],
        ['prod-outbound-high-risk', 'prod-outbound-high-risk', 'prod-outbound-high-risk'],
        ['prod-outbound-relay', 'prod-outbound-relay', 'prod-outbound-relay'],
      ],
    );
    assert.equal(deployed.namePrefix, undefined);
    assert.equal(ruleSetNameFor('prod'), 'prod-inbound');
    assert.equal(ruleNameFor('prod'), 'prod-route-to-pools');
    // Everything else is untouched.
    const { namePrefix: _prefix, ...rest } = config;
    assert.deepEqual({ ...deployed, pools: config.pools }, rest);
  });

  it("deployedConfig: the file's own namePrefix applied once; no namePrefix, names as written", () => {
    const plain = testConfig();
    assert.equal(deployedConfig(plain), plain);
    const once = deployedConfig(testConfig({ namePrefix: 'stg' }));
    assert.equal(once.pools.relay.configurationSet, 'stg-outbound-relay');
    assert.deepEqual(deployedConfig(once), once);
  });
});
