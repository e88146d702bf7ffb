import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  formatField,
  headerFields,
  lineEnding,
  type RewriteOptions,
  rewriteMessage,
  splitMessage,
} from '../../../functions/core/compose/rewrite.js';
import { type DkimEvaluation, evaluateDkim } from '../../../functions/core/dkim.js';
import { zoneResolver } from '../../../functions/core/dns/zone-resolver.js';
import { InvalidInputError } from '../../../functions/core/errors.js';
import { formatMailbox, parseHeaders } from '../../../functions/core/message.js';
import { POOLS, REASONS } from '../../../functions/core/vocabulary.js';
import { dkimKey, message, NOW, sign, zones } from '../../helpers/mail.js';

const NO_DKIM: DkimEvaluation = { signatures: [], alignedPass: false, temperror: false };

const REWRITTEN: RewriteOptions['send'] = {
  from: '"Alice Sender via example.com" <alias@example.com>',
  fromRewritten: true,
  replyTo: '"Alice Sender" <alice@sender.test>',
  envelopeFrom: 'SRS0=abcd=XY=sender.test=alice@fwd.example.com',
  pool: 'relay',
};

const KEPT: RewriteOptions['send'] = {
  from: '"Bob" <bob@example.com>',
  fromRewritten: false,
  replyTo: null,
  envelopeFrom: 'bob@example.com',
  pool: 'normal',
};

function opts(send: RewriteOptions['send'], over: Partial<RewriteOptions> = {}): RewriteOptions {
  return {
    send,
    reasons: ['unauthenticated-relay'],
    inboundMessageId: 'inbound-0001',
    dkim: NO_DKIM,
    ...over,
  };
}

/** Field names of the output's header block, in order (lower-cased). */
function names(raw: Buffer): string[] {
  return headerFields(splitMessage(raw).header).map((f) => f.name);
}

/** The raw text of every field named `name` (case-insensitive). */
function fieldsNamed(raw: Buffer, name: string): string[] {
  return headerFields(splitMessage(raw).header)
    .filter((f) => f.name === name.toLowerCase())
    .map((f) => f.bytes.toString('utf8'));
}

const DKIM_A = 'DKIM-Signature: v=1; a=rsa-sha256; d=third-party.test; s=s1; bh=AAAA; b=BBBB';
const DKIM_B = 'DKIM-Signature: v=1; a=rsa-sha256; d=example.com;\r\n s=sel2; bh=CCCC; b=DDDD';
const DKIM_C = 'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel3; bh=EEEE; b=FFFF';

interface Case {
  name: string;
  raw: Buffer;
  opts: RewriteOptions;
  check: (out: Buffer, raw: Buffer) => void;
}

