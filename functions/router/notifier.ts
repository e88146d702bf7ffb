/**
 * The notifier (issue 14, SPEC 7): structured notices to the operators' topic, one per event.
 * A notice is published only when its event key (`noticeKey`) is claimed for the first time
 * in the ledger, so a thousand messages of a restricted sender, or two containers crossing the
 * same limit at once, give one notice.
 *
 * The key is claimed before the publish (claiming after would let two racing containers both
 * publish), so a publish that fails gives the key back (`NoticeLedger.release`): left claimed,
 * the key would answer `duplicate` to every later attempt for its two days and the event would
 * never be told. A later attempt (the pause function's retried invocation, the router's next
 * alert of the hour) then claims it again and publishes.
 *
 * `notify` never throws: in the router notices are side information, and a failure is logged,
 * never fails mail processing. `tell` throws, for callers whose job *is* the notice (the pause
 * function: SPEC 7 promises the "pool paused" notice, so a failure must fail the invocation
 * and let Lambda retry it).
 */
import { OutboundPoolsError } from '../core/errors.js';
import { type Notice, noticeKey, noticeMessage, noticeSubject } from '../core/notices.js';
import type { NoticeLedger, NoticePublisher } from '../core/ports.js';
import type { PipelineObserver } from './process.js';

/** How long an event key is remembered: longer than any notice window (a day). */
export const NOTICE_KEY_TTL_SECONDS = 2 * 24 * 3600;

export type NotifyOutcome = 'published' | 'duplicate' | 'failed';

export interface NotifierOptions {
  publisher: NoticePublisher;
  ledger: NoticeLedger;
  /** Told of every failure `notify` swallows, and of a claim `tell` could not give back. */
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

  /**
   * Publishes `notice` unless its event was told already. `stamp`: see {@link noticeKey}.
   * Throws what failed (the ledger's claim, or the publish after its key was given back).
   */
  async tell(notice: Notice, now: Date, stamp?: string): Promise<'published' | 'duplicate'> {
    const key = noticeKey(notice, now, stamp);
    if (!(await this.#ledger.claim(key, now, NOTICE_KEY_TTL_SECONDS))) return 'duplicate';
    try {
      await this.#publisher.publish(noticeSubject(notice), JSON.stringify(noticeMessage(notice, now)));
    } catch (error) {
      await this.#ledger.release(key, now).catch((releaseError: unknown) => {
        // The publish error is the one thrown; this one says why the event may stay untold
        // (its key claimed for NOTICE_KEY_TTL_SECONDS) and is reported beside it.
        this.#onError(
          new OutboundPoolsError(`notice key ${key} not released: ${(releaseError as Error).message}`, {
            cause: releaseError,
          }),
          notice,
        );
      });
      throw error;
    }
    return 'published';
  }

  /** {@link tell}, with a failure reported to `onError` and answered `failed`, never thrown. */
  async notify(notice: Notice, now: Date, stamp?: string): Promise<NotifyOutcome> {
    try {
      return await this.tell(notice, now, stamp);
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
          // The restriction written names the event (`noticeKey`): a restriction after a release
          // is told again, even the same day.
          r.since,
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
