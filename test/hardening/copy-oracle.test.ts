/**
 * Independent oracles for the copy's header block (issue 13, "Parser mismatch"): every
 * composed copy, re-parsed by mailparser *and* by a strict CRLF splitter written here from
 * RFC 5322 alone, shows exactly the header fields our own view (`parseHeaders`) shows, in
 * the same order; no `X-SES-*`, no `Bcc`, and no field the rewrite did not mean to write.
 *
 * The header blocks are generated (fast-check, 10,000+) from what breaks parsers: control
 * characters (VT, FF, NUL, DEL before the colon), bare CR and bare LF, a bare LF-LF inside a
 * CRLF message followed by `Bcc:` and `X-SES-CONFIGURATION-SET:` lines, 8-bit bytes, lines of
 * thousands of octets, folded encoded-words, and the fields a sender must not control.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { simpleParser } from 'mailparser';
import { composeCopy } from '../../functions/core/compose/copy.js';
import { type RewriteOptions, rewriteHeader } from '../../functions/core/compose/rewrite.js';
import { classify, decide } from '../../functions/core/decide.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { parseHeaders } from '../../functions/core/message.js';
import { parseReceiptEvent } from '../../functions/core/ses-event.js';
import { dkimKey, NOW, sesEvent, testConfig, zones } from '../helpers/mail.js';

// --- the strict splitter (the oracle we own) ----------------------------------------------------

interface StrictView {
  /** Field names, lower-cased, in order; `!` for a line that is neither field nor continuation. */
  names: string[];
  /** Offset of the first body byte (after CRLF CRLF), -1 when the header never ends. */
  bodyStart: number;
}

/**
 * RFC 5322 read strictly: a line ends at CRLF and nowhere else (a bare CR or LF is a byte of
 * the line); the header ends at the first empty line; a field is `ftext+ ":"` at the start of
 * a line (section 3.6.8, no WSP before the colon); a line starting with WSP continues the
 * field above; anything else is no field, reported as `!` so that a test sees it.
 */
function strictSplit(copy: Buffer): StrictView {
  const text = copy.toString('latin1');
  const names: string[] = [];
  let pos = 0;
  while (pos < text.length) {
    const end = text.indexOf('\r\n', pos);
    if (end < 0) return { names, bodyStart: -1 };
    const line = text.slice(pos, end);
    pos = end + 2;
    if (line === '') return { names, bodyStart: pos };
    if (line[0] === ' ' || line[0] === '\t') {
      if (names.length === 0) names.push('!');
      continue;
    }
    const m = /^([\x21-\x39\x3b-\x7e]+):/.exec(line);
    names.push(m ? m[1]!.toLowerCase() : '!');
  }
  return { names, bodyStart: -1 };
}

// --- the generated header blocks -----------------------------------------------------------------

