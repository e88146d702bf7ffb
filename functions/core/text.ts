/**
 * Cutting text that strangers wrote to a bound. JavaScript strings count UTF-16 units, so a
 * plain `slice` can end between the two halves of a surrogate pair (an emoji, a CJK extension
 * character), leaving half a character: not text, and UTF-8 — what DynamoDB, SES and a
 * terminal receive — cannot carry it (an encoder writes U+FFFD or refuses the string).
 */

/**
 * `text` cut to at most `max` UTF-16 units between characters, never inside a surrogate pair;
 * with `mark`, a cut text ends with it, within `max`. Unchanged when it fits.
 */
export function cutText(text: string, max: number, mark = ''): string {
  if (text.length <= max) return text;
  let cut = Math.max(0, max - mark.length);
  const last = text.charCodeAt(cut - 1);
  if (cut > 0 && last >= 0xd800 && last <= 0xdbff) cut--;
  return `${text.slice(0, cut)}${mark}`;
}

/**
 * The bidirectional formatting characters (Unicode Standard Annex #9: ALM, LRM, RLM, the
 * embeddings and overrides, the isolates), as the inside of a RegExp character class: they
 * reorder what a reader sees around them ("Trojan Source", CVE-2021-42574). Headers we write
 * drop them (`sanitizeHeaderText`), the CLI shows them as `\uXXXX` (`terminal-safe.ts`).
 */
export const BIDI_FORMATTING_CLASS = '\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069';
