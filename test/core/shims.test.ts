/**
 * The bundle-time stand-ins for libmime's charset libraries decode what the real ones decode
 * (compared with the real iconv-lite, which the tests still have), so aliasing them away in
 * the Lambda bundle changes no display name.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import * as japanese from '../../functions/shims/encoding-japanese.js';
import * as shim from '../../functions/shims/iconv-lite.js';

const require = createRequire(import.meta.url);
// The real library, resolved the way libmime resolves it.
const iconv = require(require.resolve('iconv-lite', { paths: [require.resolve('libmime')] })) as {
  encode(text: string, charset: string): Buffer;
  decode(buf: Buffer, charset: string): string;
};

describe('iconv-lite stand-in', () => {
  const samples: [string, string][] = [
    ['windows-1252', 'Café “quoted” – €'],
    ['iso-8859-1', 'Jöran Ångström'],
    ['iso-8859-2', 'Łódź Żółć'],
    ['koi8-r', 'Привет, мир'],
    ['shift_jis', 'こんにちは世界'],
    ['euc-jp', '日本語のメール'],
    ['gb18030', '转发的邮件'],
    ['big5', '轉寄的郵件'],
    ['euc-kr', '전달된 메일'],
  ];
  for (const [charset, text] of samples) {
    it(`decodes ${charset} exactly as iconv-lite does`, () => {
      const bytes = iconv.encode(text, charset);
      assert.equal(shim.decode(bytes, charset), iconv.decode(bytes, charset));
      assert.equal(shim.decode(bytes, charset), text);
    });
  }

  it('decodes ISO-2022-JP (which iconv-lite cannot) as encoding-japanese does', () => {
    const real = require(require.resolve('encoding-japanese', { paths: [require.resolve('libmime')] })) as {
      convert(data: Buffer, opts: object): string;
    };
    // "日本語" in ISO-2022-JP: ESC $ B, the JIS X 0208 pairs, ESC ( B.
    const bytes = Buffer.from('1b2442467c4b5c386c1b2842', 'hex');
    const expected = real.convert(bytes, { to: 'UNICODE', from: 'JIS', type: 'string' });
    assert.equal(expected, '日本語');
    assert.equal(shim.decode(bytes, 'iso-2022-jp'), expected);
  });

  it('an unknown charset throws (libmime then falls back to UTF-8) and is not said to exist', () => {
    assert.throws(() => shim.decode(Buffer.from('x'), 'x-no-such-charset'));
    assert.equal(shim.encodingExists('x-no-such-charset'), false);
    assert.equal(shim.encodingExists('windows-1252'), true);
  });

  it('the encoding-japanese stand-in always defers to the iconv-lite path', () => {
    assert.throws(() => japanese.convert(), /not bundled/);
  });
});
