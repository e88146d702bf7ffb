/**
 * The compact form of the main item (`trace-compact.ts`) loses nothing: for any summary and
 * sends (fast-check), what is read back is what was written; items in the full form written
 * before it read as they are; and the form is smaller than the full one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeSend, encodeSummary } from '../../functions/adapters/trace-compact.js';
import { senderKey, sendsOf, summaryOf } from '../../functions/adapters/trace-items.js';
import type { AuthenticationFacts } from '../../functions/core/authentication.js';
import type { SendRecord, TraceSummary } from '../../functions/core/ports.js';
import type { PlannedSend } from '../../functions/core/send-plan.js';
import { VERDICT_STATUSES } from '../../functions/core/ses-event.js';
import { COPY_REFUSALS } from '../../functions/core/ses-refusals.js';
import { POOLS, REASONS } from '../../functions/core/vocabulary.js';

const address = fc
  .tuple(fc.stringMatching(/^[a-z0-9.+-]{1,12}$/), fc.constantFrom('a.example', 'B.example', 'c.test'))
  .map(([local, domain]) => `${local}@${domain}`);
const addresses = fc.uniqueArray(address, { minLength: 1, maxLength: 4 });
const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
const pool = fc.constantFrom(...POOLS);
const configurationSet = fc.constantFrom('outbound-normal', 'outbound-high-risk', 'outbound-relay');
const iso = fc
  .integer({ min: Date.parse('2025-01-01'), max: Date.parse('2027-01-01') })
  .map((t) => new Date(t).toISOString());

const authentication: fc.Arbitrary<AuthenticationFacts> = fc.record({
  envelopeDomain: nullable(fc.constantFrom('sender.test', 'example.com', 'x|y.test')),
  fromDomain: nullable(fc.constantFrom('sender.test', 'example.org')),
  fromCount: fc.nat(3),
  aligned: fc.boolean(),
  spf: fc.constantFrom(...VERDICT_STATUSES),
  spfPass: fc.boolean(),
  dmarc: fc.constantFrom(...VERDICT_STATUSES),
  dkimEnvelopeAligned: fc.boolean(),
  dkimAuthorAligned: fc.boolean(),
  envelopeAuthenticated: fc.boolean(),
  authorAuthenticated: fc.boolean(),
  claimsAcceptedDomain: fc.boolean(),
  genuineAcceptedSender: fc.boolean(),
  spoof: fc.boolean(),
  bounce: fc.boolean(),
  viaGateway: fc.boolean(),
  genuineAddress: nullable(address),
});

/** A planned copy, often saying what the summary says (the case the form leaves out). */
const planned = (destinations: string[], summaryPool: string, summarySet: string | null) =>
  fc
    .record(
      {
        kind: fc.constantFrom('forward', 'srs-bounce', 'ndr') as fc.Arbitrary<PlannedSend['kind']>,
        to: fc.oneof(fc.constant(destinations), addresses),
        pool: fc.oneof(fc.constant(summaryPool), pool),
        configurationSet: fc.oneof(fc.constant(summarySet ?? 'outbound-normal'), configurationSet),
        envelopeFrom: address,
        from: fc.string({ maxLength: 40 }),
        fromRewritten: fc.boolean(),
        replyTo: nullable(fc.string({ maxLength: 20 })),
        identity: nullable(address),
        routes: addresses,
        refused: fc.record({
          copy: fc.nat(3),
          recipients: addresses,
          refusal: fc.constantFrom(...COPY_REFUSALS),
        }),
      },
      {
        requiredKeys: [
          'kind',
          'to',
          'pool',
          'configurationSet',
          'envelopeFrom',
          'from',
          'fromRewritten',
          'replyTo',
          'identity',
        ],
      },
    )
    .map((p) => {
      // Identity is most often the first route: the case the form leaves out.
      const q = p as PlannedSend;
      return q.routes && q.identity === null && q.kind === 'forward' ? { ...q, identity: q.routes[0]! } : q;
    });

const summaryAndSends = fc
  .record({
    messageId: fc.stringMatching(/^[a-z0-9-]{8,40}$/),
    receivedAt: iso,
    sender: fc.oneof(fc.constant(''), address),
    recipients: addresses,
    destinations: addresses,
    unrouted: fc.array(address, { maxLength: 2 }),
    pool: fc.constantFrom(...POOLS, 'blocked' as const),
    configurationSet: nullable(configurationSet),
    ipPool: fc.oneof(fc.constant('same'), nullable(fc.constant('ips-dedicated'))),
    reasons: fc.uniqueArray(fc.constantFrom(...REASONS), { maxLength: 4 }),
    sizeBytes: fc.nat(),
    decisionMs: fc.nat(1000),
    authentication: fc.option(authentication, { nil: undefined }),
  })
  .chain((b) =>
    fc
      .array(planned(b.destinations, b.pool, b.configurationSet), { minLength: 0, maxLength: 3 })
      .chain((plan) =>
        fc
          .tuple(
            ...plan.map((p, index) =>
              fc.record(
                {
                  index: fc.constant(index),
                  kind: fc.oneof(fc.constant(p.kind), fc.constant('ndr' as const)),
                  to: fc.oneof(fc.constant(p.to), addresses),
                  pool: fc.oneof(fc.constant(p.pool), pool),
                  configurationSet: fc.oneof(fc.constant(p.configurationSet), configurationSet),
                  tenant: fc.oneof(fc.constant(p.configurationSet), configurationSet),
                  envelopeFrom: fc.oneof(fc.constant(p.envelopeFrom), address),
                  status: fc.constantFrom('sent', 'failed') as fc.Arbitrary<SendRecord['status']>,
                  sesMessageId: fc.string({ minLength: 1, maxLength: 30 }),
                  at: iso,
                  error: fc.string({ maxLength: 20 }),
                  refusal: fc.constantFrom(...COPY_REFUSALS),
                },
                {
                  requiredKeys: [
                    'index',
                    'kind',
                    'to',
                    'pool',
                    'configurationSet',
                    'envelopeFrom',
                    'status',
                    'at',
                  ],
                },
              ),
            ),
          )
          .map((sends) => {
            const { ipPool, authentication: auth, ...rest } = b;
            const summary: TraceSummary = {
              ...rest,
              outboundIpPoolName: ipPool === 'same' ? b.configurationSet : ipPool,
              plan,
              ...(auth ? { authentication: auth } : {}),
            };
            return { summary, sends: sends as SendRecord[] };
          }),
      ),
  );

