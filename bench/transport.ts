/**
 * An in-memory AWS for the bench: a smithy `HttpHandler` that SDK clients take as their
 * `requestHandler`, answering as S3, SESv2, DynamoDB and SSM answer, cheaply, and counting what
 * it is asked — requests per service and operation, DynamoDB capacity units (computed by
 * DynamoDB's rules in `transport-dynamo.ts`), bytes in and out.
 *
 * - S3 (REST-XML, virtual-hosted or path style): GetObject answers the stored bytes in 64 KB
 *   chunks as a socket would, with `x-amz-checksum-crc64nvme` and `x-amz-checksum-type:
 *   FULL_OBJECT` — S3 computes CRC64NVME for every object written since Dec 2024 and returns it
 *   to a GetObject with checksum mode enabled, which the SDK sets by default and then
 *   validates while the body streams (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html);
 *   PutObject and CopyObject store; HeadObject; NoSuchKey as S3 says it.
 * - SESv2 (REST-JSON): SendEmail → MessageId; GetConfigurationSet (sending enabled);
 *   GetTenant (SendingStatus ENABLED); PutConfigurationSetSendingOptions.
 * - DynamoDB (JSON 1.0, `X-Amz-Target`): see `transport-dynamo.ts`.
 * - SSM (JSON 1.1): GetParameter from `parameters`.
 */
import { Readable } from 'node:stream';
import { Crc64Nvme } from '@aws-sdk/checksums/crc';
import type { HttpRequest, HttpResponse } from '@smithy/types';
import type { TableDescription } from '../functions/adapters/tables.js';
import { DynamoError, type DynamoTally, emptyDynamoTally, InMemoryDynamo } from './transport-dynamo.js';

export interface TransportTally {
  /** `service:Operation` → requests. */
  requests: Record<string, number>;
  dynamo: DynamoTally;
  /** Request body bytes sent to SES SendEmail (the base64 JSON of the raw message). */
  sesRequestBytes: number;
  s3BytesOut: number;
}

export const emptyTally = (): TransportTally => ({
  requests: {},
  dynamo: emptyDynamoTally(),
  sesRequestBytes: 0,
  s3BytesOut: 0,
});

/** What a SendEmail asked for (the raw message left out), for the feedback events. */
export interface SentEmail {
  messageId: string;
  FromEmailAddress?: string;
  Destination?: { ToAddresses?: string[] };
  ConfigurationSetName?: string;
  EmailTags?: { Name: string; Value: string }[];
  rawBase64Bytes: number;
}

export interface TransportOptions {
  /** DynamoDB tables by name. */
  tables?: Readonly<Record<string, TableDescription>>;
  /** SSM parameters by name. */
  parameters?: Readonly<Record<string, string>>;
}

interface StoredObject {
  body: Buffer;
  checksum: string;
  etag: string;
  lastModified: string;
}

const CHUNK = 65_536;

/** CRC64NVME of `data`, base64 of the 8 big-endian bytes, as S3 returns it. */
export async function crc64nvme(data: Uint8Array): Promise<string> {
  const crc = new Crc64Nvme();
  crc.update(data);
  return Buffer.from(await crc.digest()).toString('base64');
}

