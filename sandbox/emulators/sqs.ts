/**
 * A minimal SQS emulator for the sandbox's dead-letter queue (issue 15): the AWS JSON 1.0
 * protocol `@aws-sdk/client-sqs` speaks (`POST /`, `X-Amz-Target: AmazonSQS.<Operation>`,
 * `Content-Type: application/x-amz-json-1.0`; errors as `{"__type", "message"}` with the
 * `x-amzn-query-error` header of a query-compatible service). Operations: SendMessage,
 * ReceiveMessage, DeleteMessage, ChangeMessageVisibility, GetQueueUrl, GetQueueAttributes;
 * queues are created by the
 * host (`createQueue`), not over the wire.
 *
 * Semantics kept: a received message is invisible for its visibility timeout (0 leaves it
 * visible), then visible again; at most 10 per receive; MD5OfBody / MD5OfMessageBody are the
 * hex MD5 of the body, which the SDK checks. Not kept: long polling (an empty queue answers at
 * once), message attributes, FIFO, retention.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { refuseForeign } from '../loopback-guard.js';
import { closeServer, listen, urlHost } from './net.js';

export const EMULATOR_ACCOUNT = '000000000000';

interface Stored {
  id: string;
  body: string;
  sentAt: number;
  visibleAt: number;
  receives: number;
  /** The receipt handle of the latest receive. */
  receipt: string | undefined;
}

export interface SqsEmulator {
  endpoint: string;
  port: number;
  /** Creates a queue (idempotent); returns its URL. */
  createQueue(name: string): string;
  /** The bodies in a queue, visible or not, oldest first. */
  bodies(name: string): string[];
  stop(): Promise<void>;
}

class SqsError extends Error {
  constructor(
    readonly code: string,
    readonly queryCode: string,
    message: string,
  ) {
    super(message);
  }
}

const SIGV4 = /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[a-z0-9-]+\/sqs\/aws4_request, /;
const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

