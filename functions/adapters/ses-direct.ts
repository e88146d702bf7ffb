/**
 * The router's SESv2 requests without `@aws-sdk/client-sesv2` (issue 16): `SendEmail` (one per
 * copy, NDR and notice), `GetConfigurationSet` and `GetTenant` (a pool's status, cached). The
 * SESv2 client — its schemas and error classes for ~100 operations, its endpoint rules, the
 * REST-JSON protocol's serializers, a dozen middleware layers per request — cost more of a cold
 * start and of each message than the requests themselves.
 *
 * The requests are the ones the SDK sends (SESv2 API Reference; REST-JSON protocol;
 * `test/adapters/ses-direct.test.ts` compares them with the SDK's):
 *
 * - to `email.<region>.<dnsSuffix>`, `email-fips.` with FIPS (GovCloud too), the partition's
 *   dual-stack suffix with dual-stack (`api.aws`…), as the SESv2 client's endpoint rules give
 *   them; a configured endpoint (`AWS_ENDPOINT_URL_SESV2`, an emulator) replaces it, its path
 *   kept before the operation's;
 * - `SendEmail`: `POST /v2/email/outbound-emails`, `Content-Type: application/json`, the input
 *   as JSON in the SDK's member order, `Content.Raw.Data` in base64. A message of
 *   `streamFromBytes` or more is streamed (`ses-raw-stream.ts`: the JSON around the base64 of
 *   the message's pieces, hashed in a first pass for the signature), not held as strings;
 * - `GetConfigurationSet`: `GET /v2/email/configuration-sets/{name}`, the name URI-encoded;
 * - `GetTenant`: `POST /v2/email/tenants/get` with `{"TenantName": …}`;
 * - signed with Signature Version 4 (signing name `ses`), `x-amz-content-sha256` signed too, as
 *   the SDK's signer sends it on every SESv2 request.
 *
 * An error answer becomes an error shaped like the SDK's: the code where the REST-JSON
 * protocol reads it (the `x-amzn-errortype` header, then the body's `code`, then `__type`;
 * `Unknown` without any), `message` the body's `message` or `Message` (`UnknownError`), `$fault`
 * the modeled error's (`InternalServiceErrorException` and `ConcurrentModificationException`
 * are server faults whatever the status) or the status's, the body's other members kept — so
 * `core/ses-refusals.ts` classifies it as it classifies the SDK's. A body that is not JSON (a
 * proxy's HTML page), whatever the status, is the SDK's `SyntaxError` with its status.
 * Retries: smithy's standard strategy and classifier with clock-skew correction
 * (`direct-retries.ts`), as the SDK's retry middleware retries.
 */
import { Readable } from 'node:stream';
import { StandardRetryStrategy } from '@smithy/core/retry';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest, HttpResponse, RetryStrategyV2 } from '@smithy/types';
import { SDK_RETRY } from './aws-errors.js';
import {
  type AwsAnswerError,
  awsError,
  bodyText,
  header,
  MALFORMED,
  sanitizeCode,
} from './aws-json-answer.js';
import { partitionDnsSuffix } from './aws-partitions.js';
import { type SkewClock, withRetries } from './direct-retries.js';
import { NodeSha256 } from './node-sha256.js';
import {
  bodyChunks,
  bodyLength,
  bodySha256,
  DATA_PLACEHOLDER,
  STREAM_FROM_BYTES,
  type StreamedBody,
  splitAtPlaceholder,
} from './ses-raw-stream.js';
import { encodeRfc3986, resolveOption, type SignedByHandOptions } from './signed-by-hand.js';

/** A `SendEmail` of a raw message: the SESv2 input's members the router sends. */
export interface RawEmailInput {
  FromEmailAddress?: string;
  Destination?: { ToAddresses?: string[] };
  FeedbackForwardingEmailAddress?: string;
  EmailTags?: { Name: string; Value: string }[];
  ConfigurationSetName?: string;
  TenantName?: string;
  /** The message: one buffer, or its pieces in order (sent as their concatenation). */
  raw: Buffer | readonly Buffer[];
}

