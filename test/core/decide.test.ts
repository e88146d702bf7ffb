import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Config } from '../../functions/core/config.js';
import { type Decision, decideMessage } from '../../functions/core/decide.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { DnsTemporaryError } from '../../functions/core/errors.js';
import type { SenderState } from '../../functions/core/limits.js';
import { Srs } from '../../functions/core/srs.js';
import type { Reason } from '../../functions/core/vocabulary.js';
import {
  dkimKey,
  type EventOptions,
  type MessageOptions,
  message,
  NOW,
  received,
  sign,
  testConfig,
  zones,
} from '../helpers/mail.js';

const senderKey = dkimKey('sender.test');
const subdomainKey = dkimKey('mail.sender.test');
const thirdPartyKey = dkimKey('third-party.test');
const exampleKey = dkimKey('example.com');
const ZONES = zones([senderKey, subdomainKey, thirdPartyKey, exampleKey], {
  'sel1._domainkey.flaky.test': { SERVFAIL: true },
  'flaky.test': { A: ['192.0.2.50'] },
});

interface Case {
  name: string;
  event?: EventOptions;
  msg?: MessageOptions;
  /** Sign the message with these keys (in order). */
  signWith?: ('sender' | 'subdomain' | 'third-party' | 'example' | 'flaky')[];
  /** Alter the body after signing (breaks the signature). */
  tamper?: boolean;
  config?: Record<string, unknown>;
  senders?: Record<string, SenderState>;
  rawSize?: number;
  pool: Decision['pool'];
  reasons: Reason[];
  check?: (d: Decision, config: Config) => void;
}

const srsFor = (config: Config) => new Srs(config.srs);
const day = (counters: Partial<SenderState['counters']>): SenderState => ({
  counters: { externalHour: 0, internalHour: 0, day: 0, rolling24h: 0, ...counters },
});