function chunks(body: Buffer): Readable {
  let offset = 0;
  return new Readable({
    read() {
      // Fresh buffers, as a socket delivers them (a subarray would keep the stored one alive).
      const end = Math.min(offset + CHUNK, body.length);
      this.push(offset < end ? Buffer.from(body.subarray(offset, end)) : null);
      offset = end;
    },
  });
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const parts: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

const DATA_FIELD = Buffer.from('"Data":"');

/**
 * A SendEmail request body as the service parses it, without its raw message: the JSON with
 * `"Data":""` (the base64 has no quote inside), the base64's length and the body's. A streamed
 * body is read chunk by chunk as a socket delivers it, the base64 never held.
 */
async function sendEmailBody(
  body: unknown,
): Promise<{ json: string; dataBytes: number; bytes: number } | null> {
  if (body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array) {
    const whole = await bodyBytes(body);
    const start = whole.indexOf(DATA_FIELD);
    const end = start < 0 ? -1 : whole.indexOf('"', start + DATA_FIELD.length);
    if (end <= start + DATA_FIELD.length) return null;
    const json = `${whole.subarray(0, start).toString('utf8')}"Data":""${whole.subarray(end + 1).toString('utf8')}`;
    return { json, dataBytes: end - start - DATA_FIELD.length, bytes: whole.length };
  }
  let head = Buffer.alloc(0);
  const tail: Buffer[] = [];
  let state: 'head' | 'data' | 'tail' = 'head';
  let dataBytes = 0;
  let bytes = 0;
  for await (const piece of body as AsyncIterable<Uint8Array>) {
    bytes += piece.length;
    let chunk = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    if (state === 'head') {
      head = Buffer.concat([head, chunk]);
      const at = head.indexOf(DATA_FIELD);
      if (at < 0) continue;
      chunk = head.subarray(at + DATA_FIELD.length);
      head = head.subarray(0, at);
      state = 'data';
    }
    if (state === 'data') {
      const quote = chunk.indexOf('"');
      if (quote < 0) {
        dataBytes += chunk.length;
        continue;
      }
      dataBytes += quote;
      chunk = chunk.subarray(quote + 1);
      state = 'tail';
    }
    tail.push(Buffer.from(chunk));
  }
  if (state !== 'tail' || dataBytes === 0) return null;
  return {
    json: `${head.toString('utf8')}"Data":""${Buffer.concat(tail).toString('utf8')}`,
    dataBytes,
    bytes,
  };
}

function respond(
  statusCode: number,
  headers: Record<string, string>,
  body: Buffer | string | Readable = '',
): {
  response: HttpResponse;
} {
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  return {
    response: {
      statusCode,
      headers: {
        'x-amzn-requestid': 'bench-request',
        ...(Buffer.isBuffer(payload) ? { 'content-length': String(payload.length) } : {}),
        ...headers,
      },
      body: Buffer.isBuffer(payload) ? Readable.from([payload]) : payload,
    },
  };
}

const json = (status: number, value: unknown, contentType = 'application/json') =>
  respond(status, { 'content-type': contentType }, JSON.stringify(value));

export class InMemoryAws {
  readonly tally: TransportTally = emptyTally();
  readonly #objects = new Map<string, StoredObject>();
  readonly #dynamo: InMemoryDynamo;
  readonly #parameters: Readonly<Record<string, string>>;
  #sent = 0;
  /** The same bytes stored under many keys (the bench's blocks) are checksummed once. */
  readonly #checksums = new WeakMap<Buffer, string>();
  /** The last 1,000 SendEmail requests. */
  readonly sent: SentEmail[] = [];
  /** For the SDK's `requestHandler` option. */
  readonly metadata = { handlerProtocol: 'http/1.1' };

  constructor(options: TransportOptions = {}) {
    this.#dynamo = new InMemoryDynamo(options.tables ?? {}, this.tally.dynamo);
    this.#parameters = options.parameters ?? {};
  }

  /** Stores an object (what SES's S3 action does before invoking the router). */
  async putObject(bucket: string, key: string, body: Buffer): Promise<void> {
    const checksum = this.#checksums.get(body) ?? (await crc64nvme(body));
    this.#checksums.set(body, checksum);
    this.#objects.set(`${bucket}/${key}`, {
      body,
      checksum,
      etag: `"${this.#objects.size.toString(16).padStart(32, '0')}"`,
      lastModified: new Date(0).toUTCString(),
    });
  }

  /** Forgets an object (the bench's blocks store one per invocation). */
  deleteObject(bucket: string, key: string): void {
    this.#objects.delete(`${bucket}/${key}`);
  }

  /** Resets the counters (not the stored data). */
  resetTally(): void {
    Object.assign(this.tally, { ...emptyTally(), dynamo: this.tally.dynamo, requests: {} });
    Object.assign(this.tally.dynamo, emptyDynamoTally());
  }

  #count(name: string): void {
    this.tally.requests[name] = (this.tally.requests[name] ?? 0) + 1;
  }

  destroy(): void {}
  updateHttpClientConfig(): void {}
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  async handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
    const host = request.hostname;
    if (host.startsWith('dynamodb.')) return this.#handleDynamo(request);
    if (host.startsWith('email.')) return this.#handleSes(request);
    if (host.startsWith('ssm.')) return this.#handleSsm(request);
    if (host.includes('.s3.') || host.startsWith('s3.')) return this.#handleS3(request);
    throw new Error(`bench transport: no service at ${host}`);
  }

  async #handleDynamo(request: HttpRequest): Promise<{ response: HttpResponse }> {
    const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    this.#count(`dynamodb:${operation}`);
    const body = JSON.parse((await bodyBytes(request.body)).toString('utf8')) as Record<string, unknown>;
    try {
      return json(200, this.#dynamo.handle(operation, body), 'application/x-amz-json-1.0');
    } catch (error) {
      if (!(error instanceof DynamoError)) throw error;
      return json(
        400,
        { __type: `com.amazonaws.dynamodb.v20120810#${error.type}`, message: error.message, ...error.extra },
        'application/x-amz-json-1.0',
      );
    }
  }

  async #handleSes(request: HttpRequest): Promise<{ response: HttpResponse }> {
    const path = decodeURIComponent(request.path);
    if (request.method === 'POST' && path === '/v2/email/outbound-emails') {
      this.#count('ses:SendEmail');
      // Parsed without the raw message, as SES's own cost of parsing is not ours.
      const sent = await sendEmailBody(request.body);
      if (!sent) return json(400, { message: 'Raw content is required' });
      this.tally.sesRequestBytes += sent.bytes;
      const rest = JSON.parse(sent.json) as Omit<SentEmail, 'messageId' | 'rawBase64Bytes'>;
      const messageId = `0100019a-bench-${(++this.#sent).toString().padStart(8, '0')}-000000`;
      this.sent.push({ ...rest, messageId, rawBase64Bytes: sent.dataBytes });
      if (this.sent.length > 1000) this.sent.shift();
      return json(200, { MessageId: messageId });
    }
    const body = await bodyBytes(request.body);
    const configSet = /^\/v2\/email\/configuration-sets\/([^/]+)(\/sending)?$/.exec(path);
    if (configSet && request.method === 'GET') {
      this.#count('ses:GetConfigurationSet');
      return json(200, {
        ConfigurationSetName: configSet[1],
        SendingOptions: { SendingEnabled: true },
        ReputationOptions: { ReputationMetricsEnabled: true },
      });
    }
    if (configSet?.[2] && request.method === 'PUT') {
      this.#count('ses:PutConfigurationSetSendingOptions');
      return json(200, {});
    }
    if (request.method === 'POST' && path === '/v2/email/tenants/get') {
      this.#count('ses:GetTenant');
      const name =
        (JSON.parse(body.toString('utf8') || '{}') as { TenantName?: string }).TenantName ?? 'tenant';
      return json(200, { Tenant: { TenantName: name, TenantId: `tn-${name}`, SendingStatus: 'ENABLED' } });
    }
    throw new Error(`bench transport: SESv2 ${request.method} ${path} is not emulated`);
  }

  async #handleSsm(request: HttpRequest): Promise<{ response: HttpResponse }> {
    this.#count('ssm:GetParameter');
    const { Name } = JSON.parse((await bodyBytes(request.body)).toString('utf8')) as { Name: string };
    const value = this.#parameters[Name];
    if (value === undefined) {
      return json(400, { __type: 'ParameterNotFound', message: `${Name}` }, 'application/x-amz-json-1.1');
    }
    return json(
      200,
      { Parameter: { Name, Type: 'SecureString', Value: value, Version: 1 } },
      'application/x-amz-json-1.1',
    );
  }

  async #handleS3(request: HttpRequest): Promise<{ response: HttpResponse }> {
    const host = request.hostname;
    const virtual = host.includes('.s3.') ? host.slice(0, host.indexOf('.s3.')) : undefined;
    const path = decodeURIComponent(request.path.replace(/^\//, ''));
    const [bucket, key] = virtual
      ? [virtual, path]
      : [path.split('/')[0]!, path.split('/').slice(1).join('/')];
    const id = `${bucket}/${key}`;
    const xml = (status: number, text: string) =>
      respond(
        status,
        { 'content-type': 'application/xml' },
        `<?xml version="1.0" encoding="UTF-8"?>\n${text}`,
      );
    const noSuchKey = () =>
      xml(
        404,
        `<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>${key}</Key></Error>`,
      );
    const copySource = request.headers['x-amz-copy-source'];
    if (request.method === 'PUT' && copySource) {
      this.#count('s3:CopyObject');
      const source = this.#objects.get(decodeURIComponent(copySource).replace(/^\//, ''));
      if (!source) return noSuchKey();
      this.#objects.set(id, source);
      return xml(
        200,
        `<CopyObjectResult><ETag>${source.etag}</ETag><LastModified>2026-11-23T10:00:00.000Z</LastModified><ChecksumCRC64NVME>${source.checksum}</ChecksumCRC64NVME></CopyObjectResult>`,
      );
    }
    if (request.method === 'PUT') {
      this.#count('s3:PutObject');
      await this.putObject(bucket, key, await bodyBytes(request.body));
      return respond(200, { etag: this.#objects.get(id)!.etag });
    }
    if (request.method === 'GET' || request.method === 'HEAD') {
      this.#count(request.method === 'GET' ? 's3:GetObject' : 's3:HeadObject');
      const object = this.#objects.get(id);
      if (!object) return noSuchKey();
      const headers = {
        'content-type': 'application/octet-stream',
        'content-length': String(object.body.length),
        etag: object.etag,
        'last-modified': object.lastModified,
        'accept-ranges': 'bytes',
        ...(request.headers['x-amz-checksum-mode'] === 'ENABLED'
          ? { 'x-amz-checksum-crc64nvme': object.checksum, 'x-amz-checksum-type': 'FULL_OBJECT' }
          : {}),
      };
      if (request.method === 'HEAD') return respond(200, headers, Readable.from([]));
      this.tally.s3BytesOut += object.body.length;
      return respond(200, headers, chunks(object.body));
    }
    throw new Error(`bench transport: S3 ${request.method} ${request.path} is not emulated`);
  }
}
