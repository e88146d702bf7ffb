/**
 * The runners the deployed bench compares, each a function that processes one message by id,
 * set up in the process that measures them (`deployed-child.ts`):
 *
 * - `ours`: the router bundle's middy handler over its in-memory transport;
 * - `authenticate`: `mailauth.authenticate()` on the same bytes with the same DNS zone;
 * - `authenticateSeal`: the same with mailauth's own ARC seal (the bench's ARC key): what any
 *   router that seals, as ours does (SPEC §5), must at least do;
 * - `peer`: aws-lambda-ses-forwarder's bundled handler over its own in-memory transport,
 *   clients built per invocation (its README) — and `peerReuse`, clients built once.
 *
 * The message bytes are stored in each transport under the id before the timed block, as
 * SES's S3 action stores them before it invokes the function.
 */
import { authenticate } from 'mailauth';
import { type RouterEnvironmentInput, settingsEnvironment } from '../functions/router/settings.js';
import type { Corpus } from './corpus.js';
import { CLIENT_IP, receiptEvent, SENDER } from './corpus.js';
import type { InMemoryAws, SentEmail } from './transport.js';

export const BUCKET = 'bench-inbound';
export const PREFIX = 'raw/';
export const ROUTES = { 'alias@example.com': ['dest@remote.test'] };

/** The router's Lambda environment in the bench: its configuration over the bench's bucket and tables. */
export function routerEnvironment(config: RouterEnvironmentInput['config']): Record<string, string> {
  return settingsEnvironment({
    config,
    mailBucket: BUCKET,
    mailPrefix: PREFIX,
    limitsTable: 'bench-limits',
    traceTable: 'bench-trace',
    leaseSeconds: 150,
    restrictionCacheSeconds: 60,
  });
}

export type RunnerName = 'ours' | 'authenticate' | 'authenticateSeal' | 'peer' | 'peerReuse';

export interface Runner {
  name: RunnerName;
  /** Stores the message under `id` (untimed). */
  prepare(id: string, raw: Buffer): Promise<void>;
  /** Processes the message stored under `id`. */
  run(id: string, raw: Buffer): Promise<void>;
  /** Drops what `prepare` stored. */
  cleanup(id: string): void;
  transport?: InMemoryAws;
}

type Invoke = (event: unknown, context: unknown) => Promise<unknown>;

export interface RouterModule {
  InMemoryAws: new (o: object) => InMemoryAws;
  makeRouter(o: object): Invoke;
}

export interface FeedbackModule {
  makeFeedback(transport: InMemoryAws): Invoke;
}

export interface PeerModule {
  InMemoryAws: new (o: object) => InMemoryAws;
  makePeer(o: object): (event: unknown) => Promise<void>;
}

