/**
 * Fuzzing what a sender controls: the header block, the display names, the recipients, the
 * envelope sender and the DKIM signatures, through the parsers (`message.ts`), the decision,
 * the rewrite and the ARC seal. Complements the properties of `test/core/` (rewrite with
 * random options, decide with a fixed message, SRS round trips) with:
 *
 * - the parsers never throw and never return control characters where we write them;
 * - `parseHeaders` and the rewrite's `headerFields` see the same fields;
 * - `decideMessage` over arbitrary header blocks *and* recipients never plans a copy to an
 *   address no route produced, and the copies it plans, once rewritten and sealed, carry
 *   every field we add exactly once, well formed, with no CR/LF smuggled in;
 * - a tampered SRS address is refused.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type ArcSigningKey, arrivalResults, sealArc } from '../../functions/core/compose/arc.js';
import {
  headerFields,
  lineEnding,
  rewriteMessage,
  splitMessage,
} from '../../functions/core/compose/rewrite.js';
import { classify, decide } from '../../functions/core/decide.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { DnsTemporaryError, InvalidInputError } from '../../functions/core/errors.js';
import {
  domainOf,
  formatMailbox,
  parseContentType,
  parseHeaders,
  parseMailboxes,
} from '../../functions/core/message.js';
import { parseReceiptEvent } from '../../functions/core/ses-event.js';
import { Srs } from '../../functions/core/srs.js';
import { dkimKey, NOW, sesEvent, sign, testConfig, zones } from '../helpers/mail.js';

/** C0 and C1 controls, DEL and the Unicode line/paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** What can end or split a header line: C0 controls, DEL, U+2028/U+2029. */
const LINE_BREAKING = /[\u0000-\u001f\u007f\u2028\u2029]/;

// --- generators ---------------------------------------------------------------------------------

/** Pieces of header text that break naive parsers and writers. */
const hostilePiece = fc.oneof(
  fc.constantFrom(
    '\r\n',
    '\n',
    '\r',
    '\r\n ',
    '\r\n\t',
    '\u0000',
    '\u0085',
    '\u2028',
    ' ',
    '"',
    '\\',
    '<',
    '>',
    ',',
    ';',
    ':',
    '@',
    '(',
    ')',
    'é',
    '👍',
    '=?UTF-8?Q?a=0D=0ABcc:_x@evil.test?=',
    '=?UTF-8?B?DQpYLVNFUy1DT05GSUdVUkFUSU9OLVNFVDogeA==?=',
    '=?x?',
    '?=',
    'X-SES-CONFIGURATION-SET: outbound-normal',
    'Bcc: hidden@evil.test',
    'undisclosed-recipients:;',
    'group: a@b.test, c@d.test;',
    'alice@sender.test',
    'bob@example.com',
    '"Quoted, Name" <q@sender.test>',
  ),
  fc.string({ unit: 'binary', maxLength: 3 }),
  fc.string({ maxLength: 6 }),
);
const hostileText = fc.array(hostilePiece, { maxLength: 12 }).map((p) => p.join(''));

const FIELD_NAMES = [
  'From',
  'from',
  'Reply-To',
  'Sender',
  'To',
  'Cc',
  'Bcc',
  'Subject',
  'Return-Path',
  'Content-Type',
  'DKIM-Signature',
  'ARC-Seal',
  'X-SES-CONFIGURATION-SET',
  'X-Outbound-Pool',
  'Received',
  'Message-ID',
] as const;

/** A DKIM-Signature value with hostile tags (the domain and selector end up in results). */
const dkimValue = fc
  .record({ d: hostileText, s: hostileText, extra: hostileText })
  .map(({ d, s, extra }) => `v=1; a=rsa-sha256; d=${d}; s=${s}; h=from:to; bh=AAAA; b=BBBB; ${extra}`);

