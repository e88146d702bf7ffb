/**
 * `doctor`'s account checks (issue 14) over recorded SESv2 answers (aws-sdk-client-mock on the
 * real `AwsSesInspector`): each finding, and the fix it prints.
 */
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { SESClient } from '@aws-sdk/client-ses';
import {
  GetAccountCommand,
  type GetAccountCommandOutput,
  GetDedicatedIpPoolCommand,
  GetDedicatedIpsCommand,
  GetTenantCommand,
  NotFoundException,
  SESv2Client,
} from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsSesInspector } from '../../functions/adapters/ses-inspector.js';
import { parseConfig } from '../../functions/core/config.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { accountIsolationRows } from '../../functions/core/doctor/account.js';
import type { DoctorRow } from '../../functions/core/doctor/checks.js';

const config = parseConfig({
  acceptedDomains: ['example.com'],
  routes: {},
  srs: { domain: 'fwd.example.com', secrets: ['doctor-secret'] },
  pools: { relay: { configurationSet: 'outbound-relay', ipPool: 'ses-shared-pool' } },
});

const HEALTHY: Partial<GetAccountCommandOutput> = {
  ProductionAccessEnabled: true,
  SendingEnabled: true,
  EnforcementStatus: 'HEALTHY',
  SendQuota: { Max24HourSend: 50_000, MaxSendRate: 14, SentLast24Hours: 1_000 },
  SuppressionAttributes: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
  VdmAttributes: { VdmEnabled: 'ENABLED', DashboardAttributes: { EngagementMetrics: 'DISABLED' } },
};

