/**
 * `outbound-pools doctor` in-process: offline over a zone file (JSON rows, exit codes, the
 * table), and the AWS path through `functions/adapters/ses-inspector.ts` with
 * aws-sdk-client-mock on the SESv2 and SES clients.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { DescribeActiveReceiptRuleSetCommand, SESClient } from '@aws-sdk/client-ses';
import {
  GetAccountCommand,
  GetConfigurationSetCommand,
  GetDedicatedIpPoolCommand,
  GetDedicatedIpsCommand,
  GetEmailIdentityCommand,
  GetTenantCommand,
  NotFoundException,
  SESv2Client,
} from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { doctorCommand } from '../../functions/cli/doctor.js';
import type { Zones } from '../../functions/core/dns/zone-resolver.js';
import type { DoctorRow } from '../../functions/core/doctor/checks.js';
import { ConfigError } from '../../functions/core/errors.js';
import { CONFIG_JSON } from '../helpers/mail.js';

const REGION = 'eu-west-1';
const SES_MX = [{ exchange: `inbound-smtp.${REGION}.amazonaws.com`, priority: 10 }];
const DOMAINS = ['example.com', 'example.org', 'fwd.example.com'];
const tokens = (d: string) => [1, 2, 3].map((n) => `${d.replace(/\./g, '')}t${n}`);

function zones(): Zones {
  const z: Zones = {
    'example.com': { MX: SES_MX, TXT: ['v=spf1 include:amazonses.com -all'] },
    '_dmarc.example.com': { TXT: ['v=DMARC1; p=quarantine'] },
    'example.org': { MX: SES_MX, TXT: ['v=spf1 include:amazonses.com ~all'] },
    '_dmarc.example.org': { TXT: ['v=DMARC1; p=reject'] },
    'fwd.example.com': { MX: SES_MX, TXT: ['v=spf1 include:amazonses.com ~all'] },
  };
  for (const d of DOMAINS) {
    for (const t of tokens(d)) z[`${t}._domainkey.${d}`] = { CNAME: [`${t}.dkim.amazonses.com`] };
  }
  return z;
}

/** A fake stdout that records what is written. */
function capture(isTTY = false): NodeJS.WriteStream & { text: () => string } {
  let buf = '';
  return {
    isTTY,
    write(chunk: string | Uint8Array) {
      buf += String(chunk);
      return true;
    },
    text: () => buf,
  } as unknown as NodeJS.WriteStream & { text: () => string };
}

interface Report {
  ok: boolean;
  region: string | null;
  summary: { passed: number; failed: number; unknown: number };
  rows: DoctorRow[];
}

const find = (r: Report, domain: string, check: string) =>
  r.rows.find((x) => x.domain === domain && x.check === check);