/** A raw message: hostile fields with either line end, folding, sometimes no body. */
const rawMessage = fc
  .record({
    fields: fc.array(
      fc.oneof(
        { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...FIELD_NAMES), hostileText) },
        { weight: 1, arbitrary: fc.tuple(fc.constant('DKIM-Signature'), dkimValue) },
        {
          weight: 1,
          arbitrary: fc.tuple(
            fc.constant('Content-Type'),
            fc.constantFrom(
              'multipart/report; report-type=delivery-status; boundary="b"',
              'text/plain; charset="utf-8"; format=flowed',
              "text/plain; title*=utf-8''%E2%82%AC",
              'multipart/mixed; boundary=',
            ),
          ),
        },
      ),
      { maxLength: 10 },
    ),
    eol: fc.constantFrom('\r\n', '\n'),
    withFrom: fc.boolean(),
    body: fc.option(fc.uint8Array({ maxLength: 120 }), { nil: undefined }),
  })
  .map(({ fields, eol, withFrom, body }) => {
    const lines = fields.map(([n, v]) => `${n}: ${v}`);
    if (withFrom) lines.push('From: "Alice Sender" <alice@sender.test>');
    const header = lines.map((l) => `${l}${eol}`).join('');
    return body === undefined
      ? Buffer.from(header)
      : Buffer.concat([Buffer.from(header), Buffer.from(eol), Buffer.from(body)]);
  });

// --- the parsers --------------------------------------------------------------------------------

describe('hardening: MIME parsers never crash and never hand back control characters', () => {
  it('parseHeaders: any bytes give fields with valid names and unfolded values', () => {
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 400 }), rawMessage);
    fc.assert(
      fc.property(bytes, (raw) => {
        // Act
        const h = parseHeaders(raw);
        // Assess
        assert.ok(h.headerBytes <= raw.length);
        for (const f of h.fields) {
          assert.match(f.key, /^[\x21-\x39\x3b-\x7e]+$/);
          assert.equal(f.key, f.key.toLowerCase());
          assert.ok(!f.value.includes('\n'), 'a value never keeps a line feed');
        }
        for (const f of h.fields) assert.equal(h.get(f.key), h.getAll(f.key)[0]);
      }),
      { numRuns: 400 },
    );
  });

  it('parseHeaders sees the same fields as the rewrite (headerFields), whatever the bytes', () => {
    const leading = fc.constantFrom('', '', '', '\r\n', '\n', ' ', '\t');
    fc.assert(
      fc.property(leading, rawMessage, (lead, body) => {
        // Prepare: sometimes an empty or continuation line first (no header block at all).
        const raw = Buffer.concat([Buffer.from(lead), body]);
        // Act
        const parsed = parseHeaders(raw).fields.map((f) => f.key);
        const cut = headerFields(splitMessage(raw).header)
          .map((f) => f.name)
          .filter((n) => n !== '');
        // Assess
        assert.deepEqual(parsed, cut);
      }),
      { numRuns: 400 },
    );
  });

  it('a message that starts with an empty line has no header for the decision either (regression)', () => {
    // Found by the property above: the decision read a From the copy did not carry.
    const raw = Buffer.from('\r\nFrom: "CEO" <ceo@example.com>\r\n\r\nbody\r\n');
    assert.deepEqual(parseHeaders(raw).fields, []);
    assert.equal(splitMessage(raw).header.length, 0);
  });

  it('parseMailboxes: any text gives names and addresses without control characters or spaces', () => {
    const value = fc.oneof(hostileText, fc.string({ unit: 'binary', maxLength: 80 }));
    fc.assert(
      fc.property(value, (text) => {
        // Act
        const boxes = parseMailboxes(text);
        // Assess
        for (const m of boxes) {
          assert.doesNotMatch(m.name, CONTROL);
          assert.doesNotMatch(m.address, CONTROL);
          assert.doesNotMatch(m.address, /\s/);
          const d = domainOf(m.address);
          if (d !== undefined) assert.equal(d, d.toLowerCase());
        }
      }),
      { numRuns: 600 },
    );
  });

  it('parseMailboxes removes C1 control characters from display names too (regression)', () => {
    const [box] = parseMailboxes('=?UTF-8?Q?Eve=C2=85Bcc?= <eve@sender.test>');
    assert.equal(box?.name, 'Eve Bcc');
  });

  it('formatMailbox: a hostile display name stays one mailbox on one line, with our address', () => {
    const address = fc.constantFrom(
      'alias@example.com',
      'mailer-daemon@fwd.example.com',
      'a.b+c@example.org',
    );
    fc.assert(
      fc.property(hostileText, address, (name, addr) => {
        // Act
        const written = formatMailbox(name, addr);
        // Assess: nothing that ends a header line, and it parses back to exactly our address.
        assert.doesNotMatch(written, CONTROL);
        const back = parseMailboxes(written);
        assert.equal(back.length, 1, `${JSON.stringify(written)} parsed as ${JSON.stringify(back)}`);
        assert.equal(back[0]!.address, addr);
      }),
      { numRuns: 600 },
    );
  });

  it('parseContentType: any value is parsed or ignored, never thrown', () => {
    const value = fc.oneof(
      hostileText,
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc
        .tuple(
          fc.constantFrom('multipart/report', 'text/plain', '', 'a/b'),
          fc.array(
            fc.tuple(
              fc.constantFrom('charset', 'boundary', 'report-type', 'title*', 'x*0*', 'x*1', 'name*0'),
              fc.oneof(hostileText, fc.constantFrom("utf-8''%E2%82", "''%ZZ", '"unterminated', '""')),
            ),
            { maxLength: 4 },
          ),
        )
        .map(([t, ps]) => `${t}${ps.map(([k, v]) => `; ${k}=${v}`).join('')}`),
    );
    fc.assert(
      fc.property(value, (text) => {
        // Act
        const ct = parseContentType(text);
        // Assess
        if (ct === undefined) return;
        assert.equal(typeof ct.type, 'string');
        assert.equal(ct.type, ct.type.toLowerCase());
        for (const [k, v] of Object.entries(ct.params)) {
          assert.equal(k, k.toLowerCase());
          assert.equal(typeof v, 'string');
        }
      }),
      { numRuns: 600 },
    );
  });
});