const cases: Case[] = [
  {
    name: 'rewritten From: one From, Reply-To, X-Original-From, trace fields on top, no DKIM-Signature',
    raw: message({ from: 'Alice Sender <alice@sender.test>', headers: [DKIM_A, DKIM_B] }),
    opts: opts(REWRITTEN, { reasons: ['unauthenticated-relay', 'srs-rewritten'] }),
    check: (out) => {
      assert.deepEqual(names(out).slice(0, 7), [
        'return-path',
        'x-outbound-pool',
        'x-outbound-pool-reasons',
        'x-outbound-pool-inbound-id',
        'from',
        'reply-to',
        'x-original-from',
      ]);
      const h = parseHeaders(out);
      assert.deepEqual(h.getAll('from'), ['"Alice Sender via example.com" <alias@example.com>']);
      assert.deepEqual(h.getAll('reply-to'), ['"Alice Sender" <alice@sender.test>']);
      assert.equal(h.get('x-original-from'), 'Alice Sender <alice@sender.test>');
      assert.equal(h.get('return-path'), '<SRS0=abcd=XY=sender.test=alice@fwd.example.com>');
      assert.equal(h.get('x-outbound-pool'), 'relay');
      assert.equal(h.get('x-outbound-pool-reasons'), 'unauthenticated-relay, srs-rewritten');
      assert.equal(h.get('x-outbound-pool-inbound-id'), 'inbound-0001');
      assert.equal(h.getAll('dkim-signature').length, 0);
    },
  },
  {
    name: 'rewritten From replaces every From and any Reply-To, and carries all original authors',
    raw: message({
      from: 'Alice <alice@sender.test>',
      headers: ['Reply-To: Someone Else <else@sender.test>', 'From: Carol <carol@sender.test>'],
    }),
    opts: opts(REWRITTEN),
    check: (out) => {
      const h = parseHeaders(out);
      assert.equal(h.getAll('from').length, 1);
      assert.deepEqual(h.getAll('reply-to'), ['"Alice Sender" <alice@sender.test>']);
      assert.equal(h.get('x-original-from'), 'Carol <carol@sender.test>, Alice <alice@sender.test>');
    },
  },
  {
    name: 'rewritten From with no Reply-To to set: existing Reply-To dropped, none written',
    raw: message({ headers: ['Reply-To: <else@sender.test>'] }),
    opts: opts({ ...REWRITTEN, replyTo: null }),
    check: (out) => assert.deepEqual(parseHeaders(out).getAll('reply-to'), []),
  },
  {
    name: 'rewritten From drops Sender (SES checks it too) and carries it in X-Original-Sender',
    raw: message({ headers: ['Sender: list-owner@sender.test'] }),
    opts: opts(REWRITTEN),
    check: (out) => {
      const h = parseHeaders(out);
      assert.equal(h.get('sender'), undefined);
      assert.equal(h.get('x-original-sender'), 'list-owner@sender.test');
    },
  },
  {
    name: 'rewritten From of a message without From: From written after the trace fields',
    raw: message({ from: null }),
    opts: opts(REWRITTEN),
    check: (out) => {
      assert.equal(names(out)[4], 'from');
      assert.equal(parseHeaders(out).get('x-original-from'), undefined);
    },
  },
  {
    name: 'kept From: the aligned passing signature is kept, the others dropped',
    raw: message({ from: 'Bob <bob@example.com>', headers: [DKIM_A, DKIM_B, DKIM_C] }),
    opts: opts(KEPT, {
      dkim: {
        signatures: [
          { domain: 'third-party.test', selector: 's1', result: 'pass', aligned: false },
          { domain: 'example.com', selector: 'sel2', result: 'fail', aligned: true },
          { domain: 'example.com', selector: 'sel3', result: 'pass', aligned: true },
        ],
        alignedPass: true,
        temperror: false,
      },
    }),
    check: (out) => {
      assert.deepEqual(fieldsNamed(out, 'dkim-signature'), [`${DKIM_C}\r\n`]);
      assert.deepEqual(fieldsNamed(out, 'from'), ['From: Bob <bob@example.com>\r\n']);
    },
  },
  {
    name: 'kept From without an aligned pass: the first signature is kept (folded bytes intact)',
    raw: message({ from: 'Bob <bob@example.com>', headers: [DKIM_B, DKIM_A] }),
    opts: opts(KEPT, {
      dkim: {
        signatures: [
          { domain: 'example.com', selector: 'sel2', result: 'fail', aligned: true },
          { domain: 'third-party.test', selector: 's1', result: 'pass', aligned: false },
        ],
        alignedPass: false,
        temperror: false,
      },
    }),
    check: (out) => assert.deepEqual(fieldsNamed(out, 'dkim-signature'), [`${DKIM_B}\r\n`]),
  },
  {
    name: 'kept From: two signatures with the same d= and s= are told apart by order',
    raw: message({ from: 'Bob <bob@example.com>', headers: [DKIM_C, `${DKIM_C.replace('FFFF', 'GGGG')}`] }),
    opts: opts(KEPT, {
      dkim: {
        signatures: [
          { domain: 'example.com', selector: 'sel3', result: 'fail', aligned: true },
          { domain: 'example.com', selector: 'sel3', result: 'pass', aligned: true },
        ],
        alignedPass: true,
        temperror: false,
      },
    }),
    check: (out) =>
      assert.deepEqual(fieldsNamed(out, 'dkim-signature'), [`${DKIM_C.replace('FFFF', 'GGGG')}\r\n`]),
  },
  {
    name: 'every X-SES-* field is dropped, whatever its case, spacing or folding',
    raw: message({
      headers: [
        'X-SES-CONFIGURATION-SET: attacker-pool',
        'X-SES-MESSAGE-TAGS: pool=normal',
        'x-ses-source-arn: arn:aws:ses:us-east-1:111111111111:identity/evil.test',
        'X-SES-FROM-ARN: arn:aws:ses:us-east-1:111111111111:identity/evil.test',
        'X-SES-RETURN-PATH-ARN: arn:aws:ses:us-east-1:111111111111:identity/evil.test',
        'X-SES-LIST-MANAGEMENT-OPTIONS: list; topic=news',
        'X-SES-CONFIGURATION-SET : spaced',
        'X-Ses-Configuration-Set:\r\n folded',
        'X-SES-RECEIPT: AEFBQUFB',
        'X-SES-Spam-Verdict: PASS',
      ],
    }),
    opts: opts(REWRITTEN),
    check: (out) => {
      assert.deepEqual(
        names(out).filter((n) => n.startsWith('x-ses')),
        [],
      );
      assert.doesNotMatch(splitMessage(out).header.toString(), /attacker|spaced|folded|pool=normal/);
    },
  },
  {
    name: 'inbound Return-Path and forged trace fields are replaced by ours',
    raw: message({
      headers: [
        'Return-Path: <attacker@evil.test>',
        'X-Outbound-Pool: normal',
        'X-Outbound-Pool-Reasons: spf-pass',
      ],
    }),
    opts: opts(KEPT, { reasons: ['accepted-domain', 'spf-pass'] }),
    check: (out) => {
      const h = parseHeaders(out);
      assert.deepEqual(h.getAll('return-path'), ['<bob@example.com>']);
      assert.deepEqual(h.getAll('x-outbound-pool'), ['normal']);
      assert.deepEqual(h.getAll('x-outbound-pool-reasons'), ['accepted-domain, spf-pass']);
    },
  },
  {
    name: 'a null envelope sender is written as Return-Path: <>',
    raw: message(),
    opts: opts({ ...KEPT, envelopeFrom: '' }),
    check: (out) => assert.equal(parseHeaders(out).get('return-path'), '<>'),
  },
  {
    name: 'bare-LF message: the fields we write end with LF as well',
    raw: Buffer.from('From: Alice <alice@sender.test>\nTo: alias@example.com\nSubject: x\n\nbody\nline\n'),
    opts: opts(REWRITTEN),
    check: (out) => {
      assert.equal(splitMessage(out).header.includes(0x0d), false);
      assert.equal(splitMessage(out).separator.toString(), '\n');
      assert.equal(parseHeaders(out).get('from'), REWRITTEN.from);
    },
  },
  {
    name: 'a message without an empty line is all header: the separator is added, the body stays empty',
    raw: Buffer.from('From: Alice <alice@sender.test>\r\nSubject: no body'),
    opts: opts(REWRITTEN),
    check: (out) => {
      const parts = splitMessage(out);
      assert.equal(parts.separator.toString(), '\r\n');
      assert.equal(parts.body.length, 0);
      assert.match(parts.header.toString(), /\r\nSubject: no body\r\n$/);
    },
  },
  {
    name: 'a message that starts with the empty line keeps its whole body',
    raw: Buffer.from('\r\nFrom: not a header\r\n'),
    opts: opts(REWRITTEN),
    check: (out) => {
      assert.equal(splitMessage(out).body.toString(), 'From: not a header\r\n');
      assert.equal(parseHeaders(out).getAll('from').length, 1);
    },
  },
  {
    name: '8-bit header bytes of kept fields are copied unchanged',
    raw: Buffer.concat([
      Buffer.from('From: Bob <bob@example.com>\r\nSubject: caf'),
      Buffer.from([0xe9, 0x20, 0xc3, 0xa9, 0xff]),
      Buffer.from('\r\nTo: alias@example.com\r\n\r\nbody\r\n'),
    ]),
    opts: opts(KEPT),
    check: (out, raw) => {
      const subject = (b: Buffer) =>
        headerFields(splitMessage(b).header).find((f) => f.name === 'subject')?.bytes;
      assert.deepEqual(subject(out), subject(raw));
    },
  },
  {
    // A parser that ends lines at a bare CR reads what follows as a field, or (not one) as the
    // end of the header block: only a bare CR before WSP, a continuation for all, is kept.
    name: 'a field hiding a bare CR not followed by WSP is dropped (no X-SES smuggled past us)',
    raw: message({
      headers: ['X-Note: hi\rX-SES-CONFIGURATION-SET: evil', 'X-Drop: a\rb', 'X-Keep: a\r b'],
    }),
    opts: opts(KEPT),
    check: (out) => {
      assert.doesNotMatch(splitMessage(out).header.toString('latin1'), /X-SES/i);
      assert.equal(fieldsNamed(out, 'x-drop').length, 0);
      assert.equal(fieldsNamed(out, 'x-keep').length, 1);
    },
  },
  {
    name: 'continuation lines before the first field are dropped (they would extend our trace field)',
    raw: Buffer.from(' X-SES-CONFIGURATION-SET: evil\r\nFrom: Bob <bob@example.com>\r\n\r\nbody'),
    opts: opts(KEPT),
    check: (out) => {
      assert.equal(parseHeaders(out).get('x-outbound-pool-inbound-id'), 'inbound-0001');
      assert.doesNotMatch(out.toString(), /evil/);
    },
  },
  {
    name: 'SES single-instance fields keep their first occurrence only',
    raw: message({
      from: 'Bob <bob@example.com>',
      headers: ['Delivered-To: first@example.com', 'Delivered-To: second@example.com', 'Subject: first'],
    }),
    opts: opts(KEPT),
    check: (out) => {
      const h = parseHeaders(out);
      assert.deepEqual(h.getAll('delivered-to'), ['first@example.com']);
      assert.deepEqual(h.getAll('subject'), ['first']);
      assert.equal(h.get('received'), undefined);
    },
  },
  {
    name: 'fields that may repeat (Received) are all kept, in order',
    raw: message({ headers: ['Received: from a by b', 'Received: from c by d'] }),
    opts: opts(KEPT),
    check: (out) => assert.deepEqual(parseHeaders(out).getAll('received'), ['from a by b', 'from c by d']),
  },
  {
    name: 'kept From whose only From field was dropped: the planned From is written',
    raw: message({ from: 'Bob <bob@example.com>\rBcc: x@evil.test' }),
    opts: opts(KEPT),
    check: (out) => assert.deepEqual(parseHeaders(out).getAll('from'), ['"Bob" <bob@example.com>']),
  },
  {
    name: 'hostile values are sanitised: no CR/LF injection from send options or the inbound id',
    raw: message(),
    opts: opts(
      {
        ...REWRITTEN,
        from: '"Eve\r\nX-SES-CONFIGURATION-SET: x" <alias@example.com>',
        replyTo: 'eve@evil.test\r\nBcc: victim@remote.test',
        envelopeFrom: 'a@b.test>\r\nX-SES-FROM-ARN: y',
      },
      { inboundMessageId: 'id\r\nX-SES-MESSAGE-TAGS: z\u0000\u0085' },
    ),
    check: (out) => {
      assert.deepEqual(
        names(out).filter((n) => n.startsWith('x-ses') || n === 'bcc'),
        [],
      );
      assert.equal(parseHeaders(out).get('x-outbound-pool-inbound-id'), 'id X-SES-MESSAGE-TAGS: z');
    },
  },
  {
    name: 'a very long original From is folded within 998 octets',
    raw: message({ from: `${'Very '.repeat(400)}Long <alice@sender.test>` }),
    opts: opts(REWRITTEN),
    check: (out) => {
      for (const line of splitMessage(out).header.toString().split('\r\n')) {
        assert.ok(Buffer.byteLength(line) <= 998);
      }
      assert.equal(
        parseHeaders(out).get('x-original-from'),
        `${'Very '.repeat(400)}Long <alice@sender.test>`,
      );
    },
  },
];

