/**
 * Route expansion (`functions/core/routes.ts`): a destination gets one copy of a message,
 * however many of its routes name it and however many times one route lists it (review of
 * December 2026: a list naming a member twice sent and counted it twice). The oracle is the
 * set of the routes' destinations, in lower case.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { expandRecipients } from '../../functions/core/routes.js';
import { testConfig } from '../helpers/mail.js';

describe('expandRecipients', () => {
  it('a member listed twice in one route, in two spellings, is one destination', () => {
    const config = testConfig({
      routes: { 'list@example.com': ['d@remote.test', 'D@Remote.test', 'e@remote.test'] },
    });
    const e = expandRecipients(config, ['list@example.com']);
    assert.deepEqual(e.routed, [
      {
        recipient: 'list@example.com',
        route: 'list@example.com',
        destinations: ['d@remote.test', 'e@remote.test'],
      },
    ]);
  });

  it('every destination of the routed recipients once, in order of first mention (property)', () => {
    const member = fc.constantFrom('a', 'b', 'c', 'd').map((l) => `${l}@remote.test`);
    const routes = fc.array(fc.array(member, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(routes, (lists) => {
        const config = testConfig({
          routes: Object.fromEntries(lists.map((list, i) => [`list${i}@example.com`, list])),
        });
        const recipients = lists.map((_, i) => `list${i}@example.com`);
        const all = expandRecipients(config, recipients).routed.flatMap((r) => r.destinations);
        assert.deepEqual(all, [...new Set(lists.flat())]);
      }),
      { numRuns: 300 },
    );
  });
});
