/**
 * SES inbound, played locally: an SMTP server (`smtp-server`) that does what the receipt rule
 * of the stack does in AWS — accept mail for the accepted domains and the SRS domain, compute
 * the verdicts SES puts in the receipt event, store the raw message in S3 (the S3 action), and
 * invoke the router Lambda asynchronously (the Lambda action, `InvocationType: Event`).
 *
 * ## The SMTP side
 *
 * - RCPT TO: an address of the SRS domain is always accepted (bounces come back to it; the
 *   router reverses or drops them). An address of an accepted domain is accepted when a route
 *   (exact, then catch-all) exists, else refused `550 5.1.1` — the sandbox never takes mail it
 *   would drop as `no-route`. Any other domain is refused `554 5.7.1` (no relaying).
 * - SIZE is `maxMessageBytes`: a larger message is refused `552 5.3.4`.
 * - The client IP used for SPF is the connection's address, or the one given with the Postfix
 *   `XCLIENT ADDR=` (or `XFORWARD ADDR=`) command, which loopback clients may send: everything
 *   runs on 127.0.0.1, so that is how a test or a person says "this came from 192.0.2.10"
 *   (`swaks --xclient-addr 192.0.2.10`). The HELO name is the client's EHLO/HELO.
 * - After DATA, the message is answered `250 Ok <message id>` once it is stored in S3; a
 *   storage failure is `451 4.3.0` (the client retries, as with SES).
 *
 *
 * Its parts: the verdicts (`ingress/verdicts.ts`), the stored message and the receipt event
 * (`ingress/receipt-event.ts`), and the Lambda-like invocation (`ingress/invocation.ts`).
 */
import type { AddressInfo } from 'node:net';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Config } from '../functions/core/config.js';
import type { Resolver } from '../functions/core/dns/resolver.js';
import { domainOf } from '../functions/core/message.js';
import { routeFor } from '../functions/core/routes.js';
import {
  type DeadLetter,
  type IngressEvent,
  type Invoke,
  invokeWithRetries,
  type ProcessedMessage,
  sleep,
} from './ingress/invocation.js';
import { buildReceiptEvent, SANDBOX_HOSTNAME, sesMessageId, storedMessage } from './ingress/receipt-event.js';
import {
  computeVerdicts,
  eicarScanner,
  gtubeScanner,
  type ScanInput,
  type Scanner,
} from './ingress/verdicts.js';

// What the sandbox and the tests import from here, wherever it lives now.
export * from './ingress/invocation.js';
export * from './ingress/receipt-event.js';
export * from './ingress/verdicts.js';

export interface IngressOptions {
  config: Config;
  resolver: Resolver;
  s3: S3Client;
  bucket: string;
  prefix: string;
  invoke: Invoke;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  hostname?: string;
  functionArn?: string;
  spamScanner?: Scanner;
  virusScanner?: Scanner;
  /** Delays before each retry of a retryable failure; default [1000, 2000]. */
  retryDelaysMs?: number[];
  /** Who may send XCLIENT/XFORWARD; default loopback only. */
  trustedProxies?: string[];
  onEvent?: (event: IngressEvent) => void;
  clock?: () => Date;
}