describe('rewriteMessage', () => {
  for (const c of cases) {
    it(c.name, () => {
      // Prepare
      const raw = c.raw;
      // Act
      const out = rewriteMessage(raw, c.opts);
      // Assess
      assert.deepEqual(splitMessage(out).body, splitMessage(raw).body);
      c.check(out, raw);
    });
  }

  it('keeps the kept DKIM signature valid (only fields it does not sign change)', async () => {
    // Prepare
    const key = dkimKey('example.com');
    const resolver = zoneResolver(zones([key]));
    const raw = await sign(
      message({
        from: 'Bob <bob@example.com>',
        headers: ['X-SES-CONFIGURATION-SET: x', 'Return-Path: <a@b.test>'],
      }),
      key,
    );
    const dkim = await evaluateDkim(raw, 'example.com', resolver, NOW);
    // Act
    const out = rewriteMessage(raw, opts(KEPT, { dkim }));
    // Assess
    const after = await evaluateDkim(out, 'example.com', resolver, NOW);
    assert.equal(after.alignedPass, true);
    assert.equal(after.signatures.length, 1);
  });

  it('writes one loop marker per route on top, keeps markers that arrived, drops forged trace fields', () => {
    // Prepare: the message came round once already (an earlier marker) and forges a trace field.
    const raw = message({
      headers: ['X-Outbound-Pools-Loop: team@example.com; AAAAAAAAAAAAAAAA', 'X-Outbound-Pool: normal'],
    });
    // Act
    const out = rewriteMessage(
      raw,
      opts(REWRITTEN, { loopMarkers: ['alias@example.com; BBBBBBBBBBBBBBBB'] }),
    );
    // Assess
    const h = parseHeaders(out);
    assert.deepEqual(h.getAll('x-outbound-pools-loop'), [
      'alias@example.com; BBBBBBBBBBBBBBBB',
      'team@example.com; AAAAAAAAAAAAAAAA',
    ]);
    assert.deepEqual(h.getAll('x-outbound-pool'), ['relay']);
    assert.deepEqual(names(out).slice(0, 5), [
      'return-path',
      'x-outbound-pool',
      'x-outbound-pool-reasons',
      'x-outbound-pool-inbound-id',
      'x-outbound-pools-loop',
    ]);
  });

  it('drops an inbound Authentication-Results that claims our authserv-id, keeps the others (RFC 8601 5)', () => {
    // Prepare: a sender-written result under our id (with a comment and a version before the
    // `;`, as RFC 8601 2.2 allows), and one of SES's.
    const raw = message({
      headers: [
        'Authentication-Results: (forged) FWD.example.com 1; dkim=pass header.d=paypal.test; dmarc=pass',
        'Authentication-Results: fwd.example.com;\r\n spf=pass smtp.mailfrom=paypal.test',
        'Authentication-Results: amazonses.com; spf=fail smtp.mailfrom=attacker.test',
      ],
    });
    for (const send of [KEPT, REWRITTEN]) {
      // Act
      const out = rewriteMessage(raw, opts(send, { authservId: 'fwd.example.com' }));
      // Assess
      assert.deepEqual(parseHeaders(out).getAll('authentication-results'), [
        'amazonses.com; spf=fail smtp.mailfrom=attacker.test',
      ]);
    }
    // Without an authserv-id (no such option given) nothing is dropped.
    assert.equal(parseHeaders(rewriteMessage(raw, opts(KEPT))).getAll('authentication-results').length, 3);
  });

  const invalid: { name: string; raw: unknown; opts: RewriteOptions }[] = [
    { name: 'a raw message that is not a Buffer', raw: 'From: x', opts: opts(KEPT) },
    {
      name: 'a rewritten From with nothing to write',
      raw: message(),
      opts: opts({ ...REWRITTEN, from: '\r\n' }),
    },
  ];
  for (const c of invalid) {
    it(`rejects ${c.name}`, () => {
      // Prepare / Act / Assess
      assert.throws(() => rewriteMessage(c.raw as Buffer, c.opts), InvalidInputError);
    });
  }
});

