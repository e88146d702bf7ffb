/**
 * What the CLI prints reaches an operator's terminal, and much of it is written by strangers:
 * envelope and header addresses, a remote server's bounce text in a trace event, an error
 * quoting its input. A control character in it could drive the terminal — move the cursor
 * over a line to forge it, hide text, set the window title, or write the clipboard (OSC 52) —
 * and a bidirectional override could make one address read as another. So every write of the
 * CLI passes through {@link escapeControls}: C0 controls but tab, line feed and carriage
 * return, DEL, C1 controls (U+0080–U+009F: 0x9B is CSI to a terminal that reads C1) and the
 * bidirectional formatting characters (Unicode Standard Annex #9; the "Trojan Source"
 * characters of CVE-2021-42574) become the text `\uXXXX`. The CLI's own colours survive: the
 * few SGR sequences of its palette (bold, dim, red, green, yellow, magenta, cyan, and their
 * resets) and erase-line, which its progress line uses.
 *
 * JSON stays JSON, and says the same: `JSON.stringify` escapes C0 controls itself, and the
 * other characters can only stand inside a string there, where `\uXXXX` is their JSON escape.
 */

import { BIDI_FORMATTING_CLASS } from '../core/text.js';

/** The CLI's own escape sequences (`painter` in `io.ts`, the progress line of `redrive.ts`). */
const OWN_SEQUENCE = '\\u001b\\[(?:1|2|22|31|32|33|35|36|39)m|\\u001b\\[K';
/** Characters a terminal may act on or reorder, as above. */
const UNSAFE_CHAR = `[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f${BIDI_FORMATTING_CLASS}]`;
const UNSAFE = new RegExp(`${OWN_SEQUENCE}|${UNSAFE_CHAR}`, 'g');

/** `text` with every unsafe character written as `\uXXXX`, the CLI's own sequences kept. */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, (m) =>
    m.length > 1 ? m : `\\u${m.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * `stream`, whose `write` escapes what it is given ({@link escapeControls}); everything else
 * (`isTTY`, events) is the stream's own. Byte chunks pass as they are: the CLI writes text.
 */
export function terminalSafe(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  const write = (chunk: unknown, ...rest: unknown[]) =>
    (stream.write as (...a: unknown[]) => boolean)(
      typeof chunk === 'string' ? escapeControls(chunk) : chunk,
      ...rest,
    );
  return new Proxy(stream, {
    get(target, property) {
      if (property === 'write') return write;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
