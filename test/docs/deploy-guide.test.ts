/**
 * docs/deploying.md is followed literally by operators, so what it says must work: every shell
 * block marked `sh offline` runs here, in order, in a scratch directory (the ARC key commands);
 * the key and DNS record they make seal and verify an ARC set with mailauth (an independent
 * implementation, RFC 8617) resolving the record as published; every context key the guide
 * names is one the app reads (lib/context.ts), every context key is documented, and every
 * `outbound-pools` command it names is one the CLI's own usage lists.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { authenticate, sealMessage } from 'mailauth';
import { CONTEXT_KEYS } from '../../lib/context.js';
import { PROJECT_ROOT } from '../../lib/lambda-bundling.js';

const GUIDE = readFileSync(join(PROJECT_ROOT, 'docs/deploying.md'), 'utf8');

interface Block {
  info: string;
  code: string;
}

/** The fenced code blocks of the guide, with their info strings (`sh offline`). */
const blocks: Block[] = [...GUIDE.matchAll(/^ *```([^\n]*)\n([\s\S]*?)^ *```\s*$/gm)].map((m) => ({
  info: (m[1] ?? '').trim(),
  code: m[2] ?? '',
}));
const offline = blocks.filter((b) => /^sh\s+offline$/.test(b.info));

/** The guide's example ARC identity: the TXT record name operators publish. */
const ARC_RECORD = 'arc1._domainkey.fwd.example.com';

/** A resolver that knows one TXT record, as DNS would serve it, and nothing else. */
function resolverWith(name: string, strings: string[]) {
  return async (query: string, type: string) => {
    if (type === 'TXT' && query.toLowerCase() === name) return [strings];
    throw Object.assign(new Error(`${query} ${type}: not found`), { code: 'ENOTFOUND' });
  };
}

const MESSAGE = Buffer.from(
  'From: ann@example.com\r\nTo: alias@example.com\r\nSubject: first mail\r\n' +
    'Message-ID: <first@example.com>\r\nDate: Mon, 07 Dec 2026 00:00:00 +0000\r\n\r\nhello\r\n',
);

/** Seals MESSAGE with the key, then lets mailauth verify the chain against the record. */
async function arcResult(privateKey: string, record: string[]): Promise<string | undefined> {
  const seal = await sealMessage(MESSAGE, {
    signingDomain: 'fwd.example.com',
    selector: 'arc1',
    privateKey,
    authResults: 'fwd.example.com; spf=none smtp.mailfrom=ann@example.com',
    cv: 'none',
  });
  const result = await authenticate(Buffer.concat([seal, MESSAGE]), {
    resolver: resolverWith(ARC_RECORD, record),
    ip: '192.0.2.1',
    helo: 'mx.example.com',
    sender: 'ann@example.com',
    disableBimi: true,
  } as Parameters<typeof authenticate>[1]);
  return result.arc ? result.arc.status?.result : undefined;
}

