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
 *   destination: nothing is silently dropped;
 * - the one window for a duplicate is a crash between SES accepting a copy and the trace write
 *   that follows it: at-least-once, because the alternative is losing mail.
 */
import { type ArcSigningKey, copySealOptions, sealArc } from '../core/compose/arc.js';
import { buildNdr } from '../core/compose/ndr.js';
import { joinMessage, rewriteHeader, splitMessage } from '../core/compose/rewrite.js';
import type { Config } from '../core/config.js';
import { type Classification, classify, type Decision, decide, type PlannedSend } from '../core/decide.js';
import type { Resolver } from '../core/dns/resolver.js';
import { LeaseLostError, SendRejectedError } from '../core/errors.js';
import type { Restriction, SenderState } from '../core/limits.js';
import { parseMailboxes } from '../core/message.js';
import { holdPausedPools, NO_PAUSED_POOLS } from '../core/pause.js';
import { parseReceiptEvent, type ReceivedMail } from '../core/ses-event.js';
import type { Pool, Reason } from '../core/vocabulary.js';
import type {
  LimitsStore,
  Mailer,
  MailStore,
  PoolStatus,
  SendRecord,
  TraceStore,
  TraceSummary,
} from './ports.js';

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

/**
 * Counts the limits of every sending identity — only for mail that would otherwise be sent,
 * so a virus or an unrouted message costs no counter write.
 */
async function countLimits(
  c: Classification,
  deps: PipelineDeps,
  now: Date,
  paused: ReadonlySet<Pool>,
): Promise<Record<string, SenderState>> {
  const first = decide(c, {}, deps.config, now);
  // Mail for a paused pool is blocked (issue 14), and blocked mail is not counted (SPEC 4).
  const blockedAnyway = first.pool === 'blocked' || paused.has(first.pool);
  const senders: Record<string, SenderState> = {};
  if (blockedAnyway || first.limits.length === 0) return senders;
  const states = await Promise.all(
    c.usage.map((u) =>
      deps.limits.count({ identity: u.identity, external: u.external, internal: u.internal }, now),
    ),
  );
  c.usage.forEach((u, i) => {
    senders[u.identity] = states[i]!;
  });
  return senders;
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
  };
}

async function compose(
  send: PlannedSend,
  raw: Buffer,
  summary: TraceSummary,
  c: Classification | null,
  deps: PipelineDeps,
  now: Date,
): Promise<Buffer> {
  const { config } = deps;
  if (send.kind === 'ndr') {
    return buildNdr({
      from: send.from,
      to: send.to[0]!,
      reportingMta: config.srs.domain,
      originalHeaders: splitMessage(raw).header,
      arrivalDate: new Date(summary.receivedAt),
      recipients: summary.recipients,
      reasons: summary.reasons,
      inboundMessageId: summary.messageId,
      now,
    });
  }
  const dkim = c?.dkim ?? { signatures: [], alignedPass: false, temperror: false };
  // The copy's header block over a view of the received body: the body is copied once, into
  // the message handed to SES.
  const rewritten = rewriteHeader(raw, {
    send,
    reasons: summary.reasons,
    inboundMessageId: summary.messageId,
    dkim,
  });
  if (!deps.arcKey || !c) return joinMessage(rewritten);
  try {
    const sealed = await sealArc(
      rewritten,
      copySealOptions(c, raw, { config, key: deps.arcKey, resolver: deps.resolver, now }),
    );
    return sealed.message;
  } catch (error) {
    // A message that cannot be sealed (no From, unreadable header) still goes out, unsealed:
    // the seal is extra evidence, not a condition of delivery.
    deps.observer?.warn?.('ARC seal skipped', {
      messageId: summary.messageId,
      error: (error as Error).message,
    });
    return joinMessage(rewritten);
  }
}

/** Processes one SES receipt event. Throws retryable errors for Lambda to retry. */
export async function processReceipt(event: unknown, deps: PipelineDeps): Promise<PipelineResult> {
  const received = parseReceiptEvent(event);
  const messageId = received.mail.messageId;
  const started = deps.clock();

  const claim = await deps.trace.claim(messageId, started, deps.leaseMs);
  if (claim.state === 'done') {
    deps.observer?.duplicate?.(messageId);
    return { messageId, outcome: 'duplicate', pool: null, reasons: [], sends: [] };
  }
  if (claim.state === 'busy') {
    throw new LeaseLostError(messageId, `being processed by another invocation until ${claim.leaseUntil}`);
  }
  const { attempt, resumed } = claim;

  const stored = await deps.mailStore.get(messageId, deps.config.maxMessageBytes);
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
      });
    }
  } else {
    const c = await classify({
      received,
      raw: stored.raw,
      config: deps.config,
      resolver: deps.resolver,
      now: started,
    });
    if (stored.truncated) c.sizeBytes = Math.max(stored.sizeBytes, deps.config.maxMessageBytes + 1);
    classification = c;
    // --- issue 14: paused pools (delimited: the decision itself stays in decide.ts) ---
    const paused = (await deps.poolStatus?.paused()) ?? NO_PAUSED_POOLS;
    const senders = await countLimits(c, deps, started, paused);
    const decision = holdPausedPools(decide(c, senders, deps.config, started), paused);
    // --- end issue 14 ---
    for (const r of decision.restrictions) {
      await deps.limits.restrict(r, started);
      deps.observer?.restricted?.(r);
    }
    for (const a of decision.alerts) deps.observer?.alert?.(a.identity, a.reasons);
    summary = summarize(received, c, decision, deps.config, deps.clock().getTime() - started.getTime());
    deps.observer?.decided?.(summary, decision);
  }

  const plan = summary.plan;
  const pending = plan.map((send, index) => ({ send, index })).filter(({ index }) => !done.has(index));
  let summaryWritten = resumed !== null;
  if (pending.length === 0) {
    await deps.trace.recordSend(messageId, attempt, null, summaryWritten ? null : summary, true);
  }
  for (const [n, { send, index }] of pending.entries()) {
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
    try {
      const { messageId: sesMessageId } = await deps.mailer.send({
        raw,
        to: send.to,
        configurationSet: send.configurationSet,
        tenant: base.tenant,
        fromAddress,
        feedbackForwardingAddress: send.envelopeFrom,
        tags: tagsFor(summary, send, index),
      });
      record = { ...base, status: 'sent', sesMessageId, at: deps.clock().toISOString() };
      deps.observer?.sent?.(record);
    } catch (error) {
      if (!(error instanceof SendRejectedError)) throw error;
      // SES refused this copy for good: record it and go on with the others.
      record = { ...base, status: 'failed', at: deps.clock().toISOString(), error: error.message };
      deps.observer?.sendFailed?.(record, error);
    }
    await deps.trace.recordSend(
      messageId,
      attempt,
      record,
      summaryWritten ? null : summary,
      n === pending.length - 1,
    );
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