export interface SesDirectOptions extends SignedByHandOptions {
  /** Default: smithy's standard mode with the SDK clients' attempts ({@link SDK_RETRY}). */
  retryStrategy?: RetryStrategyV2;
  /** Messages of this many bytes or more are streamed. @default 1 MiB ({@link STREAM_FROM_BYTES}) */
  streamFromBytes?: number;
}

/** The SESv2 requests the router makes, each rejecting with an SDK-shaped error. */
export interface SesDirect {
  sendEmail(input: RawEmailInput): Promise<{ MessageId?: string }>;
  getConfigurationSet(name: string): Promise<{ SendingOptions?: { SendingEnabled?: boolean } }>;
  getTenant(name: string): Promise<{ Tenant?: { SendingStatus?: string } }>;
}

/**
 * Each partition's dual-stack DNS suffix (the SDK's partitions table, `dualStackDnsSuffix`),
 * by its (non-dual-stack) DNS suffix; every partition supports FIPS and dual-stack.
 */
const DUAL_STACK_SUFFIXES: Readonly<Record<string, string>> = {
  'amazonaws.com': 'api.aws',
  'amazonaws.com.cn': 'api.amazonwebservices.com.cn',
  'amazonaws.eu': 'api.amazonwebservices.eu',
  'c2s.ic.gov': 'api.aws.ic.gov',
  'sc2s.sgov.gov': 'api.aws.scloud',
  'cloud.adc-e.uk': 'api.cloud-aws.adc-e.uk',
  'csp.hci.ic.gov': 'api.aws.hci.ic.gov',
};

/** The SESv2 endpoint rules' answer for a region: `https://email[-fips].<region>.<suffix>`. */
export function sesEndpoint(region: string, fips = false, dualstack = false): string {
  const suffix = partitionDnsSuffix(region, 'SESv2');
  return `https://${fips ? 'email-fips' : 'email'}.${region}.${dualstack ? DUAL_STACK_SUFFIXES[suffix]! : suffix}`;
}

/** The errors the SESv2 model marks as server faults (the others it models are client faults). */
const SERVER_FAULTS = new Set(['InternalServiceErrorException', 'ConcurrentModificationException']);
/** Every error the SESv2 model defines (their `$fault` is the model's, not the status's). */
const MODELED = new Set([
  ...SERVER_FAULTS,
  'AccountSuspendedException',
  'AlreadyExistsException',
  'BadRequestException',
  'ConflictException',
  'InvalidNextTokenException',
  'LimitExceededException',
  'MailFromDomainNotVerifiedException',
  'MessageRejected',
  'NotFoundException',
  'SendingPausedException',
  'TooManyRequestsException',
]);

/**
 * An error answer (status 300 or more) as the SDK's REST-JSON protocol throws it (`handleError`,
 * `loadRestJsonErrorCode`, `decorateServiceException`).
 */
async function sesError(response: HttpResponse): Promise<AwsAnswerError | SyntaxError> {
  const text = await bodyText(response.body);
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch (error) {
    return notJson(error, response);
  }
  const data =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  const errortype = header(response.headers, 'x-amzn-errortype');
  const codeKey = Object.keys(data).find((k) => k.toLowerCase() === 'code');
  const raw =
    errortype ??
    (codeKey !== undefined && data[codeKey] !== undefined ? data[codeKey] : undefined) ??
    data.__type;
  const code = typeof raw === 'string' || typeof raw === 'number' ? sanitizeCode(raw) : 'Unknown';
  const { message: lower, Message: upper, ...extra } = data;
  const message = (lower || upper || 'UnknownError') as string;
  const error = awsError(
    code,
    String(message),
    response,
    Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)),
  );
  if (MODELED.has(code)) error.$fault = SERVER_FAULTS.has(code) ? 'server' : 'client';
  const h = response.headers;
  const requestId = h['x-amzn-requestid'] ?? h['x-amzn-request-id'] ?? h['x-amz-request-id'];
  if (requestId) error.$metadata.requestId = requestId;
  else delete error.$metadata.requestId;
  return error;
}

