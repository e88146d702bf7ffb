/**
 * Types for the helpers of mailauth's (untyped) `lib/tools.js` the ARC seal uses: the header
 * parser its signer and verifier share, so a header block handed to `createSeal` is read
 * exactly as mailauth reads a whole message, and the pieces of its signer `arc-sign.ts`
 * composes an ARC set from.
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
  /**
   * The fields `fieldNames` (colon-separated) selects, bottom-up, and their `h=` value; with
   * `verify`, as a verifier reads a signature's `h=` (each name takes one field).
   */
  export function getSigningHeaderLines(
    parsed: ParsedHeaderRow[],
    fieldNames: string,
    verify?: boolean,
  ): { keys: string; headers: ParsedHeaderRow[] };
  /** A `DKIM-Signature` (`DKIM`), `ARC-Message-Signature` (`ARC`) or `ARC-Seal` (`AS`) field. */
  export function formatSignatureHeaderLine(
    type: 'DKIM' | 'ARC' | 'AS',
    values: Record<string, unknown>,
    folded: boolean,
  ): string;
  /** A field in relaxed canonical form (RFC 6376 3.4.2), `suffix` appended. */
  export function formatRelaxedLine(line: Buffer | string, suffix?: string): Buffer;
  /** The field with the value of its `b=` tag removed. */
  export function stripSignatureValue(line: Buffer): Buffer;
  export function parseDkimHeaders(line: Buffer | string): {
    parsed?: Record<string, { value?: unknown } | undefined>;
  };
}

declare module 'mailauth/lib/dkim/header/index.js' {
  import type { getSigningHeaderLines } from 'mailauth/lib/tools.js';
  /** The canonical header block a signature signs, and the tags of that signature. */
  export function generateCanonicalizedHeader(
    type: 'DKIM' | 'ARC',
    lines: ReturnType<typeof getSigningHeaderLines>,
    options: Record<string, unknown>,
  ): { canonicalizedHeader: Buffer; dkimHeaderOpts: Record<string, unknown> };
}
