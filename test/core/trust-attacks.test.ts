/**
 * The attacks of issue 12, each a named regression test of the decision (SPEC 2a). Every one
 * asserts the four promises of SPEC 2a through {@link assertContained}: nothing through
 * `normal`, no NDR to an unauthenticated address, no copy to an address no route produced,
 * and no count under (nor restriction of) the identity the message claims. The counting
 * cases also run end to end on the emulators (`test/router/trust-attacks.test.ts`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Config } from '../../functions/core/config.js';
import { type Decision, decideMessage } from '../../functions/core/decide.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import type { SenderState } from '../../functions/core/limits.js';
import { loopMarker } from '../../functions/core/loop.js';
import { Srs } from '../../functions/core/srs.js';
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

const attackerKey = dkimKey('attacker.test');
const senderKey = dkimKey('sender.test');
const exampleKey = dkimKey('example.com');
const ZONES = zones([attackerKey, senderKey, exampleKey], {
  'attacker.test': { A: ['198.51.100.66'], MX: [{ exchange: 'mx.attacker.test', priority: 10 }] },
  'evil.test': { A: ['198.51.100.67'] },
  'esp.test': { A: ['198.51.100.70'], MX: [{ exchange: 'mx.esp.test', priority: 10 }] },
  'paypal.test': { A: ['198.51.100.68'] },
  'victim.test': { A: ['198.51.100.69'], MX: [{ exchange: 'mx.victim.test', priority: 10 }] },
});

const restricted = (identity: string): SenderState => ({
  counters: { externalHour: 0, internalHour: 0, day: 0, rolling24h: 0 },
  restriction: { identity, reason: 'limit-day', since: NOW.toISOString(), until: null },
});

async function decideAttack(
  event: EventOptions,
  msg: MessageOptions,
  opts: { signWith?: (typeof attackerKey)[]; config?: Record<string, unknown>; raw?: Buffer } = {},
  senders: Record<string, SenderState> = {},
): Promise<{ d: Decision; config: Config }> {
  const config = testConfig(opts.config ?? {});
  let raw = opts.raw ?? message(msg);
  for (const k of opts.signWith ?? []) raw = await sign(raw, k);
  const d = await decideMessage({
    received: received(event),
    raw,
    config,
    resolver: zoneResolver(ZONES),
    now: NOW,
    senders,
  });
  return { d, config };
}

/**
 * SPEC 2a's four promises for an attack: `claimed` is the identity the attacker claims (never
 * counted nor restricted), `unproved` the addresses that must get no NDR.
 */
function assertContained(d: Decision, config: Config, claimed: string[], unproved: string[]): void {
  assert.notEqual(d.pool, 'normal', 'nothing through normal');
  assert.ok(
    d.sends.every((s) => s.pool !== 'normal'),
    'no copy through normal',
  );
  // From the configuration, not from the code's own expansion: every address a route names.
  const routed = new Set(Object.values(config.routes).flat());
  for (const s of d.sends) {
    for (const to of s.to) {
      if (s.kind === 'ndr') {
        assert.ok(!unproved.includes(to), `NDR to the unauthenticated ${to}`);
        assert.equal(d.classification.authentication.envelopeAuthenticated, true, `NDR to ${to}`);
      } else if (s.kind === 'srs-bounce') {
        assert.equal(d.classification.envelopeSender, null, 'SRS reversal only for a null sender');
      } else {
        assert.ok(routed.has(to), `copy to ${to}, which no route produced`);
      }
    }
    // Never re-sent under the claimed name: From and return path are ours.
    for (const c of claimed) {
      assert.notEqual(s.envelopeFrom.toLowerCase(), c, `return path ${c}`);
      if (s.kind === 'forward') assert.equal(s.fromRewritten, true, 'From rewritten');
    }
  }
  for (const c of claimed) {
    assert.ok(!d.classification.usage.some((u) => u.identity === c), `counted under the claimed ${c}`);
    assert.ok(!d.restrictions.some((r) => r.identity === c), `restricts the claimed ${c}`);
  }
}

