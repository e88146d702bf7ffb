/**
 * The router Lambda: invoked by the SES receipt rule's Lambda action (`Event`) after its S3
 * action stored the raw message. Thin: settings and clients at cold start, then
 * `processReceipt`. Errors are logged with the SES message id as correlation id and re-thrown,
 * so Lambda's asynchronous retries and the on-failure destination keep the event.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { AwsCredentialIdentity, Logger as SdkLogger } from '@smithy/types';
import { SDK_RETRY } from '../adapters/aws-errors.js';
import { sendUpdatesDirectly } from '../adapters/dynamo-direct-update.js';
import { DynamoLimitsStore } from '../adapters/dynamo-limits-store.js';
import { DynamoNoticeLedger } from '../adapters/dynamo-notice-ledger.js';
import { DynamoTraceStore } from '../adapters/dynamo-trace-store.js';
import { leanLogger } from '../adapters/log-formatter.js';
import { s3DirectGet } from '../adapters/s3-direct-get.js';
import { ObjectMailStore } from '../adapters/s3-mail-store.js';
import { reuseSigners } from '../adapters/sdk-signers.js';
import { sesDirect } from '../adapters/ses-direct.js';
import { SesRawMailer } from '../adapters/ses-mailer.js';
import { SesPoolStatus } from '../adapters/ses-pool-control.js';
import { SnsNoticePublisher } from '../adapters/sns-notice-publisher.js';
import { ssmParameterReader } from '../adapters/ssm-parameter-reader.js';
import { loadArcKey, resolveSrsSecrets } from '../adapters/ssm-secrets.js';
import { cachedResolver } from '../core/dns/cached-resolver.js';
import { nodeResolver } from '../core/dns/node-resolver.js';
import { isRetryable } from '../core/errors.js';
import { combineObservers, Notifier, noticeObserver } from './notifier.js';
import { MessageReport, metricsDisabled, ROUTER_SERVICE_NAME } from './observer.js';
import { type PipelineDeps, processReceipt } from './process.js';
import { readSettings } from './settings.js';

const logger = leanLogger(ROUTER_SERVICE_NAME);
// Read when the module loads, as Powertools reads its settings (the sandbox sets them first).
const metrics = !metricsDisabled(process.env);

// DNS answers are cached across invocations of a container (positive and negative, never
// temporary failures), so a burst from one domain costs one lookup.
const resolver = cachedResolver(nodeResolver());

// The running invocation's remaining time, read by the SES mailer's throttle backoff so its
// waits leave the function time to record the send (issue 15 item 5).
let remainingMs: (() => number) | undefined;

/**
 * The SDK clients' logger: silent, as the SDK's default `NoOpLogger`, but without `info`. The
 * SDK's logger middleware writes one `info` record per request, `logger?.info?.({ input:
 * filter(input), output: filter(output) })`, and the filters walk every request and response
 * through the operation's schema to mask sensitive members — even for the no-op logger, whose
 * `info` drops the result. Without an `info` the optional call skips its arguments too: about
 * 1% of the router's CPU per message (issue 16). `debug`, `warn` and `error` stay (no-ops).
 */
export const QUIET_SDK_LOGGER = {
  debug: () => undefined,
  warn: () => undefined,
  error: () => undefined,
} as unknown as SdkLogger;

/**
 * Resolve each command class's middleware stack once per client instead of on every `send`
 * (smithy `Client.send`, option `cacheMiddleware`: "saves 0-1 ms per request"), for the
 * DynamoDB client `createDeps` builds: its `UpdateItem`s go out directly
 * (`dynamo-direct-update.ts`) and the router sends it no other low-level command today; one
 * added later reuses its resolved stack.
 * lib-dynamodb's document commands resolve into a handler bound to their own inner command
 * (`async () => handler(this.clientCommand)`), which a cache would replay, and the document
 * client refuses the option, so documents get a client of their own.
 */
export const CACHE_MIDDLEWARE = { cacheMiddleware: true } as const;

