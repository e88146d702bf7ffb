/**
 * What the requests this project signs and sends without an SDK client take
 * (`dynamo-direct-update.ts`, `ssm-parameter-reader.ts`, `s3-direct-get.ts`, `ses-direct.ts`;
 * `createDeps` gives them the
 * DynamoDB client's request handler, credentials, region and endpoint settings), and the
 * helpers they share.
 */
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  HttpRequest,
  HttpResponse,
} from '@smithy/types';

/** What a smithy request handler (`NodeHttpHandler`, a test transport) offers. */
export interface RequestHandlerLike {
  handle(request: HttpRequest, options?: Record<string, unknown>): Promise<{ response: HttpResponse }>;
}

export interface SignedByHandOptions {
  requestHandler: RequestHandlerLike;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** A region, or the SDK's resolved region provider. */
  region: string | (() => Promise<string>);
  /** Endpoint override (`AWS_ENDPOINT_URL_<SERVICE>`, an emulator); default the service's regional endpoint. */
  endpoint?: string;
  /** The SDK's resolved `useFipsEndpoint` / `useDualstackEndpoint` (environment, config files). */
  useFipsEndpoint?: boolean | (() => Promise<boolean>);
  useDualstackEndpoint?: boolean | (() => Promise<boolean>);
}

/** A setting given as a value or as the SDK's resolved provider of it. */
export const resolveOption = async <T>(value: T | (() => Promise<T>) | undefined): Promise<T | undefined> =>
  typeof value === 'function' ? (value as () => Promise<T>)() : value;

/** The SDK's `extendedEncodeURIComponent`: RFC 3986 unreserved characters only. */
export const encodeRfc3986 = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The URL the AWS JSON protocols post to: the endpoint's, its path ending in `/` (smithy's `RpcProtocol`). */
export function jsonProtocolUrl(endpoint: string): URL {
  const url = new URL(endpoint);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/**
 * A request of the AWS JSON protocols (1.0: DynamoDB, 1.1: SSM) as the SDK builds it, to be
 * signed: `POST` of `body` to `url`, the operation named in `X-Amz-Target`, `headers` besides.
 */
export function jsonProtocolRequest(
  url: URL,
  version: '1.0' | '1.1',
  target: string,
  body: string,
  headers: Record<string, string> = {},
): HttpRequest {
  return {
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: {},
    headers: {
      ...headers,
      host: url.host,
      'content-type': `application/x-amz-json-${version}`,
      'content-length': String(Buffer.byteLength(body)),
      'x-amz-target': target,
    },
    body,
  };
}
