/**
 * DynamoDB `UpdateItem` sent without the SDK's middleware stack (issue 16): the router's hot
 * path makes three per message (the trace claim, the limits count, the final trace record),
 * and through `client.send` each cost ~130 µs of CPU in the SDK (serialization from schemas,
 * endpoint parameters, user agent, retry bookkeeping, a dozen async layers) besides the
 * ~30 µs of signing; sent here, ~45 µs in all.
 *
 * What goes out is the request the SDK sends ("AWS JSON 1.0 protocol"; DynamoDB API
 * Reference, "UpdateItem"): `POST /`, `Content-Type: application/x-amz-json-1.0`,
 * `X-Amz-Target: DynamoDB_20120810.UpdateItem`, the low-level input as JSON, signed with
 * Signature Version 4. Everything that decides it is the client's own configuration, read, not
 * copied:
 *
 * - the endpoint: the client's endpoint resolution (`getEndpointFromInstructions` with
 *   `UpdateItemCommand`'s endpoint parameters: region, FIPS, dual-stack, account-id endpoints, a
 *   configured `AWS_ENDPOINT_URL[_DYNAMODB]` or `endpoint`), once per table;
 * - the signer: the client's (`config.signer`, with its credential provider), with the signing
 *   name and region of the endpoint's auth scheme, at the client's skew-corrected time
 *   (`config.systemClockOffset`, corrected from an error answer's `Date` as the SDK's signer
 *   does: "Clock skew correction", AWS SDKs and Tools Reference Guide);
 * - the transport: the client's `requestHandler` (what intercepts the client — the bench's
 *   in-memory AWS, a test's lost answers — sees these requests too);
 * - retries: the client's `retryStrategy()` (standard mode, its attempts and its retry quota),
 *   each failure classified by smithy's own classifier as the SDK's retry middleware does.
 *
 * Errors are SDK-shaped (`aws-json-answer.ts`): `ConditionalCheckFailedException` is a `name`,
 * as `isConditionFailed` reads it. `test/adapters/dynamo-direct-update.test.ts` compares the
 * requests with the SDK's and their signatures with an independent SigV4, and the answers with
 * the SDK's on the DynamoDB emulator.
 */
import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { getEndpointFromInstructions } from '@smithy/core/endpoints';
import type { EndpointV2, HttpRequest, HttpResponse, RetryStrategyV2 } from '@smithy/types';
import { awsError, MALFORMED, readJsonAnswer } from './aws-json-answer.js';
import { withRetries } from './direct-retries.js';
import { jsonProtocolRequest, jsonProtocolUrl } from './signed-by-hand.js';

/** The low-level `UpdateItem` input (attribute values marshalled) and its answer's members. */
export type DirectUpdateInput = Record<string, unknown> & { TableName?: string };
export interface DirectUpdateOutput {
  Attributes?: Record<string, unknown>;
}
export type DirectUpdate = (input: DirectUpdateInput) => Promise<DirectUpdateOutput>;

interface Signer {
  sign(
    request: HttpRequest,
    options: { signingDate: Date; signingRegion?: string; signingService?: string },
  ): Promise<HttpRequest>;
}

/** The members of a resolved DynamoDB client configuration this module reads. */
interface ResolvedConfig {
  requestHandler: { handle(request: HttpRequest): Promise<{ response: HttpResponse }> };
  signer: (authScheme?: unknown) => Promise<Signer>;
  region: () => Promise<string>;
  retryStrategy: () => Promise<RetryStrategyV2 | object>;
  systemClockOffset?: number;
  defaultUserAgentProvider?: () => Promise<[string, string?][]>;
}

/** What a table's requests share: where they go, how they are signed, the headers they carry. */
interface Route {
  url: URL;
  signer: Signer;
  signingRegion: string;
  signingService: string;
  headers: Record<string, string>;
}

const TARGET = 'DynamoDB_20120810.UpdateItem';

/**
 * The errors the DynamoDB model marks `@retryable`: the SDK's classes for them carry
 * `$retryable`, which smithy's classifier takes as transient (a write that conflicted with
 * another Region's on a multi-Region strongly consistent global table). The review test
 * (`direct-requests-sdk-parity.test.ts`) finds them in the SDK's exported error classes.
 */
const RETRYABLE_ERRORS = new Set(['ReplicatedWriteConflictException']);

const senders = new WeakMap<object, DirectUpdate>();

/**
 * Makes `updateItem` (`dynamo-clients.ts`) send this client's updates directly (above);
 * returns the client. Its other commands keep going through `client.send`.
 */
