/** Types for libmime's (untyped) charset module, which the libmime stand-in decodes with. */
declare module 'libmime/lib/charset.js' {
  const charset: {
    /** `buf` decoded from `fromCharset` (default UTF-8); throws for an unknown charset. */
    decode(buf: Buffer, fromCharset?: string): string;
    /** The canonical name of a charset (`win-1257` → `windows-1257`), else upper-cased. */
    normalizeCharset(charset: string): string;
  };
  export default charset;
}
