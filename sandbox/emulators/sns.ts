/**
 * A minimal SNS emulator for the sandbox (issue 14): the Query API's `Publish`
 * (`POST /`, form-encoded `Action=Publish&TopicArn=…&Subject=…&Message=…`), which is all the
 * notice publisher (`functions/adapters/sns-notice-publisher.ts`) calls. It checks that the
 * request carries a Signature Version 4 `Authorization` header for service `sns` (it does not
 * verify the signature), records the notice, tells listeners (the sandbox prints it), and
 * answers as SNS does (`PublishResponse` XML with a `MessageId`). Anything else is 400
 * `InvalidAction`; a missing TopicArn or Message is 400 `InvalidParameter`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { refuseForeign } from '../loopback-guard.js';
import { closeServer, listen, urlHost } from './net.js';

export interface PublishedNotice {
  at: string;
  messageId: string;
  topicArn: string;
  subject: string | undefined;
  message: string;
}

export interface SnsEmulator {
  endpoint: string;
  host: string;
  port: number;
  /** Every accepted Publish, oldest first. */
  published(): PublishedNotice[];
  /** Calls `listener` for every Publish from now on; returns a function that stops it. */
  onPublish(listener: (notice: PublishedNotice) => void): () => void;
  clear(): void;
  stop(): Promise<void>;
}

const SIGV4 =
  /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[a-z0-9-]+\/sns\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/;

export async function startSns(opts: { host?: string; port?: number } = {}): Promise<SnsEmulator> {
  const host = opts.host ?? '127.0.0.1';
  let notices: PublishedNotice[] = [];
  const listeners = new Set<(notice: PublishedNotice) => void>();

  const reply = (res: ServerResponse, status: number, xml: string) => {
    res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml) });
    res.end(xml);
  };
  const error = (res: ServerResponse, status: number, code: string, message: string) =>
    reply(
      res,
      status,
      `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
    );

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
    if (!SIGV4.test(String(req.headers.authorization ?? ''))) {
      error(res, 403, 'IncompleteSignature', 'Request must be signed with AWS Signature Version 4 for sns');
      return;
    }
    const form = new URLSearchParams(body);
    if (req.method !== 'POST' || form.get('Action') !== 'Publish') {
      error(res, 400, 'InvalidAction', `Unsupported action ${form.get('Action') ?? '(none)'}`);
      return;
    }
    const topicArn = form.get('TopicArn');
    const message = form.get('Message');
    if (!topicArn || message === null) {
      error(res, 400, 'InvalidParameter', 'TopicArn and Message are required');
      return;
    }
    const notice: PublishedNotice = {
      at: new Date().toISOString(),
      messageId: randomUUID(),
      topicArn,
      subject: form.get('Subject') ?? undefined,
      message,
    };
    notices.push(notice);
    for (const l of listeners) l({ ...notice });
    reply(
      res,
      200,
      `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${notice.messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
    );
  };

  let port = 0;
  const server = createServer((req, res) => {
    // Not for web pages: a foreign Host, an Origin or a preflight is refused (`loopback-guard.ts`).
    if (refuseForeign(req, res, { port: () => port, host, service: 'sns emulator', browsers: false })) return;
    handle(req, res).catch((err: Error) => res.destroy(err));
  });
  port = await listen(server, opts.port ?? 0, host, 'sns');
  return {
    endpoint: `http://${urlHost(host)}:${port}`,
    host,
    port,
    published: () => notices.map((n) => ({ ...n })),
    onPublish(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    clear() {
      notices = [];
    },
    stop: () => closeServer(server),
  };
}