const CASES: Case[] = [
  {
    // Review of December 2026: kept as written, SES would refuse every copy (an unverified
    // identity), and every attempt, dead-lettering the sender's own mail.
    name: 'a genuine sender written with the root dot: its return path and From without it',
    event: { source: 'bob@example.com.', spf: 'PASS' },
    msg: { from: 'Bob <bob@example.com.>' },
    pool: 'normal',
    reasons: ['accepted-domain', 'spf-pass'],
    check: (d) => {
      assert.equal(d.sends.length, 1);
      assert.equal(d.sends[0]?.envelopeFrom, 'bob@example.com');
      assert.match(d.sends[0]!.from, /<bob@example\.com>$/);
      assert.equal(d.sends[0]?.fromRewritten, true);
    },
  },
  {
    name: 'accepted-domain sender with SPF pass → normal, From and return path kept',
    event: { source: 'bob@example.com', spf: 'PASS' },
    msg: { from: 'Bob <bob@example.com>' },
    pool: 'normal',
    reasons: ['accepted-domain', 'spf-pass'],
    check: (d) => {
      assert.equal(d.sends.length, 1);
      assert.deepEqual(d.sends[0]?.to, ['dest@remote.test']);
      assert.equal(d.sends[0]?.envelopeFrom, 'bob@example.com');
      assert.equal(d.sends[0]?.fromRewritten, false);
      assert.equal(d.sends[0]?.from, '"Bob" <bob@example.com>');
      assert.equal(d.sends[0]?.replyTo, null);
      assert.equal(d.configurationSet, 'outbound-normal');
    },
  },
  {
    name: 'forwarded mail with SPF pass → normal, SRS return path, From rewritten, Reply-To the author',
    event: { spf: 'PASS' },
    pool: 'normal',
    reasons: ['spf-pass', 'srs-rewritten'],
    check: (d, config) => {
      const s = d.sends[0]!;
      assert.match(s.envelopeFrom, /^SRS0=[^@]+@fwd\.example\.com$/);
      assert.deepEqual(srsFor(config).reverse(s.envelopeFrom, NOW), {
        ok: true,
        address: 'alice@sender.test',
      });
      assert.equal(s.from, '"Alice Sender via example.com" <alias@example.com>');
      assert.equal(s.replyTo, '"Alice Sender" <alice@sender.test>');
      assert.equal(s.identity, 'alias@example.com');
    },
  },
  {
    name: 'forwarded, SPF fail, DKIM of the From domain passes → normal (SRS)',
    event: { spf: 'FAIL' },
    signWith: ['sender'],
    pool: 'normal',
    reasons: ['dkim-aligned-pass', 'srs-rewritten'],
  },
  {
    name: 'DKIM by a subdomain of the From domain is aligned (relaxed, RFC 7489 3.1.1)',
    event: { spf: 'GRAY' },
    signWith: ['subdomain'],
    pool: 'normal',
    reasons: ['dkim-aligned-pass', 'srs-rewritten'],
  },
  {
    name: 'aligned DKIM does not avoid relay when relay.dkimAvoidsRelay is false',
    event: { spf: 'FAIL' },
    signWith: ['sender'],
    config: { relay: { dkimAvoidsRelay: false } },
    pool: 'relay',
    reasons: ['dkim-aligned-pass', 'unauthenticated-relay'],
    check: (d, config) => {
      assert.equal(d.sends[0]?.envelopeFrom, config.bounceSink);
      assert.equal(d.sends[0]?.configurationSet, 'outbound-relay');
    },
  },
  {
    name: 'a third-party signature is not DKIM of the sender → relay',
    event: { spf: 'FAIL' },
    signWith: ['third-party'],
    pool: 'relay',
    reasons: ['unauthenticated-relay'],
  },
  {
    name: 'a broken sender signature does not count → relay',
    event: { spf: 'FAIL' },
    signWith: ['sender'],
    tamper: true,
    pool: 'relay',
    reasons: ['unauthenticated-relay'],
    check: (d) => assert.notEqual(d.classification.dkim.signatures[0]?.result, 'pass'),
  },
  {
    name: 'unauthenticated forwarded mail → relay, return path is the bounce sink (no backscatter)',
    event: { spf: 'GRAY' },
    pool: 'relay',
    reasons: ['unauthenticated-relay'],
  },
  {
    name: 'spam verdict FAIL → high-risk (SRS still applied for an authenticated sender)',
    event: { spam: 'FAIL' },
    pool: 'high-risk',
    reasons: ['spam', 'spf-pass', 'srs-rewritten'],
    check: (d) => assert.equal(d.sends[0]?.configurationSet, 'outbound-high-risk'),
  },
  {
    name: 'spam from an unauthenticated sender records both spam and relay',
    event: { spam: 'FAIL', spf: 'FAIL' },
    pool: 'high-risk',
    reasons: ['spam', 'unauthenticated-relay'],
  },
  {
    name: 'source domain with no A and no MX → high-risk whatever else is true',
    event: { source: 'carol@nowhere.test' },
    msg: { from: 'carol@nowhere.test' },
    pool: 'high-risk',
    reasons: ['no-a-mx', 'spf-pass', 'srs-rewritten'],
  },
  {
    name: 'a null MX (RFC 7505) counts as no MX',
    event: { source: 'dan@nullmx.test' },
    msg: { from: 'dan@nullmx.test' },
    pool: 'high-risk',
    reasons: ['no-a-mx', 'spf-pass', 'srs-rewritten'],
  },
  {
    name: 'virus FAIL from an authenticated sender → blocked, NDR to the sender through high-risk',
    event: { virus: 'FAIL' },
    pool: 'blocked',
    reasons: ['virus', 'spf-pass'],
    check: (d, config) => {
      assert.equal(d.configurationSet, null);
      assert.equal(d.sends.length, 1);
      assert.equal(d.sends[0]?.kind, 'ndr');
      assert.deepEqual(d.sends[0]?.to, ['alice@sender.test']);
      assert.equal(d.sends[0]?.pool, 'high-risk');
      assert.equal(d.sends[0]?.envelopeFrom, config.bounceSink);
    },
  },
  {
    name: 'virus FAIL from an unauthenticated sender → blocked, nothing at all is sent',
    event: { virus: 'FAIL', spf: 'FAIL' },
    pool: 'blocked',
    reasons: ['virus', 'unauthenticated-relay'],
    check: (d) => assert.deepEqual(d.sends, []),
  },
  {
    name: 'null reverse path → NDR through high-risk, return path the bounce sink',
    event: { source: '' },
    msg: { from: 'Mail Delivery Subsystem <mailer-daemon@sender.test>' },
    pool: 'high-risk',
    // SPF is about the envelope sender only (SPEC 2a): a null one has nothing to pass.
    reasons: ['ndr', 'unauthenticated-relay'],
    check: (d, config) => {
      assert.deepEqual(d.sends[0]?.to, ['dest@remote.test']);
      assert.equal(d.sends[0]?.envelopeFrom, config.bounceSink);
      assert.equal(d.classification.sourceDomain, 'sender.test');
    },
  },
  {
    name: 'multipart/report; report-type=delivery-status → NDR',
    msg: { contentType: 'multipart/report; report-type="delivery-status"; boundary="b1"' },
    pool: 'high-risk',
    reasons: ['ndr', 'spf-pass'],
  },
  {
    name: 'a multipart/report that is not a DSN is not an NDR',
    msg: { contentType: 'multipart/report; report-type=disposition-notification; boundary="b1"' },
    pool: 'normal',
    reasons: ['spf-pass', 'srs-rewritten'],
  },
  {
    name: 'unrouted recipient only → blocked no-route (authenticated sender gets an NDR)',
    event: { recipients: ['nobody@example.com'] },
    pool: 'blocked',
    reasons: ['no-route', 'spf-pass'],
    check: (d) => {
      assert.deepEqual(d.unrouted, ['nobody@example.com']);
      assert.deepEqual(
        d.sends.map((s) => s.kind),
        ['ndr'],
      );
    },
  },
  {
    name: 'routed and unrouted recipients: only the routed one gets a copy',
    event: { recipients: ['nobody@example.com', 'alias@example.com'] },
    pool: 'normal',
    reasons: ['spf-pass', 'srs-rewritten'],
    check: (d) => {
      assert.deepEqual(
        d.sends.flatMap((s) => s.to),
        ['dest@remote.test'],
      );
      assert.deepEqual(d.unrouted, ['nobody@example.com']);
    },
  },
  {
    name: 'catch-all route of a domain',
    event: { recipients: ['anyone@example.org'] },
    pool: 'normal',
    reasons: ['spf-pass', 'srs-rewritten'],
    check: (d) => {
      assert.deepEqual(d.sends[0]?.to, ['catchall@remote.test']);
      assert.equal(d.sends[0]?.from, '"Alice Sender via example.org" <anyone@example.org>');
    },
  },
  {
    name: 'message over maxMessageBytes → blocked hard-limit-size',
    config: { maxMessageBytes: 1000 },
    rawSize: 1001,
    pool: 'blocked',
    reasons: ['hard-limit-size', 'spf-pass'],
  },
  {
    name: 'more recipients than recipientsPerMessage → blocked hard-limit-recipients',
    event: { recipients: ['team@example.com'] },
    config: { limits: { default: { recipientsPerMessage: 1 } } },
    pool: 'blocked',
    reasons: ['hard-limit-recipients', 'spf-pass'],
  },
  {
    name: 'a message blocked for what it is is not counted and restricts nobody',
    event: { recipients: ['team@example.com'] },
    config: { limits: { default: { recipientsPerMessage: 1, externalPerHour: 1 } } },
    senders: { 'team@example.com': day({ externalHour: 1 }) },
    pool: 'blocked',
    reasons: ['hard-limit-recipients', 'spf-pass'],
    check: (d) => {
      assert.deepEqual(d.restrictions, []);
      assert.deepEqual(d.alerts, []);
    },
  },
  {
    name: 'a Reply-To without an address falls back to the author for the rewritten copy',
    msg: { headers: ['Reply-To: "Nobody"'] },
    pool: 'normal',
    reasons: ['spf-pass', 'srs-rewritten'],
    check: (d) => assert.equal(d.sends[0]?.replyTo, '"Alice Sender" <alice@sender.test>'),
  },
  {
    name: 'restricted sender → blocked sender-restricted, no new restriction',
    senders: {
      'alias@example.com': {
        ...day({}),
        restriction: {
          identity: 'alias@example.com',
          reason: 'limit-day',
          since: NOW.toISOString(),
          until: null,
        },
      },
    },
    pool: 'blocked',
    reasons: ['sender-restricted', 'spf-pass'],
    check: (d) => assert.deepEqual(d.restrictions, []),
  },
  {
    name: 'an expired restriction no longer blocks',
    senders: {
      'alias@example.com': {
        ...day({}),
        restriction: {
          identity: 'alias@example.com',
          reason: 'limit-day',
          since: '2026-11-22T08:00:00Z',
          until: '2026-11-23T00:00:00Z',
        },
      },
    },
    pool: 'normal',
    reasons: ['spf-pass', 'srs-rewritten'],
  },
  {
    name: 'external hourly limit crossed (block-for-today) → blocked, restricted until 00:00 UTC',
    senders: { 'alias@example.com': day({ externalHour: 5 }) },
    pool: 'blocked',
    reasons: ['limit-external-hour', 'spf-pass'],
    check: (d) => {
      assert.deepEqual(d.restrictions, [
        {
          identity: 'alias@example.com',
          reason: 'limit-external-hour',
          since: NOW.toISOString(),
          until: '2026-11-24T00:00:00.000Z',
        },
      ]);
      assert.equal(d.sends[0]?.kind, 'ndr');
    },
  },
  {
    name: 'exactly at the limit is still allowed',
    senders: { 'alias@example.com': day({ externalHour: 4, day: 19 }) },
    pool: 'normal',
    reasons: ['spf-pass', 'srs-rewritten'],
  },
  {
    name: 'internal hourly limit and daily limit crossed → both reasons',
    event: { source: 'bob@example.com', recipients: ['team@example.com'] },
    msg: { from: 'bob@example.com' },
    senders: { 'bob@example.com': day({ internalHour: 10, day: 20 }) },
    pool: 'blocked',
    reasons: ['limit-internal-hour', 'limit-day', 'accepted-domain', 'spf-pass'],
  },
  {
    name: 'action block → restricted until an operator releases it',
    config: { limits: { default: { perDay: 1, action: 'block' } } },
    senders: { 'alias@example.com': day({ day: 1 }) },
    pool: 'blocked',
    reasons: ['limit-day', 'spf-pass'],
    check: (d) => assert.equal(d.restrictions[0]?.until, null),
  },
  {
    name: 'action block after a release today → high-risk with an alert, not restricted again',
    config: { limits: { default: { perDay: 1, action: 'block' } } },
    senders: { 'alias@example.com': { ...day({ day: 1 }), releasedAt: '2026-11-23T09:00:00Z' } },
    pool: 'high-risk',
    reasons: ['limit-day', 'spf-pass', 'srs-rewritten'],
    check: (d) => {
      assert.deepEqual(d.restrictions, []);
      assert.deepEqual(d.alerts, [{ identity: 'alias@example.com', reasons: ['limit-day'] }]);
    },
  },
  {
    name: 'action alert → sent through high-risk, alert raised',
    config: { limits: { default: { externalPerHour: 1, action: 'alert' } } },
    senders: { 'alias@example.com': day({ externalHour: 1 }) },
    pool: 'high-risk',
    reasons: ['limit-external-hour', 'spf-pass', 'srs-rewritten'],
    check: (d) => assert.equal(d.alerts.length, 1),
  },
  {
    name: 'per-sender policy overrides the default',
    config: {
      limits: { default: { externalPerHour: 1 }, senders: { 'alias@example.com': { externalPerHour: 100 } } },
    },
    senders: { 'alias@example.com': day({ externalHour: 50 }) },
    pool: 'normal',
    reasons: ['spf-pass', 'srs-rewritten'],
  },
  {
    name: 'service cap of recipients per rolling 24 hours → blocked whatever the policy',
    config: { limits: { default: { action: 'alert' }, service: { recipientsPer24Hours: 100 } } },
    senders: { 'alias@example.com': day({ rolling24h: 100 }) },
    pool: 'blocked',
    reasons: ['hard-limit-recipients', 'spf-pass'],
  },
  {
    name: 'a spoofed accepted domain (SPF fail, no aligned DKIM) is not trusted: relay, From rewritten',
    event: { source: 'ceo@example.com', spf: 'FAIL', dmarc: 'FAIL' },
    msg: { from: 'CEO <ceo@example.com>' },
    pool: 'relay',
    reasons: ['unauthenticated-relay', 'spoofed-accepted-domain'],
    check: (d) => {
      assert.equal(d.sends[0]?.fromRewritten, true);
      assert.equal(d.sends[0]?.from, '"CEO via example.com" <alias@example.com>');
    },
  },
  {
    name: 'an accepted-domain sender with its own aligned DKIM is accepted even if SPF failed',
    event: { source: 'bob@example.com', spf: 'FAIL' },
    msg: { from: 'bob@example.com' },
    signWith: ['example'],
    pool: 'normal',
    reasons: ['accepted-domain', 'dkim-aligned-pass'],
    check: (d) => assert.equal(d.sends[0]?.fromRewritten, false),
  },
  {
    name: 'a list of 120 members is split into sends of at most 50 recipients',
    config: {
      routes: { 'big@example.com': Array.from({ length: 120 }, (_, i) => `m${i}@remote.test`) },
      limits: { default: { externalPerHour: 1000, perDay: 1000 } },
    },
    event: { recipients: ['big@example.com'] },
    pool: 'normal',
    reasons: ['spf-pass', 'srs-rewritten'],
    check: (d) => {
      assert.deepEqual(
        d.sends.map((s) => s.to.length),
        [50, 50, 20],
      );
      assert.equal(new Set(d.sends.flatMap((s) => s.to)).size, 120);
    },
  },
  {
    name: 'two aliases: one copy per alias, each counted against its own identity',
    event: { recipients: ['alias@example.com', 'team@example.com'] },
    pool: 'normal',
    reasons: ['spf-pass', 'srs-rewritten'],
    check: (d) => {
      assert.deepEqual(
        d.sends.map((s) => [s.identity, s.to]),
        [
          ['alias@example.com', ['dest@remote.test']],
          ['team@example.com', ['ann@remote.test', 'bob@example.org']],
        ],
      );
      assert.deepEqual(
        d.classification.usage.map((u) => [u.identity, u.external, u.internal]),
        [
          ['alias@example.com', 1, 0],
          ['team@example.com', 1, 1],
        ],
      );
    },
  },
];