describe('trust model: the attacks of issue 12 (decision)', () => {
  it('outsider as our user: envelope ceo@example.com (SPF FAIL) + DKIM of its own aligned From', async () => {
    const { d, config } = await decideAttack(
      { source: 'ceo@example.com', spf: 'FAIL' },
      { from: 'Evil <boss@attacker.test>' },
      { signWith: [attackerKey] },
    );
    assertContained(d, config, ['ceo@example.com'], ['ceo@example.com']);
    assert.equal(d.pool, 'relay');
    assert.ok(d.reasons.includes('spoofed-accepted-domain'));
    assert.ok(!d.reasons.includes('accepted-domain'));
    assert.equal(d.classification.authentication.spoof, true);
  });

  it('outsider as our user, four times, never restricts the real newsletter@example.com', async () => {
    // Over its limits, the *claimed* identity would block and restrict: it is not counted at all.
    const over: SenderState = { counters: { externalHour: 99, internalHour: 99, day: 99, rolling24h: 99 } };
    const { d, config } = await decideAttack(
      { source: 'newsletter@example.com', spf: 'FAIL' },
      { from: 'boss@attacker.test' },
      { signWith: [attackerKey] },
      { 'newsletter@example.com': over },
    );
    assertContained(d, config, ['newsletter@example.com'], ['newsletter@example.com']);
    assert.deepEqual(
      d.classification.usage.map((u) => u.identity),
      ['alias@example.com'],
    );
  });

  it('accepted domain without SPF/DMARC (SES GRAY): a forgery of its From is relay, From rewritten', async () => {
    const { d, config } = await decideAttack(
      { source: 'ceo@example.com', spf: 'GRAY', dmarc: 'GRAY' },
      { from: 'CEO <ceo@example.com>' },
    );
    assertContained(d, config, ['ceo@example.com'], ['ceo@example.com']);
    assert.deepEqual(d.reasons, ['unauthenticated-relay', 'spoofed-accepted-domain']);
    assert.equal(d.sends[0]?.from, '"CEO via example.com" <alias@example.com>');
  });

  it('SPF PASS for an unrelated envelope domain, From service@paypal.test, DMARC FAIL → relay', async () => {
    const { d, config } = await decideAttack(
      { source: 'bounces@evil.test', spf: 'PASS', dmarc: 'FAIL' },
      { from: 'PayPal <service@paypal.test>' },
    );
    assertContained(d, config, [], []);
    assert.equal(d.pool, 'relay');
    assert.deepEqual(d.reasons, ['spf-pass', 'unauthenticated-relay']);
    assert.equal(d.sends[0]?.envelopeFrom, config.bounceSink, 'no SRS return path for the unproved author');
  });

  it('DMARC FAIL is never author-authenticated, even with an aligned SPF pass', async () => {
    const { d, config } = await decideAttack(
      { source: 'alice@sender.test', spf: 'PASS', dmarc: 'FAIL' },
      { from: 'alice@sender.test' },
    );
    assertContained(d, config, [], []);
    assert.equal(d.classification.authentication.authorAuthenticated, false);
  });

  it('envelope bounces@evil.test (SPF pass) with From ceo@<accepted> → relay, spoofed-accepted-domain', async () => {
    const { d, config } = await decideAttack(
      { source: 'bounces@evil.test', spf: 'PASS' },
      { from: 'CEO <ceo@example.com>' },
    );
    assertContained(d, config, ['ceo@example.com'], []);
    assert.equal(d.pool, 'relay');
    assert.ok(d.reasons.includes('spoofed-accepted-domain'));
  });

  it('a replayed DKIM signature of our own domain from a foreign envelope is a spoof', async () => {
    const { d, config } = await decideAttack(
      { source: 'x@evil.test', spf: 'FAIL' },
      { from: 'ceo@example.com' },
      { signWith: [exampleKey] },
    );
    assertContained(d, config, ['ceo@example.com'], ['x@evil.test']);
    assert.equal(d.classification.authentication.authorAuthenticated, true);
    assert.equal(d.classification.authentication.envelopeAuthenticated, false);
  });

  it('two From addresses, one of them ours: F unknown, nothing author-authenticated, a spoof', async () => {
    const { d, config } = await decideAttack(
      { source: 'alice@sender.test', spf: 'PASS' },
      { from: 'alice@sender.test, ceo@example.com' },
      { signWith: [senderKey] },
    );
    assertContained(d, config, ['ceo@example.com'], []);
    assert.equal(d.classification.authentication.fromDomain, null);
    assert.equal(d.classification.authentication.spoof, true);
  });

  for (const [name, event] of <[string, EventOptions][]>[
    ['a virus', { source: 'victim@victim.test', spf: 'FAIL', virus: 'FAIL' }],
    [
      'an unknown recipient',
      { source: 'victim@victim.test', spf: 'GRAY', recipients: ['nobody@example.com'] },
    ],
  ]) {
    it(`backscatter: ${name} from a forged envelope with a valid From signature gets no NDR`, async () => {
      const { d, config } = await decideAttack(
        event,
        { from: 'alice@sender.test' },
        { signWith: [senderKey] },
      );
      assertContained(d, config, [], ['victim@victim.test']);
      assert.equal(d.pool, 'blocked');
      assert.deepEqual(d.sends, []);
    });
  }

  for (const [name, event, msg] of <[string, EventOptions, MessageOptions][]>[
    ['a null MAIL FROM', { source: '' }, {}],
    ['a DSN content type', {}, { contentType: 'multipart/report; report-type=delivery-status; boundary=b' }],
    [
      'one junk recipient in the SRS domain',
      { recipients: ['junk@fwd.example.com', 'alias@example.com'] },
      {},
    ],
  ]) {
    it(`limits are not bypassed by ${name}: a restricted alias stays blocked`, async () => {
      const { d, config } = await decideAttack(
        event,
        msg,
        {},
        { 'alias@example.com': restricted('alias@example.com') },
      );
      assertContained(d, config, [], []);
      assert.equal(d.pool, 'blocked');
      assert.ok(d.reasons.includes('sender-restricted'));
      assert.deepEqual(
        d.sends.filter((s) => s.kind !== 'ndr'),
        [],
      );
    });
  }

  it('open relay through SRS: a non-null sender to a valid SRS address sends nothing to the decoded one', async () => {
    const config = testConfig();
    const srsAddress = new Srs(config.srs).forward('target@victim.test', NOW);
    const { d } = await decideAttack(
      { source: 'spammer@evil.test', spf: 'PASS', recipients: [srsAddress] },
      {},
    );
    assertContained(d, config, [], []);
    assert.equal(d.pool, 'blocked');
    assert.ok(d.reasons.includes('srs-invalid'));
    assert.deepEqual(d.sends, []);
  });

  it('SRS: at most srs.maxRecipients (5) SRS recipients of one bounce are reversed, the others srs-invalid', async () => {
    const config = testConfig();
    const srs = new Srs(config.srs);
    const recipients = Array.from({ length: 8 }, (_, i) => srs.forward(`u${i}@victim.test`, NOW));
    const { d } = await decideAttack({ source: '', recipients }, { from: 'mailer-daemon@remote.test' });
    assert.deepEqual(
      d.sends.flatMap((s) => s.to),
      ['u0@victim.test', 'u1@victim.test', 'u2@victim.test', 'u3@victim.test', 'u4@victim.test'],
    );
    assert.ok(d.reasons.includes('srs-invalid'));
    assert.deepEqual(
      d.classification.srsBounces.slice(5).map((b) => b.invalid),
      ['too-many', 'too-many', 'too-many'],
    );
  });

  it('SRS: spellings of one SRS address (case, a trailing dot) reverse to one bounce, not one each', async () => {
    const config = testConfig();
    const address = new Srs(config.srs).forward('u0@victim.test', NOW);
    const [local, domain] = [address.slice(0, address.lastIndexOf('@')), config.srs.domain];
    const spellings = [
      address,
      `${local}@${domain.toUpperCase()}`,
      `${local}@${domain}.`,
      address.toUpperCase(),
    ];
    const { d } = await decideAttack(
      { source: '', recipients: spellings },
      { from: 'mailer-daemon@remote.test' },
    );
    assert.equal(d.classification.srsBounces.filter((b) => b.originalSender !== null).length, 4);
    assert.deepEqual(
      d.sends.map((s) => [s.kind, s.to]),
      [['srs-bounce', ['u0@victim.test']]],
    );
  });

  it('SRS: a 4-character hash (the old default) is not accepted under the 8-character default', async () => {
    const config = testConfig();
    const short = new Srs({ ...config.srs, hashLength: 4 }).forward('target@victim.test', NOW);
    const { d } = await decideAttack({ source: '', recipients: [short] }, {});
    assert.equal(d.pool, 'blocked');
    assert.deepEqual(d.sends, []);
  });

  it('sub-address variants of a restricted genuine sender are the same identity, still blocked', async () => {
    const { d } = await decideAttack(
      { source: 'bob+fresh1@example.com', spf: 'PASS' },
      { from: 'bob+fresh1@example.com' },
      {},
      { 'bob@example.com': restricted('bob@example.com') },
    );
    assert.equal(d.pool, 'blocked');
    assert.deepEqual(
      d.classification.usage.map((u) => u.identity),
      ['bob@example.com'],
    );
    assert.ok(d.reasons.includes('sender-restricted'));
  });

  it('a catch-all counts as one route, not one identity per local part', async () => {
    const { d } = await decideAttack(
      { recipients: ['a1@example.org', 'a2@example.org', 'a3@example.org'] },
      {},
    );
    assert.deepEqual(
      d.classification.usage.map((u) => u.identity),
      ['@example.org'],
    );
  });

  it('no loop detection: 120 Received fields plus Delivered-To of our own alias → blocked loop, no NDR', async () => {
    const received = Array.from(
      { length: 120 },
      (_, i) =>
        `Received: from hop${i}.sender.test by hop${i + 1}.sender.test; Mon, 23 Nov 2026 10:00:00 +0000`,
    );
    const { d } = await decideAttack(
      { source: 'alice@sender.test', spf: 'PASS' },
      { headers: [...received, 'Delivered-To: alias@example.com'] },
    );
    assert.equal(d.pool, 'blocked');
    assert.ok(d.reasons.includes('loop'));
    assert.deepEqual(d.sends, []);
  });

  it('our own loop marker for the same route → blocked loop; a forged marker blocks nothing', async () => {
    const config = testConfig();
    const marker = loopMarker('alias@example.com', config.srs.secrets);
    const back = await decideAttack({ spf: 'PASS' }, { headers: [`X-Outbound-Pools-Loop: ${marker}`] });
    assert.equal(back.d.pool, 'blocked');
    assert.deepEqual(back.d.reasons.includes('loop'), true);
    assert.deepEqual(back.d.sends, []);
    const forged = await decideAttack(
      { spf: 'PASS' },
      { headers: ['X-Outbound-Pools-Loop: alias@example.com; AAAAAAAAAAAAAAAA'] },
    );
    assert.equal(forged.d.pool, 'normal');
    const otherRoute = await decideAttack(
      { spf: 'PASS' },
      { headers: [`X-Outbound-Pools-Loop: ${loopMarker('team@example.com', config.srs.secrets)}`] },
    );
    assert.equal(otherRoute.d.pool, 'normal');
  });
});

