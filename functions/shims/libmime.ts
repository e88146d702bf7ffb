/**
 * Bundle-time stand-in for `libmime` (aliased by `lib/lambda-bundling.ts`): the four functions
 * the router's bundle calls — `decodeWords`, `encodeWord` and `parseHeaderValue` from
 * `functions/core/message.ts`, `foldLines` and `parseHeaderValue` from mailauth — ported from
 * libmime 5.4.4 (MIT, Andris Reinman) without its MIME type table. That table (`mimetypes.js`,
 * ~70 KB, a few thousand properties built when the module loads) serves only
 * `detectExtension`/`detectMimeType`, which nothing in the bundle calls, and a relative
 * `require('./mimetypes')` cannot be aliased away on its own (issue 16, cold start).
 *
 * Charsets are decoded by libmime's own `lib/charset.js` (with the `iconv-lite` stand-in), so
 * encoded words decode as before. `test/core/libmime-shim.test.ts` compares every function with
 * the real libmime on generated inputs and checks that the bundle's callers use no other.
 *
 * The ported code keeps libmime's license (MIT), reproduced as its terms require:
 *
 * Copyright (c) 2014-2016 Andris Reinman
 *
 * Permission is hereby granted, free of charge, to any person obtaining a copy
 * of this software and associated documentation files (the "Software"), to deal
 * in the Software without restriction, including without limitation the rights
 * to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 * copies of the Software, and to permit persons to whom the Software is
 * furnished to do so, subject to the following conditions:
 *
 * The above copyright notice and this permission notice shall be included in
 * all copies or substantial portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 * IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 * FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 * AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 * LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 * OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
 * THE SOFTWARE.
 */
import libcharset from 'libmime/lib/charset.js';

/** What `parseHeaderValue` returns (libmime's `StructuredHeader`; `value` false when absent). */
export interface StructuredHeader {
  value: string;
  params: Record<string, string>;
}

const STAGE_KEY = 0x1001;
const STAGE_VALUE = 0x1002;

/** An own property even for `__proto__` (a header names its own parameters). */
function setOwnProperty(obj: Record<string, string>, key: string, value: string): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

const isWSP = (chr: string) =>
  chr === ' ' || chr === '\t' || chr === '\r' || chr === '\n' || chr === '\f' || chr === '\v';

const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

const hex2 = (byte: number) => `=${byte < 0x10 ? '0' : ''}${byte.toString(16).toUpperCase()}`;

/** The inner payload of one encoded word, `=?charset?encoding?text?=` (RFC 2047, RFC 2231 §5). */
export function decodeWord(charset: string, encoding: string, str: string): string {
  // RFC 2231 adds a language tag to the charset; like libmime, it is ignored.
  const star = charset.indexOf('*');
  const name = libcharset.normalizeCharset(star >= 0 ? charset.slice(0, star) : charset);
  const kind = encoding.toUpperCase();
  let bytes: Buffer;
  if (kind === 'Q') {
    const text = str.replace(/=\s+([0-9a-fA-F])/g, '=$1').replace(/[_\s]/g, ' ');
    const buf = Buffer.from(text);
    const out: number[] = [];
    for (let i = 0, len = buf.length; i < len; i++) {
      const c = buf[i]!;
      if (i <= len - 2 && c === 0x3d && isHex(buf[i + 1]!) && isHex(buf[i + 2] ?? 0)) {
        out.push(Number.parseInt(String.fromCharCode(buf[i + 1]!, buf[i + 2]!), 16));
        i += 2;
        continue;
      }
      out.push(c);
    }
    bytes = Buffer.from(out);
  } else if (kind === 'B') {
    bytes = Buffer.concat(
      str
        .split('=')
        .filter((s) => s !== '')
        .map((s) => Buffer.from(s, 'base64')),
    );
  } else {
    bytes = Buffer.from(str);
  }
  return libcharset.decode(bytes, name);
}

/** A string that may hold encoded words, decoded; adjacent words of one charset are joined first. */
export function decodeWords(str: unknown): string {
  const sameCharset = (match: string, left: string, chLeft: string, chRight: string) =>
    libcharset.normalizeCharset(chLeft || '') === libcharset.normalizeCharset(chRight || '')
      ? `${left}__\x00JOIN\x00__`
      : match;
  return String(str || '')
    .replace(/(=\?([^?]+)\?[Bb]\?[^?]*\?=)\s*(?==\?([^?]+)\?[Bb]\?[^?]*\?=)/g, sameCharset)
    .replace(/(=\?([^?]+)\?[Qq]\?[^?]*\?=)\s*(?==\?([^?]+)\?[Qq]\?[^?]*\?=)/g, sameCharset)
    .replace(/(\?=)?__\x00JOIN\x00__(=\?([^?]+)\?[QqBb]\?)?/g, '')
    .replace(/(=\?[^?]+\?[QqBb]\?[^?]*\?=)\s+(?==\?[^?]+\?[QqBb]\?[^?]*\?=)/g, '$1')
    .replace(/=\?([\w_\-*]+)\?([QqBb])\?([^?]*)\?=/g, (_m, charset: string, encoding: string, text: string) =>
      decodeWord(charset, encoding, text),
    );
}