export async function startSqs(
  opts: { host?: string; port?: number; clock?: () => number } = {},
): Promise<SqsEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const now = opts.clock ?? Date.now;
  const queues = new Map<string, Stored[]>();
  let endpoint = '';

  const queueOf = (input: Record<string, unknown>): Stored[] => {
    const url = typeof input.QueueUrl === 'string' ? input.QueueUrl : '';
    const name = url.slice(url.lastIndexOf('/') + 1);
    const queue = queues.get(name);
    if (!url || !queue) {
      throw new SqsError(
        'QueueDoesNotExist',
        'AWS.SimpleQueueService.NonExistentQueue',
        'The specified queue does not exist.',
      );
    }
    return queue;
  };
  const int = (value: unknown, fallback: number, min: number, max: number, field: string) => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
      throw new SqsError(
        'InvalidParameterValue',
        'InvalidParameterValue',
        `${field} must be an integer from ${min} to ${max}`,
      );
    }
    return value as number;
  };

  const operations: Record<string, (input: Record<string, unknown>) => unknown> = {
    GetQueueUrl(input) {
      const name = String(input.QueueName ?? '');
      if (!queues.has(name)) {
        throw new SqsError(
          'QueueDoesNotExist',
          'AWS.SimpleQueueService.NonExistentQueue',
          'The specified queue does not exist.',
        );
      }
      return { QueueUrl: `${endpoint}/${EMULATOR_ACCOUNT}/${name}` };
    },
    SendMessage(input) {
      const queue = queueOf(input);
      if (typeof input.MessageBody !== 'string' || input.MessageBody === '') {
        throw new SqsError(
          'MissingParameter',
          'MissingParameter',
          'The request must contain the parameter MessageBody.',
        );
      }
      const id = randomUUID();
      queue.push({
        id,
        body: input.MessageBody,
        sentAt: now(),
        visibleAt: 0,
        receives: 0,
        receipt: undefined,
      });
      return { MessageId: id, MD5OfMessageBody: md5(input.MessageBody) };
    },
    ReceiveMessage(input) {
      const queue = queueOf(input);
      const max = int(input.MaxNumberOfMessages, 1, 1, 10, 'MaxNumberOfMessages');
      const visibility = int(input.VisibilityTimeout, 30, 0, 43_200, 'VisibilityTimeout');
      const t = now();
      const messages = queue.filter((m) => m.visibleAt <= t).slice(0, max);
      // As SQS: no `Messages` member at all when there is nothing to receive.
      if (messages.length === 0) return {};
      return {
        Messages: messages.map((m) => {
          m.receives++;
          m.visibleAt = t + visibility * 1000;
          m.receipt = `${m.id}#${randomUUID()}`;
          return {
            MessageId: m.id,
            ReceiptHandle: m.receipt,
            MD5OfBody: md5(m.body),
            Body: m.body,
            Attributes: { SentTimestamp: String(m.sentAt), ApproximateReceiveCount: String(m.receives) },
          };
        }),
      };
    },
    DeleteMessage(input) {
      const queue = queueOf(input);
      const handle = typeof input.ReceiptHandle === 'string' ? input.ReceiptHandle : '';
      if (!handle.includes('#')) {
        throw new SqsError(
          'ReceiptHandleIsInvalid',
          'ReceiptHandleIsInvalid',
          'The input receipt handle is invalid.',
        );
      }
      const i = queue.findIndex((m) => m.id === handle.split('#')[0]);
      // As SQS: deleting an already deleted message (or with an older handle) succeeds.
      if (i >= 0) queue.splice(i, 1);
      return {};
    },
    ChangeMessageVisibility(input) {
      const queue = queueOf(input);
      const visibility = int(input.VisibilityTimeout, -1, 0, 43_200, 'VisibilityTimeout');
      const m = queue.find((x) => x.receipt !== undefined && x.receipt === input.ReceiptHandle);
      if (visibility < 0 || !m) {
        throw new SqsError(
          'ReceiptHandleIsInvalid',
          'ReceiptHandleIsInvalid',
          'The input receipt handle is invalid.',
        );
      }
      m.visibleAt = now() + visibility * 1000;
      return {};
    },
    GetQueueAttributes(input) {
      const queue = queueOf(input);
      const t = now();
      const visible = queue.filter((m) => m.visibleAt <= t).length;
      return {
        Attributes: {
          ApproximateNumberOfMessages: String(visible),
          ApproximateNumberOfMessagesNotVisible: String(queue.length - visible),
        },
      };
    },
  };

  const reply = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
      ...headers,
    });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    try {
      if (!SIGV4.test(String(req.headers.authorization ?? ''))) {
        throw new SqsError(
          'IncompleteSignature',
          'IncompleteSignature',
          'Request must be signed with AWS Signature Version 4 for sqs',
        );
      }
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('AmazonSQS.')
        ? operations[target.slice('AmazonSQS.'.length)]
        : undefined;
      if (req.method !== 'POST' || !operation) {
        throw new SqsError(
          'UnsupportedOperation',
          'AWS.SimpleQueueService.UnsupportedOperation',
          `Unsupported operation ${target || '(none)'}`,
        );
      }
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        throw new SqsError('InvalidParameterValue', 'InvalidParameterValue', 'The request body is not JSON');
      }
      reply(res, 200, operation(input));
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      reply(
        res,
        error.code === 'IncompleteSignature' ? 403 : 400,
        { __type: `com.amazonaws.sqs#${error.code}`, message: error.message },
        { 'x-amzn-query-error': `${error.queryCode};Sender` },
      );
    }
  };

  let port = 0;
  const server = createServer((req, res) => {
    // Not for web pages: a foreign Host, an Origin or a preflight is refused (`loopback-guard.ts`).
    if (refuseForeign(req, res, { port: () => port, host, service: 'sqs emulator', browsers: false })) return;
    handle(req, res).catch((err: Error) => res.destroy(err));
  });
  port = await listen(server, opts.port ?? 0, host, 'sqs');
  endpoint = `http://${urlHost(host)}:${port}`;
  return {
    endpoint,
    port,
    createQueue(name) {
      if (!queues.has(name)) queues.set(name, []);
      return `${endpoint}/${EMULATOR_ACCOUNT}/${name}`;
    },
    bodies: (name) => (queues.get(name) ?? []).map((m) => m.body),
    stop: () => closeServer(server),
  };
}
