/**
 * Operator notices (SPEC 7, issue 14): the events an operator is told of through the alarm
 * topic, as structured values. One notice per *event*, never one per message: each notice has
 * a deduplication key whose window says what "one event" means, and the notifier publishes a
 * key once (`NoticeLedger`), however many messages or concurrent invocations raise it.
 *
 * NDR and relay surges are CloudWatch alarms on the router's metrics (`lib/alarms.ts`): an
 * alarm publishes once per state change, which is already one notice per event.
 */
import type { Pool, Reason } from './vocabulary.js';

export type Notice =
  /** A sending limit restricted a sender (SPEC 4). `until` null: until an operator releases it. */
  | { kind: 'sender-restricted'; identity: string; reason: string; until: string | null }
  /** An alert-only limit was crossed: the mail went through `high-risk`. */
  | { kind: 'limit-alert'; identity: string; reasons: Reason[] }
  /** A pool was paused: its configuration set's sending disabled. */
  | { kind: 'pool-paused'; pool: Pool; configurationSet: string; by: 'alarm' | 'operator'; detail: string }
  /** A pool was resumed. */
  | { kind: 'pool-resumed'; pool: Pool; configurationSet: string; by: 'operator'; detail: string };

export type NoticeKind = Notice['kind'];

/** What is published: the notice, when, and a version for consumers that parse it. */
export interface NoticeMessage {
  version: 1;
  source: 'outbound-pools';
  at: string;
  notice: Notice;
}

const hour = (now: Date) => now.toISOString().slice(0, 13);

/**
 * The event a notice belongs to; `stamp` names it where the notice alone cannot.
 *
 * - A restriction: one event per identity and restriction written, `stamp` being the
 *   restriction's `since`. The limits store writes a restriction only while none is in force
 *   and the identity's last release is the one its counters were read with (`LimitsStore.restrict`,
 *   `writeRestrictions` in `functions/router/counting.ts`), and only the writer raises the
 *   notice: containers racing on one crossing give one notice. A second restriction of the same
 *   day therefore follows an operator release (a released `block-for-today` sender still over
 *   its day limit is restricted again by its next message; SPEC 4 spares only `block`), and the
 *   operator who released it must hear of it: it is a new event, not the day's first one again.
 * - An alert: one per identity and hour.
 * - A pause or a resume: one per pool and `stamp` (the alarm's state-change time, or the
 *   operator's command time).
 */
export function noticeKey(notice: Notice, now: Date, stamp = now.toISOString()): string {
  switch (notice.kind) {
    case 'sender-restricted':
      return `${notice.kind}#${notice.identity}#${stamp}`;
    case 'limit-alert':
      return `${notice.kind}#${notice.identity}#${hour(now)}`;
    case 'pool-paused':
    case 'pool-resumed':
      return `${notice.kind}#${notice.pool}#${stamp}`;
  }
}

/** A one-line subject (SNS: at most 100 printable ASCII characters, no line break). */
export function noticeSubject(notice: Notice): string {
  const text = (() => {
    switch (notice.kind) {
      case 'sender-restricted':
        return `Sender restricted: ${notice.identity} (${notice.reason})`;
      case 'limit-alert':
        return `Sending limit alert: ${notice.identity} (${notice.reasons.join(', ')})`;
      case 'pool-paused':
        return `Pool paused: ${notice.pool} (${notice.by})`;
      case 'pool-resumed':
        return `Pool resumed: ${notice.pool}`;
    }
  })();
  // An identity is attacker-influenced text: keep the subject printable ASCII and bounded.
  return `outbound-pools: ${text}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
}

export function noticeMessage(notice: Notice, now: Date): NoticeMessage {
  return { version: 1, source: 'outbound-pools', at: now.toISOString(), notice };
}
