/**
 * In-process SESv2 emulator: aws-ses-v2-local on an internal ephemeral loopback port, behind a recording proxy.
 *
 * The proxy records every successful SESv2 SendEmail (`POST /v2/email/outbound-emails`) with the fields that
 * aws-ses-v2-local drops (configuration set, Destination, tags, feedback address, the raw MIME bytes), forwards the
 * request body unchanged and returns the emulator's response unchanged. Every other path — `GET /store`,
 * `POST /clear-store`, templates, v1 `POST /` — is proxied transparently, but for aws-ses-v2-local's web viewer.
 *
 * The viewer (`GET /`) is not served (404): it writes each stored mail's HTML body into a same-origin iframe
 * (`iframeDoc.body.innerHTML = e.body.html`), so a forwarded `<img src=x onerror=…>` ran in the emulator's origin,
 * read `/store`, cleared it and sent through the API. No Content-Security-Policy can keep the viewer working and its
 * mail inert: its own script is inline and its buttons are inline `onclick` handlers, which a policy cannot tell
 * from a mail's handlers in the iframe (the iframe inherits the page's policy). The sandbox console shows every copy
 * as sent, as text. Every answer of the proxy also carries `Content-Security-Policy: default-src 'none'; sandbox`
 * (nothing it serves is a page), and the proxy serves SDK clients only: a foreign Host (DNS rebinding), a request
 * with an `Origin` (any web page) or a preflight is refused before it is counted (`../loopback-guard.ts`).
 *
 * The proxy also answers, itself, the two configuration-set calls pausing a pool needs (issue 14), which
 * aws-ses-v2-local does not know: `PutConfigurationSetSendingOptions` (`PUT /v2/email/configuration-sets/{name}/sending`)
 * and `GetConfigurationSet` (`GET /v2/email/configuration-sets/{name}`, every name exists, sending enabled unless
 * disabled here). A SendEmail through a configuration set whose sending is disabled is refused as SES refuses it,
 * `SendingPausedException` (400), and nothing is recorded. It answers `GetTenant` (`POST /v2/email/tenants/get`) too:
 * every tenant exists with `SendingStatus` `ENABLED` unless a test set another (`setTenantSendingStatus`, standing in
 * for SES pausing a tenant under its reputation policy), so the router and `pools status` read the same state.
 *
 * aws-ses-v2-local behaviour worth knowing (2.10.2):
 *  - Raw sends: recipients shown in `/store` come from the MIME `To:`/`Cc:`/`Bcc:` headers; `Destination` is ignored
 *    by the emulator (recorded here, though). A message without a `To:` header is accepted (200, MessageId) and
 *    stored with `destination.to: []`. A message without a `From:` header is rejected with HTTP 400 and a body without
 *    an error code (the SDK then throws a generic error named `Unknown`). `FromEmailAddress` is not used for Raw.
 *  - Its store is module-global: several instances in one process share `/store` and `/clear-store`.
 *  - JSON bodies are limited to 25 MB (≈ 18 MB of raw MIME after base64); larger sends get HTTP 413.
 *  - If `SMTP_TRANSPORT` (nodemailer JSON config) is set in the environment it also relays every stored mail there.
 *  - Message ids look like `ses-123456789`.
 */
import { randomUUID } from 'node:crypto';
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { refuseForeign } from '../loopback-guard.js';
import { closeServer, listen, urlHost } from './net.js';

const require = createRequire(import.meta.url);
const sesLocal = require('aws-ses-v2-local') as {
  default: (config?: Partial<{ host: string; port: number }>) => Promise<Server>;
};

export interface SesEmulatorOptions {
  /** Port of the recording proxy (what clients talk to). 0 (default) = ephemeral port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface RecordedSend {
  /** ISO timestamp of when the emulator accepted the send. */
  at: string;
  /** MessageId returned to the caller. */
  messageId: string;
  configurationSetName: string | undefined;
  /** `TenantName` (issue 14: every send names its pool's tenant). */
  tenantName: string | undefined;
  fromEmailAddress: string | undefined;
  /** As given in the request (empty arrays when omitted). */
  destination: { ToAddresses: string[]; CcAddresses: string[]; BccAddresses: string[] };
  feedbackForwardingEmailAddress: string | undefined;
  emailTags: { Name: string; Value: string }[];
  /** Which kind of `Content` was sent. */
  content: 'Raw' | 'Simple' | 'Template' | 'Unknown';
  /** Decoded `Content.Raw.Data` (empty for Simple/Template sends). */
  raw: Buffer;
  /** The parsed JSON request body, for fields not lifted above (ReplyToAddresses, ListManagementOptions, …). */
  request: Record<string, unknown>;
}

