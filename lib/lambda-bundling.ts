/**
 * What the project's functions have in common: Node.js 22 on ARM, their code bundled on this
 * machine (never in Docker) into one ES module with its dependencies, AWS SDK included
 * (`function-bundle.ts`), and their log group and role ({@link projectFunction}).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssetHashType, type Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { BUNDLE_FILE, PROJECT_ROOT } from './function-bundle.js';
import { acknowledge } from './nag.js';

export { PROJECT_ROOT };

/** A handler module of `functions/`, e.g. `router/handler.ts`. */
export function handlerEntry(relativePath: string): string {
  return join(PROJECT_ROOT, 'functions', relativePath);
}

/**
 * The runtime the handlers are built and tested for: the repository pins Node.js 22 (the
 * `node@22` devDependency, `@types/node` 22). Explicit, so a CDK upgrade never moves it.
 */
export const RUNTIME = lambda.Runtime.NODEJS_22_X;
export const ARCHITECTURE = lambda.Architecture.ARM_64;

/** Acknowledges cdk-nag's "not the latest runtime" for a function on {@link RUNTIME}, and why. */
export function acknowledgePinnedRuntime(fn: lambda.IFunction): void {
  acknowledge(
    fn,
    'AwsSolutions-L1',
    'Node.js 22 is pinned on purpose: the repository builds, type-checks (@types/node 22) and tests the ' +
      'handlers on Node 22 (the node@22 devDependency), so the Lambda runtime is the one the tests ran on. ' +
      'Move RUNTIME and the toolchain to the next LTS together.',
  );
}

/** File name of the configuration bundled next to the handler (the router's default). */
export const BUNDLED_CONFIG_FILE = 'outbound-pools.json';

/**
 * Writes the validated configuration where the bundling step can copy it from: a file named
 * by the hash of its content (so each distinct configuration is its own file), readable by
 * the current user only. Returns the path.
 */
export function stageConfigFile(config: object): string {
  const text = `${JSON.stringify(config, null, 2)}\n`;
  const dir = join(tmpdir(), 'outbound-pools-cdk');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${createHash('sha256').update(text).digest('hex').slice(0, 32)}.json`);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

/** Options of {@link functionCode}. */
export interface BundlingOptionsProps {
  /** Files to place next to the handler: bundle file name → absolute source path. */
  readonly extraFiles?: Readonly<Record<string, string>>;
}

const BUNDLE_SCRIPT = join(PROJECT_ROOT, 'bin/bundle-function.ts');

/**
 * The function's code: the handler bundled by `bin/bundle-function.ts` (esbuild's JS API with
 * the options of `function-bundle.ts`) on this machine, never in Docker — the image is only
 * there because CDK's bundling options require one. A failed build fails the synthesis with
 * esbuild's message. The asset is named by the hash of the bundle (`AssetHashType.OUTPUT`),
 * as `NodejsFunction` names its assets, so an unchanged bundle is not uploaded again.
 */
export function functionCode(entry: string, props: BundlingOptionsProps = {}): lambda.Code {
  const copies = Object.entries(props.extraFiles ?? {}).map(([name, source]) => `${name}=${source}`);
  return lambda.Code.fromAsset(PROJECT_ROOT, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: RUNTIME.bundlingImage,
      // Never run (`tryBundle` bundles or throws, so CDK never falls back to Docker), but part
      // of CDK's bundling cache key, which leaves the `local` hook out: without the entry and
      // the extra files here, every function of the stack would get the first one's bundle.
      command: ['bundle-function', entry, ...copies],
      local: {
        tryBundle(outputDir: string): boolean {
          const run = spawnSync(
            process.execPath,
            ['--import', 'tsx', BUNDLE_SCRIPT, handlerEntry(entry), outputDir, ...copies],
            { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] },
          );
          if (run.status !== 0) {
            const why = run.error?.message ?? (run.stderr.trim().split('\n').at(-1) || `exit ${run.status}`);
            throw new Error(`bundling ${entry} failed: ${why}`);
          }
          return true;
        },
      },
    },
  });
}

/** Properties of {@link projectFunction}. */
export interface ProjectFunctionProps {
  /** The handler module under `functions/`, e.g. `router/handler.ts`. */
  readonly entry: string;
  readonly description: string;
  /** What the function's role is for (IAM role description). */
  readonly roleDescription: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  /** Besides `NODE_OPTIONS=--enable-source-maps`, which every function gets. */
  readonly environment: Readonly<Record<string, string>>;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the log group when it leaves the stack. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Extra files next to the handler (the router's configuration). */
  readonly bundling?: BundlingOptionsProps;
  /** Invocation settings of asynchronous functions (destinations, retries, concurrency). */
  readonly invocation?: Pick<
    lambda.FunctionProps,
    'onFailure' | 'retryAttempts' | 'maxEventAge' | 'reservedConcurrentExecutions'
  >;
}

/**
 * One of the project's functions, created in `scope` as `Logs`, `Role` and `Function`: its own
 * log group, a role that may write only to that group (instead of AWSLambdaBasicExecutionRole),
 * Node.js 22 on ARM, source maps on, its code from {@link functionCode}. The caller grants the
 * rest.
 */
export function projectFunction(
  scope: Construct,
  props: ProjectFunctionProps,
): { function: lambda.Function; role: iam.Role; logGroup: logs.LogGroup } {
  const logGroup = new logs.LogGroup(scope, 'Logs', {
    retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
  });
  const role = new iam.Role(scope, 'Role', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: props.roleDescription,
  });
  logGroup.grantWrite(role);
  const fn = new lambda.Function(scope, 'Function', {
    description: props.description,
    code: functionCode(props.entry, props.bundling),
    // The `handler` export of the bundle (`index.mjs`).
    handler: `${BUNDLE_FILE.replace(/\.mjs$/, '')}.handler`,
    runtime: RUNTIME,
    architecture: ARCHITECTURE,
    memorySize: props.memorySize,
    timeout: props.timeout,
    role,
    logGroup,
    // Issue 16: Lambda's advanced logging controls. JSON format, system logs at WARN: Lambda
    // then writes no START/END/REPORT lines (platform events at INFO) for every invocation;
    // its Duration/Errors metrics are unaffected. Application logs stay at INFO; Powertools
    // writes its JSON lines and EMF documents through its own console, which the runtime does
    // not rewrap (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
    loggingFormat: lambda.LoggingFormat.JSON,
    systemLogLevelV2: lambda.SystemLogLevel.WARN,
    applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
    ...props.invocation,
    environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
  });
  acknowledgePinnedRuntime(fn);
  return { function: fn, role, logGroup };
}