const NAMES = [
  'From',
  'To',
  'Cc',
  'Subject',
  'Bcc',
  'BCC',
  'X-SES-CONFIGURATION-SET',
  'x-ses-message-tags',
  'Return-Path',
  'Sender',
  'Reply-To',
  'DKIM-Signature',
  'Received',
  'X-Outbound-Pool',
  'Content-Type',
  'Message-ID',
  'X-Custom',
  'Comments',
];
const fieldName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...NAMES) },
  // A name followed by a control character before the colon, or 8-bit / WSP in the name.
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...NAMES),
        fc.constantFrom('\x0b', '\x0c', '\x00', '\x7f', '\x01', '\xe9', ' ', '\t'),
      )
      .map(([n, c]) => `${n}${c}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t', '\xff\xfe', 'No colon here') },
);
const separator = fc.constantFrom(': ', ':', ' : ', '\t:', ':\t');
const valuePiece = fc.oneof(
  { weight: 5, arbitrary: fc.string({ maxLength: 20 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'x')) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '\r',
      '\n',
      '\r\n ',
      '\r\n\t',
      '\n ',
      '\n\nBcc: hidden@victim.test\r\nX-SES-CONFIGURATION-SET: attacker\r\n',
      '\rBcc: cr@victim.test',
      '\r\nX-SES-SOURCE-ARN: arn\r\n',
      '\r\n',
      '\x00',
      '\x0b',
      '\x7f',
      '\u0085',
      '=?UTF-8?B?SGVsbG8gV29ybGQ=?=\r\n =?UTF-8?Q?caf=C3=A9?=',
      '=?ISO-8859-1?Q?Andr=E9?= <a@b.test>',
      '<alice@sender.test>',
      'Alice <alice@sender.test>',
    ),
  },
  {
    weight: 2,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12 }).map((b) => Buffer.from(b).toString('latin1')),
  },
  { weight: 1, arbitrary: fc.integer({ min: 900, max: 3000 }).map((n) => 'L'.repeat(n)) },
);
const lineEnd = fc.oneof(
  { weight: 8, arbitrary: fc.constant('\r\n') },
  { weight: 2, arbitrary: fc.constantFrom('\n', '\r\r\n', '\n\n', '\r') },
);
const field = fc
  .tuple(fieldName, separator, fc.array(valuePiece, { maxLength: 6 }), lineEnd)
  .map(([n, s, v, e]) => `${n}${s}${v.join('')}${e}`);
/** A header block: one ordinary CRLF field first (so the copy is CRLF), then hostile ones. */
const headerBlock = fc
  .array(field, { minLength: 1, maxLength: 12 })
  .map((fields) =>
    Buffer.from(
      `Received: from mx.sender.test\r\n${fields.join('')}\r\nBcc: body@victim.test\r\nX-SES-CONFIGURATION-SET: body\r\n\r\nbody\r\n`,
      'latin1',
    ),
  );

// --- checks ----------------------------------------------------------------------------------------

/** The fields the rewrite writes itself; any other field of the copy came from the message. */
const WRITTEN = new Set([
  'return-path',
  'x-outbound-pool',
  'x-outbound-pool-reasons',
  'x-outbound-pool-inbound-id',
  'from',
  'reply-to',
  'x-original-from',
  'x-original-sender',
  'arc-seal',
  'arc-message-signature',
  'arc-authentication-results',
  // SPEC 2a: our loop marker, one per route the copy is sent for (core/loop.ts).
  'x-outbound-pools-loop',
]);

async function checkCopy(original: Buffer, copy: Buffer, headerLength: number) {
  const ours = parseHeaders(copy).fields.map((f) => f.key);
  // The strict CRLF reading: same fields, same order, same end of the header block.
  const strict = strictSplit(copy);
  assert.deepEqual(strict.names, ours, 'strict CRLF splitter');
  assert.equal(strict.bodyStart, headerLength, 'the header block ends where we ended it');
  // mailparser: same fields, same order.
  const parsed = await simpleParser(copy, {
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipImageLinks: true,
  });
  assert.deepEqual(
    parsed.headerLines.map((h) => h.key),
    ours,
    'mailparser',
  );
  // Nothing a sender may not control, nothing we did not mean to write.
  const originalNames = new Set(parseHeaders(original).fields.map((f) => f.key));
  for (const name of ours) {
    assert.ok(!name.startsWith('x-ses-'), `no ${name}`);
    assert.notEqual(name, 'bcc');
    assert.ok(WRITTEN.has(name) || originalNames.has(name), `${name} was neither written nor in the message`);
  }
}

const DKIM = { signatures: [], alignedPass: false, temperror: false };
const sendFor = (fromRewritten: boolean): RewriteOptions['send'] => ({
  from: fromRewritten ? '"Alice via example.com" <alias@example.com>' : 'alice@sender.test',
  fromRewritten,
  replyTo: fromRewritten ? '"Alice" <alice@sender.test>' : null,
  envelopeFrom: 'SRS0=abcd=XY=sender.test=alice@fwd.example.com',
  pool: 'relay',
});

describe('copy oracle: mailparser and a strict CRLF splitter see exactly our fields', () => {
  it('10,000 generated header blocks, rewritten (From rewritten and kept)', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(headerBlock, fc.boolean(), async (raw, fromRewritten) => {
        runs++;
        const composed = rewriteHeader(raw, {
          send: sendFor(fromRewritten),
          reasons: ['unauthenticated-relay'],
          inboundMessageId: 'inbound-1',
          dkim: DKIM,
        });
        await checkCopy(raw, Buffer.concat([composed.header, composed.body]), composed.header.length);
      }),
      { numRuns: 10_000 },
    );
    assert.equal(runs, 10_000);
  });

  it('the copies the router composes (decision, rewrite, ARC seal) pass the same oracles', async () => {
    const key = dkimKey('fwd.example.com', 'arc1', 1024);
    const resolver = zoneResolver(zones([key]));
    const config = testConfig();
    const received = parseReceiptEvent(sesEvent({ spf: 'FAIL' }));
    await fc.assert(
      fc.asyncProperty(headerBlock, async (raw) => {
        const c = await classify({ received, raw, config, resolver, now: NOW });
        const d = decide(c, {}, config, NOW);
        for (const send of d.sends) {
          const copy = await composeCopy(
            send,
            raw,
            {
              messageId: 'inbound-1',
              receivedAt: NOW.toISOString(),
              recipients: ['alias@example.com'],
              reasons: d.reasons,
            },
            c,
            { config, arcKey: key, resolver },
            NOW,
          );
          if (send.kind === 'ndr') continue; // built from scratch; its own tests cover it
          await checkCopy(raw, copy, copy.indexOf('\r\n\r\n') + 4);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the shapes of the issue, by hand: VT/NUL/DEL before the colon, LF-LF in a CRLF message', async () => {
    const raw = Buffer.from(
      'Received: x\r\nFrom: a@sender.test\r\nX-SES-CONFIGURATION-SET\x0b: attacker\r\nBcc\x00: hidden@victim.test\r\n' +
        'Subject\x7f: s\r\nTo: alias@example.com\r\nX-A: 1\n\nBcc: lf@victim.test\r\nX-SES-CONFIGURATION-SET: lf\r\n\r\nbody\r\n',
      'latin1',
    );
    const composed = rewriteHeader(raw, {
      send: sendFor(false),
      reasons: ['unauthenticated-relay'],
      inboundMessageId: 'i',
      dkim: DKIM,
    });
    const copy = Buffer.concat([composed.header, composed.body]);
    await checkCopy(raw, copy, composed.header.length);
    const header = composed.header.toString('latin1');
    assert.doesNotMatch(header, /attacker|hidden@victim|Subject\x7f|lf@victim/);
    assert.match(header, /\r\nX-A: 1\r\n\r\n$/, 'the bare LF-LF is written as CRLF CRLF');
  });
});