async function run(c: Case): Promise<{ decision: Decision; config: Config }> {
  const config = testConfig(c.config ?? {});
  let raw = message(c.msg ?? {});
  const keys = {
    sender: senderKey,
    subdomain: subdomainKey,
    'third-party': thirdPartyKey,
    example: exampleKey,
  };
  for (const k of c.signWith ?? []) {
    raw = await sign(raw, k === 'flaky' ? { ...senderKey, domain: 'flaky.test' } : keys[k]);
  }
  if (c.tamper) raw = Buffer.concat([raw, Buffer.from('P.S. altered in transit\r\n')]);
  if (c.rawSize) raw = Buffer.concat([raw, Buffer.alloc(Math.max(0, c.rawSize - raw.length), 'x')]);
  const decision = await decideMessage({
    received: received(c.event ?? {}),
    raw,
    config,
    resolver: zoneResolver(ZONES),
    now: NOW,
    senders: c.senders ?? {},
  });
  return { decision, config };
}

describe('decide: SPEC 3 rules and reason codes', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      // Act
      const { decision, config } = await run(c);
      // Assess
      assert.equal(decision.pool, c.pool);
      assert.deepEqual(decision.reasons, c.reasons);
      if (c.pool === 'blocked') {
        assert.ok(decision.sends.every((s) => s.kind === 'ndr'));
      } else {
        assert.ok(decision.sends.length > 0, 'a non-blocked message is sent');
        assert.ok(decision.sends.every((s) => s.pool === c.pool || s.kind !== 'forward'));
      }
      c.check?.(decision, config);
    });
  }
});