describe('formatField', () => {
  const fold: { name: string; value: string; expected: string }[] = [
    { name: 'short value on one line', value: 'a b', expected: 'X: a b\r\n' },
    { name: 'control characters become single spaces', value: 'a\r\n\tb\u0000c', expected: 'X: a b c\r\n' },
    {
      name: 'folds at whitespace before 78 octets',
      value: `${'word '.repeat(20)}end`,
      expected: `X: ${'word '.repeat(14)}word\r\n ${'word '.repeat(5)}end\r\n`,
    },
    {
      name: 'never cuts an encoded-word',
      value: `${'x'.repeat(990)}=?UTF-8?Q?caf=C3=A9?=`,
      expected: `X: ${'x'.repeat(990)}\r\n =?UTF-8?Q?caf=C3=A9?=\r\n`,
    },
  ];
  for (const c of fold) {
    it(c.name, () => {
      // Prepare / Act
      const out = formatField('X', c.value);
      // Assess
      assert.equal(out, c.expected);
    });
  }
});

// --- Properties ---------------------------------------------------------------------------

/** Text with what breaks headers: CR, LF, NUL, 8-bit, C1 controls, encoded-word markers. */
const hostileChar = fc.oneof(
  fc.constantFrom(
    '\r',
    '\n',
    '\r\n',
    '\u0000',
    '\t',
    ' ',
    ':',
    ';',
    '"',
    '<',
    '>',
    '=?',
    '?=',
    'é',
    '\u0085',
    '\u2028',
  ),
  fc.constantFrom('X-SES-CONFIGURATION-SET: x', 'DKIM-Signature: d=x', 'From: a@b'),
  fc.string({ unit: 'binary', maxLength: 2 }),
  fc.string({ maxLength: 4 }),
);
const hostileText = fc.oneof(
  { weight: 4, arbitrary: fc.array(hostileChar, { maxLength: 30 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 900, maxLength: 2600 }) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.constantFrom('word', 'é', '=?UTF-8?Q?x?=', ' '), { minLength: 200, maxLength: 700 })
      .map((a) => a.join('')),
  },
);
const fieldName = fc.constantFrom(
  'From',
  'Reply-To',
  'Sender',
  'Subject',
  'DKIM-Signature',
  'dkim-signature',
  'X-SES-CONFIGURATION-SET',
  'x-ses-message-tags',
  'X-SES-FROM-ARN',
  'Return-Path',
  'X-Outbound-Pool',
  'Received',
  'X-Test',
);
const inputMessage = fc
  .record({
    fields: fc.array(fc.tuple(fieldName, hostileText), { maxLength: 12 }),
    eol: fc.constantFrom('\r\n', '\n'),
    body: fc.uint8Array({ maxLength: 200 }),
    separator: fc.boolean(),
  })
  .map(({ fields, eol, body, separator }) => {
    const header = fields.map(([n, v]) => `${n}: ${v}${eol}`).join('');
    return separator
      ? Buffer.concat([Buffer.from(header), Buffer.from(eol), Buffer.from(body)])
      : Buffer.from(header);
  });
