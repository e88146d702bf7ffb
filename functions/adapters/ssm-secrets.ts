/**
 * Secrets named by the configuration, loaded once per container: the ARC signing key and the
 * SRS secrets, from SSM Parameter Store SecureStrings in AWS, or (the ARC key) from a file
 * locally. Neither ever appears in the configuration file of a deployment, its bundle or the
 * CloudFormation template.
 *
 * The parameters are read through a {@link ParameterReader}: the router's signs its own
 * `GetParameter` requests (`ssm-parameter-reader.ts`, no SSM client in its bundle), the CLI's
 * sends them with the SDK's SSM client (`ssm-client-reader.ts`). Every failure is typed and
 * names the configuration field and the parameter.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ArcSigningKey } from '../core/compose/arc.js';
import type { Config } from '../core/config.js';
import { ConfigError, TransientDependencyError } from '../core/errors.js';
import { isTransientAwsError, rethrowAws } from './aws-errors.js';
import { MALFORMED, type ParameterReader } from './ssm-parameter-reader.js';

export type { ParameterReader };

/**
 * The decrypted value of a SecureString parameter; `field` names the config field in errors.
 * A missing parameter and a refusal (IAM, KMS: `AccessDeniedException`, `KMSAccessDenied…`)
 * are deployment faults ({@link ConfigError}); throttling, 5xx, network errors and an answer
 * without a value are worth a later retry ({@link TransientDependencyError}).
 */
async function secureParameter(
  read: ParameterReader | undefined,
  name: string,
  field: string,
): Promise<string> {
  if (!read) throw new ConfigError(`${field}: no SSM client available to read ${name}`, { field });
  try {
    return (await read(name)) ?? '';
  } catch (error) {
    const e = error as Error;
    if (e.name === 'ParameterNotFound') {
      throw new ConfigError(`${field}: parameter ${name} does not exist`, { field, cause: error });
    }
    if (e.name === MALFORMED) {
      throw new TransientDependencyError('ssm', `GetParameter ${name}: ${e.message}`, { cause: error });
    }
    if (isTransientAwsError(error)) rethrowAws('ssm', `GetParameter ${name}`, error);
    throw new ConfigError(`${field}: cannot read parameter ${name}: ${e.name}: ${e.message}`, {
      field,
      cause: error,
    });
  }
}

/**
 * The ARC signing key, read and parsed once per container: a parsed key signs about twice as
 * fast as a PEM parsed for every signature (issue 16, `core/compose/arc-sign.ts`), and a key
 * that does not parse fails the cold start instead of every message. `parseKey` is injected
 * by tests (default `crypto.createPrivateKey`).
 */
export async function loadArcKey(
  config: Config,
  parameters?: ParameterReader,
  parseKey: (pem: string) => KeyObject = createPrivateKey,
): Promise<ArcSigningKey | null> {
  const arc = config.arc;
  if (!arc) return null;
  let pem: string;
  if ('file' in arc.privateKey) {
    try {
      pem = await readFile(arc.privateKey.file, 'utf8');
    } catch (error) {
      throw new ConfigError(
        `arc.privateKey.file: cannot read ${arc.privateKey.file}: ${(error as Error).message}`,
        {
          field: 'arc.privateKey.file',
          cause: error,
        },
      );
    }
  } else {
    pem = await secureParameter(parameters, arc.privateKey.ssmParameter, 'arc.privateKey.ssmParameter');
  }
  if (!pem.includes('PRIVATE KEY')) {
    throw new ConfigError('arc.privateKey: the key is not a PEM private key', { field: 'arc.privateKey' });
  }
  let privateKey: KeyObject;
  try {
    privateKey = parseKey(pem);
  } catch (error) {
    throw new ConfigError(`arc.privateKey: the key does not parse: ${(error as Error).message}`, {
      field: 'arc.privateKey',
      cause: error,
    });
  }
  if (privateKey.asymmetricKeyType !== 'rsa' && privateKey.asymmetricKeyType !== 'ed25519') {
    throw new ConfigError(
      `arc.privateKey: an ${privateKey.asymmetricKeyType} key; ARC signs with RSA or Ed25519 (RFC 8617, RFC 8463)`,
      { field: 'arc.privateKey' },
    );
  }
  return { domain: arc.domain, selector: arc.selector, privateKey };
}

/**
 * The configuration with `srs.secrets` filled in. `prefer: 'parameter'` (the functions) reads
 * `srs.secretsParameter` whenever it is set; `prefer: 'literal'` (local tools) keeps literal
 * secrets when the file has them and reads the parameter only otherwise.
 */
export async function resolveSrsSecrets(
  config: Config,
  parameters: ParameterReader | undefined,
  prefer: 'parameter' | 'literal',
): Promise<Config> {
  const name = config.srs.secretsParameter;
  if (!name || (prefer === 'literal' && config.srs.secrets.length > 0)) return config;
  const secrets = (await secureParameter(parameters, name, 'srs.secretsParameter'))
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (secrets.length === 0 || secrets.some((s) => s.length < 8)) {
    throw new ConfigError(
      `srs.secretsParameter: ${name} must hold one secret of at least 8 characters per line, newest first`,
      { field: 'srs.secretsParameter' },
    );
  }
  return { ...config, srs: { ...config.srs, secrets } };
}
