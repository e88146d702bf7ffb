/**
 * Bundle-time stand-in for `iconv-lite` (aliased by `lib/lambda-bundling.ts`), which
 * `libmime` requires only to decode legacy charsets in encoded-words and MIME parameters. Its
 * code-page tables are ~0.5 MB of the router bundle; Node's `TextDecoder` (full ICU in the
 * Lambda runtime) decodes the same WHATWG encodings, ISO-2022-JP, Shift_JIS and EUC-JP
 * included. Unknown charsets throw, as iconv-lite does, and libmime then falls back to UTF-8.
 */
export function decode(buf: Uint8Array, charset: string): string {
  return new TextDecoder(charset).decode(buf);
}

export function encodingExists(charset: string): boolean {
  try {
    new TextDecoder(charset);
    return true;
  } catch {
    return false;
  }
}
