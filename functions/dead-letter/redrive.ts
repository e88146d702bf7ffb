/**
 * Redrive (issue 15, SPEC 7 "a failed event can be redriven with one command"): read the
 * router's dead-letter queue, send each record's `requestPayload` (the SES receipt event) back
 * to the router synchronously, and delete the record only once that invocation succeeded.
 * Pure logic over two small ports; the SQS and Lambda adapters live in `functions/adapters/`.
 *
 * Why not SQS's own redrive: the queue holds Lambda's invocation records, not events a source
 * queue could take back, and the router is invoked by SES, not by a queue.
 */
import { type DeadLetter, parseDeadLetter } from './record.js';

/** One message received from the queue. */
export interface QueuedRecord {
  /** SQS `MessageId`: stable across receives, so a record seen twice is handled once. */
  id: string;
  /** `ReceiptHandle` of this receive (what `delete` takes). */
  receipt: string;
  body: string;
  /** `SentTimestamp`: when the record was queued. */
  sentAt?: Date;
}

/** The dead-letter queue, for reading (`SqsDeadLetterQueue`). */
export interface DeadLetterSource {
  /** Up to `max` (≤ 10) records, hidden from other readers for `visibilitySeconds`. */
  receive(max: number, visibilitySeconds: number): Promise<QueuedRecord[]>;
  delete(receipt: string): Promise<void>;
  /** `ApproximateNumberOfMessages` (visible records). */
  approximateCount(): Promise<number>;
}

/** The router, invoked synchronously (`RequestResponse`). */
export interface RouterInvoker {
  /** `ok` when the function returned; else its `FunctionError` payload as one line. */
  invoke(event: Record<string, unknown>): Promise<{ ok: true } | { ok: false; error: string }>;
}

export type RedriveStatus = 'redriven' | 'failed' | 'malformed' | 'listed';

export interface RedriveResult {
  status: RedriveStatus;
  /** SQS message id. */
  queueMessageId: string;
  deadLetter?: Omit<DeadLetter, 'requestPayload'>;
  /** Why a record was not redriven (the router's error now, or why it is malformed). */
  problem?: string;
  queuedAt?: string;
}

export interface RedriveOptions {
  dryRun: boolean;
  /** At most this many records (all when undefined). */
  max?: number;
  /**
   * How long a record being redriven stays hidden: longer than the router's timeout, so a
   * slow invocation is not picked up a second time (its claim would make it a harmless
   * duplicate anyway). A record whose redrive failed stays hidden that long, then is back.
   */
  visibilitySeconds: number;
  /** Told after each record (progress on stderr). */
  onResult?: (result: RedriveResult) => void;
}

/** SQS returns at most 10 messages per ReceiveMessage. */
const BATCH = 10;
/**
 * Dry-run reads with visibility 0, so every receive may return records already seen (SQS
 * samples its servers): stop after this many rounds in a row that bring nothing new.
 */
const DRY_RUN_IDLE_ROUNDS = 3;

/**
 * Redrives (or, with `dryRun`, only lists) the queue's records. A record is deleted only
 * after the router accepted it; a malformed one is reported and kept. Errors of the ports
 * themselves (network) propagate, with the results so far on `partial` of the error.
 */
export async function redrive(
  source: DeadLetterSource,
  router: RouterInvoker,
  o: RedriveOptions,
): Promise<RedriveResult[]> {
  const results: RedriveResult[] = [];
  const seen = new Set<string>();
  const wanted = o.max ?? Number.POSITIVE_INFINITY;
  let idleRounds = 0;
  try {
    const expected = o.dryRun ? await source.approximateCount() : Number.POSITIVE_INFINITY;
    while (results.length < wanted && seen.size < expected) {
      const batch = await source.receive(
        Math.min(BATCH, wanted - results.length),
        o.dryRun ? 0 : o.visibilitySeconds,
      );
      if (batch.length === 0) break;
      const fresh = batch.filter((r) => !seen.has(r.id));
      if (fresh.length === 0) {
        if (!o.dryRun || ++idleRounds >= DRY_RUN_IDLE_ROUNDS) break;
        continue;
      }
      idleRounds = 0;
      for (const record of fresh) {
        if (results.length >= wanted) break;
        seen.add(record.id);
        const result = await handle(record, source, router, o.dryRun);
        results.push(result);
        o.onResult?.(result);
      }
    }
  } catch (error) {
    if (error !== null && typeof error === 'object') Object.assign(error, { partial: results });
    throw error;
  }
  return results;
}

async function handle(
  record: QueuedRecord,
  source: DeadLetterSource,
  router: RouterInvoker,
  dryRun: boolean,
): Promise<RedriveResult> {
  const base = {
    queueMessageId: record.id,
    ...(record.sentAt ? { queuedAt: record.sentAt.toISOString() } : {}),
  };
  const parsed = parseDeadLetter(record.body);
  if (!parsed.ok) return { ...base, status: 'malformed', problem: parsed.problem };
  const { requestPayload, ...deadLetter } = parsed.deadLetter;
  if (dryRun) return { ...base, status: 'listed', deadLetter };
  const outcome = await router.invoke(requestPayload);
  if (!outcome.ok) return { ...base, status: 'failed', deadLetter, problem: outcome.error };
  await source.delete(record.receipt);
  return { ...base, status: 'redriven', deadLetter };
}

/** The results so far of a redrive interrupted by an error of a port. */
export function partialResults(error: unknown): RedriveResult[] {
  const partial = (error as { partial?: unknown } | null)?.partial;
  return Array.isArray(partial) ? (partial as RedriveResult[]) : [];
}
