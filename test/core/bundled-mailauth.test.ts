/**
 * mailauth as the Lambda bundles carry it: built with esbuild and the stack's stand-ins
 * (`BUNDLE_ALIASES`: no joi, no charset tables), it must verify DKIM, validate ARC and
 * evaluate SPF exactly as the unbundled library the other tests use.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { spf } from 'mailauth/lib/spf/index.js';
import { bundleSettings } from '../../bench/cold-start.js';
import { evaluateDkim } from '../../functions/core/dkim.js';
import type { Resolver } from '../../functions/core/dns/resolver.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { BUNDLE_ALIASES, PROJECT_ROOT } from '../../lib/function-bundle.js';
import { dkimKey, message, NOW, sign, zones } from '../helpers/mail.js';

interface Bundled {
  evaluateDkim: typeof evaluateDkim;
  spf: typeof spf;
}

const key = dkimKey('sender.test');
const resolver: Resolver = zoneResolver(
  zones([key], {
    'spf.sender.test': { TXT: ['v=spf1 ip4:192.0.2.0/24 include:_spf.sender.test -all'] },
    '_spf.sender.test': { TXT: ['v=spf1 ip6:2001:db8::/32 ~all'] },
  }),
);

describe('mailauth bundled with the stand-ins', () => {
  let dir = '';
  let bundled: Bundled;
  let inputs: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bundled-mailauth-'));
    const outfile = join(dir, 'index.mjs');
    // The stack's own esbuild options (lib/function-bundle.ts, as the bench uses them), so
    // this is mailauth exactly as the deployed bundles carry it.
    const { options } = await bundleSettings();
    assert.deepEqual(options.alias, { ...BUNDLE_ALIASES });
    const result = await esbuild.build({
      ...options,
      stdin: {
        contents:
          "export { evaluateDkim } from './functions/core/dkim.ts';\n" +
          "export { spf } from 'mailauth/lib/spf/index.js';\n",
        resolveDir: PROJECT_ROOT,
        sourcefile: 'entry.mjs',
        loader: 'js',
      },
      absWorkingDir: PROJECT_ROOT,
      bundle: true,
      outfile,
      metafile: true,
      logLevel: 'error',
    });
    inputs = Object.keys(result.metafile.inputs);
    bundled = (await import(pathToFileURL(outfile).href)) as Bundled;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves joi and the charset tables out', () => {
    assert.ok(
      // `includes`, not `startsWith`: in a git worktree whose node_modules is a symlink, esbuild
      // names the inputs by their real path (`../../main/node_modules/...`).
      inputs.some((p) => p.includes('node_modules/mailauth/')),
      'mailauth is in',
    );
    assert.deepEqual(
      inputs.filter((p) => /node_modules\/(joi|iconv-lite|encoding-japanese|@hapi\/hoek)\//.test(p)),
      [],
    );
  });

  const dkimCases: { name: string; make: () => Promise<Buffer>; expected: string }[] = [
    { name: 'a valid signature', make: () => sign(message(), key), expected: 'pass' },
    {
      name: 'a broken body',
      make: async () => Buffer.from((await sign(message(), key)).toString().replace('Hello there.', 'Bye.')),
      expected: 'body hash did not verify',
    },
    {
      name: 'a key whose p= is not base64',
      make: async () => Buffer.from((await sign(message(), key)).toString().replace('s=sel1', 's=badkey')),
      expected: 'invalid public key',
    },
  ];
  for (const c of dkimCases) {
    it(`evaluates DKIM of ${c.name} as unbundled mailauth does`, async () => {
      // Prepare
      const raw = await c.make();
      const withBadKey = zoneResolver(
        zones([key], { 'badkey._domainkey.sender.test': { TXT: ['v=DKIM1; p=*not base64*'] } }),
      );
      // Act
      const ours = await bundled.evaluateDkim(raw, 'sender.test', withBadKey, NOW, { bodyHash: true });
      const reference = await evaluateDkim(raw, 'sender.test', withBadKey, NOW, { bodyHash: true });
      // Assess
      assert.deepEqual(ours, reference);
      assert.match(ours.bodyHash ?? '', /^[A-Za-z0-9+/]{43}=$/);
      assert.equal(ours.signatures.length, 1);
      const [sig] = ours.signatures;
      assert.equal(sig?.result === 'pass' ? 'pass' : sig?.comment, c.expected);
    });
  }

  const spfCases: { name: string; sender: string; ip: string; expected: string }[] = [
    { name: 'an authorized IPv4 client', sender: 'a@spf.sender.test', ip: '192.0.2.55', expected: 'pass' },
    {
      name: 'an IPv6 client through include:',
      sender: 'a@spf.sender.test',
      ip: '2001:db8::5',
      expected: 'pass',
    },
    { name: 'an unauthorized client', sender: 'a@spf.sender.test', ip: '198.51.100.1', expected: 'fail' },
    {
      name: 'a domain that is not one (one label)',
      sender: 'a@localhost',
      ip: '192.0.2.55',
      expected: 'none',
    },
    {
      name: 'a domain with an invalid label',
      sender: 'a@-bad-.sender.test',
      ip: '192.0.2.55',
      expected: 'none',
    },
  ];
  for (const c of spfCases) {
    it(`evaluates SPF for ${c.name} as unbundled mailauth does`, async () => {
      // Prepare
      const opts = { sender: c.sender, ip: c.ip, helo: 'mail.sender.test', mta: 'test', resolver };
      // Act
      const ours = await bundled.spf(opts);
      const reference = await spf(opts);
      // Assess
      assert.equal(ours.status.result, c.expected);
      assert.deepEqual(ours.status, reference.status);
    });
  }
});
