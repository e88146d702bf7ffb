/**
 * The production path for one received message (SPEC 3-6, 8), over the ports of `ports.ts`:
 *
 *   claim the trace record (idempotency) → fetch the raw message (S3) → classify → count the
 *   sending identities' limits (DynamoDB, atomic) → decide → for each planned copy: compose
 *   (rewrite / NDR, ARC seal) → SESv2 SendEmail → record the send in the trace.
 *
 * Guarantees (README "Reliability"):
 * - a copy recorded as sent is never sent again: a re-delivered event finds the message done,
 *   and a retried one resumes the stored plan, skipping what was sent;
 * - every transient failure (DNS, S3, DynamoDB, SES after the SDK's retries) fails the
 *   invocation, so Lambda retries the event and finally keeps it in the on-failure
 *   destination: nothing is silently dropped. A failed attempt first releases its lease, so
 *   Lambda's retry a minute later does real work instead of finding the message "busy";
 * - except DNS on the last attempt (the claim's counter reaching `maxAttempts`): there a
 *   temporary failure counts as "not passed" (reason `dns-temperror`) and the message is
 *   decided, so no sender's name server can dead-letter mail on purpose (SPEC 2a);
 * - the one window for a duplicate is a crash between SES accepting a copy and the trace write
 *   that follows it: at-least-once, because the alternative is losing mail.
 */
import type { ArcSigningKey } from '../core/compose/arc.js';
import { composeCopyParts } from '../core/compose/copy.js';
import { assertCopySize } from '../core/compose/copy-size.js';
import type { Config } from '../core/config.js';
import { type Classification, classify, type Decision, type PlannedSend } from '../core/decide.js';
import type { Resolver } from '../core/dns/resolver.js';
import { LeaseLostError, SendRejectedError } from '../core/errors.js';
import type { Restriction } from '../core/limits.js';
import { parseMailboxes } from '../core/message.js';
import type {
  ClaimResult,
  LimitsStore,
  Mailer,
  MailStore,
  PoolStatus,
  SendRecord,
  TraceStore,
  TraceSummary,
} from '../core/ports.js';
import { parseReceiptEvent, type ReceivedMail } from '../core/ses-event.js';
import type { Reason } from '../core/vocabulary.js';
import { AttemptCounts, countAndDecide, writeRestrictions } from './counting.js';
import { limitNdrs, planRefusalNdr } from './ndr-limits.js';
import { DEFAULT_MAX_ATTEMPTS, isFinalAttempt } from './retries.js';

/** Hooks for logs and metrics; the handler wires them to Powertools. All optional. */
export interface PipelineObserver {
  decided?(summary: TraceSummary, decision: Decision | null): void;
  restricted?(restriction: Restriction): void;
  alert?(identity: string, reasons: Reason[]): void;
  sent?(record: SendRecord): void;
  sendFailed?(record: SendRecord, error: Error): void;
  duplicate?(messageId: string): void;
  warn?(message: string, details: Record<string, unknown>): void;
}

export interface PipelineDeps {
  config: Config;
  mailStore: MailStore;
  limits: LimitsStore;
  trace: TraceStore;
  mailer: Mailer;
  resolver: Resolver;
  /** ARC sealing key; null sends without a seal. */
  arcKey: ArcSigningKey | null;
  clock: () => Date;
  /** How long a claim protects a message being processed: the function timeout plus a margin. */
  leaseMs: number;
  /**
   * Attempts Lambda makes per event (1 + `retryAttempts`); the claim whose attempt counter
   * reaches it decides DNS temporary failures instead of retrying them.
   * Default {@link DEFAULT_MAX_ATTEMPTS}.
   */
  maxAttempts?: number;
  observer?: PipelineObserver;
  /** Which pools are paused (issue 14); absent: none is. */
  poolStatus?: PoolStatus;
  /** Notices raised through `observer`, published when the handler awaits `flush` (issue 14). */
  notices?: { flush(): Promise<void> };
}

export interface PipelineResult {
  messageId: string;
  outcome: 'processed' | 'resumed' | 'duplicate';
  pool: TraceSummary['pool'] | null;
  reasons: Reason[];
  sends: SendRecord[];
}