/**
 * A DKIM `d=` (or an envelope domain) that is not a domain name but that the Public Suffix
 * List library parses as a URL: `example.com/.attacker.test` was "example.com" for alignment,
 * while DNS looks its key up under attacker.test, whose wildcard record answers.
 */
describe('trust model: domains that are not domain names (review of December 2026)', () => {
  const urlKey = (domain: string) => dkimKey(`${domain}/.attacker.test`);
  const decideUrl = async (
    event: EventOptions,
    msg: MessageOptions,
    key: ReturnType<typeof dkimKey>,
    senders: Record<string, SenderState> = {},
  ) => {
    const config = testConfig();
    const d = await decideMessage({
      received: received(event),
      raw: await sign(message(msg), key),
      config,
      resolver: zoneResolver(zones([key], { 'attacker.test': { A: ['198.51.100.66'] } })),
      now: NOW,
      senders,
    });
    return { d, config };
  };

  it('From ceo@example.com signed d=example.com/.attacker.test, envelope the attacker’s (SPF PASS, no DMARC record): a spoof, relay', async () => {
    const { d, config } = await decideUrl(
      { source: 'x@attacker.test', spf: 'PASS', dmarc: 'GRAY' },
      { from: 'CEO <ceo@example.com>' },
      urlKey('example.com'),
    );
    // mailauth verifies the signature; it must not count as example.com's.
    assert.equal(d.classification.dkim.signatures[0]?.result, 'pass');
    assert.equal(d.classification.dkim.signatures[0]?.aligned, false);
    assertContained(d, config, ['ceo@example.com'], []);
    assert.equal(d.classification.authentication.spoof, true);
  });

  it('the same signature with envelope ceo@example.com (SPF FAIL): no NDR to, no count under, no restriction of ceo@example.com', async () => {
    const over: SenderState = { counters: { externalHour: 99, internalHour: 99, day: 99, rolling24h: 99 } };
    const { d, config } = await decideUrl(
      { source: 'ceo@example.com', spf: 'FAIL', dmarc: 'GRAY' },
      { from: 'CEO <ceo@example.com>' },
      urlKey('example.com'),
      { 'ceo@example.com': over },
    );
    assert.equal(d.classification.authentication.envelopeAuthenticated, false);
    assertContained(d, config, ['ceo@example.com'], ['ceo@example.com']);
  });

  it('backscatter: envelope victim@victim.test "proved" by d=victim.test/.attacker.test gets no NDR', async () => {
    const { d, config } = await decideUrl(
      { source: 'victim@victim.test', spf: 'FAIL', dmarc: 'FAIL', recipients: ['nobody@example.com'] },
      { from: 'boss@attacker.test' },
      urlKey('victim.test'),
    );
    assert.equal(d.classification.authentication.envelopeAuthenticated, false);
    assertContained(d, config, [], ['victim@victim.test']);
    assert.deepEqual(d.sends, []);
  });

  it('an envelope domain that is no domain name (x@attacker.test/a=b, SPF PASS) proves nothing and is decided, not thrown', async () => {
    const { d, config } = await decideAttack(
      { source: 'x@attacker.test/a=b', spf: 'PASS' },
      { from: 'boss@attacker.test' },
      { signWith: [attackerKey] },
    );
    assert.equal(d.classification.authentication.envelopeAuthenticated, false);
    assertContained(d, config, [], ['x@attacker.test/a=b']);
  });

  it('a message to several routes counts all their recipients against recipientsPerMessage', async () => {
    const members = (p: string) => Array.from({ length: 40 }, (_, i) => `${p}${i}@remote.test`);
    const { d } = await decideAttack(
      { recipients: ['list1@example.com', 'list2@example.com'] },
      { from: 'alice@sender.test' },
      {
        config: {
          routes: { 'list1@example.com': members('a'), 'list2@example.com': members('b') },
          limits: { default: { recipientsPerMessage: 60 } },
        },
      },
    );
    // Two identities (one per list), 40 recipients each: 80 in the message.
    assert.equal(d.classification.usage.length, 2);
    assert.equal(d.pool, 'blocked');
    assert.ok(d.reasons.includes('hard-limit-recipients'));
    // No copy; the (authenticated) sender is told why.
    assert.deepEqual(
      d.sends.map((s) => [s.kind, s.to]),
      [['ndr', ['alice@sender.test']]],
    );
  });

  it('a restricted genuine sender writing its address with a trailing dot or quoted is the same identity, still blocked', async () => {
    for (const source of ['bob@example.com.', '"bob"@example.com', '"bob+x"@Example.COM.']) {
      const { d } = await decideAttack(
        { source, spf: 'PASS' },
        { from: 'Bob <bob@example.com>' },
        {},
        { 'bob@example.com': restricted('bob@example.com') },
      );
      assert.deepEqual(
        d.classification.usage.map((u) => u.identity),
        ['bob@example.com'],
        source,
      );
      assert.equal(d.pool, 'blocked', source);
      assert.ok(d.reasons.includes('sender-restricted'), source);
    }
  });
});