export function sendUpdatesDirectly<T extends DynamoDBClient>(client: T): T {
  senders.set(client, directUpdate(client));
  return client;
}

/** The direct sender of a client marked by {@link sendUpdatesDirectly}. */
export function directUpdater(client: object): DirectUpdate | undefined {
  return senders.get(client);
}

/**
 * One section of the SDK's user agent, escaped and joined as its user-agent middleware does
 * (`escapeUserAgent`, @aws-sdk/core): `name/version`, or `prefix/name#version` when the name
 * has a prefix, `api/` names in lower case; characters outside HTTP's `token` become `-`
 * (RFC 9110 5.6.2).
 */
function userAgentSection([name, version]: [string, string?]): string {
  const [prefix, ...rest] = name.split('/').map((part) => part.replace(/[^!$%&'*+\-.^_`|~\w]/g, '-'));
  const escapedName =
    rest.length === 0
      ? prefix!
      : `${prefix}/${prefix === 'api' ? rest.join('/').toLowerCase() : rest.join('/')}`;
  if (!version) return escapedName;
  const escapedVersion = version.replace(/[^!$%&'*+\-.^_`|~\w#]/g, '-');
  return `${escapedName}${rest.length > 0 ? '#' : '/'}${escapedVersion}`;
}

/**
 * The SDK's user agent headers, computed once per client (the SDK computes them per request,
 * adding the features the request used, `m/…`, which AWS reads for its own statistics).
 */
async function userAgent(config: ResolvedConfig): Promise<Record<string, string>> {
  const sections = ((await config.defaultUserAgentProvider?.()) ?? []).map(userAgentSection);
  const sdk = sections.filter((s) => s.startsWith('aws-sdk-'));
  return {
    'user-agent': sections.join(' '),
    ...(sdk.length > 0 ? { 'x-amz-user-agent': sdk.join(' ') } : {}),
  };
}

/** The endpoint, signer and headers for one table, as the client resolves them. */
async function route(client: DynamoDBClient, config: ResolvedConfig, tableName: string): Promise<Route> {
  const endpoint: EndpointV2 = await getEndpointFromInstructions(
    { TableName: tableName },
    UpdateItemCommand,
    client.config as never,
  );
  const authScheme = (endpoint.properties?.authSchemes as Record<string, unknown>[] | undefined)?.[0];
  const url = jsonProtocolUrl(endpoint.url.href);
  const endpointHeaders = Object.fromEntries(
    Object.entries(endpoint.headers ?? {}).map(([name, values]) => [name.toLowerCase(), values.join(',')]),
  );
  return {
    url,
    signer: await config.signer(authScheme),
    signingRegion: (authScheme?.signingRegion as string | undefined) ?? (await config.region()),
    signingService: (authScheme?.signingName as string | undefined) ?? 'dynamodb',
    headers: { ...endpointHeaders, ...(await userAgent(config)) },
  };
}

const isRetryStrategyV2 = (s: object): s is RetryStrategyV2 =>
  'acquireInitialRetryToken' in s && 'refreshRetryTokenForRetry' in s && 'recordSuccess' in s;

function directUpdate(client: DynamoDBClient): DirectUpdate {
  const config = client.config as unknown as ResolvedConfig;
  const routes = new Map<string, Promise<Route>>();
  const routeOf = (tableName: string) => {
    let known = routes.get(tableName);
    if (!known) {
      known = route(client, config, tableName);
      routes.set(tableName, known);
      known.catch(() => routes.delete(tableName));
    }
    return known;
  };
  return async (input) => {
    const { url, signer, signingRegion, signingService, headers } = await routeOf(input.TableName ?? '');
    const body = JSON.stringify(input);
    const strategy = await config.retryStrategy();
    if (!isRetryStrategyV2(strategy))
      throw new TypeError('DynamoDB direct update: the client has no retry strategy');
    return withRetries(strategy, config, async (signingDate, answered) => {
      const signed = await signer.sign(jsonProtocolRequest(url, '1.0', TARGET, body, headers), {
        signingDate,
        signingRegion,
        signingService,
      });
      const { response } = await config.requestHandler.handle(signed);
      let answer: Record<string, unknown> | undefined;
      try {
        answer = await readJsonAnswer(response);
      } catch (error) {
        if (RETRYABLE_ERRORS.has((error as Error).name)) Object.assign(error as Error, { $retryable: {} });
        throw error;
      }
      if (!answer) throw awsError(MALFORMED, 'the UpdateItem answer is not a JSON object', response);
      answered(response.headers);
      return answer as DirectUpdateOutput;
    });
  };
}
