import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AuthenticationInput, authenticationFacts } from '../../functions/core/authentication.js';
import type { DkimSignature } from '../../functions/core/dkim.js';
import { parseMailboxes } from '../../functions/core/message.js';

const sig = (domain: string, result: DkimSignature['result'] = 'pass'): DkimSignature => ({
  domain,
  selector: 's',
  result,
  aligned: false,
});

function facts(o: Partial<Omit<AuthenticationInput, 'from'>> & { from?: string } = {}) {
  return authenticationFacts({
    envelopeSender: 'alice@sender.test',
    spf: 'PASS',
    dmarc: 'GRAY',
    dkim: { signatures: [] },
    acceptedDomains: ['example.com'],
    dkimAvoidsRelay: true,
    viaGateway: false,
    ...o,
    from: parseMailboxes(o.from ?? 'alice@sender.test'),
  });
}

describe('authenticationFacts (SPEC 2a)', () => {
  const cases: {
    name: string;
    input: Parameters<typeof facts>[0];
    expect: Partial<ReturnType<typeof facts>>;
  }[] = [
    {
      name: 'aligned SPF pass: envelope- and author-authenticated',
      input: {},
      expect: { envelopeAuthenticated: true, authorAuthenticated: true, aligned: true, spoof: false },
    },
    {
      name: 'SPF pass of a subdomain envelope is aligned (relaxed, organizational domain)',
      input: { envelopeSender: 'bounce@mail.sender.test' },
      expect: { aligned: true, authorAuthenticated: true },
    },
    {
      name: 'SPF pass for an unrelated envelope: envelope only',
      input: { envelopeSender: 'b@evil.test', from: 'service@paypal.test' },
      expect: { envelopeAuthenticated: true, authorAuthenticated: false, aligned: false },
    },
    ...(['GRAY', 'FAIL', 'PROCESSING_FAILED', 'DISABLED'] as const).map((spf) => ({
      name: `SPF ${spf} is not a pass`,
      input: { spf },
      expect: { spfPass: false, envelopeAuthenticated: false, authorAuthenticated: false },
    })),
    {
      name: 'a null reverse path: a bounce, SPF (about HELO) proves nothing',
      input: { envelopeSender: null },
      expect: { bounce: true, envelopeDomain: null, spfPass: false, envelopeAuthenticated: false },
    },
    {
      name: 'DKIM aligned with E only: envelope-authenticated, not author',
      input: {
        spf: 'FAIL',
        envelopeSender: 'a@sender.test',
        from: 'x@other.test',
        dkim: { signatures: [sig('sender.test')] },
      },
      expect: {
        dkimEnvelopeAligned: true,
        dkimAuthorAligned: false,
        envelopeAuthenticated: true,
        authorAuthenticated: false,
      },
    },
    {
      name: 'DKIM aligned with F only: author-authenticated, not envelope',
      input: { spf: 'FAIL', envelopeSender: 'x@evil.test', dkim: { signatures: [sig('sender.test')] } },
      expect: { envelopeAuthenticated: false, authorAuthenticated: true },
    },
    {
      name: 'a failed DKIM signature counts for nothing',
      input: { spf: 'FAIL', dkim: { signatures: [sig('sender.test', 'fail')] } },
      expect: { envelopeAuthenticated: false, authorAuthenticated: false },
    },
    {
      name: 'relay.dkimAvoidsRelay false: DKIM does not authenticate the author',
      input: { spf: 'FAIL', dkimAvoidsRelay: false, dkim: { signatures: [sig('sender.test')] } },
      expect: { envelopeAuthenticated: true, authorAuthenticated: false },
    },
    {
      name: 'DMARC FAIL is never author-authenticated',
      input: { dmarc: 'FAIL', dkim: { signatures: [sig('sender.test')] } },
      expect: { envelopeAuthenticated: true, authorAuthenticated: false },
    },
    {
      name: 'two From addresses: F unknown',
      input: { from: 'alice@sender.test, bob@sender.test' },
      expect: { fromDomain: null, fromCount: 2, authorAuthenticated: false },
    },
    {
      name: 'no From: F unknown',
      input: { from: '' },
      expect: { fromDomain: null, fromCount: 0, authorAuthenticated: false },
    },
    {
      name: 'genuine accepted-domain sender (E and F ours, aligned SPF pass)',
      input: { envelopeSender: 'Bob@example.com', from: 'bob@example.com' },
      expect: { genuineAcceptedSender: true, spoof: false, genuineAddress: 'bob@example.com' },
    },
    {
      name: 'genuine through an ESP: foreign E with SPF pass, F ours with its DKIM',
      input: {
        envelopeSender: 'b@esp.test',
        from: 'news@example.com',
        dkim: { signatures: [sig('example.com')] },
      },
      expect: { genuineAcceptedSender: true, genuineAddress: 'news@example.com' },
    },
    {
      name: "E ours with SPF FAIL and the attacker's own aligned DKIM: a spoof",
      input: {
        envelopeSender: 'ceo@example.com',
        spf: 'FAIL',
        from: 'boss@attacker.test',
        dkim: { signatures: [sig('attacker.test')] },
      },
      expect: { claimsAcceptedDomain: true, genuineAcceptedSender: false, spoof: true, genuineAddress: null },
    },
    {
      name: 'F ours in one of two From fields: a claim, hence a spoof',
      input: { from: 'alice@sender.test, ceo@example.com' },
      expect: { claimsAcceptedDomain: true, spoof: true },
    },
    {
      name: 'E ours, SES GRAY (no SPF record): a spoof',
      input: { envelopeSender: 'ceo@example.com', spf: 'GRAY', from: 'ceo@example.com' },
      expect: { spoof: true },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const f = facts(c.input);
      for (const [k, v] of Object.entries(c.expect)) assert.deepEqual(f[k as keyof typeof f], v, k);
      // Invariants: a spoof is a claim not proved; genuine needs both proofs.
      assert.equal(f.spoof, f.claimsAcceptedDomain && !f.genuineAcceptedSender);
      if (f.genuineAcceptedSender) assert.ok(f.envelopeAuthenticated && f.authorAuthenticated);
    });
  }
});
