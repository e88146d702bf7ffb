/**
 * Nested route (team@ -> all@): hop 1 relays unauthenticated spam (From rewritten to team@).
 * SES sends hop 1's copy itself, so it arrives at all@ with SES's wire MAIL FROM: with a
 * custom MAIL FROM domain on the accepted domain (mail.example.com, the DMARC-alignment
 * setup AWS recommends, and the one trust-model.md names for "send as"), SPF passes aligned
 * with F = team@example.com. It must stay `relay`: the copy carries our loop marker, so it is a
 * copy of ours, and with a From of ours nothing authenticates its author (review L).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideMessage } from '../../functions/core/decide.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { composeOurCopy, dkimKey, message, NOW, received, sign, testConfig, zones } from '../helpers/mail.js';

const exampleKey = dkimKey('example.com');
const resolver = zoneResolver(
  zones([exampleKey], {
    'attacker.test': { A: ['198.51.100.66'] },
    'mail.example.com': { MX: [{ exchange: 'feedback-smtp.us-east-1.amazonses.com', priority: 10 }] },
  }),
);
const config = testConfig({
  routes: {
    'team@example.com': ['all@example.com'],
    'all@example.com': ['ann@remote.test', 'bob@remote.test'],
    '@example.org': ['catchall@remote.test'],
  },
});

describe('nested route: second hop of relayed spam', () => {
  it('stays relay when SES sent hop 1 with a custom MAIL FROM aligned with the route', async () => {
    const spam = message({
      from: 'Spammer <x@attacker.test>',
      to: 'team@example.com',
      body: 'Cheap pills\r\n',
    });
    const first = await decideMessage({
      received: received({
        source: 'x@attacker.test',
        spf: 'GRAY',
        dmarc: 'GRAY',
        recipients: ['team@example.com'],
      }),
      raw: spam,
      config,
      resolver,
      now: NOW,
      senders: {},
    });
    assert.equal(first.pool, 'relay');
    const send = first.sends.find((s) => s.kind === 'forward')!;
    assert.deepEqual(send.to, ['all@example.com']);
    const copy = await composeOurCopy(first, send, spam, ['team@example.com'], { config, resolver });
    // SES signs the copy for its From (d=example.com) and sends it with its own MAIL FROM in
    // the identity's custom MAIL FROM domain; nothing is stripped (no attacker involved).
    const hop1 = await sign(copy, exampleKey);
    const second = await decideMessage({
      received: received({
        source: '0100018c-aaaa-bbbb@mail.example.com',
        spf: 'PASS',
        dkim: 'PASS',
        dmarc: 'PASS',
        recipients: ['all@example.com'],
      }),
      raw: hop1,
      config,
      resolver,
      now: NOW,
      senders: {},
    });
    assert.equal(second.classification.loop, false);
    assert.equal(
      second.pool,
      'relay',
      `pool ${second.pool}, reasons ${second.reasons}, genuine ${second.classification.authentication.genuineAcceptedSender}, identities ${second.classification.usage.map((u) => u.identity)}`,
    );
  });
});