describe('trust model: From fields every parser reads alike (review of December 2026)', () => {
  it('two From fields, the first with a quote left open: F unknown, nothing kept under either name', async () => {
    // Joined before parsing, the open quote swallowed the second field: the decision read one
    // author (me@example.com, proved) and kept the From, while the copy keeps the first field,
    // which other parsers read as boss@example.org.
    const { d, config } = await decideAttack(
      { source: 'me@example.com', spf: 'PASS', dmarc: 'PASS' },
      { from: 'me@example.com', headers: ['From: "boss@example.org'] },
    );
    assert.equal(d.classification.authentication.fromDomain, null);
    assert.equal(d.classification.authentication.genuineAcceptedSender, false);
    assertContained(d, config, ['boss@example.org', 'me@example.com'], []);
  });

  it('one From field with a quote left open: F unknown, the From rewritten', async () => {
    const { d, config } = await decideAttack(
      { source: 'me@example.com', spf: 'PASS', dmarc: 'PASS' },
      { from: '"boss@example.org, me@example.com' },
    );
    assert.equal(d.classification.authentication.fromDomain, null);
    assertContained(d, config, ['me@example.com'], []);
  });
});

describe('trust model: good mail is not harmed', () => {
  it('forwarded mail with aligned SPF still goes normal, with an SRS return path', async () => {
    const { d } = await decideAttack(
      { source: 'alice@sender.test', spf: 'PASS' },
      { from: 'alice@sender.test' },
    );
    assert.equal(d.pool, 'normal');
    assert.match(d.sends[0]!.envelopeFrom, /^SRS0=/);
  });

  it('a newsletter from an ESP (its own bounce domain, From ours proved by DKIM) keeps its From, with an SRS return path', async () => {
    // SES sends only with a verified Return-Path: the ESP's bounce domain is not one of ours.
    const { d } = await decideAttack(
      { source: 'bounce-123@esp.test', spf: 'PASS', dmarc: 'PASS' },
      { from: 'News <news@example.com>' },
      { signWith: [exampleKey] },
    );
    assert.equal(d.classification.authentication.genuineAcceptedSender, true);
    assert.equal(d.pool, 'normal');
    const forwards = d.sends.filter((s) => s.kind === 'forward');
    assert.ok(forwards.length > 0);
    for (const s of forwards) {
      assert.equal(s.fromRewritten, false);
      assert.match(s.envelopeFrom, /^SRS0=.*@fwd\.example\.com$/);
    }
    // And a genuine sender in an accepted domain keeps its own return path.
    const own = await decideAttack({ source: 'bob@example.com', spf: 'PASS' }, { from: 'bob@example.com' });
    assert.equal(own.d.sends[0]!.envelopeFrom, 'bob@example.com');
  });

  it('forwarded mail with aligned DKIM (SPF failed at the forwarder) still goes normal', async () => {
    const { d } = await decideAttack(
      { source: 'alice@sender.test', spf: 'FAIL' },
      { from: 'alice@sender.test' },
      { signWith: [senderKey] },
    );
    assert.equal(d.pool, 'normal');
  });

  it('a genuine accepted-domain sender keeps its From and is counted under its own address', async () => {
    const { d } = await decideAttack(
      { source: 'Bob+List@example.com', spf: 'PASS' },
      { from: 'Bob <Bob+List@example.com>' },
      { signWith: [exampleKey] },
    );
    assert.equal(d.pool, 'normal');
    assert.equal(d.sends[0]?.fromRewritten, false);
    assert.deepEqual(
      d.classification.usage.map((u) => u.identity),
      ['bob@example.com'],
    );
  });

  it('an authenticated sender blocked by a virus still gets its NDR', async () => {
    const { d } = await decideAttack(
      { source: 'alice@sender.test', spf: 'PASS', virus: 'FAIL' },
      { from: 'alice@sender.test' },
    );
    assert.deepEqual(
      d.sends.map((s) => [s.kind, s.to]),
      [['ndr', ['alice@sender.test']]],
    );
  });

  it('the identities map folds an extra address into its mailbox', async () => {
    const { d } = await decideAttack(
      { source: 'robert@example.com', spf: 'PASS' },
      { from: 'robert@example.com' },
      { config: { identities: { 'robert@example.com': 'bob@example.com' } } },
    );
    assert.deepEqual(
      d.classification.usage.map((u) => u.identity),
      ['bob@example.com'],
    );
  });
});