/** SES EmailTags values: ASCII letters, digits, `_` and `-` only, at most 256 characters. */
export function tagValue(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 256) || '_';
}

function tagsFor(summary: TraceSummary, send: PlannedSend, index: number) {
  return [
    { name: 'pool', value: tagValue(send.pool) },
    // The decisive reason is the first in SPEC order: one value, usable as a metric dimension.
    { name: 'reason', value: tagValue(summary.reasons[0] ?? 'none') },
    // Reason codes contain `-` but never `_`, so `_` separates them unambiguously.
    { name: 'reasons', value: tagValue(summary.reasons.join('_') || 'none') },
    { name: 'kind', value: tagValue(send.kind) },
    // The feedback function files SES's delivery events under this trace record.
    { name: 'inbound_id', value: tagValue(summary.messageId) },
    { name: 'send', value: String(index) },
  ];
}

function summarize(
  received: ReceivedMail,
  c: Classification,
  d: Decision,
  config: Config,
  decisionMs: number,
): TraceSummary {
  const pool = d.pool;
  return {
    messageId: received.mail.messageId,
    receivedAt: received.receipt.timestamp || received.mail.timestamp,
    sender: c.envelopeSender ?? '',
    recipients: received.receipt.recipients.map((r) => r.toLowerCase()),
    destinations: [...new Set(d.sends.flatMap((s) => s.to))],
    unrouted: d.unrouted,
    pool,
    outboundIpPoolName: pool === 'blocked' ? null : config.pools[pool].ipPool,
    configurationSet: d.configurationSet,
    reasons: d.reasons,
    plan: d.sends,
    sizeBytes: c.sizeBytes,
    decisionMs,
    authentication: c.authentication,
  };
}

/**
 * The bytes of one planned send (`core/compose/copy.ts`, shared with the dry-run), in pieces:
 * a big body is sent from the received message, not copied (issue 16).
 */
function compose(
  send: PlannedSend,
  raw: Buffer,
  summary: TraceSummary,
  c: Classification | null,
  deps: PipelineDeps,
  now: Date,
): Promise<Buffer[]> {
  return composeCopyParts(
    send,
    raw,
    summary,
    c,
    {
      config: deps.config,
      arcKey: deps.arcKey,
      resolver: deps.resolver,
      warn: (message, details) => deps.observer?.warn?.(message, details),
    },
    now,
  );
}

/** Processes one SES receipt event. Throws retryable errors for Lambda to retry. */
export async function processReceipt(event: unknown, deps: PipelineDeps): Promise<PipelineResult> {
  const received = parseReceiptEvent(event);
  const messageId = received.mail.messageId;
  const started = deps.clock();

  // The S3 read runs while the claim is written (issue 16): a GET changes nothing, so a claim
  // that fails or finds the message done/busy leaves nothing behind; its outcome is then
  // dropped (the `catch` only keeps an unawaited rejection from crashing the process).
  const stored = deps.mailStore.get(messageId, deps.config.maxMessageBytes);
  stored.catch(() => undefined);
  const claim = await deps.trace.claim(messageId, started, deps.leaseMs);
  if (claim.state === 'done') {
    deps.observer?.duplicate?.(messageId);
    return { messageId, outcome: 'duplicate', pool: null, reasons: [], sends: [] };
  }
  if (claim.state === 'busy') {
    throw new LeaseLostError(messageId, `being processed by another invocation until ${claim.leaseUntil}`);
  }
  try {
    return await processClaimed(received, claim, deps, started, stored);
  } catch (error) {
    await releaseAfterFailure(messageId, claim.attempt, error, deps);
    throw error;
  }
}

/**
 * A failed attempt gives its lease back before it fails the invocation: Lambda retries about
 * a minute later (docs/retries.md), well before a lease of timeout + margin would run out, and
 * a retry refused as "busy" would be wasted and leave the dead-letter record naming the wrong
 * cause. Fenced by the attempt; a failure to release is only logged, never hides the error.
 */
async function releaseAfterFailure(
  messageId: string,
  attempt: number,
  error: unknown,
  deps: PipelineDeps,
): Promise<void> {
  try {
    await deps.trace.release(messageId, attempt, deps.clock());
  } catch (releaseError) {
    deps.observer?.warn?.('lease not released after a failed attempt', {
      messageId,
      attempt,
      error: (error as Error)?.message,
      releaseError: (releaseError as Error)?.message,
    });
  }
}