const sendOptions = fc.record({
  send: fc.record({
    from: fc
      .tuple(hostileText, fc.constantFrom('alias@example.com', 'bob@example.com'))
      .map(([n, a]) => formatMailbox(n, a)),
    fromRewritten: fc.boolean(),
    replyTo: fc.option(hostileText, { nil: null }),
    envelopeFrom: hostileText,
    pool: fc.constantFrom(...POOLS),
  }),
  reasons: fc.subarray([...REASONS]),
  inboundMessageId: hostileText,
  dkim: fc.constant(NO_DKIM),
});

/** Line lengths in octets, without the line end. */
function lineLengths(buf: Buffer): number[] {
  const out: number[] = [];
  let start = 0;
  while (start <= buf.length) {
    const lf = buf.indexOf(0x0a, start);
    const end = lf < 0 ? buf.length : lf;
    out.push(end - start - (end > start && buf[end - 1] === 0x0d ? 1 : 0));
    if (lf < 0) break;
    start = lf + 1;
  }
  return out;
}

const WRITTEN = new Set([
  'return-path',
  'x-outbound-pool',
  'x-outbound-pool-reasons',
  'x-outbound-pool-inbound-id',
  'x-original-from',
  'x-original-sender',
]);

describe('rewriteMessage properties', () => {
  it('never changes the body', () => {
    fc.assert(
      fc.property(inputMessage, sendOptions, (raw, o) => {
        // Prepare / Act
        const out = rewriteMessage(raw, o);
        // Assess
        assert.deepEqual(splitMessage(out).body, splitMessage(raw).body);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every line within 998 octets when the input did', () => {
    fc.assert(
      fc.property(inputMessage, sendOptions, (raw, o) => {
        // Prepare
        fc.pre(lineLengths(raw).every((n) => n <= 998));
        // Act
        const out = rewriteMessage(raw, o);
        // Assess
        for (const n of lineLengths(out)) assert.ok(n <= 998, `line of ${n} octets`);
      }),
      { numRuns: 300 },
    );
  });

  it('writes fields with no CR or LF outside a proper fold', () => {
    fc.assert(
      fc.property(inputMessage, sendOptions, (raw, o) => {
        // Prepare
        const e = lineEnding(splitMessage(raw)) === '\r\n' ? '\\r\\n' : '\\n';
        const shape = new RegExp(`^[A-Za-z-]+:(?: [^\\r\\n]+)?(?:${e} [^\\r\\n ][^\\r\\n]*)*${e}$`, 'u');
        // Act
        const out = rewriteMessage(raw, o);
        // Assess
        const written = headerFields(splitMessage(out).header).filter(
          (f) =>
            WRITTEN.has(f.name) || (o.send.fromRewritten && (f.name === 'from' || f.name === 'reply-to')),
        );
        for (const f of written) assert.match(f.bytes.toString('utf8'), shape);
        assert.equal(written.filter((f) => f.name === 'return-path').length, 1);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves at most one DKIM-Signature and no X-SES-* field', () => {
    fc.assert(
      fc.property(inputMessage, sendOptions, (raw, o) => {
        // Prepare / Act
        const out = rewriteMessage(raw, o);
        // Assess
        const fields = headerFields(splitMessage(out).header);
        assert.ok(fields.filter((f) => f.name === 'dkim-signature').length <= 1);
        assert.equal(fields.filter((f) => f.name.startsWith('x-ses-')).length, 0);
        assert.doesNotMatch(splitMessage(out).header.toString('latin1'), /\rx-ses-/i);
      }),
      { numRuns: 300 },
    );
  });
});
