/**
 * Enhanced filtering behind gateways: the Received-chain walk, the SPF recomputed against
 * the first untrusted hop, and what it changes in the decision (SPEC 3 rule 6).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Config } from '../../functions/core/config.js';
import { type Decision, decideMessage } from '../../functions/core/decide.js';
import { type Zones, zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { DnsTemporaryError } from '../../functions/core/errors.js';
import {
  evaluateGatewayChain,
  type GatewayVerdict,
  mapSpfResult,
  normalizeIp,
} from '../../functions/core/gateways.js';
import { parseHeaders } from '../../functions/core/message.js';
import type { VerdictStatus } from '../../functions/core/ses-event.js';
import type { Reason } from '../../functions/core/vocabulary.js';
import { type EventOptions, message, NOW, received, testConfig, zones } from '../helpers/mail.js';

const GATEWAYS = [
  { name: 'filter', cidrs: ['198.51.100.0/24', '2001:db8:f::/48'] },
  { name: 'onprem', cidrs: ['203.0.113.8/29'] },
];

const ZONES: Zones = zones([], {
  'sender.test': {
    A: ['192.0.2.10'],
    MX: [{ exchange: 'mx.sender.test', priority: 10 }],
    TXT: ['v=spf1 ip4:192.0.2.0/25 ip6:2001:db8:5::/48 -all'],
  },
  'mail.sender.test': { A: ['192.0.2.11'], TXT: ['v=spf1 ip4:192.0.2.11 -all'] },
  'soft.test': { A: ['192.0.2.60'], TXT: ['v=spf1 ip4:192.0.2.61 ~all'] },
  'neutral.test': { A: ['192.0.2.62'], TXT: ['v=spf1 ?all'] },
  'broken-spf.test': { A: ['192.0.2.63'], TXT: ['v=spf1 ip4:192.0.2.11 bogus:x -all'] },
  'flaky-spf.test': { A: ['192.0.2.64'], TXT: ['v=spf1 include:_spf.flaky-spf.test -all'] },
  '_spf.flaky-spf.test': { SERVFAIL: true },
  'example.com': {
    MX: [{ exchange: 'inbound-smtp.us-east-1.amazonaws.com', priority: 10 }],
    TXT: ['v=spf1 ip4:192.0.2.0/25 -all'],
  },
});
const resolver = zoneResolver(ZONES);

const DATE = 'Mon, 23 Nov 2026 10:00:00 +0000';
/** SES's own Received field (the format SES writes on the message it stores). */
const sesReceived = (client: string, helo = 'mx1.filter.test') =>
  `Received: from ${helo} (${helo} [${client}]) by inbound-smtp.us-east-1.amazonaws.com with SMTP id msg-0001 for alias@example.com; ${DATE} (UTC)`;
/** A Received field a gateway (`by`) writes for a client. */
const hop = (by: string, from: string, ip: string) =>
  `Received: from ${from} (${from} [${ip}]) by ${by} (Postfix) with ESMTPS id 4Xy7 for <alias@example.com>; ${DATE}`;

const SES_FROM_FILTER = sesReceived('198.51.100.7');
const FILTER_FROM_SENDER = hop('mx1.filter.test', 'mail.sender.test', '192.0.2.11');

interface Case {
  name: string;
  received: string[];
  event?: EventOptions;
  from?: string;
  gateways?: Config['trustedGateways'];
  pool: Decision['pool'];
  reasons: Reason[];
  spf: VerdictStatus;
  gateway: Partial<GatewayVerdict> | null;
  check?: (d: Decision) => void;
}

