/**
 * The seams between the pipeline and the outside world. The pipeline (`functions/router/process.ts`) only
 * knows these interfaces; AWS adapters (`functions/adapters/`) and test doubles implement
 * them. Following Powertools' idempotency package: the core is abstract, each adapter is the
 * only file that imports its SDK.
 */
import type { AuthenticationFacts } from './authentication.js';
import type { PlannedSend } from './decide.js';
import type { LimitUsage, Restriction, SenderState } from './limits.js';
import type { CopyRefusal } from './ses-refusals.js';
import type { Disposition, Reason } from './vocabulary.js';

/** Where the receipt rule's S3 action stored the raw message. */
export interface MailStore {
  /**
   * Reads the raw message of `messageId`, streaming, and stops after `maxBytes + 1` bytes
   * (`truncated: true`): an oversized message is blocked without being held in memory.
   * Throws `MessageNotFoundError` when there is no such object.
   */
  get(messageId: string, maxBytes: number): Promise<{ raw: Buffer; truncated: boolean; sizeBytes: number }>;
}

/** Sending-limit counters and restrictions (SPEC 4), shared by every concurrent invocation. */
export interface LimitsStore {
  /**
   * Atomically adds this message's recipients to the identity's counters and returns the
   * counters as they were *before* this message, plus the identity's restriction. One
   * conditional `UpdateItem` in the common case; no read.
   */
  count(usage: LimitUsage, now: Date): Promise<SenderState>;
  /**
   * Takes back what `count` added for a message (counted at `countedAt`) that was then
   * blocked: blocked mail is never counted (SPEC 4). Best effort once the window has moved.
   */
  refund(usage: LimitUsage, countedAt: Date): Promise<void>;
  /**
   * Atomically counts one NDR to `recipient` in the current clock hour and returns how many
   * this hour, this one included (SPEC 3 rule 1: at most a few per address per hour).
   */
  countNdr(recipient: string, now: Date): Promise<number>;
  /**
   * Takes back one NDR `countNdr` counted at `countedAt` (an attempt that failed before its
   * decision reached the trace: its retry counts again). Never below zero; nothing once the
   * hour has passed.
   */
  refundNdr(recipient: string, countedAt: Date): Promise<void>;
  /**
   * Records a restriction unless one is already in force, or, when `seen` is given, unless the
   * identity's last release is no longer the one the decision read (an operator released it
   * in between: the decision was made on counters the release set aside). True when written.
   */
  restrict(restriction: Restriction, now: Date, seen?: { releasedAt: string | null }): Promise<boolean>;
  /** Lifts a restriction; false when the identity was not restricted. */
  release(identity: string, now: Date): Promise<boolean>;
  /** Identities whose restriction is in force at `now`. */
  listRestricted(now: Date): Promise<Restriction[]>;
  /** The identity's current counters and restriction (operators' `limits show`), or null. */
  peek(identity: string, now: Date): Promise<SenderState | null>;
}

/** What one planned copy became. */
export interface SendRecord {
  index: number;
  kind: PlannedSend['kind'];
  to: string[];
  pool: PlannedSend['pool'];
  configurationSet: string;
  /** The SES tenant the copy was sent as (issue 14); absent in records written before tenants. */
  tenant?: string;
  envelopeFrom: string;
  status: 'sent' | 'failed';
  /** The id SES returned for the copy (SES replaces Message-ID with its own). */
  sesMessageId?: string;
  at: string;
  error?: string;
  /** Why SES refused the copy (`status: 'failed'`), `ses-refusals.ts`. */
  refusal?: CopyRefusal;
}

/** The decision part of a trace record, written with the first send (or alone). */
export interface TraceSummary {
  messageId: string;
  receivedAt: string;
  /** Envelope sender, `''` for a null reverse path. */
  sender: string;
  /** The recipients SES received the message for. */
  recipients: string[];
  /** Every destination any copy goes to. */
  destinations: string[];
  unrouted: string[];
  pool: Disposition;
  /** `OutboundIpPoolName` as Microsoft's message trace calls it; null when blocked. */
  outboundIpPoolName: string | null;
  configurationSet: string | null;
  reasons: Reason[];
  /** The planned copies, so a retried event resumes instead of re-deciding. */
  plan: PlannedSend[];
  sizeBytes: number;
  decisionMs: number;
  /** Who proved what (SPEC 2a), so an operator sees why; absent on records written before it. */
  authentication?: AuthenticationFacts;
}

/** A delivery event SES reported for one of our sends (feedback function). */
export interface DeliveryEvent {
  type:
    | 'Send'
    | 'Delivery'
    | 'Bounce'
    | 'Complaint'
    | 'Reject'
    | 'DeliveryDelay'
    | 'RenderingFailure'
    | string;
  at: string;
  sesMessageId: string;
  recipients: string[];
  /** A short human summary: bounce type, SMTP response, complaint feedback type. */
  detail?: string;
}

