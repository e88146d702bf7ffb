/**
 * The messages the console shows: the ids the SMTP ingress processed since the sandbox started
 * (the trace table has no "all recent messages" index, and a scan is not something to teach),
 * each read back from the trace and reported by the trace API's own `traceReport`, so the page
 * shows what `outbound-pools trace` and `GET /messages/{id}` show; plus any field of the
 * recorded decision or copies that report does not name (the decision's data grows: facts
 * recorded by a newer router still show, generically, see {@link consoleReport}).
 *
 * Bounded: the newest `capacity` messages are kept; a report is cached once its record is
 * `done` (the sandbox appends no delivery events after that: it has no SES event stream).
 */
import type { TraceRecord } from '../../functions/adapters/dynamo-trace-store.js';
import { type TraceReader, type TraceReport, traceReport } from '../../functions/trace-api/lookup.js';
import type { ProcessedMessage } from '../smtp-ingress.js';

/** What the ingress knew of a message before the router saw it (SES's receipt facts). */
export type ReceiptFacts = Pick<
  ProcessedMessage,
  'messageId' | 'receivedAt' | 'sender' | 'recipients' | 'clientIp' | 'helo' | 'verdicts' | 'attempts'
> & { outcome: string; error?: string };

export interface FeedItem {
  receipt: ReceiptFacts;
  /** null when the trace has no record of it (e.g. dead-lettered before the router claimed it). */
  report: ConsoleReport | null;
}

/** A trace report, plus the recorded fields it leaves out (the resume plan excepted). */
export type ConsoleReport = TraceReport & Record<string, unknown>;

const INTERNAL_SUMMARY_FIELDS = new Set(['plan']);

/** Fields of `recorded` that `reported` does not have. */
function extras(recorded: object, reported: object, skip = new Set<string>()): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(recorded).filter(([k, v]) => !(k in reported) && !skip.has(k) && v !== undefined),
  );
}

/** `traceReport(record)` with the summary's and each send's unreported fields added. */
export function consoleReport(record: TraceRecord): ConsoleReport {
  const report = traceReport(record);
  return {
    ...(record.summary ? extras(record.summary, report, INTERNAL_SUMMARY_FIELDS) : {}),
    ...report,
    sends: report.sends.map((send) => {
      const recorded = record.sends.find((s) => s.index === send.index);
      return recorded ? { ...extras(recorded, send), ...send } : send;
    }),
  };
}

export const DEFAULT_FEED_CAPACITY = 1000;

export class MessageFeed {
  private readonly receipts = new Map<string, ReceiptFacts>();
  private readonly cache = new Map<string, ConsoleReport>();
  private readonly listeners = new Set<(messageId: string) => void>();

  constructor(
    private readonly reader: TraceReader,
    private readonly capacity = DEFAULT_FEED_CAPACITY,
  ) {}

  /** A message the ingress finished (processed or dead-lettered). */
  record(m: ProcessedMessage): void {
    const receipt: ReceiptFacts = {
      messageId: m.messageId,
      receivedAt: m.receivedAt,
      sender: m.sender,
      recipients: [...m.recipients],
      clientIp: m.clientIp,
      helo: m.helo,
      verdicts: { ...m.verdicts },
      attempts: m.attempts,
      outcome: m.outcome,
      ...(m.error ? { error: m.error } : {}),
    };
    this.receipts.delete(m.messageId);
    this.cache.delete(m.messageId);
    this.receipts.set(m.messageId, receipt);
    while (this.receipts.size > this.capacity) {
      const oldest = this.receipts.keys().next().value as string;
      this.receipts.delete(oldest);
      this.cache.delete(oldest);
    }
    for (const listener of this.listeners) {
      try {
        listener(m.messageId);
      } catch {
        // a broken subscriber must not break mail
      }
    }
  }

  /** Called with each new message id; returns the unsubscribe function. */
  subscribe(listener: (messageId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  has(messageId: string): boolean {
    return this.receipts.has(messageId);
  }

  get size(): number {
    return this.receipts.size;
  }

  /** One message, or null when the console does not hold it. */
  async item(messageId: string): Promise<FeedItem | null> {
    const receipt = this.receipts.get(messageId);
    if (!receipt) return null;
    return { receipt, report: await this.report(messageId) };
  }

  /** Every message held, in the order received. */
  async items(): Promise<FeedItem[]> {
    const receipts = [...this.receipts.values()];
    const reports = await Promise.all(receipts.map((r) => this.report(r.messageId)));
    return receipts.map((receipt, i) => ({ receipt, report: reports[i] ?? null }));
  }

  private async report(messageId: string): Promise<ConsoleReport | null> {
    const cached = this.cache.get(messageId);
    if (cached) return cached;
    const record = await this.reader.get(messageId);
    if (!record) return null;
    const report = consoleReport(record);
    if (report.status === 'done' && this.receipts.has(messageId)) this.cache.set(messageId, report);
    return report;
  }
}