/** Plain objects (fast-check's records have no prototype; deepEqual would tell them apart). */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const readSender = (sender: string) => senderKey(sender).replace(/^<>$/, '');

/** The main item as the store writes it (summary and sends in the compact form). */
function itemOf(summary: TraceSummary, sends: SendRecord[], planKnown = true): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(encodeSummary(summary, senderKey(summary.sender)))) {
    if (v !== undefined) item[k] = v;
  }
  item.sends = Object.fromEntries(
    sends.map((s) => [String(s.index), encodeSend(s, planKnown ? summary.plan[s.index] : undefined)]),
  );
  return item;
}

describe('trace-compact: the compact main item', () => {
  it('reads back exactly the summary and sends written (with or without the plan known)', () => {
    fc.assert(
      fc.property(summaryAndSends, fc.boolean(), ({ summary, sends }, planKnown) => {
        const item = itemOf(summary, sends, planKnown);
        // The round trip through JSON is what DynamoDB keeps (no undefined members).
        const stored = JSON.parse(JSON.stringify(item)) as Record<string, unknown>;
        assert.deepEqual(summaryOf(stored), plain({ ...summary, sender: readSender(summary.sender) }));
        assert.deepEqual(sendsOf(stored), plain(sends));
      }),
      { numRuns: 300 },
    );
  });

  it('reads an item in the full form written before it as it is', () => {
    fc.assert(
      fc.property(summaryAndSends, ({ summary, sends }) => {
        const legacy: Record<string, unknown> = {
          ...summary,
          sender: senderKey(summary.sender),
          sends: Object.fromEntries(sends.map((s) => [String(s.index), s])),
        };
        const stored = JSON.parse(JSON.stringify(legacy)) as Record<string, unknown>;
        assert.deepEqual(summaryOf(stored), plain({ ...summary, sender: readSender(summary.sender) }));
        assert.deepEqual(sendsOf(stored), plain(sends));
      }),
      { numRuns: 100 },
    );
  });

  it('is smaller than the full form, a third of it for a plain forwarded message', () => {
    const auth: AuthenticationFacts = {
      envelopeDomain: 'sender.test',
      fromDomain: 'sender.test',
      fromCount: 1,
      aligned: true,
      spf: 'PASS',
      spfPass: true,
      dmarc: 'PASS',
      dkimEnvelopeAligned: true,
      dkimAuthorAligned: true,
      envelopeAuthenticated: true,
      authorAuthenticated: true,
      claimsAcceptedDomain: false,
      genuineAcceptedSender: false,
      spoof: false,
      bounce: false,
      viaGateway: false,
      genuineAddress: null,
    };
    const plan: PlannedSend = {
      kind: 'forward',
      to: ['dest@remote.test'],
      pool: 'normal',
      configurationSet: 'outbound-normal',
      envelopeFrom: 'SRS0=beFX=JM=sender.test=alice@fwd.example.com',
      from: '"Alice Sender via example.com" <alias@example.com>',
      fromRewritten: true,
      replyTo: '"Alice Sender" <alice@sender.test>',
      identity: 'alias@example.com',
      routes: ['alias@example.com'],
    };
    const summary: TraceSummary = {
      messageId: 'm-1',
      receivedAt: '2026-11-23T10:00:00.000Z',
      sender: 'alice@sender.test',
      recipients: ['alias@example.com'],
      destinations: ['dest@remote.test'],
      unrouted: [],
      pool: 'normal',
      outboundIpPoolName: 'outbound-normal',
      configurationSet: 'outbound-normal',
      reasons: ['spf-pass'],
      plan: [plan],
      sizeBytes: 3226,
      decisionMs: 1,
      authentication: auth,
    };
    const send: SendRecord = {
      index: 0,
      kind: 'forward',
      to: plan.to,
      pool: 'normal',
      configurationSet: 'outbound-normal',
      tenant: 'outbound-normal',
      envelopeFrom: plan.envelopeFrom,
      status: 'sent',
      sesMessageId: '0100019a-0000',
      at: '2026-11-23T10:00:01.000Z',
    };
    const compact = JSON.stringify(itemOf(summary, [send]));
    const full = JSON.stringify({ ...summary, sends: { 0: send } });
    assert.ok(compact.length < full.length * 0.6, `${compact.length} of ${full.length} bytes`);
    // The facts left out are the summary's own: the send reads back whole.
    assert.equal(compact.match(/dest@remote\.test/g)?.length, 1);
    assert.equal(compact.match(/outbound-normal/g)?.length, 1);
  });
});