describe('decide: SRS bounces', () => {
  const config = testConfig();
  const srs = new Srs(config.srs);
  const bounce = (recipient: string) =>
    decideMessage({
      received: received({ source: '', recipients: [recipient] }),
      raw: message({
        from: 'MAILER-DAEMON <mailer-daemon@remote.test>',
        contentType: 'multipart/report; report-type=delivery-status; boundary=x',
      }),
      config,
      resolver: zoneResolver(
        zones([], { 'remote.test': { MX: [{ exchange: 'mx.remote.test', priority: 5 }] } }),
      ),
      now: NOW,
    });

  it('a bounce to a valid SRS address goes back to the original sender through high-risk', async () => {
    const d = await bounce(srs.forward('alice@sender.test', NOW));
    assert.equal(d.pool, 'high-risk');
    assert.deepEqual(d.reasons, ['ndr', 'srs-bounce', 'unauthenticated-relay']);
    assert.deepEqual(
      d.sends.map((s) => [s.kind, s.to, s.pool, s.envelopeFrom]),
      [['srs-bounce', ['alice@sender.test'], 'high-risk', config.bounceSink]],
    );
    assert.match(d.sends[0]!.from, /via fwd\.example\.com" <mailer-daemon@fwd\.example\.com>$/);
  });

  it('SRS addresses are case-insensitive (some MTAs upper-case the local part)', async () => {
    const d = await bounce(srs.forward('alice@sender.test', NOW).toUpperCase());
    assert.deepEqual(d.sends[0]?.to, ['alice@sender.test']);
  });

  for (const [name, address] of [
    ['forged hash', 'SRS0=AAAA=JM=sender.test=alice@fwd.example.com'],
    ['malformed', 'SRS0=garbage@fwd.example.com'],
    ['not an SRS address at all (the bounce sink)', 'mailer-daemon@fwd.example.com'],
  ] as const) {
    it(`a bounce to a ${name} SRS address is dropped: blocked srs-invalid, nothing sent`, async () => {
      const d = await bounce(address);
      assert.equal(d.pool, 'blocked');
      assert.deepEqual(d.reasons, ['srs-invalid', 'ndr', 'unauthenticated-relay']);
      assert.deepEqual(d.sends, []);
    });
  }

  it('an expired SRS address (older than maxAgeDays) is dropped', async () => {
    const old = srs.forward('alice@sender.test', new Date(NOW.getTime() - 22 * 86_400_000));
    const d = await bounce(old);
    assert.equal(d.pool, 'blocked');
    assert.ok(d.reasons.includes('srs-invalid'));
  });

  it('an address made with an older (rotated) secret is still reversed', async () => {
    const older = new Srs({ ...config.srs, secrets: ['test-secret-older'] });
    const d = await bounce(older.forward('alice@sender.test', NOW));
    assert.deepEqual(d.sends[0]?.to, ['alice@sender.test']);
  });
});

describe('decide: DNS temporary failures are retryable, never a verdict', () => {
  const config = testConfig();
  it('SERVFAIL for the source domain throws a retryable DnsTemporaryError', async () => {
    await assert.rejects(
      decideMessage({
        received: received({ source: 'eve@servfail.test' }),
        raw: message({ from: 'eve@servfail.test' }),
        config,
        resolver: zoneResolver(ZONES),
        now: NOW,
      }),
      (e: unknown) => e instanceof DnsTemporaryError && e.retryable && e.domain === 'servfail.test',
    );
  });

  it('SERVFAIL for the DKIM key of an unauthenticated sender is retryable (no downgrade to relay)', async () => {
    const raw = await sign(message({ from: 'f@flaky.test' }), { ...senderKey, domain: 'flaky.test' });
    await assert.rejects(
      decideMessage({
        received: received({ source: 'f@flaky.test', spf: 'FAIL' }),
        raw,
        config,
        resolver: zoneResolver(ZONES),
        now: NOW,
      }),
      DnsTemporaryError,
    );
  });

  it('the same DKIM SERVFAIL does not matter when SPF passed', async () => {
    const raw = await sign(message({ from: 'f@flaky.test' }), { ...senderKey, domain: 'flaky.test' });
    const d = await decideMessage({
      received: received({ source: 'f@flaky.test', spf: 'PASS' }),
      raw,
      config,
      resolver: zoneResolver(ZONES),
      now: NOW,
    });
    assert.equal(d.pool, 'normal');
  });
});

describe('decide: hostile and malformed input gives a result, never a crash', () => {
  const config = testConfig();
  const decideRaw = (raw: Buffer, event: EventOptions = {}) =>
    decideMessage({ received: received(event), raw, config, resolver: zoneResolver(ZONES), now: NOW });

  it('garbage bytes with no header block', async () => {
    const d = await decideRaw(Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 13, 10, 58, 58]));
    // No From: nothing is author-authenticated (SPEC 2a), the SPF pass of the envelope alone
    // does not avoid the relay pool.
    assert.equal(d.pool, 'relay');
    assert.equal(d.sends[0]?.from, '"Unknown sender via example.com" <alias@example.com>');
  });

  it('a missing From header', async () => {
    const d = await decideRaw(message({ from: null }));
    assert.equal(d.sends[0]?.fromRewritten, true);
    assert.equal(d.sends[0]?.replyTo, null);
  });

  it('CR/LF and header names smuggled into a display name never reach a header we write', async () => {
    const raw = Buffer.from(
      'From: "Evil\r\nBcc: victim@remote.test\r\n X" <alice@sender.test>\r\nTo: alias@example.com\r\n\r\nbody\r\n',
    );
    const d = await decideRaw(raw);
    for (const s of d.sends) {
      for (const v of [s.from, s.replyTo ?? '', s.envelopeFrom]) assert.doesNotMatch(v, /[\r\n]/);
    }
    assert.deepEqual(
      d.sends.flatMap((s) => s.to),
      ['dest@remote.test'],
    );
  });

  it('a folded From header is unfolded (RFC 5322 2.2.3)', async () => {
    const raw = Buffer.from(
      'From: "Alice\r\n Sender" <alice@sender.test>\r\nTo: alias@example.com\r\n\r\nbody\r\n',
    );
    const d = await decideRaw(raw);
    assert.equal(d.sends[0]?.replyTo, '"Alice Sender" <alice@sender.test>');
  });

  it('8-bit UTF-8 display names (RFC 6532) are re-encoded as RFC 2047 words', async () => {
    const d = await decideRaw(message({ from: 'Jöran Ångström <joran@sender.test>' }));
    assert.match(d.sends[0]!.from, /^=\?UTF-8\?Q\?.+\?= <alias@example\.com>$/);
    assert.doesNotMatch(d.sends[0]!.from, /[^\x20-\x7e]/);
  });

  it('two From headers with different domains: no DKIM alignment is claimed', async () => {
    const raw = await sign(message({ headers: ['From: other@third-party.test'] }), senderKey);
    const d = await decideRaw(raw, { spf: 'FAIL' });
    assert.equal(d.pool, 'relay');
    assert.equal(d.classification.dkim.alignedPass, false);
  });

  it('a huge header block (2 MB of fields) is blocked unread, hard-limit-headers (SPEC 2a)', async () => {
    const many = Array.from({ length: 20_000 }, (_, i) => `X-Filler-${i}: ${'y'.repeat(90)}`);
    const d = await decideRaw(message({ headers: many }));
    assert.equal(d.pool, 'blocked');
    assert.deepEqual(d.reasons, ['hard-limit-headers']);
    // SES's SPF PASS proves the envelope: the one send is the NDR to it.
    assert.deepEqual(
      d.sends.map((s) => s.kind),
      ['ndr'],
    );
  });
});

