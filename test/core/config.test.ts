import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseConfig, parseConfigText, policyFor } from '../../functions/core/config.js';
import { ConfigError } from '../../functions/core/errors.js';
import { CONFIG_JSON } from '../helpers/mail.js';

const minimal = {
  acceptedDomains: ['example.com'],
  routes: { 'alias@example.com': ['dest@remote.test'] },
  srs: { domain: 'fwd.example.com', secrets: ['a-long-secret'] },
};

describe('parseConfig: defaults', () => {
  it('fills every default of SPEC 4 and the pools table', () => {
    // Act
    const c = parseConfig(minimal);
    // Assess
    assert.equal(c.maxMessageBytes, 41_943_040);
    assert.deepEqual(c.limits.default, {
      externalPerHour: 500,
      internalPerHour: 1000,
      perDay: 1000,
      recipientsPerMessage: 500,
      action: 'block-for-today',
    });
    assert.equal(c.limits.service.recipientsPer24Hours, 10_000);
    assert.deepEqual(c.pools, {
      normal: {
        configurationSet: 'outbound-normal',
        ipPool: 'outbound-normal',
        tenant: 'outbound-normal',
        reputationPolicy: 'standard',
      },
      'high-risk': {
        configurationSet: 'outbound-high-risk',
        ipPool: 'outbound-high-risk',
        tenant: 'outbound-high-risk',
        reputationPolicy: 'strict',
      },
      relay: {
        configurationSet: 'outbound-relay',
        ipPool: 'outbound-relay',
        tenant: 'outbound-relay',
        reputationPolicy: 'strict',
      },
    });
    assert.deepEqual(c.reputation, { bounceRate: 0.025, complaintRate: 0.0005, pauseOnAlarm: true });
    assert.equal(c.relay.dkimAvoidsRelay, true);
    assert.deepEqual(
      [c.srs.maxAgeDays, c.srs.hashLength, c.srs.separator, c.bounceSink],
      [21, 8, '=', 'mailer-daemon@fwd.example.com'],
    );
  });

  it('fills the trust-model defaults (SPEC 2a, 4)', () => {
    const c = parseConfig(minimal);
    assert.deepEqual(
      [c.subaddressSeparator, c.identities, c.maxHops, c.ndr.perRecipientPerHour, c.srs.maxRecipients],
      ['+', {}, 50, 10, 5],
    );
    const off = parseConfig({
      ...minimal,
      subaddressSeparator: '',
      identities: { 'Bob2@Example.com': 'bob@example.com' },
    });
    assert.equal(off.subaddressSeparator, '');
    assert.deepEqual(off.identities, { 'bob2@example.com': 'bob@example.com' });
  });

  it('gives a section written empty the same defaults as a section left out', () => {
    const absent = parseConfig(minimal);
    const empty = parseConfig({
      ...minimal,
      limits: { service: {} },
      relay: {},
      trace: {},
      pools: { normal: { configurationSet: 'mine' } },
    });
    assert.deepEqual(empty.limits, absent.limits);
    assert.deepEqual([empty.relay, empty.trace], [absent.relay, absent.trace]);
    assert.deepEqual(empty.pools.normal, {
      configurationSet: 'mine',
      ipPool: 'mine',
      tenant: 'mine',
      reputationPolicy: 'standard',
    });
    assert.deepEqual(empty.pools.relay, absent.pools.relay);
  });

  it('lists every bad field, the first one named as the field', () => {
    assert.throws(
      () => parseConfig({ ...minimal, maxMessageBytes: 0, trace: { retentionDays: 'long' } }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.field === 'maxMessageBytes' &&
        /maxMessageBytes: .*\n {2}trace\.retentionDays: .*number/.test(e.message),
    );
  });

  it('normalises domains, addresses and route keys to lower case', () => {
    const c = parseConfig({
      ...minimal,
      acceptedDomains: ['Example.COM'],
      routes: { 'Alias@Example.com': ['Dest@Remote.test'], '@EXAMPLE.com': ['x@remote.test'] },
    });
    assert.deepEqual(c.acceptedDomains, ['example.com']);
    assert.deepEqual(Object.keys(c.routes), ['alias@example.com', '@example.com']);
    assert.deepEqual(c.routes['alias@example.com'], ['dest@remote.test']);
  });

  it('merges policies: sender over domain over default', () => {
    const c = parseConfig({
      ...minimal,
      limits: {
        default: { perDay: 100 },
        domains: { 'example.com': { perDay: 200, externalPerHour: 7 } },
        senders: { 'bulk@example.com': { perDay: 5000 } },
      },
    });
    assert.equal(policyFor(c, 'someone@other.test').perDay, 100);
    assert.equal(policyFor(c, 'someone@example.com').perDay, 200);
    assert.equal(policyFor(c, 'BULK@example.com').perDay, 5000);
    assert.equal(policyFor(c, 'bulk@example.com').externalPerHour, 7);
    assert.equal(policyFor(c, 'bulk@example.com').internalPerHour, 1000);
  });

  it('accepts the example configuration shipped in config/ and the test configuration', () => {
    const shipped = parseConfigText(readFileSync('config/outbound-pools.json', 'utf8'));
    assert.ok(shipped.acceptedDomains.length > 0);
    assert.ok(parseConfig(CONFIG_JSON));
  });
});

describe('parseConfig: bad input names the field', () => {
  const cases: { name: string; config: unknown; field: string; message: RegExp }[] = [
    {
      name: 'not an object',
      config: 42,
      field: '(root)',
      message: /\(root\): Invalid type: Expected Object but received 42/,
    },
    {
      name: 'missing acceptedDomains',
      config: { ...minimal, acceptedDomains: undefined },
      field: 'acceptedDomains',
      message: /acceptedDomains: required field is missing/,
    },
    {
      name: 'empty acceptedDomains',
      config: { ...minimal, acceptedDomains: [] },
      field: 'acceptedDomains',
      message: /at least one/,
    },
    {
      name: 'bad domain',
      config: { ...minimal, acceptedDomains: ['not a domain'] },
      field: 'acceptedDomains[0]',
      message: /domain name/,
    },
    { name: 'missing routes', config: { ...minimal, routes: undefined }, field: 'routes', message: /routes/ },
    {
      name: 'routes written as a list',
      config: { ...minimal, routes: ['alias@example.com'] },
      field: 'routes',
      message: /routes: Invalid type: Expected Object but received Array/,
    },
    {
      name: 'bad route key',
      config: { ...minimal, routes: { 'no-at-sign': ['a@b.test'] } },
      field: 'routes.no-at-sign',
      message: /route keys/,
    },
    {
      name: 'empty route',
      config: { ...minimal, routes: { 'a@example.com': [] } },
      field: 'routes.a@example.com',
      message: /at least one destination/,
    },
    {
      name: 'bad destination',
      config: { ...minimal, routes: { 'a@example.com': ['nope'] } },
      field: 'routes.a@example.com[0]',
      message: /email address/,
    },
    {
      name: 'route for a foreign domain (open relay)',
      config: { ...minimal, routes: { 'a@other.test': ['x@remote.test'] } },
      field: 'routes.a@other.test',
      message: /accepted domains/,
    },
    { name: 'missing srs', config: { ...minimal, srs: undefined }, field: 'srs', message: /srs/ },
    {
      name: 'no SRS secret',
      config: { ...minimal, srs: { domain: 'fwd.example.com', secrets: [] } },
      field: 'srs.secrets',
      message: /srs\.secrets/,
    },
    {
      name: 'short SRS secret',
      config: { ...minimal, srs: { domain: 'fwd.example.com', secrets: ['short'] } },
      field: 'srs.secrets[0]',
      message: /at least 8/,
    },
    {
      name: 'SRS domain is accepted',
      config: { ...minimal, srs: { domain: 'example.com', secrets: ['a-long-secret'] } },
      field: 'srs.domain',
      message: /must not be an accepted domain/,
    },
    {
      name: 'bad action',
      config: { ...minimal, limits: { default: { action: 'quarantine' } } },
      field: 'limits.default.action',
      message: /limits\.default\.action/,
    },
    {
      name: 'negative limit',
      config: { ...minimal, limits: { default: { perDay: -1 } } },
      field: 'limits.default.perDay',
      message: /limits\.default\.perDay: .*Expected >=1 but received -1/,
    },
    {
      name: 'fractional limit',
      config: { ...minimal, limits: { default: { perDay: 1.5 } } },
      field: 'limits.default.perDay',
      message: /int/,
    },
    {
      name: 'size over SES maximum',
      config: { ...minimal, maxMessageBytes: 50_000_000 },
      field: 'maxMessageBytes',
      message: /SES sends at most/,
    },
    {
      name: 'unknown field (typo)',
      config: { ...minimal, acceptedDomain: ['x.test'] },
      field: 'acceptedDomain',
      message: /acceptedDomain: unknown field/,
    },
    {
      name: 'bad configuration set name',
      config: { ...minimal, pools: { normal: { configurationSet: 'has space' } } },
      field: 'pools.normal.configurationSet',
      message: /letters, digits/,
    },
    {
      name: 'unknown reputation policy',
      config: { ...minimal, pools: { relay: { configurationSet: 'r', reputationPolicy: 'lenient' } } },
      field: 'pools.relay.reputationPolicy',
      message: /pools\.relay\.reputationPolicy/,
    },
    {
      name: 'bad tenant name',
      config: { ...minimal, pools: { relay: { configurationSet: 'r', tenant: 'a b' } } },
      field: 'pools.relay.tenant',
      message: /letters, digits/,
    },
    {
      name: 'bounce alarm at or above SES review rate',
      config: { ...minimal, reputation: { bounceRate: 0.06 } },
      field: 'reputation.bounceRate',
      message: /below SES's bounce review rate/,
    },
    {
      name: 'complaint alarm rate zero',
      config: { ...minimal, reputation: { complaintRate: 0 } },
      field: 'reputation.complaintRate',
      message: /rate between 0 and 1/,
    },
    {
      name: 'dkimAvoidsRelay not boolean',
      config: { ...minimal, relay: { dkimAvoidsRelay: 'yes' } },
      field: 'relay.dkimAvoidsRelay',
      message: /boolean/,
    },
    {
      name: 'ARC key neither a file nor a parameter',
      config: {
        ...minimal,
        arc: { domain: 'fwd.example.com', selector: 'arc1', privateKey: { pem: 'inline' } },
      },
      field: 'arc.privateKey',
      message: /arc\.privateKey: must be \{"file": PATH\} or \{"ssmParameter": NAME\}/,
    },
    {
      name: 'ARC key file empty',
      config: { ...minimal, arc: { domain: 'fwd.example.com', selector: 'arc1', privateKey: { file: '' } } },
      field: 'arc.privateKey.file',
      message: /arc\.privateKey\.file: /,
    },
    {
      name: 'bad gateway CIDR',
      config: { ...minimal, trustedGateways: [{ name: 'filter', cidrs: ['10.0.0.0/33'] }] },
      field: 'trustedGateways[0].cidrs[0]',
      message: /CIDR such as/,
    },
    // Trust model (SPEC 2a, 4).
    {
      name: 'identities: a bad address',
      config: { ...minimal, identities: { 'not-an-address': 'bob@example.com' } },
      field: 'identities.not-an-address',
      message: /identities\.not-an-address: must be an email address/,
    },
    {
      name: 'identities: a mailbox outside the accepted domains',
      config: { ...minimal, identities: { 'bob2@example.com': 'bob@other.test' } },
      field: 'identities.bob2@example.com',
      message: /identities\.bob2@example\.com: .*other\.test is not in acceptedDomains/,
    },
    {
      name: 'identities: an alias outside the accepted domains',
      config: { ...minimal, identities: { 'bob@other.test': 'bob@example.com' } },
      field: 'identities.bob@other.test',
      message: /other\.test is not in acceptedDomains/,
    },
    {
      name: 'identities written as a list',
      config: { ...minimal, identities: ['bob@example.com'] },
      field: 'identities',
      message: /identities: Invalid type: Expected Object/,
    },
    {
      name: 'subaddressSeparator of two characters',
      config: { ...minimal, subaddressSeparator: '++' },
      field: 'subaddressSeparator',
      message: /subaddressSeparator: must be one character/,
    },
    {
      name: 'subaddressSeparator that is an at sign',
      config: { ...minimal, subaddressSeparator: '@' },
      field: 'subaddressSeparator',
      message: /subaddressSeparator: must be one character/,
    },
    {
      name: 'srs.hashLength below 4',
      config: { ...minimal, srs: { ...minimal.srs, hashLength: 2 } },
      field: 'srs.hashLength',
      message: /srs\.hashLength: .*Expected >=4/,
    },
    {
      name: 'srs.hashLength over 27',
      config: { ...minimal, srs: { ...minimal.srs, hashLength: 28 } },
      field: 'srs.hashLength',
      message: /srs\.hashLength: .*Expected <=27/,
    },
    {
      name: 'srs.maxRecipients of 0',
      config: { ...minimal, srs: { ...minimal.srs, maxRecipients: 0 } },
      field: 'srs.maxRecipients',
      message: /srs\.maxRecipients: .*Expected >=1/,
    },
    {
      name: 'srs.maxRecipients not a number',
      config: { ...minimal, srs: { ...minimal.srs, maxRecipients: 'five' } },
      field: 'srs.maxRecipients',
      message: /srs\.maxRecipients: .*number/,
    },
    {
      name: 'maxHops of 0',
      config: { ...minimal, maxHops: 0 },
      field: 'maxHops',
      message: /maxHops: .*Expected >=1/,
    },
    {
      name: 'maxHops fractional',
      config: { ...minimal, maxHops: 2.5 },
      field: 'maxHops',
      message: /maxHops: .*int/,
    },
    {
      name: 'ndr.perRecipientPerHour negative',
      config: { ...minimal, ndr: { perRecipientPerHour: -1 } },
      field: 'ndr.perRecipientPerHour',
      message: /ndr\.perRecipientPerHour: .*Expected >=0/,
    },
    {
      name: 'ndr with a misspelt field',
      config: { ...minimal, ndr: { perRecipientHour: 3 } },
      field: 'ndr.perRecipientHour',
      message: /unknown field/,
    },
    // Mail that would go round or nowhere (review of December 2026).
    {
      name: 'a bounce sink in an accepted domain (its bounces would be routed, and bounce again)',
      config: {
        ...minimal,
        routes: { '@example.com': ['x@remote.test'] },
        bounceSink: 'bounces@example.com',
      },
      field: 'bounceSink',
      message: /must not be in an accepted domain/,
    },
    {
      name: 'a bounce sink shaped like an SRS address',
      config: { ...minimal, bounceSink: 'SRS0=abcd=TT=x.test=y@fwd.example.com' },
      field: 'bounceSink',
      message: /must not look like an SRS address/,
    },
    {
      name: 'a route delivering into the SRS domain',
      config: { ...minimal, routes: { 'alias@example.com': ['ok@remote.test', 'someone@fwd.example.com'] } },
      field: 'routes.alias@example.com[1]',
      message: /must not be in the SRS domain or be the bounce sink/,
    },
    {
      name: 'a route delivering to a bounce sink elsewhere',
      config: {
        ...minimal,
        bounceSink: 'sink@sink.example.net',
        routes: { 'alias@example.com': ['sink@sink.example.net'] },
      },
      field: 'routes.alias@example.com[0]',
      message: /bounce sink/,
    },
    {
      name: 'one route key in two spellings (the later would replace the earlier)',
      config: {
        ...minimal,
        routes: { 'Alias@Example.com': ['a@remote.test'], 'alias@example.com': ['b@remote.test'] },
      },
      field: 'routes.alias@example.com',
      message: /is "Alias@Example\.com" again/,
    },
    {
      name: 'identities mapping to a mailbox that is itself mapped',
      config: {
        ...minimal,
        identities: { 'a@example.com': 'b@example.com', 'b@example.com': 'c@example.com' },
      },
      field: 'identities.a@example.com',
      message: /itself mapped/,
    },
    {
      name: 'a sending limit for a sub-address (never an identity)',
      config: { ...minimal, limits: { senders: { 'news+bulk@example.com': { perDay: 10 } } } },
      field: 'limits.senders.news+bulk@example.com',
      message: /never a sending identity/,
    },
    {
      name: 'a route forwarding to itself',
      config: { ...minimal, routes: { 'alias@example.com': ['alias@example.com', 'x@remote.test'] } },
      field: 'routes.alias@example.com',
      message: /forwards back to itself \(alias@example\.com → alias@example\.com\)/,
    },
    {
      name: 'two routes forwarding to each other',
      config: {
        ...minimal,
        routes: {
          'alias@example.com': ['list@example.com'],
          'list@example.com': ['x@remote.test', 'alias@example.com'],
        },
      },
      field: 'routes.alias@example.com',
      message: /alias@example\.com → list@example\.com → alias@example\.com/,
    },
    {
      name: 'a catch-all forwarding into its own domain',
      config: { ...minimal, routes: { '@example.com': ['someone@example.com'] } },
      field: 'routes.@example.com',
      message: /forwards back to itself/,
    },
    {
      name: 'a trusted gateway of every address',
      config: { ...minimal, trustedGateways: [{ name: 'all', cidrs: ['0.0.0.0/0'] }] },
      field: 'trustedGateways[0].cidrs[0]',
      message: /\/8 or narrower/,
    },
    {
      name: 'a trusted gateway of every IPv6 address',
      config: { ...minimal, trustedGateways: [{ name: 'all', cidrs: ['203.0.113.0/24', '::/0'] }] },
      field: 'trustedGateways[0].cidrs[1]',
      message: /\/16 for IPv6/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.throws(
        () => parseConfig(c.config),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError, 'a ConfigError');
          assert.equal(e.field, c.field);
          assert.match(e.message, c.message);
          return true;
        },
      );
    });
  }

  it('a route may forward to another route of ours that ends outside (no cycle, however shaped)', () => {
    const c = parseConfig({
      ...minimal,
      routes: {
        'alias@example.com': ['list@example.com', 'team@example.com'],
        'team@example.com': ['list@example.com'],
        'list@example.com': ['x@remote.test'],
      },
    });
    assert.deepEqual(c.routes['alias@example.com'], ['list@example.com', 'team@example.com']);
  });

  it('reports invalid JSON text as a ConfigError naming the source', () => {
    assert.throws(() => parseConfigText('{ nope', 'my.json'), /my\.json is not valid JSON/);
  });
});
