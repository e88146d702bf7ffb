/**
 * `doctor` checks over a zone fixture and a fake SesInspector: every ✔, ✗ and ? path with
 * its fix text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Zones, zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import {
  ACCOUNT,
  type ConfigurationSetInfo,
  type DoctorRow,
  doctorExitCode,
  type ReceiptRuleSetInfo,
  runDoctor,
  type SesIdentityInfo,
  type SesInspector,
  spfIncludesSes,
  summarize,
} from '../../functions/core/doctor/checks.js';
import { testConfig } from '../helpers/mail.js';

const REGION = 'us-east-1';
const SES_MX = [{ exchange: `inbound-smtp.${REGION}.amazonaws.com`, priority: 10 }];
const tokens = (d: string) => [1, 2, 3].map((n) => `${d.replace(/\./g, '')}tok${n}`);

/** A deployment where every check passes. */
function goodZones(): Zones {
  const z: Zones = {
    'example.com': { MX: SES_MX, TXT: ['v=spf1 include:amazonses.com -all'] },
    '_dmarc.example.com': { TXT: ['v=DMARC1; p=reject; sp=quarantine'] },
    'mail.example.com': {
      MX: [{ exchange: `feedback-smtp.${REGION}.amazonses.com`, priority: 10 }],
      TXT: ['v=spf1 include:amazonses.com ~all'],
    },
    'example.org': {
      MX: [{ exchange: 'mx.filter.test', priority: 10 }],
      TXT: ['v=spf1 redirect=_spf.example.org'],
    },
    '_spf.example.org': { TXT: ['v=spf1 ip4:198.51.100.0/24 ~all'] },
    'mx.filter.test': { A: ['198.51.100.25'] },
    '_dmarc.example.org': { TXT: ['v=DMARC1; p=quarantine'] },
    'fwd.example.com': { MX: SES_MX, TXT: ['v=spf1 include:amazonses.com ~all'] },
  };
  for (const d of ['example.com', 'example.org', 'fwd.example.com']) {
    for (const t of tokens(d)) z[`${t}._domainkey.${d}`] = { CNAME: [`${t}.dkim.amazonses.com`] };
  }
  return z;
}

function identity(d: string, o: Partial<SesIdentityInfo> = {}): SesIdentityInfo {
  return {
    verifiedForSending: true,
    dkim: {
      signingEnabled: true,
      status: 'SUCCESS',
      tokens: tokens(d),
      origin: 'AWS_SES',
      signingHostedZone: null,
    },
    mailFrom: d === 'example.com' ? { domain: 'mail.example.com', status: 'SUCCESS' } : null,
    ...o,
  };
}

interface FakeAws {
  identities: Map<string, SesIdentityInfo>;
  configurationSets: Map<string, ConfigurationSetInfo>;
  ruleSet: ReceiptRuleSetInfo | null;
  /** Errors thrown by method name. */
  errors: Partial<Record<keyof SesInspector, Error>>;
}

function goodAws(): FakeAws {
  return {
    identities: new Map(['example.com', 'example.org', 'fwd.example.com'].map((d) => [d, identity(d)])),
    configurationSets: new Map([
      ['outbound-normal', { sendingPoolName: 'outbound-normal' }],
      ['outbound-high-risk', { sendingPoolName: 'outbound-high-risk' }],
      ['outbound-relay', { sendingPoolName: 'outbound-relay' }],
    ]),
    ruleSet: {
      name: 'outbound-pools',
      rules: [
        { name: 'inbound', enabled: true, recipients: ['example.com', 'example.org', 'fwd.example.com'] },
      ],
    },
    errors: {},
  };
}

function fakeInspector(aws: FakeAws): SesInspector & { calls: string[] } {
  const calls: string[] = [];
  const fail = (m: keyof SesInspector) => {
    calls.push(m);
    const e = aws.errors[m];
    if (e) throw e;
  };
  return {
    calls,
    async getIdentity(domain) {
      fail('getIdentity');
      return aws.identities.get(domain) ?? null;
    },
    async getConfigurationSet(name) {
      fail('getConfigurationSet');
      return aws.configurationSets.get(name) ?? null;
    },
    async getActiveReceiptRuleSet() {
      fail('getActiveReceiptRuleSet');
      return aws.ruleSet;
    },
  };
}

