/**
 * Writing a header field: sanitised and folded within the line limits of RFC 5322 section
 * 2.1.1, never cutting an encoded-word (RFC 2047).
 */

import { sanitizeHeaderText } from '../message.js';

/** RFC 5322 section 2.1.1: a line MUST be at most 998 octets, excluding the CRLF. */
export const MAX_LINE_OCTETS = 998;
/** RFC 5322 section 2.1.1: a line SHOULD be at most 78 octets, excluding the CRLF. */
export const PREFERRED_LINE_OCTETS = 78;

/** An encoded-word (RFC 2047 section 2), which must never be cut by a fold. */
const ENCODED_WORD = /=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=/g;

/**
 * Cuts a word without whitespace into pieces of at most `max` octets, at character
 * boundaries and never inside an encoded-word (unless the encoded-word itself is longer than
 * `max`, which RFC 2047's 75-character limit rules out).
 */
function cutWord(word: string, firstMax: number, max: number): string[] {
  const spans = [...word.matchAll(ENCODED_WORD)].map((m) => [m.index, m.index + m[0].length] as const);
  const pieces: string[] = [];
  let start = 0;
  let limit = firstMax;
  while (start < word.length) {
    let end = start;
    let bytes = 0;
    while (end < word.length) {
      const cp = word.codePointAt(end)!;
      const len = cp > 0xffff ? 2 : 1;
      const b = Buffer.byteLength(word.slice(end, end + len));
      if (bytes + b > limit && end > start) break;
      bytes += b;
      end += len;
    }
    for (const [s, e] of spans) {
      if (s > start && s < end && e > end) end = s;
    }
    pieces.push(word.slice(start, end));
    start = end;
    limit = max;
  }
  return pieces;
}

/**
 * Writes one header field: `Name: value` with the value sanitised ({@link sanitizeHeaderText}) and
 * folded (RFC 5322 section 2.2.3) at whitespace, at 78 octets where a word allows it and
 * always within 998. Folding only inserts a line end before an existing space, so unfolding
 * gives the value back; a single word longer than a line (no valid header has one) is cut
 * between characters, outside encoded-words, which adds a space where it was cut.
 */
export function formatField(name: string, value: string, eol: '\r\n' | '\n' = '\r\n'): string {
  const words = sanitizeHeaderText(value)
    .split(' ')
    .filter((w) => w.length > 0);
  const lines: string[] = [];
  let line = `${name}:`;
  let lineBytes = Buffer.byteLength(line);
  let hasWord = false;
  for (const word of words) {
    const wordBytes = Buffer.byteLength(word) + 1;
    if (
      lineBytes + wordBytes <= PREFERRED_LINE_OCTETS ||
      (!hasWord && lineBytes + wordBytes <= MAX_LINE_OCTETS)
    ) {
      line += ` ${word}`;
      lineBytes += wordBytes;
      hasWord = true;
      continue;
    }
    if (hasWord && wordBytes <= MAX_LINE_OCTETS) {
      lines.push(line);
      line = ` ${word}`;
      lineBytes = wordBytes;
      continue;
    }
    // A word too long for any line: cut it, on a line of its own (or after the name).
    if (hasWord) {
      lines.push(line);
      line = '';
      lineBytes = 0;
    }
    const pieces = cutWord(word, MAX_LINE_OCTETS - lineBytes - 1, MAX_LINE_OCTETS - 1);
    for (const [i, piece] of pieces.entries()) {
      if (i > 0) {
        lines.push(line);
        line = '';
      }
      line += ` ${piece}`;
    }
    lineBytes = Buffer.byteLength(line);
    hasWord = true;
  }
  lines.push(line);
  return lines.join(eol) + eol;
}
