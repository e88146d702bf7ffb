/**
 * What the decision needs from the raw message: its header fields. We only read the header
 * block; the body is never parsed, decoded or altered here.
 */
import libmime from 'libmime';
import { toALabel } from 'mailauth/lib/tools.js';
import addressparser from 'nodemailer/lib/addressparser';
import { BIDI_FORMATTING_CLASS } from './text.js';

export interface HeaderField {
  /** Lower-cased field name. */
  key: string;
  /** Unfolded value (RFC 5322 2.2.3), decoded as UTF-8 (RFC 6532 allows 8-bit headers). */
  value: string;
}

export interface Mailbox {
  /** Display name, RFC 2047 encoded-words decoded, control characters removed. */
  name: string;
  /** Lower-cased domain, original local part. Empty when the header held no address. */
  address: string;
}

export interface MessageHeaders {
  fields: HeaderField[];
  /** Byte length of the header block (up to the empty line). */
  headerBytes: number;
  /** Whether an empty line separated a body (false for a header-only or truncated message). */
  hasBody: boolean;
  get(key: string): string | undefined;
  getAll(key: string): string[];
}

/** Offset of the blank line that ends the header block (RFC 5322 2.1), or -1. */
function headerEnd(raw: Uint8Array): { end: number; bodyStart: number } {
  // A message that starts with an empty line has no header at all: all of it is body.
  if (raw[0] === 0x0a) return { end: 0, bodyStart: 1 };
  if (raw[0] === 0x0d && raw[1] === 0x0a) return { end: 0, bodyStart: 2 };
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x0a) continue;
    // LF followed by LF, or by CR LF: an empty line.
    if (raw[i + 1] === 0x0a) return { end: i + 1, bodyStart: i + 2 };
    if (raw[i + 1] === 0x0d && raw[i + 2] === 0x0a) return { end: i + 1, bodyStart: i + 3 };
  }
  return { end: -1, bodyStart: raw.length };
}

/** A line starting a field: a field name (RFC 5322 3.6.8), optional WSP, a colon. */
const FIELD_LINE = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:(.*)$/s;

/**
 * Splits the header block into fields, in time linear in its size: each field's lines are
 * collected and joined once (re-concatenating the value on every continuation line, as this
 * used to, is quadratic in a field's line count; see docs/hostile-input.md).
 *
 * A line starting with WSP continues the field above (RFC 5322 2.2.3). A line that is
 * neither (no field name and colon, e.g. a name followed by VT, FF, NUL or DEL before the
 * colon) is no field of RFC 5322: it is dropped with its continuation lines, exactly as the
 * copy's rewrite (`compose/rewrite.ts`, `headerFields`) drops it, so no parser downstream can
 * read it as a field of its own (a lenient one reads `Bcc<VT>: x` as `Bcc`).
 */
export function parseHeaders(raw: Uint8Array): MessageHeaders {
  const { end } = headerEnd(raw);
  const block = Buffer.from(raw.buffer, raw.byteOffset, end < 0 ? raw.length : end).toString('utf8');
  const fields: HeaderField[] = [];
  let key: string | null = null;
  let parts: string[] = [];
  const flush = () => {
    if (key !== null) fields.push({ key, value: parts.join(' ') });
    key = null;
    parts = [];
  };
  for (const line of block.split(/\r?\n/)) {
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      const text = line.trim();
      if (key !== null && text.length > 0) parts.push(text);
      continue;
    }
    flush();
    const m = FIELD_LINE.exec(line);
    if (!m) continue; // not a field: dropped, with its continuation lines (key stays null)
    key = m[1]!.toLowerCase();
    const text = m[2]!.trim();
    if (text.length > 0) parts.push(text);
  }
  flush();
  return {
    fields,
    headerBytes: end < 0 ? raw.length : end,
    hasBody: end >= 0,
    get: (k) => fields.find((f) => f.key === k.toLowerCase())?.value,
    getAll: (k) => fields.filter((f) => f.key === k.toLowerCase()).map((f) => f.value),
  };
}

/** What {@link sanitizeHeaderText} removes. */
const NOT_FOR_HEADERS = new RegExp(
  `[\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029${BIDI_FORMATTING_CLASS}]+`,
  'g',
);

/**
 * Removes what must never reach a header we write: CR, LF and every other control character
 * (C0, DEL, C1 such as NEL U+0085, and the Unicode line/paragraph separators), and the bidi
 * formatting characters (U+061C, U+200E/F, U+202A–202E, U+2066–2069), which let a display
 * name reorder what a reader sees after it — " via example.com" shown as "moc.elpmaxe aiv".
 */
