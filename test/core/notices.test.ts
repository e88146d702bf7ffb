import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Notice, noticeKey, noticeMessage, noticeSubject } from '../../functions/core/notices.js';

const restricted: Notice = {
  kind: 'sender-restricted',
  identity: 'bulk@example.com',
  reason: 'limit-day',
  until: null,
};

describe('notices', () => {
  it('a restriction is one event per identity and restriction written (its `since`), whatever the day', () => {
    // Review of December 2026: keyed by identity and UTC day, a block-for-today sender released
    // at noon and restricted again at 15:00 was never told of again.
    const morning = new Date('2026-12-06T09:00:00Z');
    const evening = new Date('2026-12-06T15:00:00Z');
    const first = '2026-12-06T09:00:00.000Z';
    const afterRelease = '2026-12-06T15:00:00.000Z';
    // Containers raising one restriction (one `since`) at different moments: one event.
    assert.equal(noticeKey(restricted, morning, first), noticeKey(restricted, evening, first));
    // The restriction written after a release: another event, the same day.
    assert.notEqual(noticeKey(restricted, evening, first), noticeKey(restricted, evening, afterRelease));
    assert.notEqual(
      noticeKey(restricted, morning, first),
      noticeKey({ ...restricted, identity: 'other@example.com' }, morning, first),
    );
    // No stamp: the moment is the event (never folded into an earlier one of the day).
    assert.notEqual(noticeKey(restricted, morning), noticeKey(restricted, evening));
  });

  it('an alert is one event per identity and hour; a pause one per stamp', () => {
    const alert: Notice = { kind: 'limit-alert', identity: 'a@example.com', reasons: ['limit-day'] };
    assert.equal(
      noticeKey(alert, new Date('2026-12-06T10:00:00Z')),
      noticeKey(alert, new Date('2026-12-06T10:59:00Z')),
    );
    assert.notEqual(
      noticeKey(alert, new Date('2026-12-06T10:59:00Z')),
      noticeKey(alert, new Date('2026-12-06T11:00:00Z')),
    );
    const pause: Notice = {
      kind: 'pool-paused',
      pool: 'relay',
      configurationSet: 's',
      by: 'alarm',
      detail: '',
    };
    const now = new Date('2026-12-06T10:00:00Z');
    assert.equal(noticeKey(pause, now, 'T1'), noticeKey(pause, new Date(), 'T1'));
    assert.notEqual(noticeKey(pause, now, 'T1'), noticeKey(pause, now, 'T2'));
  });

  it('subjects are printable ASCII of at most 100 characters, whatever the identity holds', () => {
    const hostile: Notice = {
      ...restricted,
      identity: `x\r\nBcc: evil@example.net${'é'.repeat(200)}@example.com`,
    };
    const subject = noticeSubject(hostile);
    assert.ok(subject.length <= 100);
    assert.match(subject, /^[\x20-\x7e]+$/);
    assert.equal(
      noticeSubject(restricted),
      'outbound-pools: Sender restricted: bulk@example.com (limit-day)',
    );
  });

  it('the message is versioned JSON carrying the notice as given', () => {
    const now = new Date('2026-12-06T10:00:00Z');
    assert.deepEqual(JSON.parse(JSON.stringify(noticeMessage(restricted, now))), {
      version: 1,
      source: 'outbound-pools',
      at: '2026-12-06T10:00:00.000Z',
      notice: restricted,
    });
  });
});
