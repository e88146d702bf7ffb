/**
 * Behind a trusted gateway that writes the client's HELO verbatim (Postfix: `from HELO (rdns
 * [ip])`, the case gateways.ts step 5 already assumes for `x;`), a HELO that itself holds a
 * TCP-info comment and a `by` clause ends mailauth's `from` clause early, at a comment the
 * attacker wrote: the "client IP" read is one the attacker chose, inside the accepted
 * domain's SPF. The real client (203.0.113.200, outside every SPF record) becomes invisible.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideMessage } from '../../functions/core/decide.js';
import { type Zones, zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { message, NOW, received, testConfig, zones } from '../helpers/mail.js';

const GATEWAYS = [{ name: 'filter', cidrs: ['198.51.100.0/24'] }];
const ZONES: Zones = zones([], {
  'example.com': {
    MX: [{ exchange: 'inbound-smtp.us-east-1.amazonaws.com', priority: 10 }],
    TXT: ['v=spf1 ip4:192.0.2.0/25 -all'],
  },
});
const resolver = zoneResolver(ZONES);
const DATE = 'Mon, 23 Nov 2026 10:00:00 +0000';
const SES_FROM_FILTER = `Received: from mx1.filter.test (mx1.filter.test [198.51.100.7]) by inbound-smtp.us-east-1.amazonaws.com with SMTP id msg-0001 for alias@example.com; ${DATE} (UTC)`;
/** What the gateway writes for client 203.0.113.200 (no rDNS) that said `EHLO <helo>`. */
const gatewayHop = (helo: string) =>
  `Received: from ${helo} (unknown [203.0.113.200]) by mx1.filter.test (Postfix) with ESMTPS id 4Xy7 for <alias@example.com>; ${DATE}`;

/**
 * The decision on mail from "ceo@example.com" whose Received fields are `headers` (top first),
 * SES having judged its client (the gateway, or the attacker) SPF FAIL and DMARC FAIL.
 */
function decideBehindGateway(headers: string[]) {
  return decideMessage({
    received: received({ source: 'ceo@example.com', spf: 'FAIL', dmarc: 'FAIL' }),
    raw: message({ from: 'CEO <ceo@example.com>', headers }),
    config: testConfig({ trustedGateways: GATEWAYS }),
    resolver,
    now: NOW,
    senders: {},
  });
}

describe('a HELO written verbatim by a trusted gateway cannot choose the client IP', () => {
  for (const helo of [
    'x (x [192.0.2.11]) by y',
    'mail.example.com (mail.example.com [192.0.2.11]) by mx1.filter.test',
  ]) {
    it(`EHLO ${helo}: SPF is not passed for ceo@example.com`, async () => {
      // SES saw the gateway (in example.com's SPF or not: FAIL here), DMARC failed with it.
      const d = await decideBehindGateway([SES_FROM_FILTER, gatewayHop(helo)]);
      const g = d.classification.gateway;
      assert.notEqual(
        g?.applied && g.ip,
        '192.0.2.11',
        `gateway read the attacker's IP: ${JSON.stringify(g)}`,
      );
      assert.notEqual(d.classification.spf, 'PASS');
      assert.equal(d.classification.authentication.genuineAcceptedSender, false);
      assert.notEqual(
        d.pool,
        'normal',
        `pool ${d.pool} reasons ${d.reasons} identities ${d.classification.usage.map((u) => u.identity)}`,
      );
    });
  }
});

describe("SES's own Received field: a HELO written verbatim cannot make the client a trusted gateway", () => {
  it('EHLO x (x [198.51.100.7]) by y, sent straight to SES by 203.0.113.200: not-from-gateway', async () => {
    const sesField = `Received: from x (x [198.51.100.7]) by y (unknown [203.0.113.200]) by inbound-smtp.us-east-1.amazonaws.com with SMTP id msg-0001 for alias@example.com; ${DATE} (UTC)`;
    // Written by the attacker itself, below SES's field.
    const forged = `Received: from mail.example.com (mail.example.com [192.0.2.11]) by mx1.filter.test (Postfix) with ESMTPS id 4Xy7 for <alias@example.com>; ${DATE}`;
    const d = await decideBehindGateway([sesField, forged]);
    assert.equal(d.classification.gateway?.applied, false, JSON.stringify(d.classification.gateway));
    assert.notEqual(d.pool, 'normal');
  });
});

describe('a HELO that empties the from clause makes the gateway field a "local hand-off"', () => {
  it('EHLO (c) by x: the forged field below it is not read as the first untrusted hop', async () => {
    const forged = `Received: from mail.example.com (mail.example.com [192.0.2.11]) by mx1.filter.test (Postfix) with ESMTPS id 4Xy6 for <alias@example.com>; ${DATE}`;
    const d = await decideBehindGateway([SES_FROM_FILTER, gatewayHop('(c) by x'), forged]);
    assert.notEqual(d.classification.spf, 'PASS', JSON.stringify(d.classification.gateway));
    assert.notEqual(d.pool, 'normal');
  });
});

describe('fields as MTAs write them still read one way (no HELO tricks: the walk applies)', () => {
  const fields: Record<string, string> = {
    'Postfix with its TLS comment': `Received: from mail.sender.test (mail.sender.test [203.0.113.200]) (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256) (No client certificate requested) by mx1.filter.test (Postfix) with ESMTPS id 4Xy7 for <alias@example.com>; ${DATE}`,
    Exim: `Received: from [203.0.113.200] (helo=mail.sender.test) by mx1.filter.test with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384 (Exim 4.96) (envelope-from <ceo@example.com>) id 1tA2b3-000Abc-Xy for alias@example.com; ${DATE}`,
    'Sendmail, authenticated': `Received: from mail.sender.test (mail.sender.test [203.0.113.200]) (authenticated bits=0) by mx1.filter.test (8.17.1/8.17.1) with ESMTPSA id 5B1Abc for <alias@example.com>; ${DATE}`,
  };
  for (const [name, field] of Object.entries(fields)) {
    it(`${name}: the client is 203.0.113.200`, async () => {
      const d = await decideBehindGateway([SES_FROM_FILTER, field]);
      const g = d.classification.gateway;
      assert.equal(g?.applied, true, JSON.stringify(g));
      assert.equal(g?.applied && g.ip, '203.0.113.200');
    });
  }
});
