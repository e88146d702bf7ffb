import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  buildNdr,
  MAX_ORIGINAL_HEADER_BYTES,
  type NdrOptions,
  quotedPrintable,
  refusalStatus,
  statusFor,
} from '../../../functions/core/compose/ndr.js';
import { headerFields, splitMessage } from '../../../functions/core/compose/rewrite.js';
import { classify } from '../../../functions/core/decide.js';
import { zoneResolver } from '../../../functions/core/dns/zone-resolver.js';
import { InvalidInputError } from '../../../functions/core/errors.js';
import { parseContentType, parseHeaders } from '../../../functions/core/message.js';
import type { Reason } from '../../../functions/core/vocabulary.js';
import { message, NOW, received, testConfig, zones } from '../../helpers/mail.js';

const ORIGINAL = splitMessage(message({ from: 'Bob <bob@example.com>', subject: 'Quarterly report' })).header;

function ndrOpts(over: Partial<NdrOptions> = {}): NdrOptions {
  return {
    from: '"Mail Delivery System" <mailer-daemon@fwd.example.com>',
    to: 'bob@example.com',
    reportingMta: 'fwd.example.com',
    originalHeaders: ORIGINAL,
    arrivalDate: new Date(NOW.getTime() - 60_000),
    recipients: ['dest@remote.test', 'ann@remote.test'],
    reasons: ['hard-limit-size', 'accepted-domain'],
    inboundMessageId: 'msg-0001',
    now: NOW,
    ...over,
  };
}

interface Part {
  headers: ReturnType<typeof parseHeaders>;
  body: Buffer;
}

/** A minimal MIME walk: the parts of a multipart body split at its boundary (RFC 2046 5.1.1). */
function parts(raw: Buffer): Part[] {
  const ct = parseContentType(parseHeaders(raw).get('content-type'));
  const boundary = ct?.params.boundary;
  assert.ok(boundary, 'a boundary');
  const body = splitMessage(raw).body.toString('latin1');
  const delimiter = `\r\n--${boundary}`;
  const text = `\r\n${body}`;
  const close = text.indexOf(`${delimiter}--`);
  assert.ok(close >= 0, 'a close delimiter');
  return text
    .slice(0, close)
    .split(delimiter)
    .slice(1)
    .map((chunk) => {
      const buf = Buffer.from(chunk.replace(/^\r\n/, ''), 'latin1');
      const p = splitMessage(buf);
      return { headers: parseHeaders(buf), body: p.body };
    });
}

/** Quoted-printable decoding (RFC 2045 6.7). */
function decodeQp(text: string): Buffer {
  const s = text.replace(/=\r\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '=' && /^[0-9A-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(s.charCodeAt(i));
    }
  }
  return Buffer.from(out);
}

function decoded(p: Part): Buffer {
  const cte = p.headers.get('content-transfer-encoding')?.toLowerCase();
  return cte === 'quoted-printable' ? decodeQp(p.body.toString('latin1')) : p.body;
}

/** DSN blocks (RFC 3464 2.1): groups of fields separated by empty lines. */
function dsnBlocks(body: Buffer): Record<string, string>[] {
  return body
    .toString('latin1')
    .split(/\r\n\r\n/)
    .filter((b) => b.trim().length > 0)
    .map((b) =>
      Object.fromEntries(parseHeaders(Buffer.from(`${b}\r\n`)).fields.map((f) => [f.key, f.value])),
    );
}

function assertWellFormed(raw: Buffer): void {
  assert.doesNotMatch(raw.toString('latin1'), /\r(?!\n)|(?<!\r)\n/, 'CRLF only');
  for (const line of raw.toString('latin1').split('\r\n')) assert.ok(line.length <= 998, 'line within 998');
}

describe('statusFor', () => {
  const cases: { reasons: Reason[]; status: string; mentions: RegExp }[] = [
    { reasons: ['sender-restricted'], status: '5.7.1', mentions: /restricted/i },
    { reasons: ['virus'], status: '5.7.1', mentions: /virus/i },
    { reasons: ['hard-limit-size'], status: '5.3.4', mentions: /too big/i },
    { reasons: ['hard-limit-recipients'], status: '5.5.3', mentions: /too many recipients/i },
    { reasons: ['no-route'], status: '5.1.1', mentions: /address/i },
    { reasons: ['srs-invalid'], status: '5.1.1', mentions: /bounce address/i },
    { reasons: ['limit-external-hour'], status: '5.7.1', mentions: /external recipients in the last hour/ },
    { reasons: ['limit-internal-hour'], status: '5.7.1', mentions: /internal recipients in the last hour/ },
    { reasons: ['limit-day'], status: '5.7.1', mentions: /last day/ },
    { reasons: ['hard-limit-size', 'virus', 'accepted-domain'], status: '5.7.1', mentions: /virus/i },
    { reasons: ['no-route', 'hard-limit-recipients'], status: '5.5.3', mentions: /recipients/ },
    { reasons: ['accepted-domain', 'spf-pass'], status: '5.0.0', mentions: /not delivered/ },
    { reasons: [], status: '5.0.0', mentions: /not delivered/ },
  ];
  for (const c of cases) {
    it(`[${c.reasons.join(', ')}] → ${c.status}`, () => {
      // Prepare / Act
      const s = statusFor(c.reasons);
      // Assess
      assert.equal(s.status, c.status);
      assert.match(s.diagnostic, c.mentions);
    });
  }
});

