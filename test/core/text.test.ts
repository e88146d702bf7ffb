/**
 * `cutText` (`functions/core/text.ts`): a cut never splits a surrogate pair. Oracles:
 * `String.prototype.isWellFormed` (ECMAScript's own test for lone surrogates) and the
 * prefix property.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { cutText } from '../../functions/core/text.js';

describe('cutText', () => {
  it('a well-formed text stays well formed, within the bound, a prefix of the text plus the mark (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'é', '😀', '𠀀', ' ') }),
        fc.integer({ min: 0, max: 30 }),
        fc.constantFrom('', '…', '...'),
        (text, max, mark) => {
          const cut = cutText(text, max, mark);
          if (text.length <= max) return assert.equal(cut, text);
          assert.ok((cut as string & { isWellFormed(): boolean }).isWellFormed(), JSON.stringify(cut));
          assert.ok(cut.length <= Math.max(max, mark.length));
          assert.ok(cut.endsWith(mark));
          const kept = cut.slice(0, cut.length - mark.length);
          assert.ok(text.startsWith(kept));
          // At most one unit short of the room there was: the half of a pair.
          assert.ok(kept.length >= Math.max(0, max - mark.length) - 1);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('cuts before a pair that straddles the bound', () => {
    assert.equal(cutText('ab😀c', 3), 'ab');
    assert.equal(cutText('ab😀c', 4), 'ab😀');
    assert.equal(cutText('ab😀c', 4, '…'), 'ab…');
  });
});
