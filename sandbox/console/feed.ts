/**
 * The messages the console shows: the ids the SMTP ingress processed since the sandbox started
 * (the trace table has no "all recent messages" index, and a scan is not something to teach),
 * each read back from the trace with the trace API's own lookup (`lookUpTrace`), so the page
 * shows exactly what `outbound-pools trace` and `GET /messages/{id}` show.
 *
 * Bounded: the newest `capacity` messages are kept; a report is cached once its record is
 * `done` (the sandbox appends no delivery events after that: it has no SES event stream).
 */
import { lookUpTrace, type TraceReader, type TraceReport } from '../../functions/trace-api/lookup.js';
import type { ProcessedMessage } from '../smtp-ingress.js';

/** What the ingress knew of a message before the router saw it (SES's receipt facts). */
export type ReceiptFacts = Pick<
  ProcessedMessage,
  'messageId' | 'receivedAt' | 'sender' | 'recipients' | 'clientIp' | 'helo' | 'verdicts' | 'attempts'
> & { outcome: string; error?: string };

export interface FeedItem {
  receipt: ReceiptFacts;
  /** null when the trace has no record of it (e.g. dead-lettered before the router claimed it). */
  report: TraceReport | null;
}

export const DEFAULT_FEED_CAPACITY = 1000;

export class MessageFeed {
  private readonly receipts = new Map<string, ReceiptFacts>();
  private readonly cache = new Map<string, TraceReport>();
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

  private async report(messageId: string): Promise<TraceReport | null> {
    const cached = this.cache.get(messageId);
    if (cached) return cached;
    const [report] = await lookUpTrace(this.reader, { kind: 'message', messageId });
    if (!report) return null;
    if (report.status === 'done' && this.receipts.has(messageId)) this.cache.set(messageId, report);
    return report;
  }
}