/**
 * A success answer's JSON object (an empty body: `{}`); a body that is not JSON throws as the
 * SDK's does ({@link notJson}).
 */
async function jsonAnswer(response: HttpResponse, operation: string): Promise<Record<string, unknown>> {
  const text = await bodyText(response.body);
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch (error) {
    throw notJson(error, response);
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
    return parsed as Record<string, unknown>;
  throw awsError(MALFORMED, `the ${operation} answer is not a JSON object`, response);
}

/** The first header whose name matches `pattern` (the SDK's `findHeader`). */
const headerMatching = (headers: Record<string, string | undefined>, pattern: RegExp) =>
  Object.entries(headers).find(([name]) => pattern.test(name))?.[1];

/**
 * A body that is not JSON (a proxy's HTML page, a load balancer's text, blanks), at any status:
 * the SDK throws `JSON.parse`'s `SyntaxError` itself, its message with the deserializer's hint
 * added, `$response` and the `$metadata` its schema deserialization middleware gives an error
 * without one — no `$fault`, no error code read from a header (`HttpBindingProtocol`
 * `deserializeResponse`, `schemaDeserializationMiddleware`). Retries classify it by its status
 * (a 5xx is transient) and the clock is corrected from its `Date`, as for any error answer.
 */
function notJson(error: unknown, response: HttpResponse): SyntaxError {
  const e = error instanceof SyntaxError ? error : new SyntaxError(String(error));
  const h = response.headers;
  e.message +=
    '\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.';
  return Object.assign(e, {
    $metadata: {
      httpStatusCode: response.statusCode,
      requestId: headerMatching(h, /^x-[\w-]+-request-?id$/),
      extendedRequestId: headerMatching(h, /^x-[\w-]+-id-2$/),
      cfId: headerMatching(h, /^x-[\w-]+-cf-id$/),
    },
    // Status and headers (the body was read here), as `awsError` keeps them.
    $response: { statusCode: response.statusCode, headers: h, body: undefined },
  });
}

/**
 * The `SendEmail` body as the SDK serializes it (its members in the order of the SDK's
 * serialization, absent ones left out), with `data` (base64) as `Content.Raw.Data`.
 */
function sendEmailJson(input: RawEmailInput, data: string): string {
  const { raw: _raw, ...rest } = input;
  return JSON.stringify({
    Content: { Raw: { Data: data } },
    FromEmailAddress: rest.FromEmailAddress,
    Destination: rest.Destination,
    FeedbackForwardingEmailAddress: rest.FeedbackForwardingEmailAddress,
    EmailTags: rest.EmailTags,
    ConfigurationSetName: rest.ConfigurationSetName,
    TenantName: rest.TenantName,
  });
}

/** A request body: bytes, or a streamed body with its SHA-256 (signed as the payload hash). */
type Body = { bytes: Buffer } | { streamed: StreamedBody; sha256: string };

/** The router's SESv2 requests, signed and sent by hand (above). */
export function sesDirect(options: SesDirectOptions): SesDirect {
  const strategy = options.retryStrategy ?? new StandardRetryStrategy(SDK_RETRY.maxAttempts);
  const streamFromBytes = options.streamFromBytes ?? STREAM_FROM_BYTES;
  const clock: SkewClock = {};
  let prepared: Promise<{ signer: SignatureV4; url: URL }> | undefined;
  const prepare = async () => {
    const region = (await resolveOption(options.region))!;
    const url = new URL(
      options.endpoint ??
        sesEndpoint(
          region,
          (await resolveOption(options.useFipsEndpoint)) ?? false,
          (await resolveOption(options.useDualstackEndpoint)) ?? false,
        ),
    );
    const signer = new SignatureV4({
      service: 'ses',
      region,
      credentials: options.credentials,
      sha256: NodeSha256,
    });
    return { signer, url };
  };

  async function call(method: 'GET' | 'POST', path: string, body: Body | undefined, operation: string) {
    prepared ??= prepare().catch((error: unknown) => {
      prepared = undefined;
      throw error;
    });
    const { signer, url } = await prepared;
    // The endpoint's path before the operation's, as the SDK joins them (`/base/` + `/v2/…`:
    // `/base//v2/…`); the root adds nothing.
    const base = url.pathname === '/' ? '' : url.pathname;
    return withRetries(strategy, clock, async (signingDate, answered) => {
      const headers: Record<string, string> = { host: url.host };
      let payload: unknown;
      if (body) {
        headers['content-type'] = 'application/json';
        if ('bytes' in body) {
          headers['content-length'] = String(body.bytes.length);
          payload = body.bytes;
        } else {
          headers['content-length'] = String(bodyLength(body.streamed));
          headers['x-amz-content-sha256'] = body.sha256;
          // A fresh stream for each attempt, signed for its own date.
          payload = Readable.from(bodyChunks(body.streamed), { objectMode: false });
        }
      }
      const signed = await signer.sign(
        {
          method,
          protocol: url.protocol,
          hostname: url.hostname,
          ...(url.port ? { port: Number(url.port) } : {}),
          path: `${base}${path}`,
          query: {},
          headers,
          ...(payload !== undefined ? { body: payload } : {}),
        } as HttpRequest,
        { signingDate },
      );
      const { response } = await options.requestHandler.handle(signed);
      if (response.statusCode >= 300) throw await sesError(response);
      const answer = await jsonAnswer(response, operation);
      answered(response.headers);
      return answer;
    });
  }

  return {
    async sendEmail(input) {
      const pieces = Buffer.isBuffer(input.raw) ? [input.raw] : input.raw;
      const bytes = pieces.reduce((n, p) => n + p.length, 0);
      let body: Body;
      if (bytes >= streamFromBytes) {
        const streamed = splitAtPlaceholder(
          sendEmailJson(input, Buffer.from(DATA_PLACEHOLDER).toString('base64')),
          pieces,
        );
        body = { streamed, sha256: bodySha256(streamed) };
      } else {
        const data = (pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, bytes)).toString('base64');
        body = { bytes: Buffer.from(sendEmailJson(input, data), 'utf8') };
      }
      const out = await call('POST', '/v2/email/outbound-emails', body, 'SendEmail');
      return { ...(typeof out.MessageId === 'string' ? { MessageId: out.MessageId } : {}) };
    },
    // Only the members the pool status reads (the SDK's output has them as SES sent them).
    async getConfigurationSet(name) {
      const out = await call(
        'GET',
        `/v2/email/configuration-sets/${encodeRfc3986(name)}`,
        undefined,
        'GetConfigurationSet',
      );
      const options = out.SendingOptions as { SendingEnabled?: unknown } | undefined;
      return typeof options === 'object' && options !== null
        ? {
            SendingOptions:
              typeof options.SendingEnabled === 'boolean' ? { SendingEnabled: options.SendingEnabled } : {},
          }
        : {};
    },
    async getTenant(name) {
      const bytes = Buffer.from(JSON.stringify({ TenantName: name }), 'utf8');
      const out = await call('POST', '/v2/email/tenants/get', { bytes }, 'GetTenant');
      const tenant = out.Tenant as { SendingStatus?: unknown } | undefined;
      return typeof tenant === 'object' && tenant !== null
        ? { Tenant: typeof tenant.SendingStatus === 'string' ? { SendingStatus: tenant.SendingStatus } : {} }
        : {};
    },
  };
}