/**
 * RFC 2047 §5 rule (3) Q encoding of UTF-8 bytes as libmime produces it: libqp's quoted-
 * printable (a space or tab before a line break or at the end stays encoded) with every byte
 * outside `[A-Za-z0-9!*+\-/]` then written `=XX`, a space `_`.
 */
function qEncode(data: string | Buffer): string {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf-8') : data;
  let out = '';
  for (let i = 0, len = buf.length; i < len; i++) {
    const b = buf[i]!;
    if (/[A-Za-z0-9!*+\-/]/.test(String.fromCharCode(b)) && b < 0x80) {
      out += String.fromCharCode(b);
    } else if (b === 0x20) {
      const next = buf[i + 1];
      out += i === len - 1 || next === 0x0a || next === 0x0d ? '=20' : '_';
    } else {
      out += hex2(b);
    }
  }
  return out;
}

/** Splits Q-encoded text into parts of at most `maxlen`, never inside an escape or a UTF-8 sequence. */
function splitMimeEncodedString(input: string, maxlen: number): string[] {
  const lines: string[] = [];
  const max = Math.max(maxlen || 0, 12); // room for a 4-byte UTF-8 sequence
  let str = input;
  while (str.length) {
    let curLine = str.slice(0, max);
    const partial = /[=][0-9A-F]?$/i.exec(curLine);
    if (partial) curLine = curLine.slice(0, partial.index);
    let done = false;
    while (!done) {
      done = true;
      const next = /^[=]([0-9A-F]{2})/i.exec(str.slice(curLine.length));
      if (next) {
        const chr = Number.parseInt(next[1]!, 16);
        // a continuation byte: move back one escape and check again
        if (chr < 0xc2 && chr > 0x7f) {
          curLine = curLine.slice(0, Math.max(0, curLine.length - 3));
          done = false;
        }
      }
    }
    if (curLine.length) lines.push(curLine);
    str = str.slice(curLine.length);
  }
  return lines;
}

/** One or more encoded words for `data` (UTF-8, `Q` or `B`), split to fit `maxLength`. */
export function encodeWord(data: string | Buffer, mimeWordEncoding?: string, maxLength?: number): string {
  const kind = (mimeWordEncoding || 'Q').toString().toUpperCase().trim().charAt(0);
  const toCharset = 'UTF-8';
  let max = maxLength || 0;
  if (max && max > 7 + toCharset.length) max -= 7 + toCharset.length;
  const base64 = (d: string | Buffer) =>
    (typeof d === 'string' ? Buffer.from(d, 'utf-8') : d).toString('base64');
  let encoded = '';
  if (kind === 'Q') {
    encoded = qEncode(data);
  } else if (kind === 'B') {
    encoded = typeof data === 'string' ? data : base64(data);
    max = max ? Math.max(3, ((max - (max % 4)) / 4) * 3) : 0;
  }
  const joiner = `?= =?${toCharset}?${kind}?`;
  if (max && (kind !== 'B' ? encoded : base64(data)).length > max) {
    if (kind === 'Q') {
      encoded = splitMimeEncodedString(encoded, max).join(joiner);
    } else {
      // RFC 2047 §6.3 (2): an encoded word holds whole characters, so no cutting a surrogate pair
      const parts: string[] = [];
      let part = '';
      for (let i = 0, len = encoded.length; i < len; i++) {
        let chr = encoded.charAt(i);
        if (/[\ud83c\ud83d\ud83e]/.test(chr) && i < len - 1) chr += encoded.charAt(++i);
        if (Buffer.byteLength(part + chr) <= max || i === 0) {
          part += chr;
        } else {
          parts.push(base64(part));
          part = chr;
        }
      }
      if (part) parts.push(base64(part));
      encoded = parts.join(parts.length > 1 ? joiner : '');
    }
  } else if (kind === 'B') {
    encoded = base64(data);
  }
  return `=?${toCharset}?${kind}?${encoded}${encoded.slice(-2) === '?=' ? '' : '?='}`;
}

