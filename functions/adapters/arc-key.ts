/**
 * Loads the ARC signing key named by the configuration, once per container: from an SSM
 * Parameter Store SecureString in AWS, or from a file locally. The key itself never appears in
 * the configuration file or the CloudFormation template.
 */
import { readFile } from 'node:fs/promises';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { ArcSigningKey } from '../core/compose/arc.js';
import type { Config } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { rethrowAws } from './aws-errors.js';

export async function loadArcKey(config: Config, ssm?: () => SSMClient): Promise<ArcSigningKey | null> {
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
    if (!ssm)
      throw new ConfigError('arc.privateKey.ssmParameter: no SSM client available', {
        field: 'arc.privateKey',
      });
    const name = arc.privateKey.ssmParameter;
    try {
      const out = await ssm().send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      pem = out.Parameter?.Value ?? '';
    } catch (error) {
      if ((error as Error).name === 'ParameterNotFound') {
        throw new ConfigError(`arc.privateKey.ssmParameter: parameter ${name} does not exist`, {
          field: 'arc.privateKey.ssmParameter',
          cause: error,
        });
      }
      return rethrowAws('ssm', `GetParameter ${name}`, error);
    }
  }
  if (!pem.includes('PRIVATE KEY')) {
    throw new ConfigError('arc.privateKey: the key is not a PEM private key', { field: 'arc.privateKey' });
  }
  return { domain: arc.domain, selector: arc.selector, privateKey: pem };
}