const CASES: Case[] = [
  {
    name: 'trusted gateway chain: SES FAILed SPF on the gateway, recomputed on the sender → normal',
    received: [SES_FROM_FILTER, FILTER_FROM_SENDER],
    event: { spf: 'FAIL' },
    pool: 'normal',
    reasons: ['spf-pass', 'srs-rewritten', 'enhanced-filtering'],
    spf: 'PASS',
    gateway: {
      applied: true,
      gateway: 'filter',
      ip: '192.0.2.11',
      helo: 'mail.sender.test',
      spf: 'PASS',
      mailauthResult: 'pass',
    },
    check: (d) => {
      assert.match(d.sends[0]?.envelopeFrom ?? '', /^SRS0=/);
      const g = d.classification.gateway;
      assert.ok(g?.applied);
      assert.deepEqual(g.trustedHops, [{ gateway: 'filter', ip: '198.51.100.7' }]);
    },
  },
  {
    name: 'the sender really is not authorized: recomputed SPF fails → relay, still recorded',
    received: [SES_FROM_FILTER, hop('mx1.filter.test', 'mail.sender.test', '192.0.2.200')],
    event: { spf: 'FAIL' },
    pool: 'relay',
    reasons: ['unauthenticated-relay', 'enhanced-filtering'],
    spf: 'FAIL',
    gateway: { applied: true, ip: '192.0.2.200', spf: 'FAIL', mailauthResult: 'fail' },
  },
  {
    name: 'forged Received below the first untrusted hop (claims the legitimate sender) is ignored',
    received: [
      SES_FROM_FILTER,
      hop('mx1.filter.test', 'evil.attacker.test', '192.0.2.200'),
      // Written by the attacker, not by a trusted gateway: must never be read.
      hop('mx1.filter.test', 'mail.sender.test', '192.0.2.11'),
      hop('mx9.filter.test', 'mx9.filter.test', '198.51.100.9'),
    ],
    event: { spf: 'FAIL' },
    pool: 'relay',
    reasons: ['unauthenticated-relay', 'enhanced-filtering'],
    spf: 'FAIL',
    gateway: { applied: true, ip: '192.0.2.200', helo: 'evil.attacker.test', spf: 'FAIL' },
  },
  {
    name: 'forged trusted hop claimed by a client that is not a trusted gateway → not-from-gateway',
    received: [
      sesReceived('192.0.2.200', 'evil.attacker.test'),
      // A forgery: "the filter got this from the sender", but SES got it from the attacker.
      hop('inbound-smtp.us-east-1.amazonaws.com', 'mx1.filter.test', '198.51.100.7'),
      FILTER_FROM_SENDER,
    ],
    event: { spf: 'FAIL' },
    pool: 'relay',
    reasons: ['unauthenticated-relay'],
    spf: 'FAIL',
    gateway: { applied: false, why: 'not-from-gateway' },
  },
  {
    name: 'multi-hop trusted chain (on-premises ← filter ← sender), loopback and local hand-offs skipped',
    received: [
      sesReceived('203.0.113.9', 'smtp.onprem.test'),
      `Received: by smtp.onprem.test (Postfix, from userid 0) id 1A2B; ${DATE}`,
      hop('smtp.onprem.test', 'localhost', '127.0.0.1'),
      hop('smtp.onprem.test', 'mx1.filter.test', '198.51.100.7'),
      FILTER_FROM_SENDER,
      hop('mail.sender.test', 'forged.example', '198.51.100.8'),
    ],
    event: { spf: 'FAIL' },
    pool: 'normal',
    reasons: ['spf-pass', 'srs-rewritten', 'enhanced-filtering'],
    spf: 'PASS',
    gateway: { applied: true, gateway: 'filter', ip: '192.0.2.11', spf: 'PASS' },
    check: (d) => {
      const g = d.classification.gateway;
      assert.ok(g?.applied);
      assert.deepEqual(g.trustedHops, [
        { gateway: 'onprem', ip: '203.0.113.9' },
        { gateway: 'filter', ip: '198.51.100.7' },
      ]);
    },
  },
  {
    name: 'IPv6: gateway and sender over IPv6 (IPv6: literals)',
    received: [
      sesReceived('IPv6:2001:db8:f::25'),
      hop('mx1.filter.test', 'mail6.sender.test', 'IPv6:2001:DB8:5::25'),
    ],
    event: { spf: 'FAIL' },
    pool: 'normal',
    reasons: ['spf-pass', 'srs-rewritten', 'enhanced-filtering'],
    spf: 'PASS',
    gateway: { applied: true, ip: '2001:db8:5::25', helo: 'mail6.sender.test', spf: 'PASS' },
  },
  {
    name: 'IPv4-mapped IPv6 addresses match IPv4 CIDRs and are checked as IPv4',
    received: [
      sesReceived('::ffff:198.51.100.7'),
      `Received: from mail.sender.test ([IPv6:::ffff:c000:20b]) by mx1.filter.test; ${DATE}`,
    ],
    event: { spf: 'FAIL' },
    pool: 'normal',
    reasons: ['spf-pass', 'srs-rewritten', 'enhanced-filtering'],
    spf: 'PASS',
    gateway: { applied: true, ip: '192.0.2.11', helo: 'mail.sender.test', spf: 'PASS' },
  },
  {
    name: 'Exim format `from [ip] (helo=name)` and a bare `from [ip]`',
    received: [
      `Received: from [198.51.100.7] by inbound-smtp.us-east-1.amazonaws.com with SMTP id x; ${DATE}`,
      'Received: from [192.0.2.11] (helo=mail.sender.test) by mx1.filter.test with esmtp (Exim 4.96); ' +
        DATE,
    ],
    event: { spf: 'FAIL' },
    pool: 'normal',
    reasons: ['spf-pass', 'srs-rewritten', 'enhanced-filtering'],
    spf: 'PASS',
    gateway: { applied: true, ip: '192.0.2.11', helo: 'mail.sender.test' },
  },
  {
    name: 'only trusted hops → no-usable-hop, SES verdict kept (and said so)',
    received: [SES_FROM_FILTER, hop('mx1.filter.test', 'mx2.filter.test', '198.51.100.8')],
    event: { spf: 'FAIL' },
    pool: 'relay',
    reasons: ['unauthenticated-relay'],
    spf: 'FAIL',
    gateway: { applied: false, why: 'no-usable-hop' },
    check: (d) => {
      const g = d.classification.gateway;
      assert.ok(g && !g.applied);
      assert.match(g.note ?? '', /every Received hop is a trusted gateway.*SES's own SPF verdict is used/);
    },
  },
  {
    // SES's PASS is about the gateway's IP (in the domain's SPF when the filter also relays
    // its outbound mail): keeping it would pass any outsider whose HELO the parser cannot read.
    name: 'a hop without a readable client IP → unreadable-hop, SES verdict (PASS here) not kept',
    received: [SES_FROM_FILTER, `Received: from mail.sender.test by mx1.filter.test; ${DATE}`],
    event: { spf: 'PASS' },
    pool: 'relay',
    reasons: ['unauthenticated-relay'],
    spf: 'PROCESSING_FAILED',
    gateway: { applied: false, why: 'unreadable-hop' },
    check: (d) =>
      assert.match(
        (d.classification.gateway as { note: string }).note,
        /no readable client IP.*SPF is not passed/,
      ),
  },
  {
    name: 'mail not from a gateway at all → unchanged behaviour',
    received: [sesReceived('192.0.2.11', 'mail.sender.test')],
    event: { spf: 'PASS' },
    pool: 'normal',
    reasons: ['spf-pass', 'srs-rewritten'],
    spf: 'PASS',
    gateway: { applied: false, why: 'not-from-gateway' },
  },
  {
    name: 'no trusted gateway configured → the walk is not run (gateway null)',
    received: [SES_FROM_FILTER, FILTER_FROM_SENDER],
    gateways: [],
    event: { spf: 'FAIL' },
    pool: 'relay',
    reasons: ['unauthenticated-relay'],
    spf: 'FAIL',
    gateway: null,
  },
  {
    name: 'no Received field → no-received',
    received: [],
    event: { spf: 'GRAY' },
    pool: 'relay',
    reasons: ['unauthenticated-relay'],
    spf: 'GRAY',
    gateway: { applied: false, why: 'no-received' },
  },
  {
    name: 'topmost Received not written by SES → no-received (nothing trusted to start from)',
    received: [FILTER_FROM_SENDER],
    event: { spf: 'GRAY' },
    pool: 'relay',
    reasons: ['unauthenticated-relay'],
    spf: 'GRAY',
    gateway: { applied: false, why: 'no-received' },
  },
  {
    name: 'accepted-domain sender behind the gateway: SES FAIL would make it a spoof; recomputed PASS keeps it',
    received: [SES_FROM_FILTER, FILTER_FROM_SENDER],
    event: { source: 'bob@example.com', spf: 'FAIL', dmarc: 'FAIL' },
    from: 'Bob <bob@example.com>',
    pool: 'normal',
    reasons: ['accepted-domain', 'spf-pass', 'enhanced-filtering'],
    spf: 'PASS',
    gateway: { applied: true, spf: 'PASS' },
    check: (d) => {
      assert.equal(d.sends[0]?.envelopeFrom, 'bob@example.com');
      // SES's DMARC FAIL rested on the gateway's IP; the aligned recomputed SPF pass is DMARC.
      assert.equal(d.classification.dmarc, 'PASS');
    },
  },
  {
    name: 'a spoof of an accepted domain behind the gateway stays a spoof (recomputed FAIL) → relay',
    received: [SES_FROM_FILTER, hop('mx1.filter.test', 'evil.attacker.test', '192.0.2.200')],
    event: { source: 'bob@example.com', spf: 'FAIL', dmarc: 'FAIL' },
    from: 'Bob <bob@example.com>',
    pool: 'relay',
    // SPEC 2a: a claim of an accepted domain that is not proved is recorded as a spoof.
    reasons: ['unauthenticated-relay', 'spoofed-accepted-domain', 'enhanced-filtering'],
    spf: 'FAIL',
    gateway: { applied: true, ip: '192.0.2.200', spf: 'FAIL' },
    check: (d) => {
      assert.equal(d.classification.dmarc, 'FAIL');
      assert.equal(d.classification.acceptedSender, false);
      assert.equal(d.sends[0]?.fromRewritten, true);
    },
  },
  {
    name: 'softfail is FAIL (RFC 7208 2.6.5): not an authentication',
    received: [SES_FROM_FILTER, hop('mx1.filter.test', 'mx.soft.test', '192.0.2.99')],
    event: { source: 'x@soft.test', spf: 'FAIL' },
    from: 'x@soft.test',
    pool: 'relay',
    reasons: ['unauthenticated-relay', 'enhanced-filtering'],
    spf: 'FAIL',
    gateway: { applied: true, spf: 'FAIL', mailauthResult: 'softfail' },
  },
  {
    name: 'neutral is GRAY (RFC 7208 2.6.2)',
    received: [SES_FROM_FILTER, hop('mx1.filter.test', 'mx.neutral.test', '192.0.2.99')],
    event: { source: 'x@neutral.test', spf: 'FAIL' },
    from: 'x@neutral.test',
    pool: 'relay',
    reasons: ['unauthenticated-relay', 'enhanced-filtering'],
    spf: 'GRAY',
    gateway: { applied: true, spf: 'GRAY', mailauthResult: 'neutral' },
  },
  {
    name: 'permerror is PROCESSING_FAILED (RFC 7208 2.6.7), not FAIL',
    received: [SES_FROM_FILTER, hop('mx1.filter.test', 'mx.broken-spf.test', '192.0.2.11')],
    event: { source: 'x@broken-spf.test', spf: 'FAIL' },
    from: 'x@broken-spf.test',
    pool: 'relay',
    reasons: ['unauthenticated-relay', 'enhanced-filtering'],
    spf: 'PROCESSING_FAILED',
    gateway: { applied: true, spf: 'PROCESSING_FAILED', mailauthResult: 'permerror' },
  },
  {
    name: 'null sender (NDR) behind the gateway: postmaster@HELO is checked (RFC 7208 2.4)',
    received: [SES_FROM_FILTER, FILTER_FROM_SENDER],
    event: { source: '<>', spf: 'FAIL' },
    from: 'MAILER-DAEMON@mail.sender.test',
    pool: 'high-risk',
    // SPEC 2a: SPF counts only about the envelope sender; the HELO check of a null sender
    // is computed (and shown) but proves no address.
    reasons: ['ndr', 'unauthenticated-relay', 'enhanced-filtering'],
    spf: 'PASS',
    gateway: { applied: true, helo: 'mail.sender.test', spf: 'PASS' },
  },
];

describe('enhanced filtering in the decision (SPEC 3 rule 6 behind gateways)', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      // Arrange
      const config = testConfig({ trustedGateways: c.gateways ?? GATEWAYS });
      const raw = message({
        headers: ['Return-Path: <alice@sender.test>', ...c.received],
        ...(c.from !== undefined && { from: c.from }),
      });
      // Act
      const d = await decideMessage({ received: received(c.event), raw, config, resolver, now: NOW });
      // Assess
      assert.equal(d.pool, c.pool);
      assert.deepEqual(d.reasons, c.reasons);
      assert.equal(d.classification.spf, c.spf);
      if (c.gateway === null) {
        assert.equal(d.classification.gateway, null);
      } else {
        assert.ok(d.classification.gateway);
        for (const [k, v] of Object.entries(c.gateway)) {
          assert.deepEqual((d.classification.gateway as Record<string, unknown>)[k], v, k);
        }
      }
      c.check?.(d);
    });
  }

  it('not from a gateway: the same decision as without trustedGateways', async () => {
    const raw = message({ headers: [sesReceived('192.0.2.200', 'evil.attacker.test'), FILTER_FROM_SENDER] });
    for (const spf of ['PASS', 'FAIL', 'GRAY'] as const) {
      const withGw = await decideMessage({
        received: received({ spf }),
        raw,
        config: testConfig({ trustedGateways: GATEWAYS }),
        resolver,
        now: NOW,
      });
      const without = await decideMessage({
        received: received({ spf }),
        raw,
        config: testConfig(),
        resolver,
        now: NOW,
      });
      assert.equal(withGw.pool, without.pool);
      assert.deepEqual(withGw.reasons, without.reasons);
      assert.deepEqual(withGw.sends, without.sends);
    }
  });

  it('SERVFAIL during the recomputed SPF → DnsTemporaryError (retryable), never a downgrade', async () => {
    const raw = message({
      headers: [SES_FROM_FILTER, hop('mx1.filter.test', 'mx.flaky-spf.test', '192.0.2.11')],
      from: 'x@flaky-spf.test',
    });
    await assert.rejects(
      decideMessage({
        received: received({ source: 'x@flaky-spf.test', spf: 'FAIL' }),
        raw,
        config: testConfig({ trustedGateways: GATEWAYS }),
        resolver,
        now: NOW,
      }),
      (e: unknown) => e instanceof DnsTemporaryError && e.retryable && e.domain === 'flaky-spf.test',
    );
  });
});