export interface InjectedError {
  /** HTTP status, e.g. 429, 400, 500. */
  status: number;
  /** Error code; the SDK v3 throws an error whose `.name` is this code (modelled class if SESv2 knows it). */
  code: string;
  message?: string;
}

export interface SesEmulator {
  /** Recording proxy endpoint, e.g. http://127.0.0.1:41234 — use as the SESv2 client endpoint. */
  endpoint: string;
  host: string;
  port: number;
  /** Successful SendEmail calls, oldest first (copies). */
  sent(): RecordedSend[];
  /** Forget recorded sends, pending injected failures, and clear aws-ses-v2-local's (process-global) store. */
  clear(): Promise<void>;
  /** Request counts keyed by SESv2 operation (`SendEmail`, `GetAccount`, …) or `METHOD /path` for other paths. */
  requests(): Record<string, number>;
  resetCounts(): void;
  /**
   * The next `n` SendEmail calls answer `error.status` with `x-amzn-ErrorType: <code>` and a JSON body
   * `{ message, code, __type }` without reaching the emulator (nothing is recorded). Replaces any pending failures.
   * NB: the SDK's default retry strategy (3 attempts) silently retries throttling (429, TooManyRequestsException,
   * ThrottlingException, …) and 5xx errors — use `maxAttempts: 1` or n ≥ maxAttempts to see the error.
   */
  failNext(n: number, error: InjectedError): void;
  /** Configuration sets whose sending was disabled (`PutConfigurationSetSendingOptions`), sorted. */
  disabledConfigurationSets(): string[];
  /** The `SendingStatus` `GetTenant` answers for a tenant (default `ENABLED`); `clear()` resets all. */
  setTenantSendingStatus(tenantName: string, status: 'ENABLED' | 'DISABLED' | 'REINSTATED'): void;
  stop(): Promise<void>;
}

const SEND_EMAIL_PATH = '/v2/email/outbound-emails';
const CONFIGURATION_SET_PATH = /^\/v2\/email\/configuration-sets\/([^/]+)$/;
const SENDING_OPTIONS_PATH = /^\/v2\/email\/configuration-sets\/([^/]+)\/sending$/;
const GET_TENANT_PATH = '/v2/email/tenants/get';
/** On every answer of the proxy: none is a page, so none may run a script or be framed. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; sandbox",
  'x-content-type-options': 'nosniff',
} as const;
const VIEWER_GONE =
  "aws-ses-v2-local's web viewer is not served by the sandbox: it runs scripts found in the mail it shows.\n" +
  'The sandbox console (its URL is on the ready line) shows every copy as sent, as text; GET /store lists them as JSON.\n';
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

/** SESv2 operation name of a REST request, or `METHOD /path` when it is not a known SESv2 route. */
export function sesOperation(method: string, url: string): string {
  const m = method.toUpperCase();
  const path = (url.split('?')[0] ?? '/').replace(/\/+$/, '') || '/';
  if (path === SEND_EMAIL_PATH && m === 'POST') return 'SendEmail';
  if (path === '/v2/email/outbound-bulk-emails' && m === 'POST') return 'SendBulkEmail';
  if (path === '/v2/email/account' && m === 'GET') return 'GetAccount';
  if (SENDING_OPTIONS_PATH.test(path) && m === 'PUT') return 'PutConfigurationSetSendingOptions';
  if (CONFIGURATION_SET_PATH.test(path) && m === 'GET') return 'GetConfigurationSet';
  if (path === GET_TENANT_PATH && m === 'POST') return 'GetTenant';
  if (path === '/v2/email/templates') {
    if (m === 'GET') return 'ListEmailTemplates';
    if (m === 'POST') return 'CreateEmailTemplate';
  }
  if (/^\/v2\/email\/templates\/[^/]+\/render$/.test(path) && m === 'POST') return 'TestRenderEmailTemplate';
  if (/^\/v2\/email\/templates\/[^/]+$/.test(path)) {
    const op = { GET: 'GetEmailTemplate', PUT: 'UpdateEmailTemplate', DELETE: 'DeleteEmailTemplate' }[m];
    if (op) return op;
  }
  return `${m} ${path}`;
}

