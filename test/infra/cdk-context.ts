/**
 * The context `cdk synth` gives the app, for tests that build stacks in-process: the CDK CLI
 * merges `cdk.json`'s `context` into the app's, so its feature flags change what a deploy
 * synthesizes (partition literals, minimized IAM policies...). An `App` built without them
 * would test another template than the one deployed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../lib/lambda-bundling.js';

/** `cdk.json` as committed. */
export const CDK_JSON = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
  app: string;
  context: Record<string, unknown>;
};

/** Whether a context key is an aws-cdk-lib feature flag (`@aws-cdk/…`, `@aws-cdk-containers/…`). */
export const isFeatureFlag = (key: string): boolean => key.startsWith('@aws-cdk');

/** The feature flags of `cdk.json`: what every in-process `App` of the tests starts from. */
export const FEATURE_FLAGS: Readonly<Record<string, unknown>> = Object.fromEntries(
  Object.entries(CDK_JSON.context).filter(([key]) => isFeatureFlag(key)),
);
