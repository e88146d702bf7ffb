/**
 * Secrets from SSM Parameter Store: the SRS secrets and the ARC key are read once per
 * container and never come from the bundled configuration of a deployment.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { loadArcKey, resolveSrsSecrets } from '../../functions/adapters/ssm-secrets.js';
import { parseConfig } from '../../functions/core/config.js';
import { ConfigError, TransientDependencyError } from '../../functions/core/errors.js';
import { CONFIG_JSON } from '../helpers/mail.js';

const withParameter = (secrets?: string[]) =>
  parseConfig({
    ...CONFIG_JSON,
    srs: { domain: 'fwd.example.com', secretsParameter: '/op/srs', ...(secrets ? { secrets } : {}) },
  });

describe('resolveSrsSecrets', () => {
  let mock: ReturnType<typeof mockClient>;
  before(() => {
    mock = mockClient(SSMClient);
  });
  after(() => mock.restore());
  const ssm = () => new SSMClient({ region: 'us-east-1' });

  it('reads one secret per line, newest first, decrypted', async () => {
    mock.reset();
    mock
      .on(GetParameterCommand)
      .resolves({ Parameter: { Value: 'newest-secret-1\r\n\r\n older-secret-2 \n' } });
    const config = await resolveSrsSecrets(withParameter(), ssm, 'parameter');
    assert.deepEqual(config.srs.secrets, ['newest-secret-1', 'older-secret-2']);
    const input = mock.commandCalls(GetParameterCommand)[0]!.args[0].input;
    assert.deepEqual(input, { Name: '/op/srs', WithDecryption: true });
  });

  it('the functions prefer the parameter even when the file has literal secrets', async () => {
    mock.reset();
    mock.on(GetParameterCommand).resolves({ Parameter: { Value: 'from-ssm-secret' } });
    const config = await resolveSrsSecrets(withParameter(['literal-secret']), ssm, 'parameter');
    assert.deepEqual(config.srs.secrets, ['from-ssm-secret']);
  });

  it('local tools keep literal secrets and make no call', async () => {
    mock.reset();
    const config = await resolveSrsSecrets(withParameter(['literal-secret']), ssm, 'literal');
    assert.deepEqual(config.srs.secrets, ['literal-secret']);
    assert.equal(mock.commandCalls(GetParameterCommand).length, 0);
  });

  it('no parameter configured: the configuration is returned as it is', async () => {
    mock.reset();
    const config = parseConfig(CONFIG_JSON);
    assert.equal(await resolveSrsSecrets(config, ssm, 'parameter'), config);
  });

  const bad: [string, () => void, RegExp | ((e: unknown) => boolean)][] = [
    [
      'a missing parameter',
      () =>
        mock.on(GetParameterCommand).rejects(Object.assign(new Error('nope'), { name: 'ParameterNotFound' })),
      /srs\.secretsParameter: parameter \/op\/srs does not exist/,
    ],
    [
      'an empty parameter',
      () => mock.on(GetParameterCommand).resolves({ Parameter: { Value: '\n' } }),
      /must hold one secret of at least 8 characters per line/,
    ],
    [
      'a short secret',
      () => mock.on(GetParameterCommand).resolves({ Parameter: { Value: 'short' } }),
      /at least 8 characters/,
    ],
    [
      'throttling (retryable)',
      () =>
        mock.on(GetParameterCommand).rejects(
          Object.assign(new Error('slow down'), {
            name: 'ThrottlingException',
            $metadata: { httpStatusCode: 400 },
          }),
        ),
      (e: unknown) => e instanceof TransientDependencyError && e.retryable,
    ],
  ];
  for (const [name, arrange, expected] of bad) {
    it(`${name} fails loudly`, async () => {
      mock.reset();
      arrange();
      await assert.rejects(resolveSrsSecrets(withParameter(), ssm, 'parameter'), expected as RegExp);
    });
  }

  it('the ARC key from SSM must be a PEM private key', async () => {
    mock.reset();
    mock.on(GetParameterCommand).resolves({ Parameter: { Value: 'not a key' } });
    const config = parseConfig({
      ...CONFIG_JSON,
      arc: { domain: 'fwd.example.com', selector: 'arc1', privateKey: { ssmParameter: '/op/arc' } },
    });
    await assert.rejects(
      loadArcKey(config, ssm),
      (e: unknown) => e instanceof ConfigError && /PEM/.test(e.message),
    );
  });
});

describe('config: SRS secrets or their parameter', () => {
  it('a parameter alone is enough (secrets resolved at cold start)', () => {
    assert.deepEqual(withParameter().srs.secrets, []);
  });
  it('neither secrets nor a parameter is an error naming srs.secrets', () => {
    assert.throws(
      () => parseConfig({ ...CONFIG_JSON, srs: { domain: 'fwd.example.com' } }),
      (e: unknown) => e instanceof ConfigError && e.field === 'srs.secrets',
    );
  });
});
