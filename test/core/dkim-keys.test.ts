/**
 * `dkim-keys.ts` against mailauth's own `createKeyCache` as the oracle: every key record (good,
 * revoked, malformed, too short, restricted) answers the same, on the first message and on the
 * next ones; DNS is still asked once per message; the record is parsed once per container.
 */
import assert from 'node:assert/strict';
import crypto, { generateKeyPairSync } from 'node:crypto';
import { beforeEach, describe, it } from 'node:test';
import { createKeyCache as mailauthKeyCache } from 'mailauth/lib/tools.js';
import { createKeyCache, forgetParsedKeys, MAX_PARSED } from '../../functions/core/dkim-keys.js';

const der = (bits: number) =>
  generateKeyPairSync('rsa', { modulusLength: bits })
    .publicKey.export({ type: 'spki', format: 'der' })
    .toString('base64');
const rsa1024 = der(1024);
const rsa512 = der(512);
const ed25519 = generateKeyPairSync('ed25519')
  .publicKey.export({ type: 'spki', format: 'der' })
  .subarray(-32)
  .toString('base64');

/** Runs `body` with `crypto.createPublicKey` counted (the parse the cache saves); `parses()` reads the count. */
async function countingParses(body: (parses: () => number) => Promise<void>): Promise<void> {
  const real = crypto.createPublicKey;
  let parses = 0;
  crypto.createPublicKey = ((...args: Parameters<typeof real>) => {
    parses++;
    return real(...args);
  }) as typeof real;
  try {
    await body(() => parses);
  } finally {
    crypto.createPublicKey = real;
  }
}

const RECORDS: Record<string, string[][]> = {
  'good._domainkey.a.example': [['v=DKIM1; k=rsa; p=', rsa1024]],
  'ed._domainkey.a.example': [[`v=DKIM1; k=ed25519; p=${ed25519}`]],
  'revoked._domainkey.a.example': [['v=DKIM1; p=']],
  'version._domainkey.a.example': [[`v=DKIM2; p=${rsa1024}`]],
  'service._domainkey.a.example': [[`v=DKIM1; s=other; p=${rsa1024}`]],
  'hash._domainkey.a.example': [[`v=DKIM1; h=sha1; p=${rsa1024}`]],
  'short._domainkey.a.example': [[`v=DKIM1; p=${rsa512}`]],
  'garbage._domainkey.a.example': [['v=DKIM1; p=bm90IGEga2V5']],
  'base64._domainkey.a.example': [['v=DKIM1; p=***']],
  'testing._domainkey.a.example': [[`v=DKIM1; t=y:s; p=${rsa1024}`]],
};

function zone(records: Record<string, string[][]>) {
  const asked: string[] = [];
  const resolver = async (name: string, rrtype: string) => {
    asked.push(`${name}/${rrtype}`);
    const answer = records[name];
    if (!answer) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return answer;
  };
  return { resolver, asked };
}

type Outcome = { value: unknown } | { error: { message: string; code: unknown; rr: unknown } };
async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    return { value: await p };
  } catch (e) {
    const err = e as { message: string; code?: unknown; rr?: unknown };
    return { error: { message: err.message, code: err.code, rr: err.rr } };
  }
}

const QUESTIONS: [string, number | undefined, Record<string, unknown>][] = [
  ['DKIM', undefined, { hashAlgo: 'sha256' }],
  ['DKIM', 1024, { strict: true, hashAlgo: 'sha256' }],
  ['AS', 2048, { hashAlgo: 'sha256' }],
];

describe('dkim-keys: parsed key records kept per container', () => {
  beforeEach(() => forgetParsedKeys());

  it('answers every record as mailauth does, on the first message and the next ones', async () => {
    const { resolver } = zone(RECORDS);
    for (let message = 0; message < 3; message++) {
      const ours = createKeyCache(resolver);
      const theirs = mailauthKeyCache(resolver);
      for (const name of [...Object.keys(RECORDS), 'missing._domainkey.a.example']) {
        for (const [type, bits, options] of QUESTIONS) {
          assert.deepEqual(
            await outcome(ours.get(type, name, bits, options)),
            await outcome(theirs.get(type, name, bits, options)),
            `${name} ${type} ${bits} ${JSON.stringify(options)} (message ${message})`,
          );
        }
      }
    }
  });

  it('asks DNS once per question and message, and parses a record once per container', async () => {
    const { resolver, asked } = zone(RECORDS);
    let parses = 0;
    await countingParses(async (count) => {
      for (let message = 0; message < 3; message++) {
        const cache = createKeyCache(resolver);
        // Two signatures naming the same key in one message share one lookup.
        const [a, b] = await Promise.all([
          cache.get('DKIM', 'good._domainkey.a.example', undefined, { hashAlgo: 'sha256' }),
          cache.get('DKIM', 'good._domainkey.a.example', undefined, { hashAlgo: 'sha256' }),
        ]);
        assert.equal(a, b);
      }
      parses = count();
    });
    assert.deepEqual(asked, Array(3).fill('good._domainkey.a.example/TXT'));
    assert.equal(parses, 1);
  });

  it('parses a changed record afresh, and never keeps a failure', async () => {
    const records: Record<string, string[][]> = {};
    const { resolver } = zone(records);
    const name = 'rotating._domainkey.a.example';
    const ask = () => outcome(createKeyCache(resolver).get('DKIM', name, undefined, {}));
    assert.equal(((await ask()) as { error: { code: string } }).error.code, 'ENOTFOUND');
    records[name] = [[`v=DKIM1; p=${rsa1024}`]];
    const first = (await ask()) as { value: { rr: string } };
    assert.equal(first.value.rr, `v=DKIM1;p=${rsa1024}`);
    records[name] = [['v=DKIM1; p=']];
    assert.equal(((await ask()) as { error: { message: string } }).error.message, 'Missing key value');
    records[name] = [[`v=DKIM1; k=ed25519; p=${ed25519}`]];
    assert.equal(((await ask()) as { value: { keyType: string } }).value.keyType, 'ed25519');
  });

  it('keeps at most MAX_PARSED records, the oldest forgotten first', async () => {
    const records: Record<string, string[][]> = {};
    for (let i = 0; i <= MAX_PARSED; i++)
      records[`k${i}._domainkey.a.example`] = [[`v=DKIM1; n=${i}; p=${rsa1024}`]];
    const { resolver } = zone(records);
    await countingParses(async (parses) => {
      const ask = (i: number) =>
        createKeyCache(resolver).get('DKIM', `k${i}._domainkey.a.example`, undefined, {});
      for (let i = 0; i <= MAX_PARSED; i++) await ask(i);
      assert.equal(parses(), MAX_PARSED + 1);
      await ask(MAX_PARSED); // still kept
      assert.equal(parses(), MAX_PARSED + 1);
      await ask(0); // the oldest, forgotten: parsed again
      assert.equal(parses(), MAX_PARSED + 2);
    });
  });

  it('hands each message its own copy', async () => {
    const { resolver } = zone(RECORDS);
    const name = 'testing._domainkey.a.example';
    for (let message = 0; message < 3; message++) {
      const got = (await createKeyCache(resolver).get('DKIM', name, undefined, {})) as {
        flags: string[];
        warnings: string[];
      };
      assert.deepEqual(got.flags, ['y', 's']);
      assert.equal(got.warnings.length, 0);
      got.flags.push('changed');
      got.warnings.push('changed');
    }
  });
});