export function sanitizeHeaderText(text: string): string {
  return String(text).replace(NOT_FOR_HEADERS, ' ').replace(/\s+/g, ' ').trim();
}

function decodeWords(text: string): string {
  try {
    return libmime.decodeWords(text);
  } catch {
    return text;
  }
}

/**
 * Whether an address field says one thing to every parser (RFC 5322 3.2.4, 3.2.2, 3.4):
 * outside quotes and comments every `<` has its `>`, comments nest, a backslash escapes the
 * next character only inside quotes and comments, and each mailbox is an addr-spec with one
 * unquoted `@`, or one angle-addr whose display name names no other address. A field left
 * open is read differently by different parsers — an open quote swallows what follows — and
 * so is `ceo@example.com <x@attacker.test>`, `a <x@attacker.test> <ceo@example.com>` or
 * `ceo@example.com\\@attacker.test`: nodemailer reads the attacker's address, Python's
 * `email.headerregistry` the accepted domain's (review of December 2026). Such a field cannot
 * name the author the decision relies on (SPEC 2a: F). `x@y <x@y>`, as some programs write
 * it, says one thing and passes; a quoted display name may hold any text.
 */
export function wellDelimited(value: string): boolean {
  let quoted = false;
  let comment = 0;
  let angle = 0;
  // The mailbox being read: its angle-addrs, what stands inside them, and its unquoted,
  // uncommented text outside them.
  let angles = 0;
  let inside = '';
  let outside = '';
  const mailboxSaysOneThing = (): boolean => {
    const ats = outside.split('@').length - 1;
    if (angles === 0) return ats <= 1;
    if (angles > 1) return false;
    const address = inside.trim().toLowerCase();
    return outside
      .split(/\s+/)
      .filter((word) => word.includes('@'))
      .every((word) => word.toLowerCase() === address);
  };
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (quoted || comment > 0) {
      if (ch === '\\') {
        i++;
        continue;
      }
      if (quoted) {
        if (ch === '"') quoted = false;
      } else if (ch === '(') comment++;
      else if (ch === ')') comment--;
      continue;
    }
    if (ch === '\\') return false;
    if (ch === '(') comment++;
    else if (ch === '"') quoted = true;
    else if (ch === ')') return false;
    else if (ch === '<') {
      if (++angle > 1) return false;
      angles++;
    } else if (ch === '>') {
      if (--angle < 0) return false;
    } else if (angle > 0) {
      if (ch === ',') return false;
      inside += ch;
    } else if (ch === ',' || ch === ';' || ch === ':') {
      // The end of a mailbox, or of a group's name, which names no address at all.
      if (ch === ':' ? angles > 0 || outside.includes('@') : !mailboxSaysOneThing()) return false;
      angles = 0;
      inside = '';
      outside = '';
    } else outside += ch;
  }
  return !quoted && comment === 0 && angle === 0 && mailboxSaysOneThing();
}

/** Parses an address-list header (From, Reply-To, To) into mailboxes, flattening groups. */
export function parseMailboxes(value: string | undefined): Mailbox[] {
  if (!value) return [];
  let parsed: ReturnType<typeof addressparser>;
  try {
    parsed = addressparser(value, { flatten: true });
  } catch {
    return [];
  }
  const out: Mailbox[] = [];
  for (const entry of parsed) {
    if (!('address' in entry) || entry.address === undefined) continue;
    const address = sanitizeHeaderText(entry.address).replace(/\s/g, '');
    const at = address.lastIndexOf('@');
    out.push({
      name: sanitizeHeaderText(decodeWords(entry.name ?? '')),
      address: at > 0 ? `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}` : address,
    });
  }
  return out;
}

export interface ContentType {
  type: string;
  params: Record<string, string>;
}

/**
 * `text` with its comments (RFC 5322 3.2.2: parenthesised, nesting) each written as a space,
 * innermost first, up to 8 deep: deeper than any header written in earnest needs.
 */
export function withoutComments(text: string): string {
  let out = text;
  for (let i = 0; i < 8 && out.includes('('); i++) out = out.replace(/\([^()]*\)/g, ' ');
  return out;
}

/**
 * Every `report-type` a Content-Type value gives (RFC 6522 3), lower-cased, comments dropped:
 * each occurrence as written, and libmime's reading (which decodes RFC 2231 and keeps the
 * last of a repeated parameter; `parsed`, when the caller has already parsed `value`). A DSN is a DSN to whoever reads it first or last, and
 * `delivery-status (rfc3464)` — a comment is allowed there (RFC 2045 5.1) — is one too
 * (review of December 2026: either way it passed for ordinary mail).
 */