describe('evaluateGatewayChain', () => {
  const base = { envelopeSender: 'alice@sender.test', trustedGateways: GATEWAYS, resolver, now: NOW };

  it('reads the SES event`s mail.headers ({name, value}) as well as parsed fields', async () => {
    const fields = [
      { name: 'Return-Path', value: '<alice@sender.test>' },
      { name: 'Received', value: SES_FROM_FILTER.slice('Received: '.length) },
      { name: 'Received', value: FILTER_FROM_SENDER.slice('Received: '.length) },
    ];
    const fromEvent = await evaluateGatewayChain({ ...base, headers: fields });
    const fromRaw = await evaluateGatewayChain({
      ...base,
      headers: parseHeaders(message({ headers: [SES_FROM_FILTER, FILTER_FROM_SENDER] })).fields,
    });
    assert.deepEqual(fromEvent, fromRaw);
    assert.equal(fromEvent.applied, true);
  });

  it('a gateway that also appears below an untrusted hop does not extend trust', async () => {
    const v = await evaluateGatewayChain({
      ...base,
      headers: parseHeaders(
        message({
          headers: [
            SES_FROM_FILTER,
            hop('mx1.filter.test', 'relay.isp.test', '192.0.2.150'),
            hop('relay.isp.test', 'smtp.onprem.test', '203.0.113.9'),
            FILTER_FROM_SENDER,
          ],
        }),
      ).fields,
    });
    assert.ok(v.applied);
    assert.equal(v.ip, '192.0.2.150');
    assert.equal(v.spf, 'FAIL');
  });

  it('a null sender with no usable HELO has no identity to check: GRAY (none)', async () => {
    const v = await evaluateGatewayChain({
      ...base,
      envelopeSender: null,
      headers: [
        { key: 'received', value: SES_FROM_FILTER.slice(10) },
        { key: 'received', value: `from [192.0.2.11] by mx1.filter.test; ${DATE}` },
      ],
    });
    assert.deepEqual(
      { applied: v.applied, spf: v.applied && v.spf, result: v.applied && v.mailauthResult },
      { applied: true, spf: 'GRAY', result: 'none' },
    );
  });

  it('throws DnsTemporaryError for a timeout inside the SPF evaluation', async () => {
    const timeouts = async (name: string, rrtype: string) => {
      if (name === 'sender.test' && rrtype === 'TXT') {
        throw Object.assign(new Error('queryTxt ETIMEOUT sender.test'), { code: 'ETIMEOUT' });
      }
      return resolver(name, rrtype);
    };
    await assert.rejects(
      evaluateGatewayChain({
        ...base,
        resolver: timeouts as typeof resolver,
        headers: parseHeaders(message({ headers: [SES_FROM_FILTER, FILTER_FROM_SENDER] })).fields,
      }),
      DnsTemporaryError,
    );
  });
});

describe('mapSpfResult and normalizeIp', () => {
  it('maps mailauth results to SES verdicts; temperror maps to nothing (it throws)', () => {
    const table: [string, string | null][] = [
      ['pass', 'PASS'],
      ['fail', 'FAIL'],
      ['softfail', 'FAIL'],
      ['neutral', 'GRAY'],
      ['none', 'GRAY'],
      ['permerror', 'PROCESSING_FAILED'],
      ['temperror', null],
      ['something-new', null],
    ];
    for (const [input, expected] of table) assert.equal(mapSpfResult(input), expected, input);
  });

  it('turns IPv4-mapped IPv6 into IPv4 and canonicalises IPv6', () => {
    assert.equal(normalizeIp('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(normalizeIp('::FFFF:c000:201'), '192.0.2.1');
    assert.equal(normalizeIp('2001:DB8:0:0::1'), '2001:db8::1');
    assert.equal(normalizeIp('192.0.2.1'), '192.0.2.1');
  });
});
