/**
 * Bundle-time stand-in for `encoding-japanese` (aliased by `lib/lambda-bundling.ts`): libmime
 * tries it first for JIS/ISO-2022-JP/EUC-JP and falls back to `iconv-lite` when it throws;
 * our `iconv-lite` stand-in decodes those with `TextDecoder`. Saves ~230 KB of tables.
 */
export function convert(): never {
  throw new Error('encoding-japanese is not bundled; TextDecoder decodes this charset');
}
