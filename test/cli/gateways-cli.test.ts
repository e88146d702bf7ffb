/**
 * `outbound-pools dry-run` behind a trusted gateway: the JSON shows what enhanced filtering
 * did (`authentication.enhancedFiltering`).
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dryRunArgs, runCliInProcess } from '../helpers/cli.js';
import { CONFIG_JSON, message, NOW, sesEvent, zones } from '../helpers/mail.js';

// `main` in this process: test/cli/cli.test.ts runs dry-run as a child process of the binary.
const cli = (...args: string[]) => runCliInProcess(args);

const DATE = 'Mon, 23 Nov 2026 10:00:00 +0000';
const SES = `Received: from mx1.filter.test (mx1.filter.test [198.51.100.7]) by inbound-smtp.us-east-1.amazonaws.com with SMTP id msg-0001 for alias@example.com; ${DATE} (UTC)`;
const GATEWAY = `Received: from mail.sender.test (mail.sender.test [192.0.2.11]) by mx1.filter.test (Postfix) with ESMTPS id 4Xy7; ${DATE}`;

describe('outbound-pools dry-run with trusted gateways', () => {
  let dir: string;
  const f = (name: string) => join(dir, name);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'op-gw-cli-'));
    writeFileSync(
      f('config.json'),
      JSON.stringify({ ...CONFIG_JSON, trustedGateways: [{ name: 'filter', cidrs: ['198.51.100.0/24'] }] }),
    );
    writeFileSync(
      f('zones.json'),
      JSON.stringify(
        zones([], {
          'sender.test': {
            A: ['192.0.2.10'],
            MX: [{ exchange: 'mx.sender.test', priority: 10 }],
            TXT: ['v=spf1 ip4:192.0.2.0/25 -all'],
          },
          'flaky.test': { A: ['192.0.2.50'], TXT: ['v=spf1 include:_spf.flaky.test -all'] },
          '_spf.flaky.test': { SERVFAIL: true },
        }),
      ),
    );
    writeFileSync(f('event.json'), JSON.stringify(sesEvent({ spf: 'FAIL' })));
    writeFileSync(f('event-flaky.json'), JSON.stringify(sesEvent({ source: 'x@flaky.test', spf: 'FAIL' })));
    writeFileSync(f('gateway.eml'), message({ headers: [SES, GATEWAY] }));
    writeFileSync(f('only-gateway.eml'), message({ headers: [SES] }));
    writeFileSync(f('flaky.eml'), message({ headers: [SES, GATEWAY], from: 'x@flaky.test' }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const dryRun = (event: string, eml: string) => cli(...dryRunArgs(f, NOW, event, eml), '--json');

  it('shows the recomputed SPF, the IP used and the gateway; the pool follows it', async () => {
    const r = await dryRun('event.json', 'gateway.eml');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.pool, 'normal');
    assert.deepEqual(out.reasons, ['spf-pass', 'srs-rewritten', 'enhanced-filtering']);
    assert.equal(out.authentication.spf, 'PASS');
    assert.deepEqual(out.authentication.enhancedFiltering, {
      applied: true,
      ip: '192.0.2.11',
      helo: 'mail.sender.test',
      gateway: 'filter',
      spf: 'PASS',
      mailauthResult: 'pass',
      trustedHops: [{ gateway: 'filter', ip: '198.51.100.7' }],
    });
  });

  it('shows the fallback reason when no usable hop is found', async () => {
    const r = await dryRun('event.json', 'only-gateway.eml');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.pool, 'relay');
    assert.equal(out.authentication.spf, 'FAIL');
    assert.equal(out.authentication.enhancedFiltering.applied, false);
    assert.equal(out.authentication.enhancedFiltering.why, 'no-usable-hop');
    assert.match(out.authentication.enhancedFiltering.note, /SES's own SPF verdict is used/);
  });

  it('a SERVFAIL during the recomputed SPF exits 75 (retry), never a verdict', async () => {
    const r = await dryRun('event-flaky.json', 'flaky.eml');
    assert.equal(r.code, 75, r.stderr);
    assert.equal(JSON.parse(r.stdout).retryable, true);
  });
});
