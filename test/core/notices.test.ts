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
  it('a restriction is one event per identity and UTC day', () => {
    const morning = new Date('2026-12-06T01:00:00Z');
    const evening = new Date('2026-12-06T23:59:59Z');
    const next = new Date('2026-12-07T00:00:00Z');
    assert.equal(noticeKey(restricted, morning), noticeKey(restricted, evening));
    assert.notEqual(noticeKey(restricted, evening), noticeKey(restricted, next));
    assert.notEqual(
      noticeKey(restricted, morning),
      noticeKey({ ...restricted, identity: 'other@example.com' }, morning),
    );
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
