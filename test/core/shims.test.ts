/**
 * The bundle-time stand-ins for libmime's charset libraries decode what the real ones decode
 * (compared with the real iconv-lite, which the tests still have), so aliasing them away in
 * the Lambda bundle changes no display name.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import * as credentials from '../../functions/shims/credential-provider-node.js';
import * as japanese from '../../functions/shims/encoding-japanese.js';
import * as shim from '../../functions/shims/iconv-lite.js';
import * as joi from '../../functions/shims/joi.js';

const require = createRequire(import.meta.url);
// The real library, resolved the way libmime resolves it.
const iconv = require(require.resolve('iconv-lite', { paths: [require.resolve('libmime')] })) as {
  encode(text: string, charset: string): Buffer;
  decode(buf: Buffer, charset: string): string;
};

describe('iconv-lite stand-in', () => {
  const samples: [string, string][] = [
    ['windows-1252', 'Café “quoted” – €'],
    ['iso-8859-1', 'Jöran Ångström'],
    ['iso-8859-2', 'Łódź Żółć'],
    ['koi8-r', 'Привет, мир'],
    ['shift_jis', 'こんにちは世界'],
    ['euc-jp', '日本語のメール'],
    ['gb18030', '转发的邮件'],
    ['big5', '轉寄的郵件'],
    ['euc-kr', '전달된 메일'],
  ];
  for (const [charset, text] of samples) {
    it(`decodes ${charset} exactly as iconv-lite does`, () => {
      const bytes = iconv.encode(text, charset);
      assert.equal(shim.decode(bytes, charset), iconv.decode(bytes, charset));
      assert.equal(shim.decode(bytes, charset), text);
    });
  }

  it('decodes ISO-2022-JP (which iconv-lite cannot) as encoding-japanese does', () => {
    const real = require(require.resolve('encoding-japanese', { paths: [require.resolve('libmime')] })) as {
      convert(data: Buffer, opts: object): string;
    };
    // "日本語" in ISO-2022-JP: ESC $ B, the JIS X 0208 pairs, ESC ( B.
    const bytes = Buffer.from('1b2442467c4b5c386c1b2842', 'hex');
    const expected = real.convert(bytes, { to: 'UNICODE', from: 'JIS', type: 'string' });
    assert.equal(expected, '日本語');
    assert.equal(shim.decode(bytes, 'iso-2022-jp'), expected);
  });

  it('an unknown charset throws (libmime then falls back to UTF-8) and is not said to exist', () => {
    assert.throws(() => shim.decode(Buffer.from('x'), 'x-no-such-charset'));
    assert.equal(shim.encodingExists('x-no-such-charset'), false);
    assert.equal(shim.encodingExists('windows-1252'), true);
  });

  it('the encoding-japanese stand-in always defers to the iconv-lite path', () => {
    assert.throws(() => japanese.convert(), /not bundled/);
  });
});

describe('joi stand-in', () => {
  // The real joi, resolved the way mailauth resolves it, with the schemas mailauth builds.
  const Joi = require(require.resolve('joi', { paths: [require.resolve('mailauth')] })) as {
    string(): {
      base64(o: object): { validate(v: unknown): { error?: Error } };
      domain(o: object): { validate(v: unknown): { error?: Error } };
    };
  };
  const pairs = [
    {
      name: 'base64({ paddingRequired: false }) (a DKIM key p= value)',
      real: Joi.string().base64({ paddingRequired: false }),
      ours: joi.string().base64({ paddingRequired: false }),
    },
    {
      name: 'domain({ allowUnicode: false, tlds: false }) (the SPF domain)',
      real: Joi.string().domain({ allowUnicode: false, tlds: false }),
      ours: joi.string().domain({ allowUnicode: false, tlds: false }),
    },
  ];
  const alphabet = [...'ABCxyz019+/=-_.é \t\r\n@:'];
  const text = fc.oneof(
    fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 40 }),
    fc.domain(),
    fc.base64String(),
    fc.string({ unit: 'binary', maxLength: 20 }),
  );
  const values = fc.oneof(
    { weight: 8, arbitrary: text },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>(
        undefined,
        null,
        '',
        42,
        {},
        'a'.repeat(64),
        `${'a'.repeat(63)}.com`,
      ),
    },
  );
  for (const p of pairs) {
    it(`${p.name}: accepts and rejects exactly what joi does`, () => {
      // Known answers first, so a property that never reaches a branch still fails loudly.
      for (const [value, valid] of [
        [undefined, true],
        ['', false],
        [null, false],
      ] as const) {
        assert.equal(p.ours.validate(value).error === undefined, valid, String(value));
        assert.equal(p.real.validate(value).error === undefined, valid, String(value));
      }
      fc.assert(
        fc.property(values, (value) => {
          const ours = p.ours.validate(value).error;
          const real = p.real.validate(value).error;
          assert.equal(ours === undefined, real === undefined, JSON.stringify(value));
          if (ours) assert.ok(ours instanceof Error);
        }),
        { numRuns: 3000 },
      );
    });
  }

  it('known keys and domains: valid and invalid as mailauth needs them', () => {
    const b64 = joi.string().base64({ paddingRequired: false });
    const domain = joi.string().domain({ allowUnicode: false, tlds: false });
    assert.equal(b64.validate('MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC').error, undefined);
    assert.match(b64.validate('not base64!').error?.message ?? '', /base64/);
    assert.equal(domain.validate('mail.sender.test').error, undefined);
    assert.ok(domain.validate('localhost').error, 'one label is not a domain');
    assert.ok(domain.validate('bücher.example').error, 'no Unicode');
  });

  it('any schema mailauth does not build throws when it is built', () => {
    assert.throws(() => joi.string().base64({ urlSafe: true }), /not bundled/);
    assert.throws(() => joi.string().domain({ allowUnicode: false }), /not bundled/);
    assert.throws(() => joi.string().domain({ tlds: false, minDomainSegments: 1 } as object), /not bundled/);
  });
});

describe('credential-provider-node stand-in (environment only)', () => {
  const VARS = [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_CREDENTIAL_EXPIRATION',
    'AWS_PROFILE',
  ] as const;
  /** Runs `fn` with exactly `vars` of {@link VARS} set, then puts the environment back. */
  async function withEnv<T>(vars: Partial<Record<(typeof VARS)[number], string>>, fn: () => Promise<T>) {
    const saved = VARS.map((k) => [k, process.env[k]] as const);
    for (const k of VARS) delete process.env[k];
    Object.assign(process.env, vars);
    try {
      return await fn();
    } finally {
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }
  const lambdaLike = {
    AWS_ACCESS_KEY_ID: 'ASIAEXAMPLEKEY',
    AWS_SECRET_ACCESS_KEY: 'example-secret',
    AWS_SESSION_TOKEN: 'example-session-token',
  };

  for (const [name, vars] of [
    ['as Lambda sets them (key, secret, session token)', lambdaLike],
    ['a key and secret alone', { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 's' }],
    ['with an expiration', { ...lambdaLike, AWS_CREDENTIAL_EXPIRATION: '2099-01-01T00:00:00Z' }],
  ] as const) {
    it(`gives the credentials the real chain gives: ${name}`, async () => {
      const real = await import('@aws-sdk/credential-provider-node');
      await withEnv(vars, async () => {
        const expected = await real.defaultProvider()();
        assert.equal(expected.accessKeyId, vars.AWS_ACCESS_KEY_ID);
        assert.deepEqual(await credentials.defaultProvider()(), expected);
      });
    });
  }

  it('exports what the SDK clients import, with the real expiry rules', async () => {
    const real = await import('@aws-sdk/credential-provider-node');
    // `default`: Node's CommonJS interop adds it to the real module's namespace.
    assert.deepEqual(
      Object.keys(credentials).sort(),
      Object.keys(real)
        .filter((k) => k !== 'default')
        .sort(),
    );
    const at = (ms: number) => ({
      accessKeyId: 'a',
      secretAccessKey: 'b',
      expiration: new Date(Date.now() + ms),
    });
    for (const c of [{ accessKeyId: 'a', secretAccessKey: 'b' }, at(60_000), at(-1), at(3_600_000)]) {
      assert.equal(credentials.credentialsTreatedAsExpired(c), real.credentialsTreatedAsExpired(c));
      assert.equal(credentials.credentialsWillNeedRefresh(c), real.credentialsWillNeedRefresh(c));
    }
    assert.equal(credentials.credentialsTreatedAsExpired(undefined), false);
  });

  it('keeps the credentials it read, and reads the environment again once they are about to expire', async () => {
    const soon = new Date(Date.now() + 60_000).toISOString();
    await withEnv({ ...lambdaLike, AWS_CREDENTIAL_EXPIRATION: soon }, async () => {
      const provider = credentials.defaultProvider();
      assert.equal((await provider()).accessKeyId, 'ASIAEXAMPLEKEY');
      process.env.AWS_ACCESS_KEY_ID = 'ASIAROTATED';
      process.env.AWS_CREDENTIAL_EXPIRATION = '2099-01-01T00:00:00Z';
      assert.equal((await provider()).accessKeyId, 'ASIAROTATED', 'expiring within 5 minutes: read again');
      process.env.AWS_ACCESS_KEY_ID = 'ASIANOTREAD';
      assert.equal((await provider()).accessKeyId, 'ASIAROTATED', 'valid: kept');
    });
  });

  it('without credentials in the environment: one clear error, no search of files or endpoints', async () => {
    await withEnv({}, async () => {
      await assert.rejects(credentials.defaultProvider()(), /No AWS credentials in the environment/);
    });
  });
});
