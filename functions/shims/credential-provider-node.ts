/**
 * Bundle-time stand-in for `@aws-sdk/credential-provider-node` (aliased by
 * `lib/lambda-bundling.ts`): the SDK clients' default credential chain, reduced to its first
 * link, the environment. Lambda gives a function its execution role's credentials in
 * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` ("Defined runtime
 * environment variables", https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
 * and the full chain takes exactly that link there: `fromEnv` comes first and answers. The
 * other links — SSO, INI files, `credential_process`, web identity, the container and
 * instance metadata endpoints — and the STS/SSO clients they bring (`@aws-sdk/nested-clients`)
 * are about a tenth of the router bundle, parsed at every cold start and never run in Lambda
 * (issue 16, bench/README.md "Cold start").
 *
 * Same exports and behaviour as the real module where Lambda can reach it: `fromEnv`'s reading
 * of the variables (session token, `AWS_CREDENTIAL_EXPIRATION`, scope and account id
 * included), the same expiry rule for re-reading them. Without credentials in the environment
 * (not Lambda) it fails with an error that says so instead of searching further.
 * `test/core/shims.test.ts` compares it with the real chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** What the real `defaultProvider` accepts; only `logger` is read here. */
export interface DefaultProviderInit {
  logger?: { debug?: (...content: unknown[]) => void };
  [option: string]: unknown;
}

/** The real module's: credentials that will expire need re-reading. */
export const credentialsWillNeedRefresh = (credentials: AwsCredentialIdentity | undefined): boolean =>
  credentials?.expiration !== undefined;

/** The real module's: within five minutes of their expiration, credentials count as expired. */
export const credentialsTreatedAsExpired = (credentials: AwsCredentialIdentity | undefined): boolean =>
  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300_000;

/**
 * The environment's credentials, read on first use and kept until they are treated as expired
 * (never, without `AWS_CREDENTIAL_EXPIRATION`), as the real chain memoizes its answer.
 */
export function defaultProvider(init: DefaultProviderInit = {}): AwsCredentialIdentityProvider {
  const read = fromEnv(init as Parameters<typeof fromEnv>[0]);
  let cached: Promise<AwsCredentialIdentity> | undefined;
  const load = () =>
    read().catch((error: unknown) => {
      cached = undefined;
      throw new Error(
        'No AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): this ' +
          'bundle reads credentials only as Lambda provides them (functions/shims/credential-provider-node.ts).',
        { cause: error },
      );
    });
  return async (options?: { forceRefresh?: boolean }) => {
    if (!cached || options?.forceRefresh) cached = load();
    const credentials = await cached;
    if (!credentialsTreatedAsExpired(credentials)) return credentials;
    cached = load();
    return cached;
  };
}
