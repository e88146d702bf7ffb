/**
 * Secrets from SSM Parameter Store: the SRS secrets and the ARC key are read once per
 * container and never come from the bundled configuration of a deployment.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { ssmClientReader } from '../../functions/adapters/ssm-client-reader.js';
import { loadArcKey, resolveSrsSecrets } from '../../functions/adapters/ssm-secrets.js';
import { arrivalResults, sealArc } from '../../functions/core/compose/arc.js';
import { parseConfig } from '../../functions/core/config.js';
import { evaluateDkim } from '../../functions/core/dkim.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { ConfigError, TransientDependencyError } from '../../functions/core/errors.js';
import { CONFIG_JSON, dkimKey, message } from '../helpers/mail.js';

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
  // The CLI's reader: the SDK's SSM client (the router signs its own: ssm-parameter-reader.test.ts).
  const ssm = ssmClientReader(() => new SSMClient({ region: 'us-east-1' }));

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

describe('loadArcKey: the key parsed once per container (issue 16)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'arc-key-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const arcKey = dkimKey('fwd.example.com', 'arc1');
  const withFile = (pem: string) => {
    const file = join(dir, `k-${Math.random().toString(36).slice(2)}.pem`);
    writeFileSync(file, pem);
    return parseConfig({
      ...CONFIG_JSON,
      arc: { domain: 'fwd.example.com', selector: 'arc1', privateKey: { file } },
    });
  };

  it('parses the PEM once; sealing three copies parses nothing more and asks for no PEM', async () => {
    // Prepare
    let parses = 0;
    const parse = (pem: string): KeyObject => {
      parses++;
      const k = createPrivateKey(pem);
      k.export = () => {
        throw new Error('the PEM was asked for again');
      };
      return k;
    };
    const key = await loadArcKey(withFile(arcKey.privateKey), undefined, parse);
    assert.ok(key);
    const resolver = zoneResolver({});
    const raw = message();
    const dkim = await evaluateDkim(raw, 'sender.test', resolver, new Date(), { bodyHash: true });
    // Act
    const outcomes = [];
    for (let i = 0; i < 3; i++) {
      outcomes.push(
        await sealArc(raw, {
          key,
          authservId: 'mx.fwd.example.com',
          results: arrivalResults({ spf: 'PASS', dmarc: 'PASS', envelopeSender: null, from: [], dkim }),
          resolver,
          now: new Date(),
          ...(dkim.bodyHash ? { bodyHash: dkim.bodyHash } : {}),
        }),
      );
    }
    // Assess
    assert.equal(parses, 1);
    assert.deepEqual(
      outcomes.map((o) => [o.sealed, o.instance]),
      [
        [true, 1],
        [true, 1],
        [true, 1],
      ],
    );
  });

  const bad: [string, string, RegExp][] = [
    [
      'a PEM that does not parse',
      '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
      /does not parse/,
    ],
    [
      'an EC key',
      generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
      /an ec key; ARC signs with RSA or Ed25519/,
    ],
  ];
  for (const [name, pem, expected] of bad) {
    it(`${name} fails the cold start with the field named`, async () => {
      await assert.rejects(
        loadArcKey(withFile(pem)),
        (e: unknown) =>
          e instanceof ConfigError && expected.test(e.message) && /arc\.privateKey/.test(e.message),
      );
    });
  }
});