let requests = 0;
/** A Lambda context as the runtime passes it (Powertools reads it). */
export function lambdaContext(functionName: string): Record<string, unknown> {
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: `bench-req-${++requests}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/23/[$LATEST]bench',
    getRemainingTimeInMillis: () => 60_000,
    callbackWaitsForEmptyEventLoop: true,
  };
}

export function oursRunner(
  mod: RouterModule,
  corpus: Corpus,
  env: Record<string, string>,
  tables: object,
): Runner {
  const transport = new mod.InMemoryAws({ tables });
  const handler = mod.makeRouter({ env, zones: corpus.zones, transport, now: corpus.now.toISOString() });
  return {
    name: 'ours',
    transport,
    prepare: (id, raw) => transport.putObject(BUCKET, `${PREFIX}${id}`, raw),
    async run(id) {
      const result = (await handler(receiptEvent({ messageId: id }), lambdaContext('router'))) as {
        outcome: string;
        pool: string;
        sends: unknown[];
      };
      if (result.sends.length !== 1) throw new Error(`ours: ${id} gave ${JSON.stringify(result)}`);
    },
    cleanup: (id) => transport.deleteObject(BUCKET, `${PREFIX}${id}`),
  };
}

/**
 * `mailauth.authenticate()` on a message as a router receiving it would call it (SES's client
 * IP, HELO and envelope sender, the corpus's DNS); `seal` adds mailauth's own ARC seal. Throws
 * when no DKIM result came back (the message was not what the bench meant to measure).
 */
export async function authenticateOnce(raw: Buffer, corpus: Corpus, seal = false): Promise<void> {
  const result = await authenticate(raw, {
    ip: CLIENT_IP,
    helo: 'mail.sender.test',
    sender: SENDER,
    mta: 'inbound-smtp.us-east-1.amazonaws.com',
    resolver: corpus.resolver,
    trustReceived: false,
    ...(seal
      ? {
          seal: {
            signingDomain: corpus.arcKey.domain,
            selector: corpus.arcKey.selector,
            privateKey: corpus.arcKey.privateKey,
          },
        }
      : {}),
  } as Parameters<typeof authenticate>[1]);
  if (!result.dkim?.results?.length) throw new Error('authenticate returned no DKIM result');
}

export function authenticateRunner(corpus: Corpus, seal = false): Runner {
  return {
    name: seal ? 'authenticateSeal' : 'authenticate',
    prepare: async () => {},
    run: (_id, raw) => authenticateOnce(raw, corpus, seal),
    cleanup: () => {},
  };
}

export function peerRunner(mod: PeerModule, reuse: boolean): Runner {
  const transport = new mod.InMemoryAws({});
  const handler = mod.makePeer({ transport, bucket: BUCKET, prefix: PREFIX, forwardMapping: ROUTES, reuse });
  return {
    name: reuse ? 'peerReuse' : 'peer',
    transport,
    prepare: (id, raw) => transport.putObject(BUCKET, `${PREFIX}${id}`, raw),
    async run(id) {
      const sends = () => transport.tally.requests['ses:SendEmail'] ?? 0;
      const before = sends();
      await handler(receiptEvent({ messageId: id }));
      if (sends() !== before + 1) throw new Error('peer sent nothing');
    },
    cleanup: (id) => transport.deleteObject(BUCKET, `${PREFIX}${id}`),
  };
}

/** The `mail` object of SES's events for one send, and the EventBridge envelope around a detail. */
function sesEventParts(sent: SentEmail, at: Date) {
  const tags = Object.fromEntries((sent.EmailTags ?? []).map((t) => [t.Name, [t.Value]]));
  const destination = sent.Destination?.ToAddresses ?? [];
  const mail = {
    timestamp: at.toISOString(),
    source: sent.FromEmailAddress,
    sendingAccountId: '123456789012',
    messageId: sent.messageId,
    destination,
    headersTruncated: false,
    tags: { ...tags, 'ses:configuration-set': [sent.ConfigurationSetName ?? ''] },
  };
  const envelope = (id: string, detailType: string, detail: unknown) => ({
    version: '0',
    id: `bench-${sent.messageId}-${id}`,
    'detail-type': detailType,
    source: 'aws.ses',
    account: '123456789012',
    time: at.toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:ses:us-east-1:123456789012:configuration-set/${sent.ConfigurationSetName ?? ''}`],
    detail,
  });
  return { mail, destination, envelope };
}

/**
 * The SES events a configuration set publishes for one send (Send, then Delivery), as
 * EventBridge events of the default bus (`lib/delivery-pools.ts`). The stack's rule hands
 * neither to the feedback function by default (`functions/feedback/filed-events.ts`).
 * https://docs.aws.amazon.com/ses/latest/dg/monitoring-eventbridge.html
 */
export function feedbackEvents(sent: SentEmail, at: Date): unknown[] {
  const { mail, destination, envelope } = sesEventParts(sent, at);
  return [
    envelope('0', 'Email Sent', { eventType: 'Send', mail, send: {} }),
    envelope('1', 'Email Delivered', {
      eventType: 'Delivery',
      mail,
      delivery: {
        timestamp: new Date(at.getTime() + 1500).toISOString(),
        processingTimeMillis: 1500,
        recipients: destination,
        smtpResponse: '250 2.0.0 OK  1700000000 abc.123 - gsmtp',
        reportingMTA: 'a8-1.smtp-out.amazonses.com',
      },
    }),
  ];
}

/**
 * The SES event the feedback function is measured on for one send: a permanent bounce. By
 * default the stack's rule delivers only failures to it (`functions/feedback/filed-events.ts`,
 * `lib/feedback-function.ts`), one invocation each.
 */
export function failureEvents(sent: SentEmail, at: Date): unknown[] {
  const { mail, destination, envelope } = sesEventParts(sent, at);
  return [
    envelope('bounce', 'Email Bounced', {
      eventType: 'Bounce',
      mail,
      bounce: {
        bounceType: 'Permanent',
        bounceSubType: 'General',
        bouncedRecipients: destination.map((emailAddress) => ({
          emailAddress,
          action: 'failed',
          status: '5.1.1',
          diagnosticCode: 'smtp; 550 5.1.1 user unknown',
        })),
        timestamp: new Date(at.getTime() + 1500).toISOString(),
        feedbackId: `bench-feedback-${sent.messageId}`,
        reportingMTA: 'dns; a8-1.smtp-out.amazonses.com',
      },
    }),
  ];
}
