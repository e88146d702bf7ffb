/**
 * The NDR for a copy SES refused: the gate of SPEC 3 rule 1, one per refused copy, and the
 * recipients it names (the addresses mail was sent to, never an alias's destinations).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuthenticationFacts } from '../../functions/core/authentication.js';
import type { PlannedSend } from '../../functions/core/decide.js';
import { NO_PAUSED_POOLS } from '../../functions/core/pause.js';
import type { TraceSummary } from '../../functions/core/ports.js';
import { refusalNdr } from '../../functions/core/refusal-ndr.js';
import type { Pool } from '../../functions/core/vocabulary.js';
import { testConfig } from '../helpers/mail.js';

const config = testConfig();

const forward = (routes: string[], to: string[]): PlannedSend => ({
  kind: 'forward',
  to,
  pool: 'normal',
  configurationSet: 'outbound-normal',
  envelopeFrom: 'SRS0=x=y=sender.test=carol@fwd.example.com',
  from: '"Carol via example.com" <alias@example.com>',
  fromRewritten: true,
  replyTo: 'carol@sender.test',
  identity: 'alias@example.com',
  routes,
});

const facts = (over: Partial<AuthenticationFacts> = {}): AuthenticationFacts =>
  ({ envelopeAuthenticated: true, spoof: false, bounce: false, ...over }) as AuthenticationFacts;

function summary(over: Partial<TraceSummary> = {}): TraceSummary {
  return {
    messageId: 'm-1',
    receivedAt: '2026-11-23T10:00:00.000Z',
    sender: 'carol@sender.test',
    recipients: ['alias@example.com', 'team@example.com', 'x@example.org'],
    destinations: ['dest@remote.test', 'ann@remote.test', 'bob@example.org', 'catchall@remote.test'],
    unrouted: [],
    pool: 'normal',
    outboundIpPoolName: 'outbound-normal',
    configurationSet: 'outbound-normal',
    reasons: ['spf-pass', 'srs-rewritten'],
    plan: [
      forward(['alias@example.com'], ['dest@remote.test']),
      forward(
        ['team@example.com', '@example.org'],
        ['ann@remote.test', 'bob@example.org', 'catchall@remote.test'],
      ),
    ],
    sizeBytes: 100,
    decisionMs: 1,
    authentication: facts(),
    ...over,
  };
}

const refused = (s: TraceSummary, index = 0) => ({
  send: s.plan[index]!,
  index,
  refusal: 'content' as const,
});

describe('refusalNdr', () => {
  it('an envelope-authenticated sender: one NDR through high-risk, naming the copy, its recipients and the refusal', () => {
    const s = summary();
    const verdict = refusalNdr(refused(s, 1), s, config, NO_PAUSED_POOLS);
    assert.ok(verdict.ndr);
    assert.equal(verdict.ndr.kind, 'ndr');
    assert.equal(verdict.ndr.pool, 'high-risk');
    assert.equal(verdict.ndr.configurationSet, config.pools['high-risk'].configurationSet);
    assert.deepEqual(verdict.ndr.to, ['carol@sender.test']);
    assert.equal(verdict.ndr.envelopeFrom, config.bounceSink);
    assert.deepEqual(verdict.ndr.refused, {
      copy: 1,
      recipients: ['team@example.com', 'x@example.org'],
      refusal: 'content',
    });
  });

  it('falls back to every received recipient when no route matches any more (configuration changed)', () => {
    const s = summary();
    const verdict = refusalNdr(
      { send: forward(['gone@example.com'], ['z@remote.test']), index: 0, refusal: 'size' },
      s,
      config,
      NO_PAUSED_POOLS,
    );
    assert.deepEqual(verdict.ndr?.refused?.recipients, s.recipients);
  });

  const none: {
    name: string;
    summary: TraceSummary;
    index?: number;
    paused?: Pool[];
    ndrs?: number;
    why: RegExp;
  }[] = [
    {
      name: 'not envelope-authenticated',
      summary: summary({ authentication: facts({ envelopeAuthenticated: false }) }),
      why: /not envelope-authenticated/,
    },
    {
      name: 'no authentication facts (an old record)',
      summary: summary({ authentication: undefined }),
      why: /not envelope-authenticated/,
    },
    {
      name: 'a spoof of an accepted domain',
      summary: summary({ authentication: facts({ spoof: true }) }),
      why: /spoofs/,
    },
    { name: 'a null reverse path', summary: summary({ sender: '' }), why: /null reverse path/ },
    {
      name: 'a bounce (facts)',
      summary: summary({ authentication: facts({ bounce: true }) }),
      why: /null reverse path/,
    },
    { name: 'an NDR', summary: summary({ reasons: ['ndr'] }), why: /bounce or a loop/ },
    {
      name: 'a bounce reversed through SRS',
      summary: summary({ reasons: ['srs-bounce'] }),
      why: /bounce or a loop/,
    },
    { name: 'a loop', summary: summary({ reasons: ['loop'] }), why: /bounce or a loop/ },
    { name: 'NDRs turned off', summary: summary(), ndrs: 0, why: /turned off/ },
    { name: 'high-risk paused', summary: summary(), paused: ['high-risk'], why: /high-risk pool is paused/ },
  ];
  for (const c of none) {
    it(`no NDR: ${c.name}`, () => {
      const cfg = c.ndrs === undefined ? config : testConfig({ ndr: { perRecipientPerHour: c.ndrs } });
      const verdict = refusalNdr(refused(c.summary), c.summary, cfg, new Set(c.paused ?? []));
      assert.equal(verdict.ndr, null);
      assert.match((verdict as { why: string }).why, c.why);
    });
  }

  it('no NDR for a refused NDR or reversed bounce (never an NDR about an NDR)', () => {
    const s = summary();
    for (const kind of ['ndr', 'srs-bounce'] as const) {
      const verdict = refusalNdr(
        { send: { ...s.plan[0]!, kind }, index: 0, refusal: 'content' },
        s,
        config,
        NO_PAUSED_POOLS,
      );
      assert.equal(verdict.ndr, null);
    }
  });

  it('one per refused copy: none when the plan already holds the NDR for that copy', () => {
    const s = summary();
    const first = refusalNdr(refused(s, 0), s, config, NO_PAUSED_POOLS);
    assert.ok(first.ndr);
    const after = { ...s, plan: [...s.plan, first.ndr] };
    assert.equal(refusalNdr(refused(after, 0), after, config, NO_PAUSED_POOLS).ndr, null);
    // Another copy of the same message still gets its own.
    assert.ok(refusalNdr(refused(after, 1), after, config, NO_PAUSED_POOLS).ndr);
  });
});
