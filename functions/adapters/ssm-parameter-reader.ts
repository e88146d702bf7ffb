/**
 * SSM `GetParameter` without `@aws-sdk/client-ssm` (issue 16, cold start): the router reads
 * two SecureStrings once per container, and the SSM client — ~80 KB of schemas and error
 * classes for every SSM operation, its endpoint rules, a client to build and an operation to
 * resolve on its first request — cost more of a cold start than the two requests themselves.
 *
 * The request is the one the SDK sends (SSM API Reference, "GetParameter" and "Common
 * Parameters"; AWS JSON 1.1 protocol): `POST /` to `ssm.<region>.<dnsSuffix>` with
 * `Content-Type: application/x-amz-json-1.1`, `X-Amz-Target: AmazonSSM.GetParameter` and the
 * body `{"Name": …, "WithDecryption": true}`, signed with Signature Version 4 (service `ssm`)
 * by `@smithy/signature-v4`, the signer of every SDK v3 client. It goes through the request
 * handler, credentials and region of a client the router builds anyway (`createDeps` hands
 * over the DynamoDB client's), so what intercepts that client (the bench's in-memory
 * transport, a test's recording handler) sees it too.
 *
 * An error answer becomes an error shaped like the SDK's (`aws-json-answer.ts`: `name` the bare
 * code, `$metadata.httpStatusCode`), so `ssm-secrets.ts` maps it as before. Throttling, 5xx and
 * network errors are retried, and a skewed clock corrected, by the retry loop the other
 * direct requests share (`direct-retries.ts`: smithy's standard retry strategy and
 * classifier, as the SDK's SSM client retries).
 */
import { StandardRetryStrategy } from '@smithy/core/retry';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpResponse, RetryStrategyV2 } from '@smithy/types';
import { SDK_RETRY } from './aws-errors.js';
import { awsError, MALFORMED, readJsonAnswer } from './aws-json-answer.js';
import { partitionDnsSuffix } from './aws-partitions.js';
import { type SkewClock, withRetries } from './direct-retries.js';
import { NodeSha256 } from './node-sha256.js';
import {
  jsonProtocolRequest,
  jsonProtocolUrl,
  resolveOption,
  type SignedByHandOptions,
} from './signed-by-hand.js';

/** Reads one parameter, decrypted; rejects with an SDK-shaped error (`name` the error code). */
export type ParameterReader = (name: string) => Promise<string | undefined>;

export interface SsmParameterReaderOptions extends SignedByHandOptions {
  /** Default: smithy's standard strategy with the SDK clients' attempts ({@link SDK_RETRY}). */
  retryStrategy?: RetryStrategyV2;
}

/**
 * `https://ssm.<region>.<dnsSuffix>`, the suffix of the region's partition (default
 * `amazonaws.com`); with `fips`, `ssm-fips.` (GovCloud's regional endpoints are FIPS already),
 * as the SSM client's endpoint rules give them. Dual-stack endpoints are not derived: name one
 * in `AWS_ENDPOINT_URL_SSM`.
 */
export function ssmEndpoint(region: string, fips = false): string {
  const suffix = partitionDnsSuffix(region, 'SSM');
  const host = fips && !region.startsWith('us-gov-') ? 'ssm-fips' : 'ssm';
  return `https://${host}.${region}.${suffix}`;
}

/** The `name` of the error for a success answer without a parameter value. */
export { MALFORMED };

/** One answer: the parameter's value, or an SDK-shaped error. */
async function readAnswer(name: string, response: HttpResponse): Promise<string> {
  const json = await readJsonAnswer(response);
  const value = (json?.Parameter as { Value?: unknown } | undefined)?.Value;
  if (typeof value !== 'string') {
    throw awsError(MALFORMED, `no Parameter.Value in the answer for ${name}`, response);
  }
  return value;
}

/** A {@link ParameterReader} over `GetParameter` with `WithDecryption`, signed by hand. */
export function ssmParameterReader(options: SsmParameterReaderOptions): ParameterReader {
  const strategy = options.retryStrategy ?? new StandardRetryStrategy(SDK_RETRY.maxAttempts);
  // The clock correction the answers taught, as an SDK client's `systemClockOffset`.
  const clock: SkewClock = {};
  let signer: Promise<{ signer: SignatureV4; url: URL }> | undefined;
  const prepare = async () => {
    const region = typeof options.region === 'string' ? options.region : await options.region();
    let endpoint = options.endpoint;
    if (endpoint === undefined) {
      if (await resolveOption(options.useDualstackEndpoint)) {
        throw new Error('SSM: dual-stack endpoints are not derived; name one in AWS_ENDPOINT_URL_SSM');
      }
      endpoint = ssmEndpoint(region, (await resolveOption(options.useFipsEndpoint)) ?? false);
    }
    const url = jsonProtocolUrl(endpoint);
    return {
      url,
      signer: new SignatureV4({
        service: 'ssm',
        region,
        credentials: options.credentials,
        sha256: NodeSha256,
      }),
    };
  };
  return async (name: string) => {
    signer ??= prepare().catch((error: unknown) => {
      signer = undefined;
      throw error;
    });
    const { signer: sigv4, url } = await signer;
    const body = JSON.stringify({ Name: name, WithDecryption: true });
    return withRetries(strategy, clock, async (signingDate, answered) => {
      const request = await sigv4.sign(jsonProtocolRequest(url, '1.1', 'AmazonSSM.GetParameter', body), {
        signingDate,
      });
      const { response } = await options.requestHandler.handle(request);
      const value = await readAnswer(name, response);
      answered(response.headers);
      return value;
    });
  };
}
