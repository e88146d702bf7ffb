/**
 * A {@link ParameterReader} over the SDK's SSM client, for the CLI: it runs outside Lambda,
 * with the SDK's whole credential chain (profiles, SSO) and endpoint configuration, where a
 * few hundred kilobytes more of the SDK cost nothing. The router signs its own requests
 * (`ssm-parameter-reader.ts`) to keep this client out of its bundle.
 */
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { ParameterReader } from './ssm-parameter-reader.js';

/** `GetParameter` with `WithDecryption`; the client is built on the first read only. */
export function ssmClientReader(client: () => SSMClient): ParameterReader {
  let built: SSMClient | undefined;
  return async (name: string) => {
    built ??= client();
    const out = await built.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    return out.Parameter?.Value;
  };
}