// --- decide → rewrite → seal --------------------------------------------------------------------

const senderKey = dkimKey('sender.test');
const config = testConfig({
  routes: {
    'alias@example.com': ['dest@remote.test'],
    'team@example.com': ['ann@remote.test', 'bob@example.org'],
    '@example.org': ['catchall@remote.test'],
  },
  limits: {
    default: { externalPerHour: 1000, internalPerHour: 1000, perDay: 1000, recipientsPerMessage: 60 },
  },
});
const ed = generateKeyPairSync('ed25519');
const ARC_KEY: ArcSigningKey = {
  domain: 'fwd.example.com',
  selector: 'arc1',
  privateKey: ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
};
const ZONES = zones([senderKey], {
  'arc1._domainkey.fwd.example.com': {
    TXT: [
      `v=DKIM1; k=ed25519; p=${ed.publicKey.export({ type: 'spki', format: 'der' }).subarray(12).toString('base64')}`,
    ],
  },
});
const resolver = zoneResolver(ZONES);
const srs = new Srs(config.srs);

/** Recipients: routed, catch-all, unrouted, SRS bounces (valid and forged), hostile text. */
const recipient = fc.oneof(
  fc.constantFrom(
    'alias@example.com',
    'ALIAS@Example.COM',
    ' team@example.com ',
    'anyone@example.org',
    'nobody@example.com',
    'dest@remote.test',
    'x@fwd.example.com',
    'SRS0=abcd=JM=sender.test=alice@fwd.example.com',
    srs.forward('alice@sender.test', NOW),
    srs.forward('bob@elsewhere.test', NOW).toUpperCase(),
  ),
  fc
    .tuple(
      fc.stringMatching(/^[a-zA-Z0-9.+=_-]{1,12}$/),
      fc.constantFrom('example.com', 'example.org', 'remote.test', 'fwd.example.com'),
    )
    .map(([l, d]) => `${l}@${d}`),
  hostileText,
);
/** Envelope senders: SES accepted them in SMTP, so printable, but otherwise anything. */
const source = fc.oneof(
  fc.constantFrom(
    'alice@sender.test',
    'bob@example.com',
    '',
    '<>',
    '<alice@sender.test>',
    'eve@nowhere.test',
  ),
  fc.stringMatching(/^[\x21-\x7e]{0,30}$/),
  fc
    .tuple(
      fc.stringMatching(/^[\x21-\x3f\x41-\x7e]{1,12}$/),
      fc.constantFrom('example.com', 'sender.test', 'fwd.example.com'),
    )
    .map(([l, d]) => `${l}@${d}`),
);
const verdict = fc.constantFrom('PASS', 'FAIL', 'GRAY', 'PROCESSING_FAILED', 'DISABLED');

