/**
 * Building the stack under test: the test configuration of `test/helpers/mail.ts` plus an
 * ARC key in SSM. A test file synthesizes once (in `before`) and asserts on the template;
 * bundling runs local esbuild (a few seconds per function), so tests of props and variants
 * that need no function code skip it (`bundle: false`).
 */
import { App, type AppProps, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { type Config, parseConfig } from '../../functions/core/config.js';
import { OutboundPools, type OutboundPoolsProps } from '../../lib/outbound-pools.js';
import { OutboundPoolsStack } from '../../lib/outbound-pools-stack.js';
import { CONFIG_JSON } from '../helpers/mail.js';
import { FEATURE_FLAGS } from './cdk-context.js';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const ARC_PARAMETER = '/outbound-pools/arc-key';
export const SRS_PARAMETER = '/outbound-pools/srs-secrets';

/** The shared test configuration, with the SRS secrets and the ARC key in SSM parameters. */
export const INFRA_CONFIG_JSON = {
  ...CONFIG_JSON,
  srs: { ...CONFIG_JSON.srs, secretsParameter: SRS_PARAMETER },
  arc: { domain: 'fwd.example.com', selector: 'arc1', privateKey: { ssmParameter: ARC_PARAMETER } },
};

export function infraConfig(overrides: Record<string, unknown> = {}): Config {
  return parseConfig({ ...INFRA_CONFIG_JSON, ...overrides });
}

/** An app as `cdk synth` builds it: `cdk.json`'s feature flags, then `context`. */
export const testApp = (context: AppProps['context'] = {}, props: Omit<AppProps, 'context'> = {}): App =>
  new App({ ...props, context: { ...FEATURE_FLAGS, ...context } });

/** Skips asset bundling: for tests of props and validation that need no function code. */
export const NO_BUNDLING: AppProps['context'] = { 'aws:cdk:bundling-stacks': [] };

export interface Synthesized {
  app: App;
  stack: OutboundPoolsStack;
  template: Template;
}

/**
 * The application stack with the test configuration and any prop overrides, synthesized.
 *
 * `validate: false` skips CDK's built-in CloudFormation template validation (its WASM engine
 * costs seconds of CPU per process, more than the synth): only for a template another test
 * file synthesizes with validation on — the default template is validated in
 * outbound-pools-stack.test.ts (cdk.json's `validateAgainstDefaultRules` makes findings errors).
 */
export function synthStack(
  props: Partial<OutboundPoolsProps> = {},
  options: { bundle?: boolean; app?: App; validate?: boolean } = {},
): Synthesized {
  const app =
    options.app ??
    testApp(options.bundle === false ? NO_BUNDLING : {}, {
      builtinCloudFormationValidation: options.validate !== false,
    });
  const stack = new OutboundPoolsStack(app, 'Test', {
    env: { account: ACCOUNT, region: REGION },
    config: infraConfig(),
    ...props,
  });
  return { app, stack, template: Template.fromStack(stack) };
}

/** Builds `OutboundPools` in a bare stack, without bundling or synthesis (validation tests). */
export function buildConstruct(props: Partial<OutboundPoolsProps> = {}): OutboundPools {
  const app = testApp(NO_BUNDLING);
  const stack = new Stack(app, 'Validation', { env: { account: ACCOUNT, region: REGION } });
  return new OutboundPools(stack, 'OutboundPools', { config: infraConfig(), ...props });
}

type Json = Record<string, unknown>;

/** The resources of one type: logical id → properties. */
export function resourcesOf(template: Template, type: string): [string, Json][] {
  return Object.entries(template.findResources(type)).map(([id, r]) => [id, (r as Json).Properties as Json]);
}

/** The only resource of a type whose logical id contains `idPart`. */
export function resourceNamed(template: Template, type: string, idPart: string): [string, Json] {
  const found = resourcesOf(template, type).filter(([id]) => id.includes(idPart));
  if (found.length !== 1) throw new Error(`expected one ${type} named *${idPart}*, found ${found.length}`);
  return found[0]!;
}

/** The logical id of the only resource of a type whose logical id contains `idPart`. */
export function logicalId(template: Template, type: string, idPart: string): string {
  return resourceNamed(template, type, idPart)[0];
}

/** Every IAM policy statement of the template (identity and resource policies). */
export function allStatements(template: Template): Json[] {
  const out: Json[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Json;
      if (Array.isArray(o.Statement)) out.push(...(o.Statement as Json[]));
      else Object.values(o).forEach(walk);
    }
  };
  walk(template.toJSON().Resources);
  return out;
}

export const asArray = <T>(v: T | T[] | undefined): T[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

/**
 * A dashboard body (an `Fn::Join` of text and tokens) as parsed JSON, each token replaced
 * by `"<token>"`-free text: references become `{REF}`.
 */
export function dashboardBody(template: Template): { widgets: Json[] } {
  const [, props] = resourcesOf(template, 'AWS::CloudWatch::Dashboard')[0]!;
  const body = props.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  const text =
    typeof body === 'string'
      ? body
      : body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '{REF}')).join('');
  return JSON.parse(text) as { widgets: Json[] };
}

/** A metric of a dashboard widget: namespace, name and dimensions. */
export interface DashboardMetric {
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  stat?: string;
  expression?: string;
}

/** Every metric and expression of every widget of a dashboard body. */
export function dashboardMetrics(body: { widgets: Json[] }): DashboardMetric[] {
  const out: DashboardMetric[] = [];
  for (const widget of body.widgets) {
    const metrics = ((widget.properties as Json | undefined)?.metrics as unknown[][] | undefined) ?? [];
    for (const row of metrics) {
      const options = (typeof row[row.length - 1] === 'object' ? row[row.length - 1] : {}) as Json;
      if (typeof options.expression === 'string') {
        out.push({ namespace: '', metricName: '', dimensions: {}, expression: options.expression });
        continue;
      }
      const parts = row.filter((p) => typeof p === 'string') as string[];
      const [namespace = '', metricName = '', ...dims] = parts;
      const dimensions: Record<string, string> = {};
      for (let i = 0; i + 1 < dims.length; i += 2) dimensions[dims[i]!] = dims[i + 1]!;
      out.push({
        namespace,
        metricName,
        dimensions,
        ...(typeof options.stat === 'string' ? { stat: options.stat } : {}),
      });
    }
  }
  return out;
}