const CONFIG = testConfig({ trustedGateways: [{ name: 'filter', cidrs: ['198.51.100.0/24'] }] });

interface RunOptions {
  zones?: (z: Zones) => void;
  aws?: ((a: FakeAws) => void) | null;
  region?: string | null;
}

async function run(o: RunOptions = {}): Promise<DoctorRow[]> {
  const z = goodZones();
  o.zones?.(z);
  const aws = goodAws();
  if (o.aws) o.aws(aws);
  return runDoctor({
    config: CONFIG,
    resolver: zoneResolver(z),
    region: o.region === undefined ? REGION : o.region,
    inspector: o.aws === null ? null : fakeInspector(aws),
    ...(o.aws === null && { offlineReason: '--offline' }),
  });
}

function row(rows: DoctorRow[], domain: string, check: string): DoctorRow {
  const r = rows.find((x) => x.domain === domain && x.check === check);
  assert.ok(r, `no row ${domain} ${check}`);
  return r;
}

const err = (name: string, message = `${name} injected`) => Object.assign(new Error(message), { name });

describe('doctor: everything set up', () => {
  it('every check passes, in a stable order, exit 0', async () => {
    const rows = await run();
    assert.deepEqual(
      rows.filter((r) => r.ok !== true),
      [],
    );
    assert.equal(doctorExitCode(rows), 0);
    assert.deepEqual(
      rows.map((r) => `${r.domain} ${r.check}`),
      [
        ...['example.com', 'example.org'].flatMap((d) =>
          ['mx', 'a-or-mx', 'ses-identity', 'dkim', 'dkim-dns', 'mail-from', 'dmarc', 'sender-proof'].map(
            (c) => `${d} ${c}`,
          ),
        ),
        ...['mx', 'ses-identity', 'dkim', 'dkim-dns', 'mail-from', 'spf', 'dmarc'].map(
          (c) => `fwd.example.com ${c}`,
        ),
        `${ACCOUNT} configuration-set:normal`,
        `${ACCOUNT} configuration-set:high-risk`,
        `${ACCOUNT} configuration-set:relay`,
        `${ACCOUNT} receipt-rule-set`,
        // Issue 14: this double has no account methods; the region is checked all the same.
        `${ACCOUNT} region-receives`,
      ],
    );
    for (const r of rows) assert.equal(r.fix, '', `${r.domain} ${r.check} has a fix`);
    assert.deepEqual(summarize(rows), { passed: rows.length, failed: 0, unknown: 0 });
  });

  it('details say what was found', async () => {
    const rows = await run();
    assert.match(
      row(rows, 'example.com', 'mx').detail,
      /inbound-smtp\.us-east-1\.amazonaws\.com \(SES us-east-1\)/,
    );
    assert.match(row(rows, 'example.org', 'mx').detail, /mx\.filter\.test \(trusted gateway filter\)/);
    assert.match(row(rows, 'example.com', 'dkim-dns').detail, /3 CNAMEs → \*\.dkim\.amazonses\.com/);
    assert.match(row(rows, 'example.com', 'mail-from').detail, /mail\.example\.com: MX feedback-smtp/);
    assert.match(row(rows, 'example.org', 'mail-from').detail, /default MAIL FROM.*DKIM/);
    assert.match(
      row(rows, 'fwd.example.com', 'dmarc').detail,
      /inherited from _dmarc\.example\.com.*sp=quarantine/,
    );
    assert.match(
      row(rows, ACCOUNT, 'configuration-set:relay').detail,
      /outbound-relay → IP pool outbound-relay/,
    );
    assert.match(row(rows, ACCOUNT, 'receipt-rule-set').detail, /outbound-pools \(1 enabled rule\)/);
  });
});

interface FailCase {
  name: string;
  opts: RunOptions;
  domain: string;
  check: string;
  ok: false | null;
  detail: RegExp;
  fix: RegExp | string;
}