async function processClaimed(
  received: ReceivedMail,
  claim: Extract<ClaimResult, { state: 'claimed' }>,
  deps: PipelineDeps,
  started: Date,
  reading: ReturnType<MailStore['get']>,
): Promise<PipelineResult> {
  const messageId = received.mail.messageId;
  const { attempt, resumed } = claim;
  const finalAttempt = isFinalAttempt(attempt, deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);

  const stored = await reading;
  // What this attempt counted under the senders' limits and the NDR limit, until its decision
  // is in the trace.
  const counts = new AttemptCounts();
  let summaryWritten = claim.resumed !== null;
  // Whether SES accepted a copy in this attempt.
  let sent = false;
  try {
    return await decideAndSend();
  } catch (error) {
    // SPEC 4 / docs/retries.md: an attempt that fails before its decision reached the trace
    // is decided and counted again by the retry, so what it counted goes back out first (best
    // effort: a refund that fails over-counts, the safe side). Once the decision is recorded,
    // a retry resumes it and counts nothing. An attempt that got a copy out keeps its counts:
    // mail that left is counted, even when its trace write then failed and the retry sends it
    // again, so no sender gets mail out uncounted by making that write fail.
    if (!summaryWritten && !sent) await refund(counts);
    throw error;
  }

  /** Gives counts back (best effort: a refund that fails over-counts, the safe side). */
  async function refund(taken: AttemptCounts): Promise<void> {
    await taken.refund(deps.limits).catch((refundError: unknown) =>
      deps.observer?.warn?.('limits not refunded after a failed attempt', {
        messageId,
        error: (refundError as Error)?.message,
      }),
    );
  }

  /**
   * Whether a `recordSend` of this attempt that failed landed all the same (`TraceStore.recorded`):
   * the trace, still held by this attempt, holds a decision and, for a write of `send`, that
   * very record (its time and status). A read that fails answers false, as before the read
   * existed: a write and then a read that both failed most likely never reached DynamoDB.
   */
  async function landedAfterAll(send: SendRecord | null): Promise<boolean> {
    try {
      const now = await deps.trace.recorded(messageId);
      if (now === null || now.attempt !== attempt || now.summary === null) return false;
      return (
        send === null ||
        now.sends.some((s) => s.index === send.index && s.at === send.at && s.status === send.status)
      );
    } catch (readError) {
      deps.observer?.warn?.('trace not read back after a failed write', {
        messageId,
        error: (readError as Error)?.message,
      });
      return false;
    }
  }

  async function decideAndSend(): Promise<PipelineResult> {
    let summary: TraceSummary;
    let classification: Classification | null = null;
    const done = new Map<number, SendRecord>();
    if (resumed) {
      // A previous attempt decided and counted: reuse its plan, never count twice.
      summary = resumed.summary;
      for (const s of resumed.sent) done.set(s.index, s);
      if (deps.arcKey) {
        classification = await classify({
          received,
          raw: stored.raw,
          config: deps.config,
          resolver: deps.resolver,
          now: started,
          // The decision is made: DNS here only feeds the ARC seal, so a temporary failure is
          // recorded as such (in the seal's results) rather than failing the attempt.
          finalAttempt: true,
        });
      }
    } else {
      const c = await classify({
        received,
        raw: stored.raw,
        config: deps.config,
        resolver: deps.resolver,
        now: started,
        finalAttempt,
      });
      if (stored.truncated) c.sizeBytes = Math.max(stored.sizeBytes, deps.config.maxMessageBytes + 1);
      classification = c;
      // Issue 14: paused pools are held back inside (the decision itself stays in decide.ts).
      const counted = await countAndDecide(c, deps, started, counts);
      const decision = counted.decision;
      await limitNdrs(decision, deps, started, counts);
      for (const r of await writeRestrictions(counted, deps.limits, started)) deps.observer?.restricted?.(r);
      for (const a of decision.alerts) deps.observer?.alert?.(a.identity, a.reasons);
      summary = summarize(received, c, decision, deps.config, deps.clock().getTime() - started.getTime());
      deps.observer?.decided?.(summary, decision);
    }

    const plan = summary.plan;
    // A copy SES refused and an NDR answered is final: a resumed attempt does not try it again
    // (the claim hands back only the copies sent; the plan holds the answered refusals).
    const answered = new Set(plan.flatMap((p) => (p.refused ? [p.refused.copy] : [])));
    const pending = plan
      .map((send, index) => ({ send, index }))
      .filter(({ index }) => !done.has(index) && !answered.has(index));
    if (pending.length === 0) {
      try {
        await deps.trace.recordSend(messageId, attempt, null, summaryWritten ? null : summary, true);
      } catch (error) {
        if (!summaryWritten && (await landedAfterAll(null))) summaryWritten = true;
        throw error;
      }
    }
    // `pending` grows while it is walked: an NDR planned for a refused copy is sent in turn.
    for (let n = 0; n < pending.length; n++) {
      const { send, index } = pending[n]!;
      const now = deps.clock();
      const raw = await compose(send, stored.raw, summary, classification, deps, now);
      const fromAddress = parseMailboxes(send.from)[0]?.address ?? deps.config.bounceSink;
      const base = {
        index,
        kind: send.kind,
        to: send.to,
        pool: send.pool,
        configurationSet: send.configurationSet,
        tenant: deps.config.pools[send.pool].tenant,
        envelopeFrom: send.envelopeFrom,
      };
      let record: SendRecord;
      let planned = false;
      // The NDR count a refusal of this copy takes, until the write that records the refusal
      // (and plans its NDR) is in the trace.
      const refusalCounts = new AttemptCounts();
      try {
        // Issue 13 item 5: a copy SES would refuse for size is never attempted (refused here).
        assertCopySize(raw);
        const { messageId: sesMessageId } = await deps.mailer.send({
          raw,
          to: send.to,
          configurationSet: send.configurationSet,
          tenant: base.tenant,
          fromAddress,
          feedbackForwardingAddress: send.envelopeFrom,
          tags: tagsFor(summary, send, index),
        });
        sent = true;
        record = { ...base, status: 'sent', sesMessageId, at: deps.clock().toISOString() };
        deps.observer?.sent?.(record);
      } catch (error) {
        if (!(error instanceof SendRejectedError)) throw error;
        // SES refused this copy for good: record it (with the NDR it gets, in the same write,
        // so a retry resumes that NDR instead of planning another) and go on with the others.
        const at = deps.clock().toISOString();
        record = { ...base, status: 'failed', at, error: error.message, refusal: error.refusal };
        deps.observer?.sendFailed?.(record, error);
        const ndr = await planRefusalNdr(
          { send, index, refusal: error.refusal },
          summary,
          deps,
          now,
          refusalCounts,
        );
        if (ndr) {
          summary = {
            ...summary,
            plan: [...summary.plan, ndr],
            destinations: [...new Set([...summary.destinations, ...ndr.to])],
          };
          pending.push({ send: ndr, index: summary.plan.length - 1 });
          planned = true;
        }
      }
      try {
        await deps.trace.recordSend(
          messageId,
          attempt,
          record,
          summaryWritten && !planned ? null : summary,
          n === pending.length - 1,
        );
      } catch (error) {
        // A write whose answer was lost can have landed although the SDK's retries of it then
        // failed: the decision (and the refusal's NDR) is then in the trace, the retry resumes
        // it and counts nothing, so what this attempt counted stays counted (review, December
        // 2026: a refused first copy gave every count back).
        if (await landedAfterAll(record)) {
          summaryWritten = true;
          throw error;
        }
        // The refusal did not reach the trace: the retry refuses the copy again and plans and
        // counts its NDR again, so this attempt's count of it goes back out first; else, at
        // `ndr.perRecipientPerHour`, the retry dropped the NDR (review, December 2026).
        await refund(refusalCounts);
        throw error;
      }
      summaryWritten = true;
      done.set(index, record);
    }

    return {
      messageId,
      outcome: resumed ? 'resumed' : 'processed',
      pool: summary.pool,
      reasons: summary.reasons,
      sends: [...done.values()].sort((a, b) => a.index - b.index),
    };
  }
}