/** Our trace fields and the author fields we write: each at most once (or exactly once). */
const ONCE = ['return-path', 'x-outbound-pool', 'x-outbound-pool-reasons', 'x-outbound-pool-inbound-id'];
const AT_MOST_ONCE = ['from', 'reply-to', 'x-original-from', 'x-original-sender', 'dkim-signature'];

/** One field as we write it: `Name: value`, folded only before a space, one line end at the end. */
function assertWellFormed(bytes: Buffer, eol: '\r\n' | '\n', what: string): void {
  const e = eol === '\r\n' ? '\\r\\n' : '\\n';
  const shape = new RegExp(`^[A-Za-z-]+:(?: [^\\r\\n]+)?(?:${e}[ \\t][^\\r\\n]*)*${e}$`, 'u');
  const text = bytes.toString('utf8');
  assert.match(text, shape, `${what}: ${JSON.stringify(text)}`);
  assert.doesNotMatch(text.replace(/\r?\n[ \t]/g, ' ').replace(/\r?\n$/, ''), CONTROL, what);
}

describe('hardening: decide → rewrite → ARC seal over hostile headers and recipients', () => {
  it('never plans a copy to an address no route produced, and every field we add is single and well formed', async () => {
    await fc.assert(
      fc.asyncProperty(
        rawMessage,
        fc.array(recipient, { minLength: 1, maxLength: 5 }),
        source,
        verdict,
        verdict,
        fc.boolean(),
        async (raw0, recipients, src, spf, dmarc, signIt) => {
          // Prepare
          const raw = signIt ? await sign(raw0, senderKey).catch(() => raw0) : raw0;
          let received: ReturnType<typeof parseReceiptEvent>;
          try {
            received = parseReceiptEvent(
              sesEvent({ recipients, source: src, spf: spf as never, dmarc: dmarc as never }),
            );
          } catch (error) {
            assert.ok(error instanceof InvalidInputError);
            return;
          }
          // Act
          let c: Awaited<ReturnType<typeof classify>>;
          let d: ReturnType<typeof decide>;
          try {
            c = await classify({ received, raw, config, resolver, now: NOW });
            d = decide(c, {}, config, NOW);
          } catch (error) {
            // The documented typed errors only (a forged SRS envelope, an aligned DKIM key
            // lookup that cannot be answered).
            assert.ok(
              error instanceof InvalidInputError || error instanceof DnsTemporaryError,
              `unexpected ${(error as Error).name}: ${(error as Error).message}`,
            );
            return;
          }
          // Assess 1: only routed destinations, the sender (NDR) or a reversed SRS address.
          const expansion = new Set(
            recipients.flatMap((r) => {
              const key = r.trim().toLowerCase();
              return config.routes[key] ?? config.routes[`@${domainOf(key) ?? ''}`] ?? [];
            }),
          );
          const reversed = new Set(
            recipients.flatMap((r) => {
              const out = srs.reverse(r.trim().toLowerCase(), NOW);
              return out.ok ? [out.address] : [];
            }),
          );
          for (const s of d.sends) {
            assert.ok(s.to.length >= 1 && s.to.length <= 50);
            for (const to of s.to) {
              const allowed =
                (s.kind === 'forward' && expansion.has(to)) ||
                (s.kind === 'ndr' && to === c.envelopeSender) ||
                (s.kind === 'srs-bounce' && reversed.has(to));
              assert.ok(allowed, `${s.kind} to ${JSON.stringify(to)} for ${JSON.stringify(recipients)}`);
            }
            for (const v of [s.from, s.replyTo ?? '']) assert.doesNotMatch(v, CONTROL);
            assert.doesNotMatch(s.envelopeFrom, LINE_BREAKING);
          }
          // Assess 2: each copy as rewritten carries our fields once, well formed.
          for (const send of d.sends.filter((s) => s.kind !== 'ndr')) {
            const copy = rewriteMessage(raw, {
              send,
              reasons: d.reasons,
              inboundMessageId: received.mail.messageId,
              dkim: c.dkim,
            });
            const parts = splitMessage(copy);
            const eol = lineEnding(parts);
            const fields = headerFields(parts.header);
            const count = (n: string) => fields.filter((f) => f.name === n).length;
            for (const n of ONCE) assert.equal(count(n), 1, n);
            for (const n of AT_MOST_ONCE) assert.ok(count(n) <= 1, n);
            assert.equal(count('bcc'), 0);
            assert.ok(fields.every((f) => !f.name.startsWith('x-ses-')));
            const ours = fields.filter(
              (f) =>
                ONCE.includes(f.name) ||
                ['x-original-from', 'x-original-sender'].includes(f.name) ||
                (send.fromRewritten && (f.name === 'from' || f.name === 'reply-to')),
            );
            for (const f of ours) assertWellFormed(f.bytes, eol, f.name);
          }
        },
      ),
      { numRuns: 250 },
    );
  });

  it('the ARC set we add is three single, well-formed fields whatever the arrival results say', async () => {
    await fc.assert(
      fc.asyncProperty(rawMessage, source, fc.array(dkimValue, { maxLength: 2 }), async (raw0, src, sigs) => {
        // Prepare: hostile DKIM-Signature tags and envelope sender reach the ARC results.
        const raw = Buffer.concat([
          Buffer.from(sigs.map((s) => `DKIM-Signature: ${s}\r\n`).join('')),
          Buffer.from('From: "Alice" <alice@sender.test>\r\n'),
          raw0,
        ]);
        const received = parseReceiptEvent(sesEvent({ source: src }));
        let c: Awaited<ReturnType<typeof classify>>;
        try {
          c = await classify({ received, raw, config, resolver, now: NOW });
        } catch (error) {
          assert.ok(error instanceof InvalidInputError || error instanceof DnsTemporaryError);
          return;
        }
        // Act
        let sealed: Awaited<ReturnType<typeof sealArc>>;
        try {
          sealed = await sealArc(raw, {
            key: ARC_KEY,
            authservId: 'fwd.example.com',
            results: arrivalResults(c),
            resolver,
            now: NOW,
          });
        } catch (error) {
          assert.ok(error instanceof InvalidInputError, `unexpected ${(error as Error).message}`);
          return;
        }
        if (!sealed.sealed) return;
        // Assess
        const added = headerFields(sealed.message.subarray(0, sealed.message.length - raw.length));
        assert.deepEqual(
          added.map((f) => f.name),
          ['arc-seal', 'arc-message-signature', 'arc-authentication-results'],
        );
        const eol = lineEnding(splitMessage(raw));
        for (const f of added) assertWellFormed(f.bytes, eol, f.name);
        assert.doesNotMatch(sealed.authResults, CONTROL);
      }),
      { numRuns: 80 },
    );
  });
});

