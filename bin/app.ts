#!/usr/bin/env node
/**
 * The CDK app (`cdk.json`: `npx tsx bin/app.ts`): reads and validates the configuration file
 * (`-c config=path`, default `config/outbound-pools.json`) with the same parser as the
 * functions, builds the stack for the CLI's account and an explicit region (`-c region=…`, else
 * `CDK_DEFAULT_REGION`; neither is an error, and so is a region where SES receives no email:
 * `lib/regions.ts`), and runs cdk-nag's AWS Solutions checks on it. A bad configuration stops
 * the synth with a message naming the field.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Annotations, App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfigText } from '../functions/core/config.js';
import { OutboundPoolsError } from '../functions/core/errors.js';
import { readContextSettings } from '../lib/context.js';
import { OutboundPoolsStack } from '../lib/outbound-pools-stack.js';
import { resolveAppRegion } from '../lib/regions.js';

function main(): void {
  const app = new App();
  const settings = readContextSettings(app.node);
  const region = resolveAppRegion(settings.region, process.env.CDK_DEFAULT_REGION);
  const path = resolve(settings.configPath);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new OutboundPoolsError(`cannot read configuration ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const config = parseConfigText(text, settings.configPath);
  const stack = new OutboundPoolsStack(app, settings.stackName, {
    description: 'Outbound delivery pools (normal, high-risk, relay) on Amazon SES',
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region },
    ...(settings.terminationProtection !== undefined
      ? { terminationProtection: settings.terminationProtection }
      : {}),
    config,
    ...settings.props,
  });
  if (config.namePrefix === undefined) {
    // The CLI (doctor, pools) knows the SES names only from the configuration file.
    const prefix = stack.outboundPools.namePrefix;
    Annotations.of(stack).addWarningV2(
      'outbound-pools:namePrefix',
      `SES names are prefixed "${prefix}-" (the stack name); add "namePrefix": "${prefix}" to ${settings.configPath} so that outbound-pools doctor and pools find them`,
    );
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
}

try {
  main();
} catch (error) {
  // Configuration and validation errors are the operator's to fix: the message, no stack.
  if (error instanceof OutboundPoolsError) {
    process.stderr.write(`outbound-pools: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