describe('outbound-pools doctor (in-process)', () => {
  let dir: string;
  const f = (name: string) => join(dir, name);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'op-doctor-'));
    writeFileSync(f('config.json'), JSON.stringify(CONFIG_JSON));
    writeFileSync(f('zones.json'), JSON.stringify(zones()));
    const broken = zones();
    delete broken['_dmarc.example.org'];
    broken['example.com'] = { MX: [{ exchange: 'inbound-smtp.us-west-2.amazonaws.com', priority: 10 }] };
    writeFileSync(f('zones-broken.json'), JSON.stringify(broken));
    writeFileSync(
      f('bad-config.json'),
      JSON.stringify({ ...CONFIG_JSON, trustedGateways: [{ name: 'x', cidrs: ['nope'] }] }),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const base = (zonesFile = 'zones.json') => [
    '--config',
    f('config.json'),
    '--zones',
    f(zonesFile),
    '--region',
    REGION,
  ];

  describe('offline', () => {
    it('prints JSON rows when stdout is not a terminal; unknown AWS checks; exit 0', async () => {
      const out = capture();
      const code = await doctorCommand([...base(), '--offline'], out);
      assert.equal(code, 0);
      const report = JSON.parse(out.text()) as Report;
      assert.equal(report.ok, true);
      assert.equal(report.region, REGION);
      assert.deepEqual(report.summary, { passed: 12, failed: 0, unknown: 26 });
      assert.deepEqual(find(report, 'example.com', 'mx'), {
        domain: 'example.com',
        check: 'mx',
        ok: true,
        detail: `MX inbound-smtp.${REGION}.amazonaws.com (SES ${REGION})`,
        fix: '',
      });
      const dkimDns = find(report, 'example.org', 'dkim-dns');
      assert.equal(dkimDns?.ok, null);
      assert.match(dkimDns?.detail ?? '', /skipped \(--offline; the DKIM tokens come from SES\)/);
      assert.match(dkimDns?.fix ?? '', /aws sesv2 get-email-identity --email-identity example\.org/);
      for (const r of report.rows.filter((x) => x.ok === null)) {
        assert.match(
          r.fix,
          /^run "npx outbound-pools doctor --region eu-west-1" with AWS credentials, or: aws /,
        );
      }
    });

    it('a failed check exits 1 and carries its fix', async () => {
      const out = capture();
      const code = await doctorCommand([...base('zones-broken.json'), '--offline', '--json'], out);
      assert.equal(code, 1);
      const report = JSON.parse(out.text()) as Report;
      assert.equal(report.ok, false);
      assert.equal(report.summary.failed, 2);
      assert.deepEqual(find(report, 'example.org', 'dmarc'), {
        domain: 'example.org',
        check: 'dmarc',
        ok: false,
        detail: 'no DMARC record at _dmarc.example.org',
        fix: 'publish `_dmarc.example.org. TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.org"`',
      });
      assert.match(find(report, 'example.com', 'mx')?.detail ?? '', /SES in us-west-2, not eu-west-1/);
    });

    it('on a terminal: a table with ✔/✗/? and the fix of each ✗; --json still forces JSON', async () => {
      const tty = capture(true);
      const code = await doctorCommand([...base('zones-broken.json'), '--offline'], tty);
      assert.equal(code, 1);
      const text = tty.text().replace(/\u001b\[[0-9;]*m/g, '');
      assert.match(text, /^\s+domain\s+check\s+detail/);
      assert.match(text, /✔\s+example\.com\s+a-or-mx\s+has MX/);
      assert.match(text, /✗\s+example\.org\s+dmarc\s+no DMARC record at _dmarc\.example\.org/);
      assert.match(text, /\?\s+\(account\)\s+receipt-rule-set\s+skipped \(--offline\)/);
      assert.match(
        text,
        /To fix:\n.*✗ example\.com mx: publish `example\.com\. MX 10 inbound-smtp\.eu-west-1\.amazonaws\.com\.`/,
      );
      assert.match(text, /✗ example\.org dmarc: publish `_dmarc\.example\.org\./);
      assert.match(text, /Not checked:/);
      assert.match(text, /8 passed, 2 failed, 28 unknown \(region eu-west-1\)/);
      // The trust-model warning (issue 12) is shown with its fix, without failing the run.
      assert.match(text, /\?\s+example\.org\s+sender-proof\s+warning: no DMARC policy for example\.org/);

      const forced = capture(true);
      await doctorCommand([...base(), '--offline', '--json'], forced);
      assert.equal((JSON.parse(forced.text()) as Report).ok, true);
    });

    it('no region and no --offline: AWS checks are skipped, saying how to give a region', async () => {
      const saved = process.env.AWS_REGION;
      delete process.env.AWS_REGION;
      try {
        const out = capture();
        const code = await doctorCommand(['--config', f('config.json'), '--zones', f('zones.json')], out);
        assert.equal(code, 0);
        const report = JSON.parse(out.text()) as Report;
        assert.equal(report.region, null);
        assert.match(
          find(report, 'example.com', 'ses-identity')?.detail ?? '',
          /no region: pass --region or set AWS_REGION/,
        );
        assert.equal(find(report, 'example.com', 'mx')?.ok, null);
      } finally {
        if (saved !== undefined) process.env.AWS_REGION = saved;
      }
    });

    it('a bad configuration is a ConfigError (exit 2 through main)', async () => {
      await assert.rejects(
        doctorCommand(['--config', f('bad-config.json'), '--zones', f('zones.json'), '--offline'], capture()),
        ConfigError,
      );
    });
  });

  describe('AWS (aws-sdk-client-mock on SESv2 and SES)', () => {
    const sesv2 = mockClient(SESv2Client);
    const ses = mockClient(SESClient);

    const identityOut = (d: string) => ({
      IdentityType: 'DOMAIN' as const,
      VerifiedForSendingStatus: true,
      DkimAttributes: {
        SigningEnabled: true,
        Status: 'SUCCESS' as const,
        Tokens: tokens(d),
        SigningAttributesOrigin: 'AWS_SES' as const,
      },
    });

    beforeEach(() => {
      sesv2.reset();
      ses.reset();
      for (const d of DOMAINS)
        sesv2.on(GetEmailIdentityCommand, { EmailIdentity: d }).resolves(identityOut(d));
      for (const p of ['outbound-normal', 'outbound-high-risk', 'outbound-relay']) {
        sesv2
          .on(GetConfigurationSetCommand, { ConfigurationSetName: p })
          .resolves({ ConfigurationSetName: p, DeliveryOptions: { SendingPoolName: p } });
      }
      ses.on(DescribeActiveReceiptRuleSetCommand).resolves({
        Metadata: { Name: 'outbound-pools' },
        Rules: [{ Name: 'inbound', Enabled: true, Recipients: DOMAINS }],
      });
      // Issue 14: a healthy account, STANDARD pools with IPs, enabled tenants.
      sesv2.on(GetAccountCommand).resolves({
        ProductionAccessEnabled: true,
        SendingEnabled: true,
        EnforcementStatus: 'HEALTHY',
        SendQuota: { Max24HourSend: 50_000, MaxSendRate: 14, SentLast24Hours: 1200 },
        SuppressionAttributes: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
      });
      sesv2
        .on(GetDedicatedIpPoolCommand)
        .resolves({ DedicatedIpPool: { PoolName: 'p', ScalingMode: 'STANDARD' } });
      sesv2
        .on(GetDedicatedIpsCommand)
        .resolves({ DedicatedIps: [{ Ip: '192.0.2.1', WarmupStatus: 'DONE', WarmupPercentage: 100 }] });
      sesv2.on(GetTenantCommand).resolves({ Tenant: { TenantName: 't', SendingStatus: 'ENABLED' } });
    });
    afterEach(() => {
      sesv2.reset();
      ses.reset();
    });
    after(() => {
      sesv2.restore();
      ses.restore();
    });

    it('everything in place: every check passes, exit 0', async () => {
      const out = capture();
      const code = await doctorCommand(base(), out);
      const report = JSON.parse(out.text()) as Report;
      assert.deepEqual(
        report.rows.filter((r) => r.ok !== true),
        [],
      );
      assert.equal(code, 0);
      assert.deepEqual(report.summary, { passed: 38, failed: 0, unknown: 0 });
      assert.equal(sesv2.commandCalls(GetEmailIdentityCommand).length, 3);
      assert.equal(sesv2.commandCalls(GetConfigurationSetCommand).length, 3);
      assert.equal(ses.commandCalls(DescribeActiveReceiptRuleSetCommand).length, 1);
    });

    it('NotFoundException, a wrong pool and no active rule set are failures with fixes; exit 1', async () => {
      sesv2
        .on(GetEmailIdentityCommand, { EmailIdentity: 'example.org' })
        .rejects(
          new NotFoundException({ message: 'Email identity example.org does not exist.', $metadata: {} }),
        );
      sesv2
        .on(GetConfigurationSetCommand, { ConfigurationSetName: 'outbound-relay' })
        .resolves({ ConfigurationSetName: 'outbound-relay', DeliveryOptions: {} });
      ses.on(DescribeActiveReceiptRuleSetCommand).resolves({});
      const out = capture();
      const code = await doctorCommand(base(), out);
      assert.equal(code, 1);
      const report = JSON.parse(out.text()) as Report;
      assert.deepEqual(
        report.rows.filter((r) => r.ok === false).map((r) => [r.domain, r.check, r.fix]),
        [
          [
            'example.org',
            'ses-identity',
            'aws sesv2 create-email-identity --email-identity example.org, then publish the 3 DKIM CNAME records it returns (cdk deploy creates the identities too)',
          ],
          [
            'example.org',
            'dkim',
            'aws sesv2 create-email-identity --email-identity example.org, then publish the 3 DKIM CNAME records it returns (cdk deploy creates the identities too)',
          ],
          [
            '(account)',
            'configuration-set:relay',
            'aws sesv2 put-configuration-set-delivery-options --configuration-set-name outbound-relay --sending-pool-name outbound-relay',
          ],
          [
            '(account)',
            'receipt-rule-set',
            'cdk deploy, or: aws ses set-active-receipt-rule-set --rule-set-name <rule set>',
          ],
        ],
      );
    });

    it('DKIM disabled at SES and a missing CNAME', async () => {
      const d = 'example.com';
      sesv2.on(GetEmailIdentityCommand, { EmailIdentity: d }).resolves({
        ...identityOut(d),
        DkimAttributes: { ...identityOut(d).DkimAttributes, SigningEnabled: false },
      });
      const z = zones();
      delete z[`${tokens('fwd.example.com')[0]}._domainkey.fwd.example.com`];
      writeFileSync(f('zones-nocname.json'), JSON.stringify(z));
      const out = capture();
      const code = await doctorCommand(base('zones-nocname.json'), out);
      assert.equal(code, 1);
      const report = JSON.parse(out.text()) as Report;
      assert.equal(
        find(report, d, 'dkim')?.fix,
        'aws sesv2 put-email-identity-dkim-attributes --email-identity example.com --signing-enabled',
      );
      assert.equal(
        find(report, 'fwd.example.com', 'dkim-dns')?.fix,
        'publish `fwdexamplecomt1._domainkey.fwd.example.com. CNAME fwdexamplecomt1.dkim.amazonses.com.`',
      );
    });

    it('no credentials: AWS checks unknown, exit 0, one probe call', async () => {
      ses.on(DescribeActiveReceiptRuleSetCommand).rejects(
        Object.assign(new Error('Could not load credentials from any providers'), {
          name: 'CredentialsProviderError',
        }),
      );
      const out = capture();
      const code = await doctorCommand(base(), out);
      assert.equal(code, 0);
      const report = JSON.parse(out.text()) as Report;
      assert.equal(report.summary.unknown, 26);
      assert.match(find(report, '(account)', 'receipt-rule-set')?.detail ?? '', /no AWS credentials/);
      assert.equal(sesv2.commandCalls(GetEmailIdentityCommand).length, 0);
    });

    it('--offline never calls AWS', async () => {
      await doctorCommand([...base(), '--offline'], capture());
      assert.equal(sesv2.calls().length + ses.calls().length, 0);
    });
  });
});