export interface SmtpIngress {
  host: string;
  port: number;
  /** Messages processed or dead-lettered so far, oldest first. */
  processed(): ProcessedMessage[];
  deadLetters(): DeadLetter[];
  /** Resolves when the message reached its end (processed or dead-lettered). */
  waitFor(messageId: string, timeoutMs?: number): Promise<ProcessedMessage>;
  /** Resolves once nothing is being stored, invoked or waiting for a retry. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

class SmtpError extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** `::ffff:192.0.2.1` → `192.0.2.1` (SPF checks IPv4-mapped addresses as IPv4). */
function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function readStream(stream: SMTPServerDataStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

export async function startSmtpIngress(opts: IngressOptions): Promise<SmtpIngress> {
  const config = opts.config;
  const host = opts.host ?? '127.0.0.1';
  const hostname = opts.hostname ?? SANDBOX_HOSTNAME;
  const clock = opts.clock ?? (() => new Date());
  const functionArn =
    opts.functionArn ?? 'arn:aws:lambda:us-east-1:000000000000:function:outbound-pools-router';
  const retryDelays = opts.retryDelaysMs ?? [1000, 2000];
  const scanners = {
    spamScanner: opts.spamScanner ?? gtubeScanner,
    virusScanner: opts.virusScanner ?? eicarScanner,
    resolver: opts.resolver,
    hostname,
  };
  const emit = (e: IngressEvent) => {
    try {
      opts.onEvent?.(e);
    } catch {
      // a broken log sink must not break mail
    }
  };
  const accepted = new Set(config.acceptedDomains);
  const processed: ProcessedMessage[] = [];
  const deadLetters: DeadLetter[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const finished = new Map<string, ProcessedMessage>();
  const waiters = new Map<string, ((m: ProcessedMessage) => void)[]>();

  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    return p;
  };
  const finish = (m: ProcessedMessage) => {
    processed.push(m);
    finished.set(m.messageId, m);
    for (const w of waiters.get(m.messageId) ?? []) w(m);
    waiters.delete(m.messageId);
  };

  /** RCPT TO: the SRS domain always; accepted domains when routed; nothing else. */
  function checkRecipient(address: string): SmtpError | null {
    const rcpt = address.trim().toLowerCase();
    const domain = domainOf(rcpt);
    if (domain === config.srs.domain) return null;
    if (domain === undefined || !accepted.has(domain)) {
      return new SmtpError(
        554,
        `5.7.1 <${rcpt}>: Relay access denied (${domain ?? 'no domain'} is not an accepted domain)`,
      );
    }
    if (!routeFor(config, rcpt)) {
      return new SmtpError(550, `5.1.1 <${rcpt}>: Recipient address rejected: no route for this address`);
    }
    return null;
  }

  async function receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const raw = await readStream(stream);
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address.toLowerCase() : '';
    const recipients = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
    if (stream.sizeExceeded || raw.length > config.maxMessageBytes) {
      throw new SmtpError(
        552,
        `5.3.4 Message size exceeds fixed maximum message size (${config.maxMessageBytes} bytes)`,
      );
    }
    const receivedAt = clock();
    const clientIp = plainIp(session.remoteAddress);
    const helo = session.hostNameAppearsAs || '';
    const input: ScanInput = { raw, mailFrom, rcptTo: recipients, clientIp, helo };
    const { verdicts, authHeaders } = await computeVerdicts(raw, input, scanners);
    const messageId = sesMessageId();
    const stored = storedMessage(raw, {
      hostname,
      messageId,
      mailFrom,
      recipients,
      clientIp,
      helo,
      verdicts,
      authHeaders,
      at: receivedAt,
    });
    try {
      await opts.s3.send(
        new PutObjectCommand({ Bucket: opts.bucket, Key: `${opts.prefix}${messageId}`, Body: stored }),
      );
    } catch (error) {
      throw new SmtpError(
        451,
        `4.3.0 Temporary failure storing the message, try again later (${(error as Error).message})`,
      );
    }
    emit({
      type: 'accepted',
      at: receivedAt.toISOString(),
      messageId,
      sender: mailFrom,
      recipients,
      verdicts,
    });
    const base = {
      messageId,
      receivedAt: receivedAt.toISOString(),
      sender: mailFrom,
      recipients,
      clientIp,
      helo,
      verdicts,
    };
    // The Lambda action runs after the SMTP transaction, as SES's asynchronous invocation.
    track(
      (async () => {
        await sleep(0);
        const event = buildReceiptEvent({
          messageId,
          stored,
          mailFrom,
          recipients,
          verdicts,
          receivedAt,
          actionAt: clock(),
          functionArn,
        });
        await invokeWithRetries(event, base, {
          invoke: opts.invoke,
          retryDelays,
          clock,
          emit,
          finish,
          deadLetter: (d) => deadLetters.push(d),
        });
      })(),
    );
    return messageId;
  }

  const server = new SMTPServer({
    name: hostname,
    banner: 'outbound-pools sandbox (Amazon SES inbound, played locally)',
    size: config.maxMessageBytes,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    hideENHANCEDSTATUSCODES: true,
    useXClient: opts.trustedProxies ?? ['127.0.0.1', '::1'],
    useXForward: opts.trustedProxies ?? ['127.0.0.1', '::1'],
    logger: false,
    closeTimeout: 1000,
    onRcptTo(address, session, callback) {
      const refused = checkRecipient(address.address);
      if (refused) {
        emit({
          type: 'refused',
          at: clock().toISOString(),
          sender: session.envelope.mailFrom ? session.envelope.mailFrom.address.toLowerCase() : '',
          recipient: address.address.toLowerCase(),
          clientIp: plainIp(session.remoteAddress),
          code: refused.responseCode,
          response: refused.message,
        });
        return callback(refused);
      }
      callback();
    },
    onData(stream, session, callback) {
      const done = track(receive(stream, session));
      done.then(
        (messageId) => callback(null, `2.0.0 Ok ${messageId}`),
        (error: unknown) => {
          const e =
            error instanceof SmtpError
              ? error
              : new SmtpError(451, `4.3.0 Local error in processing (${(error as Error).message})`);
          emit({
            type: 'rejected',
            at: clock().toISOString(),
            sender: session.envelope.mailFrom ? session.envelope.mailFrom.address.toLowerCase() : '',
            recipients: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            code: e.responseCode,
            response: e.message,
          });
          // The rest of the message must still be read before the reply goes out.
          stream.resume();
          callback(e);
        },
      );
    },
  });
  server.on('error', () => undefined);

  const port = await new Promise<number>((resolve, reject) => {
    const requested = opts.port ?? 0;
    const onError = (err: NodeJS.ErrnoException) => {
      const what =
        err.code === 'EADDRINUSE'
          ? `port ${requested} on ${host} is already in use (EADDRINUSE)`
          : `cannot listen on ${host}:${requested}: ${err.message}`;
      reject(
        Object.assign(new Error(`smtp ingress: ${what}`, { cause: err }), {
          code: err.code,
          service: 'smtp',
          port: requested,
        }),
      );
    };
    server.server.once('error', onError);
    server.listen(requested, host, () => {
      server.server.off('error', onError);
      resolve((server.server.address() as AddressInfo).port);
    });
  });

  let closed: Promise<void> | undefined;
  return {
    host,
    port,
    processed: () => processed.slice(),
    deadLetters: () => deadLetters.slice(),
    waitFor(messageId, timeoutMs = 30_000) {
      const done = finished.get(messageId);
      if (done) return Promise.resolve(done);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`message ${messageId} was not processed within ${timeoutMs} ms`)),
          timeoutMs,
        );
        const list = waiters.get(messageId) ?? [];
        list.push((m) => {
          clearTimeout(timer);
          resolve(m);
        });
        waiters.set(messageId, list);
      });
    },
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    close() {
      closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closed;
    },
  };
}
