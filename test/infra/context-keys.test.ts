/**
 * Unknown `-c` context keys stop the synth with the nearest known key suggested; CDK's and
 * libraries' namespaced keys pass.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { CONTEXT_KEYS, readContextSettings, rejectUnknownContextKeys } from '../../lib/context.js';
import { InfrastructureValidationError } from '../../lib/validation.js';

const check = (context: Record<string, unknown>) => rejectUnknownContextKeys(new App({ context }).node);

describe('rejectUnknownContextKeys', () => {
  it('rejects a typo with the key it resembles', () => {
    assert.throws(
      () => readContextSettings(new App({ context: { reservedConcurency: '5' } }).node),
      (e: unknown) =>
        e instanceof InfrastructureValidationError &&
        e.message.includes('unknown context key "reservedConcurency" (did you mean "reservedConcurrency"?)'),
    );
    assert.throws(() => check({ StackName: 'x' }), /did you mean "stackName"\?/);
    assert.throws(() => check({ confg: 'x.json' }), /did you mean "config"\?/);
  });

  it('rejects a key like none of ours and lists the known keys', () => {
    assert.throws(
      () => check({ colour: 'blue' }),
      (e: unknown) => {
        const m = (e as Error).message;
        return (
          m.includes('unknown context key "colour"') && !m.includes('did you mean') && m.includes('stackName')
        );
      },
    );
  });

  it('accepts every key of ours, config, and namespaced CDK or library keys', () => {
    const ours = Object.fromEntries([...CONTEXT_KEYS, 'config'].map((k) => [k, '']));
    check({
      ...ours,
      '@aws-cdk/aws-lambda:recognizeVersionProps': true,
      'aws:cdk:enable-path-metadata': true,
      'availability-zones:account=123456789012:region=eu-west-1': ['eu-west-1a'],
      'cdk-nag-suppressions': [],
      'acknowledged-issue-numbers': [12345],
      'my-lib/setting': 1,
    });
  });
});
