import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasLoopMarker, hopCount, loopMarker } from '../../functions/core/loop.js';
import { parseHeaders } from '../../functions/core/message.js';

const fields = (...lines: string[]) => parseHeaders(Buffer.from(`${lines.join('\r\n')}\r\n\r\nbody`)).fields;

describe('loop marker (SPEC 2a)', () => {
  const secrets = ['newest-secret', 'older-secret'];
  it('is recognised for its route, under any configured secret, case-insensitively', () => {
    const m = loopMarker('Alias@Example.com', secrets);
    assert.match(m, /^alias@example\.com; [A-Za-z0-9_-]{16}$/);
    assert.equal(hasLoopMarker(fields(`X-Outbound-Pools-Loop: ${m}`), 'alias@example.com', secrets), true);
    assert.equal(
      hasLoopMarker(fields(`x-outbound-pools-loop:   ${m}  `), 'ALIAS@example.com', secrets),
      true,
    );
    const old = loopMarker('alias@example.com', ['older-secret']);
    assert.equal(hasLoopMarker(fields(`X-Outbound-Pools-Loop: ${old}`), 'alias@example.com', secrets), true);
  });
  it('is not recognised for another route, another secret, or a forged or altered MAC', () => {
    const m = loopMarker('alias@example.com', secrets);
    assert.equal(hasLoopMarker(fields(`X-Outbound-Pools-Loop: ${m}`), 'team@example.com', secrets), false);
    assert.equal(
      hasLoopMarker(fields(`X-Outbound-Pools-Loop: ${m}`), 'alias@example.com', ['other-secret']),
      false,
    );
    const forged = m.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    assert.equal(
      hasLoopMarker(fields(`X-Outbound-Pools-Loop: ${forged}`), 'alias@example.com', secrets),
      false,
    );
    assert.equal(
      hasLoopMarker(fields('X-Outbound-Pools-Loop: alias@example.com'), 'alias@example.com', secrets),
      false,
    );
    assert.equal(hasLoopMarker(fields(`X-Other: ${m}`), 'alias@example.com', secrets), false);
  });
  it('a marker for @domain (a catch-all route) is its own', () => {
    const m = loopMarker('@example.org', secrets);
    assert.equal(hasLoopMarker(fields(`X-Outbound-Pools-Loop: ${m}`), '@example.org', secrets), true);
    assert.equal(hasLoopMarker(fields(`X-Outbound-Pools-Loop: ${m}`), 'a@example.org', secrets), false);
  });
  it('hopCount counts Received fields only', () => {
    assert.equal(hopCount(fields('Received: a', 'X-Received: b', 'received: c', 'Subject: d')), 2);
  });
});