const FAILS: FailCase[] = [
  // --- mx ---
  {
    name: 'no MX',
    opts: {
      zones: (z) => {
        z['example.com'] = { A: ['192.0.2.1'] };
      },
    },
    domain: 'example.com',
    check: 'mx',
    ok: false,
    detail: /no MX record/,
    fix: "publish `example.com. MX 10 inbound-smtp.us-east-1.amazonaws.com.`, or add the MX host's addresses to trustedGateways",
  },
  {
    name: 'null MX',
    opts: {
      zones: (z) => {
        z['example.com'] = { A: ['192.0.2.1'], MX: [{ exchange: '.', priority: 0 }] };
      },
    },
    domain: 'example.com',
    check: 'mx',
    ok: false,
    detail: /null MX \(RFC 7505\)/,
    fix: /MX 10 inbound-smtp\.us-east-1\.amazonaws\.com/,
  },
  {
    name: 'MX at SES of another region',
    opts: {
      zones: (z) => {
        z['example.com'] = {
          MX: [{ exchange: 'inbound-smtp.eu-west-1.amazonaws.com', priority: 10 }],
        };
      },
    },
    domain: 'example.com',
    check: 'mx',
    ok: false,
    detail: /SES in eu-west-1, not us-east-1/,
    fix: /inbound-smtp\.us-east-1/,
  },
  {
    name: 'a backup MX that is neither SES nor a trusted gateway',
    opts: {
      zones: (z) => {
        z['example.com'] = { MX: [...SES_MX, { exchange: 'backup.mx.test', priority: 20 }] };
        z['backup.mx.test'] = { A: ['192.0.2.99'] };
      },
    },
    domain: 'example.com',
    check: 'mx',
    ok: false,
    detail: /backup\.mx\.test is neither SES nor a trusted gateway \(192\.0\.2\.99\)/,
    fix: /trustedGateways/,
  },
  {
    name: 'MX without a region to compare',
    opts: { region: null },
    domain: 'example.com',
    check: 'mx',
    ok: null,
    detail: /no --region to compare with/,
    fix: 'pass --region (or set AWS_REGION)',
  },
  {
    name: 'MX lookup SERVFAIL',
    opts: {
      zones: (z) => {
        z['example.com'] = { SERVFAIL: true };
      },
    },
    domain: 'example.com',
    check: 'mx',
    ok: null,
    detail: /temporary DNS failure/,
    fix: /retry later/,
  },
  // --- a-or-mx ---
  {
    name: 'accepted domain with no A and no MX',
    opts: {
      zones: (z) => {
        z['example.com'] = { TXT: ['v=spf1 -all'] };
      },
    },
    domain: 'example.com',
    check: 'a-or-mx',
    ok: false,
    detail: /no A\/AAAA and no MX record: all its mail leaves through high-risk \(no-a-mx\)/,
    fix: 'publish `example.com. MX 10 <your inbound MX>.` (or an A record)',
  },
  {
    name: 'A/MX lookups SERVFAIL',
    opts: {
      zones: (z) => {
        z['example.com'] = { SERVFAIL: true };
      },
    },
    domain: 'example.com',
    check: 'a-or-mx',
    ok: null,
    detail: /temporary DNS failure/,
    fix: /retry later/,
  },
  // --- ses-identity / dkim ---
  {
    name: 'not an SES identity',
    opts: { aws: (a) => void a.identities.delete('example.org') },
    domain: 'example.org',
    check: 'ses-identity',
    ok: false,
    detail: /not an SES identity/,
    fix: /^aws sesv2 create-email-identity --email-identity example\.org, then publish the 3 DKIM CNAME/,
  },
  {
    name: 'identity not verified for sending',
    opts: {
      aws: (a) =>
        void a.identities.set('example.org', identity('example.org', { verifiedForSending: false })),
    },
    domain: 'example.org',
    check: 'ses-identity',
    ok: false,
    detail: /not verified for sending/,
    fix: /aws sesv2 get-email-identity --email-identity example\.org/,
  },
  {
    name: 'no identity: DKIM not enabled either',
    opts: { aws: (a) => void a.identities.delete('example.org') },
    domain: 'example.org',
    check: 'dkim',
    ok: false,
    detail: /not an SES identity/,
    fix: /create-email-identity --email-identity example\.org/,
  },
  {
    name: 'DKIM signing disabled',
    opts: {
      aws: (a) =>
        void a.identities.set(
          'example.com',
          identity('example.com', { dkim: { ...identity('example.com').dkim, signingEnabled: false } }),
        ),
    },
    domain: 'example.com',
    check: 'dkim',
    ok: false,
    detail: /DKIM signing is disabled/,
    fix: 'aws sesv2 put-email-identity-dkim-attributes --email-identity example.com --signing-enabled',
  },
  {
    name: 'DKIM pending',
    opts: {
      aws: (a) =>
        void a.identities.set(
          'example.com',
          identity('example.com', { dkim: { ...identity('example.com').dkim, status: 'PENDING' } }),
        ),
    },
    domain: 'example.com',
    check: 'dkim',
    ok: false,
    detail: /status PENDING/,
    fix: /publish the DKIM CNAME records/,
  },
  // --- dkim-dns ---
  {
    name: 'a DKIM CNAME missing',
    opts: { zones: (z) => void delete z['examplecomtok2._domainkey.example.com'] },
    domain: 'example.com',
    check: 'dkim-dns',
    ok: false,
    detail: /no CNAME at examplecomtok2\._domainkey\.example\.com/,
    fix: 'publish `examplecomtok2._domainkey.example.com. CNAME examplecomtok2.dkim.amazonses.com.`',
  },
  {
    name: 'a DKIM CNAME pointing elsewhere',
    opts: {
      zones: (z) => {
        z['examplecomtok1._domainkey.example.com'] = { CNAME: ['examplecomtok1.dkim.other.test'] };
      },
    },
    domain: 'example.com',
    check: 'dkim-dns',
    ok: false,
    detail: /→ examplecomtok1\.dkim\.other\.test, expected examplecomtok1\.dkim\.amazonses\.com/,
    fix: /CNAME examplecomtok1\.dkim\.amazonses\.com\./,
  },
  {
    name: 'no DKIM tokens',
    opts: {
      aws: (a) =>
        void a.identities.set(
          'example.com',
          identity('example.com', { dkim: { ...identity('example.com').dkim, tokens: [] } }),
        ),
    },
    domain: 'example.com',
    check: 'dkim-dns',
    ok: false,
    detail: /no DKIM tokens/,
    fix: /--signing-attributes-origin AWS_SES/,
  },
  {
    name: 'BYODKIM key not published',
    opts: {
      aws: (a) =>
        void a.identities.set(
          'example.com',
          identity('example.com', {
            dkim: { ...identity('example.com').dkim, tokens: ['byo1'], origin: 'EXTERNAL' },
          }),
        ),
    },
    domain: 'example.com',
    check: 'dkim-dns',
    ok: false,
    detail: /no DKIM key TXT at byo1\._domainkey\.example\.com/,
    fix: /publish the public key of your BYODKIM key pair/,
  },
  {
    name: 'DKIM CNAME SERVFAIL',
    opts: {
      zones: (z) => {
        z['examplecomtok3._domainkey.example.com'] = { SERVFAIL: true };
      },
    },
    domain: 'example.com',
    check: 'dkim-dns',
    ok: null,
    detail: /temporary DNS failure/,
    fix: /retry later/,
  },
  // --- mail-from ---
  {
    name: 'custom MAIL FROM without the feedback MX',
    opts: {
      zones: (z) => {
        z['mail.example.com'] = { TXT: ['v=spf1 include:amazonses.com ~all'] };
      },
    },
    domain: 'example.com',
    check: 'mail-from',
    ok: false,
    detail: /MX of mail\.example\.com is missing, expected exactly feedback-smtp\.us-east-1\.amazonses\.com/,
    fix: 'publish `mail.example.com. MX 10 feedback-smtp.us-east-1.amazonses.com.` (only that MX)',
  },
  {
    name: 'custom MAIL FROM SPF without amazonses.com',
    opts: {
      zones: (z) => {
        z['mail.example.com'] = {
          MX: [{ exchange: 'feedback-smtp.us-east-1.amazonses.com', priority: 10 }],
          TXT: ['v=spf1 ip4:192.0.2.0/24 -all'],
        };
      },
    },
    domain: 'example.com',
    check: 'mail-from',
    ok: false,
    detail: /does not include amazonses\.com/,
    fix: 'publish `mail.example.com. TXT "v=spf1 include:amazonses.com ip4:192.0.2.0/24 -all"`',
  },
  {
    name: 'custom MAIL FROM without SPF record',
    opts: {
      zones: (z) => {
        z['mail.example.com'] = {
          MX: [{ exchange: 'feedback-smtp.us-east-1.amazonses.com', priority: 10 }],
        };
      },
    },
    domain: 'example.com',
    check: 'mail-from',
    ok: false,
    detail: /no SPF record at mail\.example\.com/,
    fix: 'publish `mail.example.com. TXT "v=spf1 include:amazonses.com ~all"`',
  },
  {
    name: 'custom MAIL FROM still pending at SES',
    opts: {
      aws: (a) =>
        void a.identities.set(
          'example.com',
          identity('example.com', { mailFrom: { domain: 'mail.example.com', status: 'PENDING' } }),
        ),
    },
    domain: 'example.com',
    check: 'mail-from',
    ok: false,
    detail: /SES reports MAIL FROM status PENDING/,
    fix: /wait for SES to re-check mail\.example\.com/,
  },
  // --- spf (SRS domain) ---
  {
    name: 'SRS domain without SPF',
    opts: {
      zones: (z) => {
        z['fwd.example.com'] = { MX: SES_MX };
      },
    },
    domain: 'fwd.example.com',
    check: 'spf',
    ok: false,
    detail: /no SPF record at fwd\.example\.com/,
    fix: 'publish one record: `fwd.example.com. TXT "v=spf1 include:amazonses.com ~all"`',
  },
  {
    name: 'SRS domain with two SPF records',
    opts: {
      zones: (z) => {
        z['fwd.example.com'] = {
          MX: SES_MX,
          TXT: ['v=spf1 include:amazonses.com ~all', 'v=spf1 -all'],
        };
      },
    },
    domain: 'fwd.example.com',
    check: 'spf',
    ok: false,
    detail: /2 SPF records at fwd\.example\.com \(RFC 7208 3\.2: permerror\)/,
    fix: /publish one record/,
  },
  {
    name: 'SRS domain SPF without amazonses.com',
    opts: {
      zones: (z) => {
        z['fwd.example.com'] = { MX: SES_MX, TXT: ['v=spf1 mx -all'] };
      },
    },
    domain: 'fwd.example.com',
    check: 'spf',
    ok: false,
    detail: /"v=spf1 mx -all" does not include amazonses\.com/,
    fix: 'publish `fwd.example.com. TXT "v=spf1 include:amazonses.com mx -all"`',
  },
  // --- dmarc ---
  {
    name: 'no DMARC record',
    opts: { zones: (z) => void delete z['_dmarc.example.org'] },
    domain: 'example.org',
    check: 'dmarc',
    ok: false,
    detail: /no DMARC record at _dmarc\.example\.org/,
    fix: 'publish `_dmarc.example.org. TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.org"`',
  },
  {
    name: 'two DMARC records',
    opts: {
      zones: (z) => {
        z['_dmarc.example.org'] = { TXT: ['v=DMARC1; p=none', 'v=DMARC1; p=reject'] };
      },
    },
    domain: 'example.org',
    check: 'dmarc',
    ok: false,
    detail: /2 DMARC records/,
    fix: 'keep exactly one "v=DMARC1" TXT record at _dmarc.example.org',
  },
  {
    name: 'SRS subdomain without own or inherited DMARC',
    opts: { zones: (z) => void delete z['_dmarc.example.com'] },
    domain: 'fwd.example.com',
    check: 'dmarc',
    ok: false,
    detail: /no DMARC record at _dmarc\.fwd\.example\.com/,
    fix: /_dmarc\.fwd\.example\.com\. TXT/,
  },
  // --- configuration sets / receipt rules ---
  {
    name: 'configuration set missing',
    opts: { aws: (a) => void a.configurationSets.delete('outbound-relay') },
    domain: ACCOUNT,
    check: 'configuration-set:relay',
    ok: false,
    detail: /configuration set outbound-relay does not exist/,
    fix: 'cdk deploy, or: aws sesv2 create-configuration-set --configuration-set-name outbound-relay --delivery-options SendingPoolName=outbound-relay',
  },
  {
    name: 'configuration set on the wrong IP pool',
    opts: {
      aws: (a) => void a.configurationSets.set('outbound-high-risk', { sendingPoolName: 'outbound-normal' }),
    },
    domain: ACCOUNT,
    check: 'configuration-set:high-risk',
    ok: false,
    detail: /outbound-high-risk sends through outbound-normal, not the dedicated IP pool outbound-high-risk/,
    fix: 'aws sesv2 put-configuration-set-delivery-options --configuration-set-name outbound-high-risk --sending-pool-name outbound-high-risk',
  },
  {
    name: 'configuration set on the shared IPs',
    opts: { aws: (a) => void a.configurationSets.set('outbound-normal', { sendingPoolName: null }) },
    domain: ACCOUNT,
    check: 'configuration-set:normal',
    ok: false,
    detail: /sends through SES's shared IPs/,
    fix: /--sending-pool-name outbound-normal/,
  },
  {
    name: 'no active receipt rule set',
    opts: {
      aws: (a) => {
        a.ruleSet = null;
      },
    },
    domain: ACCOUNT,
    check: 'receipt-rule-set',
    ok: false,
    detail: /no active receipt rule set/,
    fix: 'cdk deploy, or: aws ses set-active-receipt-rule-set --rule-set-name <rule set>',
  },
  {
    name: 'active rule set missing a domain (and a disabled rule does not count)',
    opts: {
      aws: (a) => {
        a.ruleSet = {
          name: 'rs1',
          rules: [
            { name: 'main', enabled: true, recipients: ['example.com', 'alias@example.org'] },
            { name: 'off', enabled: false, recipients: ['fwd.example.com'] },
          ],
        };
      },
    },
    domain: ACCOUNT,
    check: 'receipt-rule-set',
    ok: false,
    detail: /active rule set rs1: no enabled rule for fwd\.example\.com$/,
    fix: 'add fwd.example.com to the recipients of the enabled receipt rule of rs1 (cdk deploy does)',
  },
  // --- AWS not reachable ---
  {
    name: 'offline: identity unknown, with the command to run',
    opts: { aws: null },
    domain: 'example.com',
    check: 'ses-identity',
    ok: null,
    detail: /skipped \(--offline\)/,
    fix: 'run "npx outbound-pools doctor --region us-east-1" with AWS credentials, or: aws sesv2 get-email-identity --email-identity example.com',
  },
  {
    name: 'offline: DKIM CNAMEs unknown (the tokens come from SES)',
    opts: { aws: null },
    domain: 'example.org',
    check: 'dkim-dns',
    ok: null,
    detail: /the DKIM tokens come from SES/,
    fix: /--query DkimAttributes\.Tokens/,
  },
  {
    name: 'offline: configuration set unknown',
    opts: { aws: null },
    domain: ACCOUNT,
    check: 'configuration-set:normal',
    ok: null,
    detail: /skipped/,
    fix: /aws sesv2 get-configuration-set --configuration-set-name outbound-normal \(expect SendingPoolName outbound-normal\)/,
  },
  {
    name: 'offline: receipt rule set unknown',
    opts: { aws: null },
    domain: ACCOUNT,
    check: 'receipt-rule-set',
    ok: null,
    detail: /skipped/,
    fix: /aws ses describe-active-receipt-rule-set/,
  },
  {
    name: 'no credentials: AWS checks skipped as unknown',
    opts: {
      aws: (a) => {
        a.errors.getActiveReceiptRuleSet = err('CredentialsProviderError', 'Could not load credentials');
      },
    },
    domain: 'example.com',
    check: 'dkim',
    ok: null,
    detail: /skipped \(no AWS credentials: Could not load credentials\)/,
    fix: /with AWS credentials/,
  },
  {
    name: 'access denied on GetEmailIdentity',
    opts: {
      aws: (a) => {
        a.errors.getIdentity = err('AccessDeniedException');
      },
    },
    domain: 'example.org',
    check: 'ses-identity',
    ok: null,
    detail: /AWS GetEmailIdentity failed: AccessDeniedException/,
    fix: "allow ses:GetEmailIdentity to the caller's IAM principal",
  },
  {
    name: 'SES throttling on GetConfigurationSet',
    opts: {
      aws: (a) => {
        a.errors.getConfigurationSet = err('TooManyRequestsException');
      },
    },
    domain: ACCOUNT,
    check: 'configuration-set:normal',
    ok: null,
    detail: /GetConfigurationSet failed: TooManyRequestsException/,
    fix: 'retry; check --region and the network',
  },
];