/**
 * SDK client configuration for the DynamoDB clients `createDeps` builds, whose request handler,
 * credentials and region the requests it signs itself use too (SSM, S3, SESv2); region and
 * credentials to the SNS publisher, which signs its own requests and takes `fetch`. The bench
 * and tests run the real adapters over an in-memory transport with it.
 */
export interface ClientOptions {
  clientConfig?: Pick<DynamoDBClientConfig, 'requestHandler' | 'credentials' | 'region' | 'endpoint'>;
  fetch?: typeof fetch;
}

/**
 * Builds the pipeline's dependencies from the environment (SDK clients take their endpoints
 * and credentials from it too). Exported for the sandbox and the integration tests, which
 * may replace single dependencies (a zone resolver, a clock), and the bench (`clients`).
 */
export async function createDeps(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<PipelineDeps> = {},
  clients: ClientOptions = {},
): Promise<PipelineDeps> {
  const settings = readSettings(env);
  const sdk = { ...SDK_RETRY, logger: QUIET_SDK_LOGGER, ...clients.clientConfig };
  // The claim, the count and the trace record go out as UpdateItems sent directly over this
  // client's configuration, without its middleware (issue 16: `dynamo-direct-update.ts`); the
  // rest (restrictions, notices, a duplicate's read) through a document client of its own,
  // built on first use.
  const dynamo = sendUpdatesDirectly(reuseSigners(new DynamoDBClient({ ...sdk, ...CACHE_MIDDLEWARE })));
  let doc: DynamoDBDocumentClient | undefined;
  const documents = () => {
    doc ??= DynamoDBDocumentClient.from(reuseSigners(new DynamoDBClient(sdk)), {
      marshallOptions: { removeUndefinedValues: true },
    });
    return doc;
  };
  // Issue 16: the secrets are read without an SSM client (its code, its construction and its
  // first request were ~15-20 ms of a cold start's CPU), signed by hand and sent through the
  // DynamoDB client's request handler with its credentials and region (what a test or the
  // bench gives the clients, it sees too); both at once: one round trip of cold start.
  const endpoint = clients.clientConfig?.endpoint;
  // What a request signed by hand takes of the DynamoDB client's configuration, and where it
  // goes when an endpoint is configured: the client configuration's, then the service's own
  // variable, then the shared one — an empty one is not set, and with
  // AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true the variables are not read, as the SDK reads them
  // ("Service-specific endpoints", AWS SDKs and Tools Reference Guide).
  const variablesIgnored = process.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === 'true';
  const variable = (name: string) => (variablesIgnored ? undefined : process.env[name] || undefined);
  const signedByHand = (endpointVariable: string) => ({
    requestHandler: dynamo.config.requestHandler,
    credentials: dynamo.config.credentials,
    region: dynamo.config.region,
    useFipsEndpoint: dynamo.config.useFipsEndpoint,
    useDualstackEndpoint: dynamo.config.useDualstackEndpoint,
    endpoint:
      (typeof endpoint === 'string' && endpoint !== '' ? endpoint : undefined) ??
      variable(endpointVariable) ??
      variable('AWS_ENDPOINT_URL'),
  });
  const parameters = ssmParameterReader(signedByHand('AWS_ENDPOINT_URL_SSM'));
  // Issue 16: SendEmail, GetConfigurationSet and GetTenant without the SESv2 client (its code
  // and middleware; `ses-direct.ts`), over the DynamoDB client's configuration as the reads.
  const ses = sesDirect(signedByHand('AWS_ENDPOINT_URL_SESV2'));
  const [config, arcKey] = await Promise.all([
    resolveSrsSecrets(settings.config, parameters, 'parameter'),
    loadArcKey(settings.config, parameters),
  ]);
  const clock = () => new Date();
  // Issue 14: sender restricted / alert-only limit crossed → one notice per event.
  const notices = settings.noticeTopicArn
    ? noticeObserver(
        new Notifier({
          publisher: new SnsNoticePublisher({
            topicArn: settings.noticeTopicArn,
            region:
              (clients.clientConfig?.region as string | undefined) ??
              process.env.AWS_REGION ??
              settings.noticeTopicArn.split(':')[3]!,
            endpoint: process.env.AWS_ENDPOINT_URL_SNS,
            ...(clients.clientConfig?.credentials
              ? { credentials: clients.clientConfig.credentials as AwsCredentialIdentity }
              : {}),
            ...(clients.fetch ? { fetch: clients.fetch } : {}),
          }),
          ledger: new DynamoNoticeLedger({ client: documents(), tableName: settings.limitsTable }),
          onError: (error, notice) => logger.warn('notice not published', { kind: notice.kind, error }),
        }),
        clock,
      )
    : undefined;
  return {
    config,
    // Issue 16: GetObject without an S3 client (its code, ~75 KB, was a cold start's largest
    // first run left), signed by hand and sent as the SSM reads are, over the DynamoDB
    // client's configuration (`s3-direct-get.ts`). A configured endpoint (an emulator) is
    // addressed in path style when it is an IP address, as the SDK addresses it.
    mailStore: new ObjectMailStore({
      read: s3DirectGet(signedByHand('AWS_ENDPOINT_URL_S3')),
      bucket: settings.mailBucket,
      prefix: settings.mailPrefix,
    }),
    limits: new DynamoLimitsStore({
      client: dynamo,
      documents,
      tableName: settings.limitsTable,
      restrictionCacheMs: settings.restrictionCacheMs,
    }),
    trace: new DynamoTraceStore({
      client: dynamo,
      documents,
      tableName: settings.traceTable,
      retentionDays: config.trace.retentionDays,
    }),
    mailer: new SesRawMailer(ses.sendEmail, { throttle: { remainingMs: () => remainingMs?.() } }),
    poolStatus: new SesPoolStatus({
      reads: ses,
      pools: config.pools,
      cacheMs: settings.poolStatusCacheMs,
    }),
    resolver,
    arcKey,
    clock,
    leaseMs: settings.leaseMs,
    maxAttempts: settings.maxAttempts,
    // Logs and metrics are added per invocation (`createHandler`): one report per message.
    observer: combineObservers(notices?.observer),
    ...(notices ? { notices } : {}),
    ...overrides,
  };
}

