/**
 * What the project's functions have in common: the repository layout, Node.js 22 on ARM, the
 * esbuild options (local esbuild, never Docker) that bundle a handler and its dependencies,
 * AWS SDK included, into one ES module, and their log group and role ({@link projectFunction}).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledge } from './nag.js';

/** The repository root (`lib/..`): esbuild's working directory and where the lock file is. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** A handler module of `functions/`, e.g. `router/handler.ts`. */
export function handlerEntry(relativePath: string): string {
  return join(PROJECT_ROOT, 'functions', relativePath);
}

/**
 * The runtime the handlers are built and tested for: the repository pins Node.js 22 (the
 * `node@22` devDependency, `@types/node` 22). Explicit, or NodejsFunction picks its own.
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

/**
 * Modules replaced at bundle time by small stand-ins in `functions/shims/` (bundle size and
 * cold start: libmime's legacy charset tables are ~0.7 MB, and `TextDecoder` decodes the same
 * charsets; joi and its `@hapi/*` dependencies are ~0.2 MB, built at load time for the two
 * string checks mailauth makes with them; the SDK's default credential chain is ~0.1 MB of
 * SSO, INI, process and STS code, where Lambda gives the credentials in the environment;
 * libmime's MIME type table, ~70 KB built at load time, serves only lookups by file extension,
 * which nothing bundled makes: its stand-in has the four functions the bundle calls; tldts'
 * Public Suffix List is ~140 KB of numeric array literals whose labels are all hashed at load
 * time: its stand-in has the same tables deflated, and hashes a node's labels when a lookup
 * reaches it). Tested against the real modules in `test/core/shims.test.ts`,
 * `test/core/libmime-shim.test.ts` and `test/core/tldts-shim.test.ts`.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  'iconv-lite': join(PROJECT_ROOT, 'functions/shims/iconv-lite.ts'),
  'encoding-japanese': join(PROJECT_ROOT, 'functions/shims/encoding-japanese.ts'),
  joi: join(PROJECT_ROOT, 'functions/shims/joi.ts'),
  '@aws-sdk/credential-provider-node': join(PROJECT_ROOT, 'functions/shims/credential-provider-node.ts'),
  libmime: join(PROJECT_ROOT, 'functions/shims/libmime.ts'),
  tldts: join(PROJECT_ROOT, 'functions/shims/tldts.ts'),
  // The stand-in decodes charsets with libmime's own module: an exact alias to the real file,
  // which esbuild prefers to the `libmime` prefix above.
  'libmime/lib/charset.js': createRequire(import.meta.url).resolve('libmime/lib/charset.js'),
  // One address parser, not two: `functions/` imports nodemailer's ES module build and mailauth
  // requires its CommonJS build of the same source (17 KB twice). Both get the CommonJS one,
  // whose export is the function itself (`test/core/addressparser-builds.test.ts`).
  'nodemailer/lib/addressparser': createRequire(import.meta.url).resolve('nodemailer/lib/addressparser'),
};

/** File name of the configuration bundled next to the handler (the router's default). */
export const BUNDLED_CONFIG_FILE = 'outbound-pools.json';

/**
 * ES modules have no `require`; CommonJS dependencies bundled into one (esbuild's
 * `__require` shim) need it, so the bundle defines one from `import.meta.url`.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __outboundPoolsCreateRequire } from 'node:module'; " +
  'const require = __outboundPoolsCreateRequire(import.meta.url);';

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

/** Options of {@link bundlingOptions}. */
export interface BundlingOptionsProps {
  /** Files to place next to the handler: bundle file name → absolute source path. */
  readonly extraFiles?: Readonly<Record<string, string>>;
}

/**
 * ESM output (`index.mjs`) with a `require` banner, minified, with source maps
 * (`NODE_OPTIONS=--enable-source-maps` is set by the functions), and every module bundled —
 * `externalModules: []`, so the function runs the SDK version the repository tests.
 *
 * The source maps carry mappings only (`sourcesContent: false`): a stack trace needs file,
 * line and column, not the sources, and Node reads the whole map when the bundle loads with
 * source maps on — without the sources the router's map is about a third of the size.
 */
export function bundlingOptions(props: BundlingOptionsProps = {}): nodejs.BundlingOptions {
  const copies = Object.entries(props.extraFiles ?? {});
  return {
    format: nodejs.OutputFormat.ESM,
    target: 'node22',
    mainFields: ['module', 'main'],
    banner: ESM_REQUIRE_BANNER,
    minify: true,
    sourceMap: true,
    sourcesContent: false,
    externalModules: [],
    esbuildArgs: Object.fromEntries(
      Object.entries(BUNDLE_ALIASES).map(([from, to]) => [`--alias:${from}`, to]),
    ),
    forceDockerBundling: false,
    ...(copies.length > 0
      ? {
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: (_inputDir: string, outputDir: string) =>
              copies.map(([name, source]) => {
                const target = JSON.stringify(join(outputDir, name));
                // Lambda runs the code as another user: the copy must be world-readable.
                return `cp ${JSON.stringify(source)} ${target} && chmod 644 ${target}`;
              }),
          },
        }
      : {}),
  };
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
    nodejs.NodejsFunctionProps,
    'onFailure' | 'retryAttempts' | 'maxEventAge' | 'reservedConcurrentExecutions'
  >;
}

/**
 * One of the project's functions, created in `scope` as `Logs`, `Role` and `Function`: its own
 * log group, a role that may write only to that group (instead of AWSLambdaBasicExecutionRole),
 * Node.js 22 on ARM, source maps on, bundled by {@link bundlingOptions}. The caller grants the
 * rest.
 */
export function projectFunction(
  scope: Construct,
  props: ProjectFunctionProps,
): { function: nodejs.NodejsFunction; role: iam.Role; logGroup: logs.LogGroup } {
  const logGroup = new logs.LogGroup(scope, 'Logs', {
    retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
  });
  const role = new iam.Role(scope, 'Role', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: props.roleDescription,
  });
  logGroup.grantWrite(role);
  const fn = new nodejs.NodejsFunction(scope, 'Function', {
    description: props.description,
    entry: handlerEntry(props.entry),
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: `${PROJECT_ROOT}/package-lock.json`,
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
    bundling: bundlingOptions(props.bundling),
  });
  acknowledgePinnedRuntime(fn);
  return { function: fn, role, logGroup };
}