// --- SRS -----------------------------------------------------------------------------------------

describe('hardening: SRS addresses cannot be altered', () => {
  const local = fc.stringMatching(/^[a-z0-9][a-z0-9.+_-]{0,10}$/);
  const domain = fc.stringMatching(/^[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){1,2}$/);

  it('any single-character change to an SRS0 address (other than case or the separator) is refused', () => {
    fc.assert(
      fc.property(local, domain, fc.nat(), fc.constantFrom(...'abcXYZ019=+-._@'), (l, d, pos, ch) => {
        // Prepare
        const address = srs.forward(`${l}@${d}`, NOW);
        const at = address.lastIndexOf('@');
        const i = pos % at; // only the local part: the SRS domain is not checked
        const original = address[i]!;
        fc.pre(ch.toLowerCase() !== original.toLowerCase());
        fc.pre(!(i === 4 && '=+-'.includes(ch))); // any separator may follow SRS0
        // Boundary shifts between domain and local part keep the hash: the SRS0 hash covers
        // TT + domain + local with no separator (postsrsd-compatible; README, known limitations).
        fc.pre(!(ch === '=' || original === '='));
        const tampered = `${address.slice(0, i)}${ch}${address.slice(i + 1)}`;
        // Act
        const out = srs.reverse(tampered, NOW);
        // Assess
        assert.equal(out.ok, false, `${tampered} reversed to ${out.ok ? out.address : ''}`);
      }),
      { numRuns: 1000 },
    );
  });
});