describe('doctor: the SES account (recorded SESv2 answers)', () => {
  const sesv2 = mockClient(SESv2Client);
  const inspector = new AwsSesInspector({
    sesv2: new SESv2Client({ region: 'eu-west-1' }),
    ses: new SESClient({ region: 'eu-west-1' }),
  });
  const rows = (o: { region?: string; zones?: Record<string, unknown>; active?: string } = {}) =>
    accountIsolationRows({
      config,
      resolver: zoneResolver((o.zones ?? {}) as never),
      region: o.region ?? 'eu-west-1',
      inspector,
      offlineReason: 'offline',
      activeRuleSet: o.active === undefined ? undefined : { name: o.active, rules: [] },
      expectedRuleSet: o.active === undefined ? undefined : 'OutboundPools-inbound',
    });
  const find = (all: DoctorRow[], check: string) => {
    const r = all.find((x) => x.check === check);
    assert.ok(r, `a ${check} row`);
    return r;
  };

  beforeEach(() => {
    sesv2.reset();
    sesv2.on(GetAccountCommand).resolves(HEALTHY);
    sesv2
      .on(GetDedicatedIpPoolCommand)
      .resolves({ DedicatedIpPool: { PoolName: 'x', ScalingMode: 'STANDARD' } });
    sesv2
      .on(GetDedicatedIpsCommand)
      .resolves({ DedicatedIps: [{ Ip: '192.0.2.1', WarmupStatus: 'DONE', WarmupPercentage: 100 }] });
    sesv2.on(GetTenantCommand).resolves({ Tenant: { TenantName: 't', SendingStatus: 'ENABLED' } });
  });
  after(() => sesv2.restore());

  it('all in order: every row passes, without a fix, in a stable order', async () => {
    const all = await rows({ active: 'OutboundPools-inbound' });
    assert.deepEqual(
      all.map((r) => [r.check, r.ok, r.fix]),
      [
        'account-sending',
        'send-quota',
        'engagement-tracking',
        'suppression',
        'ip-pool:normal',
        'ip-pool:high-risk',
        'ip-pool:relay',
        'tenant:normal',
        'tenant:high-risk',
        'tenant:relay',
        'receipt-rule-set:owner',
        'region-receives',
      ].map((c) => [c, true, '']),
    );
    // ses-shared-pool is SES's: no GetDedicatedIpPool for it.
    assert.equal(sesv2.commandCalls(GetDedicatedIpPoolCommand).length, 2);
  });

  const findings: {
    name: string;
    prepare: () => void;
    check: string;
    detail: RegExp;
    fix: RegExp;
    opts?: Parameters<typeof rows>[0];
  }[] = [
    {
      name: 'sandbox account',
      prepare: () => sesv2.on(GetAccountCommand).resolves({ ...HEALTHY, ProductionAccessEnabled: false }),
      check: 'account-sending',
      detail: /SES sandbox/,
      fix: /put-account-details --production-access-enabled/,
    },
    {
      name: 'sending disabled (SES paused the account)',
      prepare: () => sesv2.on(GetAccountCommand).resolves({ ...HEALTHY, SendingEnabled: false }),
      check: 'account-sending',
      detail: /sending is disabled/,
      fix: /put-account-sending-attributes --sending-enabled/,
    },
    {
      name: 'enforcement PROBATION',
      prepare: () => sesv2.on(GetAccountCommand).resolves({ ...HEALTHY, EnforcementStatus: 'PROBATION' }),
      check: 'account-sending',
      detail: /enforcement status PROBATION/,
      fix: /review notice/,
    },
    {
      name: 'send quota nearly used',
      prepare: () =>
        sesv2.on(GetAccountCommand).resolves({
          ...HEALTHY,
          SendQuota: { Max24HourSend: 200, MaxSendRate: 1, SentLast24Hours: 190 },
        }),
      check: 'send-quota',
      detail: /190 of 200 .*95\.0 %/,
      fix: /higher sending quota/,
    },
    {
      name: 'account-level engagement tracking on',
      prepare: () =>
        sesv2.on(GetAccountCommand).resolves({
          ...HEALTHY,
          VdmAttributes: { VdmEnabled: 'ENABLED', DashboardAttributes: { EngagementMetrics: 'ENABLED' } },
        }),
      check: 'engagement-tracking',
      detail: /ENABLED: SES rewrites bodies/,
      fix: /EngagementMetrics=DISABLED/,
    },
    {
      name: 'account does not suppress complaints',
      prepare: () =>
        sesv2
          .on(GetAccountCommand)
          .resolves({ ...HEALTHY, SuppressionAttributes: { SuppressedReasons: ['BOUNCE'] } }),
      check: 'suppression',
      detail: /does not suppress COMPLAINT/,
      fix: /put-account-suppression-attributes --suppressed-reasons BOUNCE COMPLAINT/,
    },
    {
      name: 'STANDARD pool with no IP',
      prepare: () =>
        sesv2.on(GetDedicatedIpsCommand, { PoolName: 'outbound-normal' }).resolves({ DedicatedIps: [] }),
      check: 'ip-pool:normal',
      detail: /STANDARD pool with no IP/,
      fix: /put-dedicated-ip-in-pool --ip <ip> --destination-pool-name outbound-normal/,
    },
    {
      name: 'dedicated IP pool missing',
      prepare: () =>
        sesv2
          .on(GetDedicatedIpPoolCommand, { PoolName: 'outbound-high-risk' })
          .rejects(new NotFoundException({ message: 'no pool', $metadata: {} })),
      check: 'ip-pool:high-risk',
      detail: /does not exist/,
      fix: /cdk deploy/,
    },
    {
      name: 'tenant missing',
      prepare: () =>
        sesv2
          .on(GetTenantCommand, { TenantName: 'outbound-relay' })
          .rejects(new NotFoundException({ message: 'no tenant', $metadata: {} })),
      check: 'tenant:relay',
      detail: /tenant outbound-relay does not exist/,
      fix: /cdk deploy/,
    },
    {
      name: 'tenant paused by SES',
      prepare: () =>
        sesv2
          .on(GetTenantCommand, { TenantName: 'outbound-high-risk' })
          .resolves({ Tenant: { TenantName: 'outbound-high-risk', SendingStatus: 'DISABLED' } }),
      check: 'tenant:high-risk',
      detail: /SES paused tenant outbound-high-risk/,
      fix: /get-reputation-entity/,
    },
    {
      name: "another stack's rule set is active",
      prepare: () => undefined,
      opts: { active: 'someone-else' },
      check: 'receipt-rule-set:owner',
      detail: /someone-else, not this stack's OutboundPools-inbound/,
      fix: /set-active-receipt-rule-set --rule-set-name OutboundPools-inbound/,
    },
    {
      name: 'a region without SES receiving',
      prepare: () => undefined,
      opts: { region: 'ap-example-9' },
      check: 'region-receives',
      detail: /inbound-smtp\.ap-example-9\.amazonaws\.com does not resolve/,
      fix: /us-east-1, us-west-2, eu-west-1/,
    },
  ];
  for (const f of findings) {
    it(`${f.name} → ✗ ${f.check}, with its fix`, async () => {
      f.prepare();
      const all = await rows(f.opts);
      const r = find(all, f.check);
      assert.equal(r.ok, false, JSON.stringify(r));
      assert.match(r.detail, f.detail);
      assert.match(r.fix, f.fix);
      // Only that check fails.
      assert.deepEqual(
        all.filter((x) => x.ok === false).map((x) => x.check),
        [f.check],
      );
    });
  }

  it('a region not in the known list passes when its inbound endpoint resolves', async () => {
    const all = await rows({
      region: 'ap-example-9',
      zones: { 'inbound-smtp.ap-example-9.amazonaws.com': { A: ['192.0.2.77'] } },
    });
    assert.equal(find(all, 'region-receives').ok, true);
  });

  it('an SDK error is an unknown row that says which call failed, not a failure', async () => {
    sesv2
      .on(GetAccountCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const all = await rows();
    for (const c of ['account-sending', 'send-quota', 'engagement-tracking', 'suppression']) {
      const r = find(all, c);
      assert.equal(r.ok, null);
      assert.match(r.detail, /GetAccount failed: AccessDeniedException: denied/);
    }
  });
});
