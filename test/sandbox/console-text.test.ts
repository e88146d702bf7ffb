/**
 * The console's page shows sender text as the CLI prints it: its browser script
 * (`sandbox/console/static/dom.js`, plain JavaScript that cannot import TypeScript) keeps its own
 * copy of the set of characters `functions/cli/terminal-safe.ts` escapes. The two must agree on
 * every code point; the page keeps tab, line feed and carriage return (the raw copy is shown
 * with its lines), as the CLI does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeControls } from '../../functions/cli/terminal-safe.js';

interface DomText {
  visibleText(value: unknown): string;
}

// A plain-JS browser module without types: imported by URL (Node runs it; it touches `document` only when called).
const domUrl = new URL('../../sandbox/console/static/dom.js', import.meta.url).href;
const dom = (await import(domUrl)) as DomText;

describe('the console page and the CLI escape the same characters', () => {
  it('agree on every code point', () => {
    const disagree: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      if (dom.visibleText(c) !== escapeControls(c)) disagree.push(`U+${cp.toString(16).padStart(4, '0')}`);
    }
    assert.deepEqual(disagree, []);
  });

  it('write a bidi override as a visible marker and keep line breaks and tabs', () => {
    assert.equal(
      dom.visibleText('From: "\u202Emoc.elpmaxe@oec" <m@evil.test>\r\n\tx\u0085\u2066'),
      'From: "\\u202emoc.elpmaxe@oec" <m@evil.test>\r\n\tx\\u0085\\u2066',
    );
    assert.equal(dom.visibleText(42), '42');
  });
});