export async function startSes(opts: SesEmulatorOptions = {}): Promise<SesEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const inner = await sesLocal.default({ host: '127.0.0.1', port: 0 });
  if (!inner.listening) throw new Error('ses emulator: aws-ses-v2-local failed to start');
  const innerPort = (inner.address() as AddressInfo).port;
  const agent = new Agent({ keepAlive: true });

  let sends: RecordedSend[] = [];
  let counts: Record<string, number> = {};
  let failures: InjectedError[] = [];
  const disabledSets = new Set<string>();
  const tenantStatuses = new Map<string, string>();

  const answer = (res: ServerResponse, status: number, body: Record<string, unknown>, errorType?: string) => {
    const payload = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      'x-amzn-requestid': randomUUID(),
      ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
    });
    res.end(payload);
  };

  const handleConfigurationSet = async (op: string, req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const name = decodeURIComponent(
      (op === 'GetConfigurationSet' ? CONFIGURATION_SET_PATH : SENDING_OPTIONS_PATH).exec(path)?.[1] ?? '',
    );
    const body = await readAll(req);
    if (op === 'GetConfigurationSet') {
      answer(res, 200, {
        ConfigurationSetName: name,
        SendingOptions: { SendingEnabled: !disabledSets.has(name) },
      });
      return;
    }
    let enabled: unknown;
    try {
      enabled = (JSON.parse(body.toString('utf8') || '{}') as { SendingEnabled?: unknown }).SendingEnabled;
    } catch {
      enabled = undefined;
    }
    if (typeof enabled !== 'boolean') {
      answer(res, 400, { message: 'SendingEnabled must be a boolean' }, 'BadRequestException');
      return;
    }
    if (enabled) disabledSets.delete(name);
    else disabledSets.add(name);
    answer(res, 200, {});
  };

  const handleGetTenant = async (req: IncomingMessage, res: ServerResponse) => {
    let name: unknown;
    try {
      name = (JSON.parse((await readAll(req)).toString('utf8') || '{}') as { TenantName?: unknown })
        .TenantName;
    } catch {
      name = undefined;
    }
    if (typeof name !== 'string' || name === '') {
      answer(res, 400, { message: 'TenantName is required' }, 'BadRequestException');
      return;
    }
    answer(res, 200, {
      Tenant: {
        TenantName: name,
        TenantArn: `arn:aws:ses:us-east-1:000000000000:tenant/${name}/emulated`,
        SendingStatus: tenantStatuses.get(name) ?? 'ENABLED',
      },
    });
  };

  const forward = (
    req: IncomingMessage,
    body: Buffer | undefined,
    onResponse: (upstream: IncomingMessage) => void,
    res: ServerResponse,
  ) => {
    const headers: IncomingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
    const up = httpRequest(
      { host: '127.0.0.1', port: innerPort, method: req.method, path: req.url, headers, agent },
      onResponse,
    );
    up.on('error', (err) => {
      if (res.headersSent) return void res.destroy(err);
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `ses emulator proxy: ${err.message}` }));
    });
    if (body) up.end(body);
    else req.pipe(up);
  };

  const responseHeaders = (upstream: IncomingMessage): Record<string, string | string[]> => {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(upstream.headers))
      if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
    return out;
  };

  const handleSendEmail = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readAll(req);
    const set = configurationSetOf(body);
    if (set !== undefined && disabledSets.has(set)) {
      // What SES answers for a configuration set whose sending is disabled.
      answer(
        res,
        400,
        { message: `Sending is paused for configuration set ${set}` },
        'SendingPausedException',
      );
      return;
    }
    const failure = failures.shift();
    if (failure) {
      const payload = JSON.stringify({
        message: failure.message ?? `Injected ${failure.code}`,
        code: failure.code,
        __type: failure.code,
      });
      res.writeHead(failure.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
        'x-amzn-errortype': failure.code,
        'x-amzn-requestid': randomUUID(),
      });
      res.end(payload);
      return;
    }
    forward(
      req,
      body,
      (upstream) => {
        void readAll(upstream).then(
          (resBody) => {
            const status = upstream.statusCode ?? 502;
            if (status >= 200 && status < 300) {
              const recorded = toRecordedSend(body, resBody);
              if (recorded) sends.push(recorded);
            }
            const headers = responseHeaders(upstream);
            headers['content-length'] = String(resBody.length);
            res.writeHead(status, headers);
            res.end(resBody);
          },
          (err: Error) => res.destroy(err),
        );
      },
      res,
    );
  };

  let port = 0;
  const server = createServer((req, res) => {
    if (refuseForeign(req, res, { port: () => port, host, service: 'ses emulator', browsers: false })) return;
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const op = sesOperation(req.method ?? 'GET', req.url ?? '/');
    counts[op] = (counts[op] ?? 0) + 1;
    if (op === 'GET /' || op === 'HEAD /') {
      res.writeHead(404, {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': String(Buffer.byteLength(VIEWER_GONE)),
      });
      res.end(op === 'HEAD /' ? undefined : VIEWER_GONE);
      return;
    }
    if (op === 'GetConfigurationSet' || op === 'PutConfigurationSetSendingOptions') {
      handleConfigurationSet(op, req, res).catch((err: Error) => res.destroy(err));
      return;
    }
    if (op === 'GetTenant') {
      handleGetTenant(req, res).catch((err: Error) => res.destroy(err));
      return;
    }
    if (op === 'SendEmail') {
      handleSendEmail(req, res).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: `ses emulator proxy: ${err.message}` }));
      });
      return;
    }
    forward(
      req,
      undefined,
      (upstream) => {
        res.writeHead(upstream.statusCode ?? 502, responseHeaders(upstream));
        upstream.pipe(res);
      },
      res,
    );
  });

  try {
    port = await listen(server, opts.port ?? 0, host, 'ses');
  } catch (err) {
    agent.destroy();
    await closeServer(inner);
    throw err;
  }
  const endpoint = `http://${urlHost(host)}:${port}`;
  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    host,
    port,
    sent: () => sends.map((s) => ({ ...s })),
    clear: async () => {
      sends = [];
      failures = [];
      disabledSets.clear();
      tenantStatuses.clear();
      const r = await fetch(`http://127.0.0.1:${innerPort}/clear-store`, { method: 'POST' });
      await r.arrayBuffer();
    },
    requests: () => ({ ...counts }),
    resetCounts: () => {
      counts = {};
    },
    disabledConfigurationSets: () => [...disabledSets].sort(),
    setTenantSendingStatus: (tenantName, status) => {
      tenantStatuses.set(tenantName, status);
    },
    failNext: (n, error) => {
      failures = Array.from({ length: Math.max(0, Math.floor(n)) }, () => ({ ...error }));
    },
    stop: () => {
      stopped ??= (async () => {
        await closeServer(server);
        agent.destroy();
        await closeServer(inner);
      })();
      return stopped;
    },
  };
}