describe('decide: properties', () => {
  const config = testConfig();
  const routedDestinations = new Set(Object.values(config.routes).flat());
  const local = fc.stringMatching(/^[a-z0-9][a-z0-9.+=-]{0,15}$/);
  const recipient = fc.oneof(
    fc.constantFrom('alias@example.com', 'team@example.com', 'x@example.org', 'nobody@example.com'),
    fc
      .tuple(local, fc.constantFrom('example.com', 'remote.test', 'fwd.example.com', 'evil.test'))
      .map(([l, d]) => `${l}@${d}`),
  );

  it('never sends to a recipient that no route produced (not an open relay), NDRs and bounces included', async () => {
    const srs = new Srs(config.srs);
    // Some recipients are valid SRS addresses, so the reversal path is exercised too.
    const srsRecipient = fc
      .constantFrom('alice@sender.test', 'victim@evil.test')
      .map((a) => srs.forward(a, NOW));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(recipient, srsRecipient), { minLength: 1, maxLength: 8 }),
        fc.constantFrom('PASS', 'FAIL', 'GRAY'),
        fc.constantFrom('PASS', 'FAIL'),
        fc.constantFrom('PASS', 'FAIL'),
        fc.constantFrom('alice@sender.test', 'bob@example.com', 'victim@evil.test', ''),
        fc.constantFrom('alice@sender.test', 'bob@example.com', 'ceo@example.com, x@evil.test'),
        fc.boolean(),
        async (recipients, spf, spam, virus, source, from, dsn) => {
          const d = await decideMessage({
            received: received({
              recipients,
              spf: spf as never,
              spam: spam as never,
              virus: virus as never,
              source,
            }),
            raw: message({
              from,
              ...(dsn ? { contentType: 'multipart/report; report-type=delivery-status; boundary=b' } : {}),
            }),
            config,
            resolver: zoneResolver(ZONES),
            now: NOW,
          });
          // The oracle: SPEC 2a's three destinations, computed here from the inputs alone.
          // Genuine: an aligned SPF pass for our own domain (the message is not signed).
          const genuine = spf === 'PASS' && source === 'bob@example.com' && from === 'bob@example.com';
          const spoof = (source.endsWith('@example.com') || from.includes('@example.com')) && !genuine;
          const reversed = new Set(
            source === ''
              ? recipients
                  .filter((r) => r.endsWith('@fwd.example.com'))
                  .slice(0, config.srs.maxRecipients)
                  .map((r) => srs.reverse(r, NOW))
                  .flatMap((r) => (r.ok ? [r.address] : []))
              : [],
          );
          for (const s of d.sends) {
            assert.ok(s.to.length >= 1 && s.to.length <= 50);
            for (const to of s.to) {
              const allowed =
                (s.kind === 'forward' && routedDestinations.has(to)) ||
                (s.kind === 'ndr' &&
                  to === source &&
                  spf === 'PASS' &&
                  source !== '' &&
                  !spoof &&
                  !dsn &&
                  d.pool === 'blocked') ||
                (s.kind === 'srs-bounce' && reversed.has(to));
              assert.ok(allowed, `sent to ${to} (${s.kind}) for recipients ${recipients.join(',')}`);
            }
          }
          // A message claiming our domain without proving it never leaves through normal.
          if (spoof) assert.notEqual(d.pool, 'normal');
        },
      ),
      { numRuns: 200 },
    );
  });
});