export function reportTypes(
  value: string | undefined,
  parsed: ContentType | undefined = parseContentType(value),
): string[] {
  if (!value) return [];
  const types = new Set<string>();
  const uncommented = (v: string) => withoutComments(v).trim().toLowerCase();
  for (const m of value.matchAll(/;\s*report-type\s*=\s*(?:"([^"]*)"|([^\s;()"]+))/gi))
    types.add(uncommented(m[1] ?? m[2] ?? ''));
  const read = parsed?.params['report-type'];
  if (read !== undefined) types.add(uncommented(read));
  return [...types];
}

/** Parses a Content-Type value (RFC 2045 5.1); lower-cased type and parameter names. */
export function parseContentType(value: string | undefined): ContentType | undefined {
  if (!value) return undefined;
  const parsed = libmime.parseHeaderValue(value);
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed.params ?? {})) params[k.toLowerCase()] = String(v);
  return {
    type: String(parsed.value ?? '')
      .toLowerCase()
      .trim(),
    params,
  };
}

/**
 * A domain as every comparison here takes it (alignment, accepted domains, routes,
 * identities): its U-labels as A-labels, the form DNS holds and mailauth looks DKIM keys up
 * under (RFC 8616 section 3; mailauth's `toALabel`: NFC, lower case, Punycode, ASCII labels
 * untouched), then in lower case, the root's trailing dot dropped. An internationalized mail
 * (RFC 6532) may write `bücher.example` where a signature says `d=xn--bcher-kva.example`:
 * the same name. Nothing is mapped beyond that (no UTS 46 folding of full-width letters or
 * ideographic dots), so a name written differently from its A-label stays a different name.
 */
export function canonicalDomain(domain: string): string {
  return toALabel(domain).toLowerCase().replace(/\.$/, '');
}

/** Domain part of an address ({@link canonicalDomain}), or undefined when there is none. */
export function domainOf(address: string | undefined | null): string | undefined {
  if (!address) return undefined;
  const at = address.lastIndexOf('@');
  if (at < 0 || at === address.length - 1) return undefined;
  return canonicalDomain(address.slice(at + 1));
}

/** Strips the angle brackets of a path (`<a@b>` → `a@b`, `<>` → ``). */
export function unbracket(path: string): string {
  const t = path.trim();
  return t.startsWith('<') && t.endsWith('>') ? t.slice(1, -1).trim() : t;
}

/**
 * An addr-spec (RFC 5321 4.1.2 `Mailbox`, with RFC 6531's UTF-8): a dot-atom or quoted-string
 * local part, `@`, and a dot-atom domain or an address literal. Nothing a reader could split
 * into two addresses (`,`, `;`, `<`, `>`) or leave unterminated (a lone `"`) outside quotes.
 */
const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-\\u00a0-\\uffff]+";
const ADDR_SPEC = new RegExp(
  `^(?:${ATOM}(?:\\.${ATOM})*|"(?:[^"\\\\\\r\\n]|\\\\[^\\r\\n])*")@(?:${ATOM}(?:\\.${ATOM})*|\\[[^\\[\\]\\\\\\s]+\\])$`,
  'u',
);

/** Whether `address` is one addr-spec, written so that every reader takes it as one address. */
export function isAddrSpec(address: string): boolean {
  return ADDR_SPEC.test(address);
}

/**
 * Formats a mailbox for a header we write: the display name quoted (RFC 5322 3.2.4) or, when
 * it is not ASCII, an RFC 2047 encoded-word. The name is sanitised first, so no CR/LF or other
 * control character can be smuggled into the header. A name that still reads as an
 * encoded-word (`=?…?=`: one layer decoded by us, the next left for the receiver, who decodes
 * encoded-words inside quoted strings too) is written as an encoded-word itself, so a receiver
 * decodes it once, to the sanitised text, and never to the CR/LF it may hold.
 */
export function formatMailbox(name: string, address: string): string {
  const clean = sanitizeHeaderText(name);
  if (!clean) return `<${address}>`;
  if (/^[\x20-\x7e]*$/.test(clean) && !clean.includes('=?')) {
    return `"${clean.replace(/(["\\])/g, '\\$1')}" <${address}>`;
  }
  return `${libmime.encodeWord(clean, 'Q', 52)} <${address}>`;
}