export type ClaimResult =
  /** This invocation owns the message; `attempt` fences its writes. */
  | { state: 'claimed'; attempt: number; resumed: { summary: TraceSummary; sent: SendRecord[] } | null }
  /** The message was fully processed before: a duplicate delivery, nothing to do. */
  | { state: 'done' }
  /** Another invocation holds a live lease on it. */
  | { state: 'busy'; leaseUntil: string };

/** What `TraceStore.recorded` reads back of a message. */
export interface RecordedTrace {
  /** The attempt that claimed the message last (the fencing token). */
  attempt: number;
  summary: TraceSummary | null;
  sends: SendRecord[];
}

/**
 * The message trace (SPEC 6), which is also the idempotency record: one item per received
 * message, claimed with a lease before any side effect and updated after every send.
 */
export interface TraceStore {
  claim(messageId: string, now: Date, leaseMs: number): Promise<ClaimResult>;
  /**
   * Records one send (and the summary with the first write of an attempt), fenced by
   * `attempt`: a write from an attempt that lost its lease fails with `LeaseLostError`.
   * `final` marks the message done.
   */
  recordSend(
    messageId: string,
    attempt: number,
    send: SendRecord | null,
    summary: TraceSummary | null,
    final: boolean,
  ): Promise<void>;
  /**
   * Ends the lease of `attempt` now, after that attempt failed, so Lambda's retry (a minute
   * later, sooner than the lease would run out) can claim the message at once. Fenced: only
   * the attempt that holds the message releases it; false when it no longer does (taken over,
   * or done) and nothing changed. Keeps everything the attempt recorded (plan, sends).
   */
  release(messageId: string, attempt: number, now: Date): Promise<boolean>;
  /**
   * The message's record as it is now, read strongly consistent, or null when there is none:
   * the attempt holding it, its decision (null while none is recorded) and its sends. For an
   * attempt whose `recordSend` failed: a write whose answer was lost can have landed although
   * the SDK's retries of it then failed, and what the attempt counted must stay counted when
   * its decision is in the trace after all (review, December 2026).
   */
  recorded(messageId: string): Promise<RecordedTrace | null>;
  /** Appends a delivery event to the trace of the message a send belongs to. */
  appendEvent(messageId: string, event: DeliveryEvent): Promise<boolean>;
}

/** One SESv2 SendEmail call. */
export interface SendRequest {
  /**
   * The message: one buffer, or its pieces in order (a copy's new header block and a view of
   * the received body), so a big body is not copied to be sent.
   */
  raw: Buffer | readonly Buffer[];
  to: string[];
  configurationSet: string;
  /**
   * The pool's SES tenant (`TenantName`): SES counts the send against the tenant's reputation
   * and suppression list, and refuses it unless the configuration set and the identities are
   * associated with the tenant.
   */
  tenant: string;
  /** Verified From address (SES checks it against its identities). */
  fromAddress: string;
  feedbackForwardingAddress: string;
  tags: { name: string; value: string }[];
}

export interface Mailer {
  /** Sends one copy; returns SES's message id. Throttling is retried inside. */
  send(request: SendRequest): Promise<{ messageId: string }>;
}

/**
 * Which pools are paused now (issue 14): a paused pool's configuration set has its sending
 * disabled, by the pause function on a reputation alarm or by an operator. Implementations
 * cache the answer briefly; the router asks about the pools a decision uses (`pause.ts`
 * `decisionPools`), so a message costs lookups for its own pools only (issue 16).
 */
export interface PoolStatus {
  /** The pools among `pools` that are paused; rejects when that cannot be known. */
  paused(pools: readonly PlannedSend['pool'][]): Promise<ReadonlySet<PlannedSend['pool']>>;
}

/** Publishes one notice to the operators' topic (SNS in AWS, a recorder in the sandbox). */
export interface NoticePublisher {
  publish(subject: string, message: string): Promise<void>;
}

/**
 * Remembers which notices were published, so each event is told once: `claim` is true the
 * first time a key is claimed (atomically, across concurrent invocations) until it expires.
 */
export interface NoticeLedger {
  claim(key: string, now: Date, ttlSeconds: number): Promise<boolean>;
  /**
   * Gives back a claim whose notice could not be published, so a later attempt can claim the
   * key and tell the event. Removes the key only while it is still the claim made at
   * `claimedAt` (the `now` given to `claim`): never another invocation's later claim. True
   * when removed.
   */
  release(key: string, claimedAt: Date): Promise<boolean>;
}
