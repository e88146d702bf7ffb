/**
 * Types for the one helper of mailauth's (untyped) `lib/tools.js` the ARC seal uses: the
 * header parser its signer and verifier share, so a header block handed to `createSeal` is
 * read exactly as mailauth reads a whole message.
 */
declare module 'mailauth/lib/tools.js' {
  export interface ParsedHeaderRow {
    /** Lower-cased field name. */
    key: string | null;
    casedKey?: string;
    /** The field's lines joined with CRLF, without the final line end. */
    line: Buffer;
  }
  export interface ParsedHeaders {
    parsed: ParsedHeaderRow[];
    original: Buffer;
  }
  export function parseHeaders(buf: Buffer): ParsedHeaders;
}