describe('buildNdr', () => {
  it('is a multipart/report delivery-status message with the three parts', () => {
    // Prepare / Act
    const ndr = buildNdr(ndrOpts());
    // Assess
    assertWellFormed(ndr);
    const h = parseHeaders(ndr);
    assert.equal(h.get('from'), '"Mail Delivery System" <mailer-daemon@fwd.example.com>');
    assert.equal(h.get('to'), '<bob@example.com>');
    assert.equal(h.get('subject'), 'Undelivered Mail Returned to Sender');
    assert.equal(h.get('date'), 'Mon, 23 Nov 2026 10:00:00 +0000');
    assert.equal(h.get('message-id'), '<ndr.msg-0001@fwd.example.com>');
    assert.equal(h.get('mime-version'), '1.0');
    assert.equal(h.get('auto-submitted'), 'auto-replied');
    assert.equal(h.get('return-path'), '<>');
    const ct = parseContentType(h.get('content-type'));
    assert.equal(ct?.type, 'multipart/report');
    assert.equal(ct?.params['report-type'], 'delivery-status');
    const p = parts(ndr);
    assert.deepEqual(
      p.map((x) => parseContentType(x.headers.get('content-type'))?.type),
      ['text/plain', 'message/delivery-status', 'text/rfc822-headers'],
    );
  });

  it('explains the failure to a person, naming the recipients and the reason', () => {
    // Prepare / Act
    const text = decoded(parts(buildNdr(ndrOpts()))[0]!).toString('utf8');
    // Assess
    assert.match(text, /dest@remote\.test/);
    assert.match(text, /ann@remote\.test/);
    assert.match(text, /Message too big for the system \(5\.3\.4\)/);
    assert.doesNotMatch(text, /hard-limit|accepted-domain|secret/);
  });

  it('has per-message and per-recipient delivery-status fields (RFC 3464)', () => {
    // Prepare / Act
    const blocks = dsnBlocks(parts(buildNdr(ndrOpts({ reasons: ['no-route'] })))[1]!.body);
    // Assess
    assert.deepEqual(blocks, [
      { 'reporting-mta': 'dns; fwd.example.com', 'arrival-date': 'Mon, 23 Nov 2026 09:59:00 +0000' },
      {
        'final-recipient': 'rfc822; dest@remote.test',
        action: 'failed',
        status: '5.1.1',
        'diagnostic-code': 'smtp; 550 5.1.1 Recipient address unknown',
      },
      {
        'final-recipient': 'rfc822; ann@remote.test',
        action: 'failed',
        status: '5.1.1',
        'diagnostic-code': 'smtp; 550 5.1.1 Recipient address unknown',
      },
    ]);
  });

  it('carries the original header block unchanged', () => {
    // Prepare / Act
    const headersPart = parts(buildNdr(ndrOpts()))[2]!;
    // Assess
    assert.equal(headersPart.headers.get('content-transfer-encoding'), '7bit');
    assert.deepEqual(decoded(headersPart), ORIGINAL);
  });

  it('quoted-printable encodes broken headers (8-bit, long lines, bare CR) so they survive exactly', () => {
    // Prepare
    const original = Buffer.concat([
      Buffer.from('Subject: caf'),
      Buffer.from([0xe9, 0x0d, 0x41]),
      Buffer.from(`\nX-Long: ${'y'.repeat(1500)} \r\nX-Eq: a=b\r\n`),
    ]);
    // Act
    const ndr = buildNdr(ndrOpts({ originalHeaders: original }));
    // Assess
    assertWellFormed(ndr);
    const headersPart = parts(ndr)[2]!;
    assert.equal(headersPart.headers.get('content-transfer-encoding'), 'quoted-printable');
    // The bare LF line end becomes CRLF (canonical text); every other byte is kept.
    assert.deepEqual(
      decoded(headersPart),
      Buffer.from(original.toString('latin1').replace('A\nX', 'A\r\nX'), 'latin1'),
    );
  });

  it('cuts headers over 16 KB (SPEC 2a) at a field boundary and says so', () => {
    assert.equal(MAX_ORIGINAL_HEADER_BYTES, 16 * 1024);
    // Prepare
    const field = `X-Filler: ${'z'.repeat(990)}\r\n`;
    const original = Buffer.from(field.repeat(100));
    // Act
    const ndr = buildNdr(ndrOpts({ originalHeaders: original }));
    // Assess
    assertWellFormed(ndr);
    const p = parts(ndr);
    const kept = decoded(p[2]!);
    assert.ok(kept.length <= MAX_ORIGINAL_HEADER_BYTES);
    assert.equal(kept.length % Buffer.byteLength(field), 0);
    assert.deepEqual(kept, original.subarray(0, kept.length));
    assert.match(p[2]!.headers.get('content-description') ?? '', /truncated/);
    assert.match(
      decoded(p[0]!).toString(),
      new RegExp(`first ${kept.length} bytes\\s+\\(of\\s+${original.length}\\)`),
    );
  });

  it('keeps no part of a single field larger than the limit', () => {
    // Prepare
    const original = Buffer.from(`X-Huge: ${'h '.repeat(40_000)}\r\nSubject: s\r\n`);
    // Act
    const p = parts(buildNdr(ndrOpts({ originalHeaders: original })));
    // Assess
    assert.equal(decoded(p[2]!).length, 0);
  });

  const injections: { name: string; over: Partial<NdrOptions> }[] = [
    { name: 'a recipient with CR/LF', over: { recipients: ['dest@remote.test\r\nBcc: victim@remote.test'] } },
    {
      name: 'a recipient ending a DSN block',
      over: { recipients: ['a@remote.test\r\n\r\nFinal-Recipient: rfc822; x@y'] },
    },
    { name: 'a recipient with a boundary-like line', over: { recipients: ['a@remote.test\r\n--=_ndr_x--'] } },
    { name: 'the sender with CR/LF', over: { to: 'bob@example.com>\r\nBcc: victim@remote.test' } },
    { name: 'the inbound id with CR/LF', over: { inboundMessageId: 'x\r\nBcc: victim@remote.test' } },
    { name: 'the From with CR/LF', over: { from: '"MDS" <m@fwd.example.com>\r\nBcc: victim@remote.test' } },
  ];
  for (const c of injections) {
    it(`neutralises ${c.name}`, () => {
      // Prepare / Act
      const ndr = buildNdr(ndrOpts(c.over));
      // Assess
      assertWellFormed(ndr);
      const h = parseHeaders(ndr);
      assert.equal(h.get('bcc'), undefined);
      assert.deepEqual(
        h.fields.map((f) => f.key),
        [
          'return-path',
          'from',
          'to',
          'subject',
          'date',
          'message-id',
          'mime-version',
          'auto-submitted',
          'content-type',
        ],
      );
      const p = parts(ndr);
      assert.equal(p.length, 3);
      const blocks = dsnBlocks(p[1]!.body);
      const recipients = c.over.recipients?.length ?? 2;
      assert.equal(blocks.length, 1 + recipients);
      for (const b of blocks.slice(1)) {
        assert.deepEqual(Object.keys(b), ['final-recipient', 'action', 'status', 'diagnostic-code']);
      }
    });
  }

  it('writes a non-ASCII recipient as a utf-8 address (RFC 6533)', () => {
    // Prepare / Act
    const blocks = dsnBlocks(parts(buildNdr(ndrOpts({ recipients: ['jürgen@remote.test'] })))[1]!.body);
    // Assess
    assert.equal(blocks[1]?.['final-recipient'], 'utf-8; j\\x{FC}rgen@remote.test');
  });

  it('would be classified as a delivery report (NDR) if it came back to us', async () => {
    // Prepare
    const ndr = buildNdr(ndrOpts());
    // Act
    const c = await classify({
      received: received({ source: '' }),
      raw: ndr,
      config: testConfig(),
      resolver: zoneResolver(zones()),
      now: NOW,
    });
    // Assess
    assert.equal(c.ndr.deliveryReport, true);
    assert.equal(c.ndr.nullSender, true);
  });

  it('is deterministic', () => {
    // Prepare / Act / Assess
    assert.deepEqual(buildNdr(ndrOpts()), buildNdr(ndrOpts()));
  });

  const invalid: { name: string; over: Partial<NdrOptions> }[] = [
    { name: 'no recipients', over: { recipients: [] } },
    { name: 'only blank recipients', over: { recipients: ['\r\n', ' '] } },
    { name: 'a reporting MTA that is not a host name', over: { reportingMta: 'not a host' } },
    { name: 'an invalid date', over: { now: new Date(Number.NaN) } },
    { name: 'an invalid arrival date', over: { arrivalDate: new Date('nope') } },
    { name: 'no sender', over: { to: '' } },
    { name: 'original headers that are not a Buffer', over: { originalHeaders: 'x' as unknown as Buffer } },
  ];
  for (const c of invalid) {
    it(`rejects ${c.name}`, () => {
      // Prepare / Act / Assess
      assert.throws(() => buildNdr(ndrOpts(c.over)), InvalidInputError);
    });
  }

  it('stays well-formed for arbitrary recipients, ids and headers (property)', () => {
    const text = fc.string({ unit: 'binary', maxLength: 80 });
    fc.assert(
      fc.property(
        fc.array(text, { minLength: 1, maxLength: 5 }),
        text,
        fc.uint8Array({ maxLength: 3000 }),
        (recipients, id, headers) => {
          // Prepare
          fc.pre(
            recipients.some((r) => r.replace(/[\s\u0000-\u001f\u007f-\u009f<>\u2028\u2029]/g, '') !== ''),
          );
          // Act
          const ndr = buildNdr(
            ndrOpts({ recipients, inboundMessageId: id, originalHeaders: Buffer.from(headers) }),
          );
          // Assess
          assertWellFormed(ndr);
          const p = parts(ndr);
          assert.equal(p.length, 3);
          assert.equal(parseHeaders(ndr).fields.length, 9);
          const canonical = Buffer.from(headers).toString('latin1').replace(/\r?\n/g, '\r\n');
          const expected = canonical === '' || canonical.endsWith('\r\n') ? canonical : `${canonical}\r\n`;
          assert.deepEqual(decoded(p[2]!), Buffer.from(expected, 'latin1'));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('quotedPrintable', () => {
  const cases: { name: string; input: Buffer; expected: string }[] = [
    { name: 'plain text is unchanged', input: Buffer.from('abc\r\ndef'), expected: 'abc\r\ndef' },
    { name: '"=" and 8-bit are escaped', input: Buffer.from([0x61, 0x3d, 0xe9]), expected: 'a=3D=E9' },
    {
      name: 'whitespace at a line end is escaped',
      input: Buffer.from('a \r\nb\t'),
      expected: 'a=20\r\nb=09',
    },
    { name: 'bare CR and LF are escaped', input: Buffer.from('a\rb\nc'), expected: 'a=0Db=0Ac' },
    {
      name: 'long lines get soft breaks',
      input: Buffer.from('x'.repeat(80)),
      expected: `${'x'.repeat(75)}=\r\nxxxxx`,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      // Prepare / Act
      const out = quotedPrintable(c.input);
      // Assess
      assert.equal(out, c.expected);
      assert.deepEqual(decodeQp(out), c.input);
    });
  }
});

describe('headerFields (used for truncation)', () => {
  it('cuts a header block into whole fields', () => {
    // Prepare / Act
    const fields = headerFields(Buffer.from('A: 1\r\n 2\r\nB: 3\r\n'));
    // Assess
    assert.deepEqual(
      fields.map((f) => f.bytes.toString()),
      ['A: 1\r\n 2\r\n', 'B: 3\r\n'],
    );
  });
});

describe('buildNdr for a copy SES refused (issue 15 item 1)', () => {
  for (const [refusal, status] of [
    ['content', '5.6.0'],
    ['request', '5.6.0'],
    ['size', '5.3.4'],
  ] as const) {
    it(`${refusal} → ${status} in every recipient block and the text, whatever the reasons`, () => {
      const raw = buildNdr(ndrOpts({ reasons: ['spf-pass'], status: refusalStatus(refusal) }));
      const [text, dsn] = parts(raw);
      const statuses = dsn!.body.toString('latin1').match(/^Status: .*$/gm) ?? [];
      assert.deepEqual(statuses, [`Status: ${status}`, `Status: ${status}`]);
      assert.match(text!.body.toString('utf8'), new RegExp(`\\(${status.replace(/\./g, '\\.')}\\)`));
    });
  }
  it('without a status the reasons decide, as before', () => {
    const [, dsn] = parts(buildNdr(ndrOpts({ reasons: ['spf-pass'] })));
    assert.match(dsn!.body.toString('latin1'), /^Status: 5\.0\.0\r$/m);
  });
});
