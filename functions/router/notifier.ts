/**
 * The notifier (issue 14, SPEC 7): structured notices to the operators' topic, one per event.
 * A notice is published only when its event key (`noticeKey`) is claimed for the first time
 * in the ledger, so a thousand messages of a restricted sender, or two containers crossing the
 * same limit at once, give one notice.
 *
 * Notices are side information: a failure to publish is logged, never fails mail processing
 * (a retried invocation resumes its stored plan and would not raise the notice again anyway).
 */
import { type Notice, noticeKey, noticeMessage, noticeSubject } from '../core/notices.js';
import type { NoticeLedger, NoticePublisher } from '../core/ports.js';
import type { PipelineObserver } from './process.js';

/** How long an event key is remembered: longer than any notice window (a day). */
export const NOTICE_KEY_TTL_SECONDS = 2 * 24 * 3600;

export type NotifyOutcome = 'published' | 'duplicate' | 'failed';

export interface NotifierOptions {
  publisher: NoticePublisher;
  ledger: NoticeLedger;
  onError?: (error: Error, notice: Notice) => void;
}

export class Notifier {
  readonly #publisher: NoticePublisher;
  readonly #ledger: NoticeLedger;
  readonly #onError: (error: Error, notice: Notice) => void;

  constructor(options: NotifierOptions) {
    this.#publisher = options.publisher;
    this.#ledger = options.ledger;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Publishes `notice` unless its event was told already. `stamp`: see {@link noticeKey}. */
  async notify(notice: Notice, now: Date, stamp?: string): Promise<NotifyOutcome> {
    try {
      if (!(await this.#ledger.claim(noticeKey(notice, now, stamp), now, NOTICE_KEY_TTL_SECONDS))) {
        return 'duplicate';
      }
      await this.#publisher.publish(noticeSubject(notice), JSON.stringify(noticeMessage(notice, now)));
      return 'published';
    } catch (error) {
      this.#onError(error as Error, notice);
      return 'failed';
    }
  }
}

/**
 * Pipeline hooks → notices. The hooks are synchronous; the notices they raise are collected
 * and published by `flush()`, which the handler awaits before it returns (a Lambda container
 * may be frozen as soon as the handler returns).
 */
export function noticeObserver(notifier: Notifier, clock: () => Date) {
  let pending: Promise<unknown>[] = [];
  const observer: PipelineObserver = {
    restricted(r) {
      pending.push(
        notifier.notify(
          { kind: 'sender-restricted', identity: r.identity, reason: r.reason, until: r.until },
          clock(),
        ),
      );
    },
    alert(identity, reasons) {
      pending.push(notifier.notify({ kind: 'limit-alert', identity, reasons }, clock()));
    },
  };
  return {
    observer,
    async flush(): Promise<void> {
      const now = pending;
      pending = [];
      await Promise.all(now);
    },
  };
}

/** Calls every observer's hook in turn. */
export function combineObservers(...observers: (PipelineObserver | undefined)[]): PipelineObserver {
  const present = observers.filter((o): o is PipelineObserver => o !== undefined);
  const each =
    <K extends keyof PipelineObserver>(key: K) =>
    (...args: Parameters<NonNullable<PipelineObserver[K]>>) => {
      for (const o of present) (o[key] as ((...a: typeof args) => void) | undefined)?.(...args);
    };
  return {
    decided: each('decided'),
    restricted: each('restricted'),
    alert: each('alert'),
    sent: each('sent'),
    sendFailed: each('sendFailed'),
    duplicate: each('duplicate'),
    warn: each('warn'),
  };
}
