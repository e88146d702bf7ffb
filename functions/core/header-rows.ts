/**
 * mailauth's header parser (`parseHeaders` of `mailauth/lib/tools.js`), linear in the block.
 *
 * mailauth's DKIM verifier, its ARC code and our ARC seal read a header block as rows: one per
 * field, its lines joined with CRLF, its name trimmed and lower-cased. mailauth builds them by
 * walking the lines from the last and appending each line that does not open a field to the
 * row above with `concat` + `splice`: every merge copies the growing row and shifts the rows
 * below it, n² steps for a field of n lines. A 250 KB header of 64,000 continuation lines took
 * 33.5 s; the header block's line bound (`header-bounds.ts`) caps it at ~2,000 lines, where it
 * still cost about twice everything else the router does for such a message
 * (docs/hostile-input.md). Its trimming regexes (`/[\r\n]+$/`, `/^[ \t]+|[ \t]+$/`) backtrack
 * over a run of blanks from each of its bytes.
 *
 * This gives the same rows, byte for byte (`test/core/header-rows.test.ts` compares the two on
 * random and hostile blocks), in one pass: whether a line opens a field depends only on the
 * line and, when the next line was appended to it, on that one too (mailauth tests a row's
 * first two lines, `startsField`), so the decision for each line is made from the last line
 * up, carrying whether the line below was appended; the rows are then the runs between
 * opening lines. Trimming is a scan, not a regular expression.
 */
import type { ParsedHeaderRow, ParsedHeaders } from 'mailauth/lib/tools.js';

/**
 * RFC 5322 3.6.8 `field-name = 1*ftext` (printable US-ASCII but the colon), then blanks or a
 * fold, then the colon: mailauth's `FIELD_START`, unchanged, so a line opens a field here
 * exactly when it does there.
 */
const FIELD_START = /^[\x21-\x39\x3b-\x7e]+[ \t\r\n]*:/;
const NON_ASCII = /[^\x00-\x7f]/;

/** mailauth's `lowerCaseASCII`: only A-Z are lowered in a name with non-ASCII (latin1) bytes. */
export function lowerCaseAscii(text: string): string {
  return NON_ASCII.test(text) ? text.replace(/[A-Z]/g, (c) => c.toLowerCase()) : text.toLowerCase();
}

const isBlank = (code: number) => code === 0x20 || code === 0x09;

/** `text` without leading and trailing spaces and tabs (mailauth's `/^[ \t]+|[ \t]+$/g`). */
function trimBlanks(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isBlank(text.charCodeAt(start))) start++;
  while (end > start && isBlank(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** The row of one field: its name as mailauth reads it (up to the first colon), and its bytes. */
function rowOf(text: string): ParsedHeaderRow {
  const colon = text.indexOf(':');
  // mailauth's `/^[^:]+/`: no name when the row starts with a colon or is empty.
  if (colon === 0 || text.length === 0)
    return { key: null, casedKey: undefined, line: Buffer.from(text, 'binary') };
  const name = colon < 0 ? text : text.slice(0, colon);
  // A fold between the name and the colon leaves a line break that is not part of the name.
  const casedKey = trimBlanks(name.includes('\n') ? name.replace(/\r?\n/g, '') : name);
  return { key: lowerCaseAscii(casedKey), casedKey, line: Buffer.from(text, 'binary') };
}

/** The header block `block` (no empty line after it needed) as mailauth's `parseHeaders` reads it. */
export function parseHeaderRows(block: Buffer): ParsedHeaders {
  let text = block.toString('binary');
  // mailauth's `.replace(/[\r\n]+$/, '')`, as a scan.
  let end = text.length;
  while (end > 0 && (text.charCodeAt(end - 1) === 0x0a || text.charCodeAt(end - 1) === 0x0d)) end--;
  if (end < text.length) text = text.slice(0, end);
  const lines = text.split(/\r?\n/);
  if (lines.length === 1 && !lines[0]) return { parsed: [], original: block };

  // opens[i]: line i opens a row of its own. The first line always does (nothing to append to).
  const opens = new Array<boolean>(lines.length);
  let belowAppended = false;
  for (let i = lines.length - 1; i > 0; i--) {
    const line = lines[i]!;
    // A row's first line alone matching is enough (the pattern is anchored at the start only);
    // else, when the next line was appended to this one, mailauth tests the two joined.
    opens[i] = FIELD_START.test(line) || (belowAppended && FIELD_START.test(`${line}\r\n${lines[i + 1]}`));
    belowAppended = !opens[i];
  }
  opens[0] = true;

  const parsed: ParsedHeaderRow[] = [];
  let first = 0;
  for (let i = 1; i <= lines.length; i++) {
    if (i < lines.length && !opens[i]) continue;
    parsed.push(rowOf(i - first === 1 ? lines[first]! : lines.slice(first, i).join('\r\n')));
    first = i;
  }
  return { parsed, original: block };
}

/**
 * The rows a signature's `h=` (`names`, colon-separated, as written) selects, and the names
 * that select one, as mailauth's `getSigningHeaderLines` picks them when verifying: each name
 * (blanks trimmed, `lowerCaseAscii`) takes the bottom-most row of that name not taken yet
 * (RFC 6376 5.4.2); a name with none left takes nothing. mailauth finds each by scanning every
 * row from the bottom and splicing it out of a copy of the list, |h=| × rows steps per
 * signature: 2,300 names over 1,900 fields cost ~25 ordinary messages (review of December
 * 2026). Here each name is looked up in a list per field name, in one pass.
 */
export function signingRows(
  rows: readonly ParsedHeaderRow[],
  names: string,
): { names: string[]; rows: ParsedHeaderRow[] } {
  const byKey = new Map<string, ParsedHeaderRow[]>();
  for (const row of rows) {
    if (row.key === null) continue;
    const same = byKey.get(row.key);
    if (same) same.push(row);
    else byKey.set(row.key, [row]);
  }
  const picked: ParsedHeaderRow[] = [];
  const picking: string[] = [];
  for (const written of names.split(':')) {
    const name = lowerCaseAscii(trimBlanks(written));
    if (!name) continue;
    const row = byKey.get(name)?.pop();
    if (row === undefined) continue;
    picked.push(row);
    picking.push(name);
  }
  return { names: picking, rows: picked };
}
