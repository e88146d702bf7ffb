/**
 * Reading the header block as bytes: cutting a raw message at the empty line that ends its
 * header block, cutting the block into fields with their exact bytes, and the small byte-level
 * repairs a kept field gets in the copy (WSP before the colon, line ends). Nothing here decides
 * which fields survive (`field-rules.ts`) or writes a new one (`fold.ts`).
 */

export interface MessageParts {
  /** The header block, up to and including the line end of its last line (if it has one). */
  header: Buffer;
  /** The empty line ending the header block (`\r\n` or `\n`), empty when there is none. */
  separator: Buffer;
  /** Everything after the empty line, never parsed. Empty when there is no empty line. */
  body: Buffer;
}

/**
 * Cuts a raw message at the first empty line (RFC 5322 section 2.1), exactly as
 * `message.ts` does (a line end is LF, with or without CR before it), plus a message that
 * starts with an empty line (no header at all). `header + separator + body` is `raw`.
 */
export function splitMessage(raw: Buffer): MessageParts {
  const cut = (end: number, bodyStart: number): MessageParts => ({
    header: raw.subarray(0, end),
    separator: raw.subarray(end, bodyStart),
    body: raw.subarray(bodyStart),
  });
  if (raw[0] === 0x0a) return cut(0, 1);
  if (raw[0] === 0x0d && raw[1] === 0x0a) return cut(0, 2);
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x0a) continue;
    if (raw[i + 1] === 0x0a) return cut(i + 1, i + 2);
    if (raw[i + 1] === 0x0d && raw[i + 2] === 0x0a) return cut(i + 1, i + 3);
  }
  return cut(raw.length, raw.length);
}

/** One field of the header block with its exact bytes. */
export interface RawField {
  /** Lower-cased field name; empty for lines before the first field (kept nowhere). */
  name: string;
  /** The field's bytes, continuation lines and line ends included. */
  bytes: Buffer;
}

/** A line starting a field: a field name (RFC 5322 3.6.8), optional WSP, a colon. */
const FIELD_START = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:/;

/**
 * Cuts a header block into fields. A line starting with WSP continues the field above. A line
 * that is neither a field nor a continuation (no name and colon: `Bcc<VT>: x`, `From<NUL>:`,
 * stray text) starts a nameless field (`name` empty) that takes its own continuation lines
 * with it: the rewrite drops nameless fields, and `parseHeaders` drops the same lines, so no
 * byte of them reaches a copy and no parser can read them as a field (mailparser reads
 * `Bcc<VT>: x` as a `Bcc`). Every byte of the block is in exactly one field.
 */
export function headerFields(header: Buffer): RawField[] {
  const fields: RawField[] = [];
  let start = 0;
  let name: string | null = null;
  let fieldStart = 0;
  const flush = (end: number) => {
    if (end > fieldStart) fields.push({ name: name ?? '', bytes: header.subarray(fieldStart, end) });
  };
  while (start < header.length) {
    const lf = header.indexOf(0x0a, start);
    const end = lf < 0 ? header.length : lf + 1;
    const first = header[start];
    if (first !== 0x20 && first !== 0x09) {
      flush(start);
      const m = FIELD_START.exec(header.toString('latin1', start, end));
      name = m ? m[1]!.toLowerCase() : '';
      fieldStart = start;
    }
    start = end;
  }
  flush(header.length);
  return fields;
}

/**
 * A field's bytes with the WSP between its name and colon removed (`From<TAB>:` → `From:`).
 * RFC 5322 4.5.8 lets a reader accept that obsolete form, and we do, but a strict reader
 * (section 3.6.8) does not see a field there at all: written as `Name:`, the copy reads the
 * same to both. Relaxed DKIM canonicalization deletes that WSP too (RFC 6376 3.4.2).
 */
export function withoutWspBeforeColon(bytes: Buffer): Buffer {
  const lf = bytes.indexOf(0x0a);
  const head = bytes.toString('latin1', 0, lf < 0 ? bytes.length : lf);
  const m = /^([\x21-\x39\x3b-\x7e]+)[ \t]+:/.exec(head);
  if (!m) return bytes;
  return Buffer.concat([Buffer.from(`${m[1]}:`, 'latin1'), bytes.subarray(m[0].length)]);
}

/**
 * A field's bytes with every line ending `eol` (SPEC 2a: line endings are normalised once, in
 * the copy): a bare LF becomes `eol` and CRs before a line end go, so a strict CRLF parser and
 * an LF parser cut the copy's header block into the same lines as we did. Returns the bytes
 * themselves when they already conform (the common case: no copy).
 */
export function normalizeLineEnds(bytes: Buffer, eol: '\r\n' | '\n'): Buffer {
  let conforming = true;
  for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) {
    const crBefore = i > 0 && bytes[i - 1] === 0x0d;
    const crCr = i > 1 && bytes[i - 2] === 0x0d;
    if (eol === '\r\n' ? !crBefore || crCr : crBefore) {
      conforming = false;
      break;
    }
  }
  if (conforming) return bytes;
  const lines = bytes.toString('latin1').split('\n');
  const last = lines.pop()!; // after the final LF: empty, or an unterminated last line
  const text = lines.map((l) => l.replace(/\r+$/, '') + eol).join('') + last;
  return Buffer.from(text, 'latin1');
}

/** The unfolded value of a field (after the colon), decoded as UTF-8 (RFC 6532). */
export function fieldValue(field: RawField): string {
  const text = field.bytes.toString('utf8');
  const colon = text.indexOf(':');
  return (colon < 0 ? text : text.slice(colon + 1)).replace(/\r?\n/g, '').trim();
}

/** The line end the header block uses: that of its first line, CRLF by default. */
export function lineEnding(parts: MessageParts): '\r\n' | '\n' {
  const source = parts.header.length > 0 ? parts.header : parts.separator;
  const lf = source.indexOf(0x0a);
  if (lf < 0) return '\r\n';
  return lf > 0 && source[lf - 1] === 0x0d ? '\r\n' : '\n';
}