/**
 * The middy handler around `processReceipt`, with dependencies built once (lazily, on the
 * first invocation) by `makeDeps`. The sandbox builds its own with local endpoints and DNS.
 */
export function createHandler(makeDeps: () => Promise<PipelineDeps>) {
  let deps: Promise<PipelineDeps> | undefined;
  let coldStart = true;
  async function route(
    event: unknown,
    context?: { getRemainingTimeInMillis?: () => number; awsRequestId?: string },
  ) {
    remainingMs = context?.getRemainingTimeInMillis?.bind(context);
    deps ??= makeDeps().catch((error: unknown) => {
      deps = undefined; // a bad deployment fails every invocation loudly, not just the first
      throw error;
    });
    const messageId = (event as { Records?: { ses?: { mail?: { messageId?: string } } }[] })?.Records?.[0]
      ?.ses?.mail?.messageId;
    if (messageId) logger.appendKeys({ messageId });
    // Issue 16: the message's metrics and its `done` line are one line, written at the end.
    const report = new MessageReport(logger, {
      coldStart,
      metrics,
      context: { requestId: context?.awsRequestId },
    });
    coldStart = false;
    try {
      const ready = await deps;
      const observer = combineObservers(report.observer, ready.observer);
      const result = await processReceipt(event, { ...ready, observer }).finally(() =>
        ready.notices?.flush(),
      );
      report.flush(result);
      return result;
    } catch (error) {
      report.flush();
      logger.error('failed', { retryable: isRetryable(error), error: error as Error });
      throw error;
    }
  }
  return middy(route).use(injectLambdaContext(logger, { resetKeys: true }));
}

export const handler = createHandler(() => createDeps());