function toRecordedSend(reqBody: Buffer, resBody: Buffer): RecordedSend | undefined {
  let request: Record<string, unknown>;
  let messageId: unknown;
  try {
    request = JSON.parse(reqBody.toString('utf8')) as Record<string, unknown>;
    messageId = (JSON.parse(resBody.toString('utf8')) as { MessageId?: unknown }).MessageId;
  } catch {
    return undefined;
  }
  if (typeof messageId !== 'string') return undefined;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const obj = (v: unknown): Record<string, unknown> =>
    v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  const destination = obj(request.Destination);
  const content = obj(request.Content);
  const rawData = str(obj(content.Raw).Data);
  const tags = Array.isArray(request.EmailTags) ? request.EmailTags.map(obj) : [];
  return {
    at: new Date().toISOString(),
    messageId,
    configurationSetName: str(request.ConfigurationSetName),
    tenantName: str(request.TenantName),
    fromEmailAddress: str(request.FromEmailAddress),
    destination: {
      ToAddresses: list(destination.ToAddresses),
      CcAddresses: list(destination.CcAddresses),
      BccAddresses: list(destination.BccAddresses),
    },
    feedbackForwardingEmailAddress: str(request.FeedbackForwardingEmailAddress),
    emailTags: tags.map((t) => ({ Name: str(t.Name) ?? '', Value: str(t.Value) ?? '' })),
    content: content.Raw ? 'Raw' : content.Simple ? 'Simple' : content.Template ? 'Template' : 'Unknown',
    raw: rawData === undefined ? Buffer.alloc(0) : Buffer.from(rawData, 'base64'),
    request,
  };
}

function configurationSetOf(body: Buffer): string | undefined {
  try {
    const name = (JSON.parse(body.toString('utf8')) as { ConfigurationSetName?: unknown })
      .ConfigurationSetName;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}