describe('doctor: what fails, and its fix', () => {
  for (const c of FAILS) {
    it(`${c.ok === false ? '✗' : '?'} ${c.domain} ${c.check}: ${c.name}`, async () => {
      // Act
      const rows = await run(c.opts);
      // Assess
      const r = row(rows, c.domain, c.check);
      assert.equal(r.ok, c.ok, r.detail);
      assert.match(r.detail, c.detail);
      if (typeof c.fix === 'string') assert.equal(r.fix, c.fix);
      else assert.match(r.fix, c.fix);
      assert.equal(doctorExitCode(rows), rows.some((x) => x.ok === false) ? 1 : 0);
    });
  }

  it('unknown checks do not fail the run; a failed one does', async () => {
    const offline = await run({ aws: null });
    assert.ok(offline.some((r) => r.ok === null));
    assert.equal(doctorExitCode(offline), 0);
    assert.equal(doctorExitCode(await run({ zones: (z) => void delete z['_dmarc.example.org'] })), 1);
  });

  it('no credentials: only the probe call is made', async () => {
    const aws = goodAws();
    aws.errors.getActiveReceiptRuleSet = err('CredentialsProviderError');
    const inspector = fakeInspector(aws);
    const rows = await runDoctor({
      config: CONFIG,
      resolver: zoneResolver(goodZones()),
      region: REGION,
      inspector,
    });
    assert.deepEqual(inspector.calls, ['getActiveReceiptRuleSet']);
    assert.equal(rows.filter((r) => r.ok === false).length, 0);
  });

  it('a dependent row is skipped when the identity does not exist', async () => {
    const rows = await run({ aws: (a) => void a.identities.delete('example.org') });
    assert.deepEqual(
      ['dkim-dns', 'mail-from'].map((c) => row(rows, 'example.org', c).ok),
      [null, null],
    );
  });

  it('a BYODKIM key that is published passes', async () => {
    const rows = await run({
      zones: (z) => {
        z['byo1._domainkey.example.com'] = { TXT: ['v=DKIM1; k=rsa; p=MIIBIjANBg'] };
      },
      aws: (a) =>
        void a.identities.set(
          'example.com',
          identity('example.com', {
            dkim: { ...identity('example.com').dkim, tokens: ['byo1'], origin: 'EXTERNAL' },
          }),
        ),
    });
    assert.equal(row(rows, 'example.com', 'dkim-dns').ok, true);
  });

  it('SigningHostedZone overrides the Easy DKIM zone', async () => {
    const rows = await run({
      zones: (z) => {
        for (const t of tokens('example.com'))
          z[`${t}._domainkey.example.com`] = { CNAME: [`${t}.dkim.eu.example`] };
      },
      aws: (a) =>
        void a.identities.set(
          'example.com',
          identity('example.com', {
            dkim: { ...identity('example.com').dkim, signingHostedZone: 'dkim.eu.example' },
          }),
        ),
    });
    assert.equal(row(rows, 'example.com', 'dkim-dns').ok, true);
  });
});

describe('spfIncludesSes', () => {
  it('accepts include:amazonses.com (with + qualifier) and redirect=amazonses.com only', () => {
    assert.equal(spfIncludesSes('v=spf1 include:amazonses.com ~all'), true);
    assert.equal(spfIncludesSes('v=spf1 +include:AmazonSES.com -all'), true);
    assert.equal(spfIncludesSes('v=spf1 redirect=amazonses.com'), true);
    assert.equal(spfIncludesSes('v=spf1 include:amazonses.com.evil.test -all'), false);
    assert.equal(spfIncludesSes('v=spf1 -include:amazonses.com -all'), false);
  });
});