/** A structured header value (`text/plain; charset=utf-8`), parameters lower-cased, RFC 2231 joined. */
export function parseHeaderValue(str: string): StructuredHeader {
  const response = { value: false as string | false, params: {} as Record<string, string> };
  let key: string | false = false;
  let value = '';
  let valueEnd = 0; // whitespace outside quotes is not part of a value (RFC 2045 §5.1)
  let stage = STAGE_VALUE;
  let quote = false;
  let escaped = false;
  const commit = () => {
    const collected = value.substring(0, valueEnd);
    value = '';
    valueEnd = 0;
    if (stage === STAGE_KEY) {
      if (collected) setOwnProperty(response.params, collected.toLowerCase(), '');
    } else if (key === false) {
      response.value = collected;
    } else {
      setOwnProperty(response.params, key, collected);
    }
  };
  for (let i = 0, len = str.length; i < len; i++) {
    const chr = str.charAt(i);
    if (stage === STAGE_KEY) {
      if (chr === '=') {
        key = value.substring(0, valueEnd).toLowerCase();
        value = '';
        valueEnd = 0;
        stage = STAGE_VALUE;
      } else if (chr === ';') {
        commit();
      } else if (isWSP(chr)) {
        if (value.length) value += chr;
      } else {
        value += chr;
        valueEnd = value.length;
      }
      continue;
    }
    if (escaped) {
      value += chr;
      valueEnd = value.length;
    } else if (chr === '\\') {
      escaped = true;
      continue;
    } else if (chr === '"') {
      quote = !quote;
    } else if (!quote && chr === ';') {
      commit();
      stage = STAGE_KEY;
    } else if (!quote && isWSP(chr)) {
      if (value.length) value += chr;
    } else {
      value += chr;
      valueEnd = value.length;
    }
    escaped = false;
  }
  commit();

  // RFC 2231 §3 continuations, kept apart until assembled so half a value never shows.
  const continuations = new Map<
    string,
    { charset: string | false; values: { nr: number; value: string }[] }
  >();
  for (const name of Object.keys(response.params)) {
    let match = /\*((\d+)\*?)?$/.exec(name);
    if (!match) continue;
    const actualKey = name.slice(0, match.index).toLowerCase();
    const nr = Number(match[2]) || 0;
    let part = response.params[name]!;
    delete response.params[name];
    let continuation = continuations.get(actualKey);
    if (!continuation) {
      continuation = { charset: false, values: [] };
      continuations.set(actualKey, continuation);
    }
    if (nr === 0 && match[0].charAt(match[0].length - 1) === '*') {
      match = /^([^']*)'[^']*'(.*)$/.exec(part);
      if (match) {
        continuation.charset = match[1] || 'utf-8';
        part = match[2]!;
      }
    }
    continuation.values.push({ nr, value: part });
  }
  // An assembled value overrides a plain parameter of the same name (RFC 6266 §4.3).
  for (const [name, continuation] of continuations) {
    const joined = continuation.values
      .sort((a, b) => a.nr - b.nr)
      .map((v) => v.value)
      .join('');
    if (!continuation.charset) {
      setOwnProperty(response.params, name, decodeWords(joined));
      continue;
    }
    // %XX to Q's =XX, decoded in the parameter's charset (passed apart: a "?" in it cannot
    // inject an encoded word of its own).
    const qp = joined
      .replace(/[=_\s]/g, (s) => {
        if (s === ' ') return '_';
        const c = s.charCodeAt(0).toString(16);
        return `%${c.length < 2 ? '0' : ''}${c}`;
      })
      .replace(/%/g, '=');
    setOwnProperty(response.params, name, decodeWord(continuation.charset, 'Q', qp));
  }
  return response as StructuredHeader;
}

/** Folds long lines at whitespace (header lines; `afterSpace` for flowed text), CRLF between. */
export function foldLines(input: unknown, lineLength?: number, afterSpace?: boolean): string {
  const str = String(input || '');
  const width = lineLength || 76;
  const len = str.length;
  let pos = 0;
  let result = '';
  while (pos < len) {
    let line = str.substr(pos, width);
    if (line.length < width) {
      result += line;
      break;
    }
    let match = /^[^\n\r]*(\r?\n|\r)/.exec(line);
    if (match) {
      line = match[0];
      result += line;
      pos += line.length;
      continue;
    }
    match = /(\s+)[^\s]*$/.exec(line);
    if (match && match[0].length - (afterSpace ? (match[1] || '').length : 0) < line.length) {
      line = line.substr(0, line.length - (match[0].length - (afterSpace ? (match[1] || '').length : 0)));
    } else {
      match = /^[^\s]+(\s*)/.exec(str.substr(pos + line.length));
      if (match) line += match[0].substr(0, match[0].length - (!afterSpace ? (match[1] || '').length : 0));
    }
    result += line;
    pos += line.length;
    if (pos < len) result += '\r\n';
  }
  return result;
}

const libmime = { decodeWord, decodeWords, encodeWord, parseHeaderValue, foldLines };
export default libmime;
