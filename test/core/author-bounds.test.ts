/**
 * The author fields a copy carries are bounded (`core/send-plan.ts`): display names are cut at
 * MAX_DISPLAY_NAME_CHARS between characters — never inside a surrogate pair, which would leave
 * half a character that UTF-8 cannot carry (it became U+FFFD on the wire) — and a `Reply-To`
 * address longer than a path may be (RFC 5321 4.5.3.1.3) is left out. The oracle decodes the
 * copy's header fields with libmime, another implementation than the encoder's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import libmime from 'libmime';
import { decideMessage } from '../../functions/core/decide.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { MAX_ADDRESS_OCTETS, MAX_DISPLAY_NAME_CHARS } from '../../functions/core/send-plan.js';
import { message, NOW, received, testConfig, zones } from '../helpers/mail.js';

async function copyOf(headers: string[], from?: string) {
  const d = await decideMessage({
    received: received({ spf: 'PASS' }),
    raw: message({ headers, ...(from ? { from } : {}) }),
    config: testConfig(),
    resolver: zoneResolver(zones()),
    now: NOW,
  });
  assert.equal(d.pool, 'normal');
  return d.sends[0]!;
}

describe('the author fields of a copy', () => {
  it('a display name cut at its bound keeps whole characters (a pair straddling the cut goes)', async () => {
    const name = `${'a'.repeat(MAX_DISPLAY_NAME_CHARS - 2)}😀 and more`;
    const s = await copyOf([], `=?utf-8?b?${Buffer.from(name).toString('base64')}?= <alice@sender.test>`);
    for (const field of [s.from, s.replyTo!]) {
      const decoded = libmime.decodeWords(field);
      assert.doesNotMatch(decoded, /\uFFFD/, decoded);
      assert.ok(decoded.includes(`${'a'.repeat(MAX_DISPLAY_NAME_CHARS - 2)}\u2026`), decoded);
    }
  });

  it('a Reply-To address longer than 254 octets is left out; the others stay', async () => {
    const long = `${'r'.repeat(MAX_ADDRESS_OCTETS - '@evil.test'.length + 1)}@evil.test`;
    const fits = `${'s'.repeat(MAX_ADDRESS_OCTETS - '@evil.test'.length)}@evil.test`;
    const s = await copyOf([`Reply-To: <${long}>, Ok <${fits}>`]);
    assert.equal(s.replyTo, `"Ok" <${fits}>`);
    const alone = await copyOf([`Reply-To: <${long}>`]);
    assert.equal(alone.replyTo, '"Alice Sender" <alice@sender.test>', 'back to the author');
  });
});
