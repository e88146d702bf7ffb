import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeIdentity } from '../../functions/core/identity.js';

describe('normalizeIdentity (SPEC 4)', () => {
  const config = { subaddressSeparator: '+', identities: { 'robert@example.com': 'bob@example.com' } };
  for (const [input, expected] of [
    ['Bob@Example.COM', 'bob@example.com'],
    ['bob+news@example.com', 'bob@example.com'],
    ['bob+a+b@example.com', 'bob@example.com'],
    ['+tag@example.com', '+tag@example.com'],
    ['Robert+x@example.com', 'bob@example.com'],
    ['@Example.ORG', '@example.org'],
    ['bob-news@example.com', 'bob-news@example.com'],
    // The root's trailing dot names the same domain; a quoted local part the same mailbox.
    ['bob@example.com.', 'bob@example.com'],
    ['"bob"@example.com', 'bob@example.com'],
    ['"Bob+tag"@Example.com.', 'bob@example.com'],
    ['"b\\"o"@example.com', 'b"o@example.com'],
    ['"robert"@example.com', 'bob@example.com'],
  ] as const) {
    it(`${input} → ${expected}`, () => assert.equal(normalizeIdentity(input, config), expected));
  }
  it('another separator, and "" turns sub-addressing off', () => {
    assert.equal(
      normalizeIdentity('bob-news@example.com', { ...config, subaddressSeparator: '-' }),
      'bob@example.com',
    );
    assert.equal(
      normalizeIdentity('bob+news@example.com', { ...config, subaddressSeparator: '' }),
      'bob+news@example.com',
    );
  });
});