describe('parser differentials (review of December 2026)', () => {
  const decideFrom = (from: string, contentType?: string) =>
    decideAttack(
      { source: 'x@attacker.test', spf: 'PASS' },
      { from, ...(contentType ? { contentType } : {}) },
    );

  it('the control: the attacker writing its own address plainly, proved by SPF → normal', async () => {
    assert.equal((await decideFrom('x@attacker.test')).d.pool, 'normal');
  });

  for (const from of [
    'ceo@example.com <x@attacker.test>',
    'a <x@attacker.test> <ceo@example.com>',
    'ceo@example.com\\@attacker.test',
  ]) {
    it(`From: ${from} — an accepted domain's address beside the attacker's names no author → not normal`, async () => {
      // nodemailer reads x@attacker.test (aligned with the proved envelope); Python's
      // email.headerregistry reads ceo@example.com.
      const { d } = await decideFrom(from);
      assert.notEqual(d.pool, 'normal');
      assert.equal(d.classification.authentication.authorAuthenticated, false);
    });
  }

  for (const contentType of [
    'multipart/report; report-type=delivery-status (rfc3464); boundary="b"',
    'multipart/report; report-type=delivery-status; boundary="b"; report-type=x-none',
  ]) {
    it(`Content-Type: ${contentType} — a DSN to a first or a last reader is an NDR → high-risk`, async () => {
      const { d } = await decideFrom('x@attacker.test', contentType);
      assert.equal(d.classification.ndr.deliveryReport, true);
      assert.equal(d.pool, 'high-risk');
    });
  }
});