describe('deploy guide: the offline shell blocks run as written', () => {
  let dir: string;
  let run: ReturnType<typeof spawnSync>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deploy-guide-'));
    // One shell, in order, as an operator pastes them; any failing command fails the run.
    const script = offline.map((b) => b.code).join('\n');
    run = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, encoding: 'utf8' });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has offline blocks, the ARC key commands among them, and they succeed', () => {
    assert.ok(offline.length >= 2, 'the ARC key and the zone-file blocks are marked offline');
    assert.ok(offline.some((b) => b.code.includes('openssl genrsa')));
    assert.equal(run.error, undefined, String(run.error));
    assert.equal(run.status, 0, String(run.stderr));
  });

  it('makes a 2048-bit RSA private key in PEM, as the router loads it', () => {
    const pem = readFileSync(join(dir, 'arc.pem'), 'utf8');
    assert.match(pem, /^-----BEGIN (RSA )?PRIVATE KEY-----\n/);
    const key = createPrivateKey(pem);
    assert.equal(key.asymmetricKeyType, 'rsa');
    assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
  });

  it('the TXT value is v=DKIM1; k=rsa; p= with the public half of that key', () => {
    const txt = readFileSync(join(dir, 'arc.txt'), 'utf8').trim();
    const match = /^v=DKIM1; k=rsa; p=([A-Za-z0-9+/]+={0,2})$/.exec(txt);
    assert.ok(match, txt);
    const published = createPublicKey({ key: Buffer.from(match[1]!, 'base64'), format: 'der', type: 'spki' });
    const derived = createPublicKey(readFileSync(join(dir, 'arc.pem'), 'utf8'));
    assert.ok(published.equals(derived), 'p= is the public key of arc.pem');
  });

  it('the zone-file form splits the value into quoted strings of at most 255 characters that join back', () => {
    const txt = readFileSync(join(dir, 'arc.txt'), 'utf8').trim();
    const zone = readFileSync(join(dir, 'arc.zone.txt'), 'utf8').trim();
    const strings = [...zone.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    assert.ok(strings.length >= 2, 'a 2048-bit key needs more than one string');
    for (const s of strings) assert.ok(s.length <= 255, `${s.length} characters`);
    assert.equal(strings.join(''), txt);
    assert.equal(zone.replace(/"[^"]*"/g, '').trim(), '', 'nothing but quoted strings');
  });

  it('mailauth verifies an ARC set sealed with the key against the record as published', async () => {
    const pem = readFileSync(join(dir, 'arc.pem'), 'utf8');
    const zone = readFileSync(join(dir, 'arc.zone.txt'), 'utf8');
    const strings = [...zone.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    assert.equal(await arcResult(pem, strings), 'pass');
  });

  it('and fails it when the record publishes another key (the check can fail)', async () => {
    const pem = readFileSync(join(dir, 'arc.pem'), 'utf8');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const p = other.export({ format: 'der', type: 'spki' }).toString('base64');
    assert.equal(await arcResult(pem, [`v=DKIM1; k=rsa; p=${p}`]), 'fail');
  });
});

describe('deploy guide: what it names exists', () => {
  it('every context key it sets with -c is one the app reads', () => {
    const known = new Set<string>(['config', ...CONTEXT_KEYS]);
    const named = [...GUIDE.matchAll(/-c\s+([a-z][A-Za-z0-9]*)=/g)].map((m) => m[1]!);
    assert.ok(named.length >= 3, 'the guide shows -c options');
    assert.deepEqual(
      named.filter((k) => !known.has(k)),
      [],
    );
  });

  it('the deploy options table lists exactly the context keys of lib/context.ts (and config)', () => {
    const section = /^## Deploy options\n([\s\S]*?)^## /m.exec(GUIDE)?.[1] ?? '';
    const rows = [...section.matchAll(/^\| `([A-Za-z][A-Za-z0-9]*)` \|/gm)].map((m) => m[1]!);
    assert.deepEqual([...rows].sort(), ['config', ...CONTEXT_KEYS].sort());
  });

  it('every outbound-pools command and subcommand it names is in the CLI usage', () => {
    const cli = spawnSync(process.execPath, ['bin/outbound-pools.mjs', '--help'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    assert.equal(cli.status, 0, cli.stderr);
    const named = [...GUIDE.matchAll(/outbound-pools ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?/g)];
    assert.ok(named.length >= 4, 'the guide names CLI commands');
    for (const [text, command, sub] of named) {
      assert.ok(cli.stdout.includes(`Usage: outbound-pools ${command}`), `${text}: no command ${command}`);
      if (sub) assert.ok(cli.stdout.includes(`outbound-pools ${command} ${sub}`), `${text}: no ${sub}`);
    }
  });

  it('links nowhere outside the repository', () => {
    const prose = GUIDE.replace(/^ *```[^\n]*\n[\s\S]*?^ *```\s*$/gm, '');
    assert.doesNotMatch(prose, /\]\(\s*<?[a-z]+:/i);
    assert.doesNotMatch(prose, /<https?:/i);
  });
});
