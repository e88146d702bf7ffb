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
  /** Makes a received record visible again at once (visibility timeout 0). */
  release(receipt: string): Promise<void>;
  /** `ApproximateNumberOfMessages` (visible records): the CLI's progress shows it. */
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
   * duplicate anyway).
   */
  visibilitySeconds: number;
  /** Told after each record (progress on stderr). */
  onResult?: (result: RedriveResult) => void;
  /**
   * Aborted (the CLI's Ctrl-C): the run stops before the next receive or record, releases what
   * it holds and throws `signal.reason`, the results so far riding on it like a port's error.
   */
  signal?: AbortSignal;
}

/** SQS returns at most 10 messages per ReceiveMessage. */
const BATCH = 10;
/**
 * A dry run hides what it read this long, so that each receive brings records not seen yet
 * (with 0, SQS may return the same ten every time), and releases them all when it is done:
 * should it die first, they are back after these seconds anyway.
 */
export const DRY_RUN_VISIBILITY_SECONDS = 30;

/**
 * Redrives (or, with `dryRun`, only lists) the queue's records, until a receive comes back
 * empty or `max` records are done. A record is deleted only after the router accepted it; a
 * failed or malformed one is reported, kept, and made visible again at the end (as is every
 * record a dry run read). An error of a port itself (network, access denied) or an abort stops
 * the run: every record received and not deleted is made visible again (best effort, in
 * parallel), so that "run redrive again" finds it at once rather than after
 * `visibilitySeconds`; the results so far ride on the error (`partialResults`), and how many
 * records could not be released (`unreleasedCount`: back after their timeout).
 */
export async function redrive(
  source: DeadLetterSource,
  router: RouterInvoker,
  o: RedriveOptions,
): Promise<RedriveResult[]> {
  const results: RedriveResult[] = [];
  const seen = new Set<string>();
  /** Records received and not deleted, by SQS message id: the latest receipt (SQS takes only it). */
  const held = new Map<string, string>();
  const wanted = o.max ?? Number.POSITIVE_INFINITY;
  const stopIfAborted = () => {
    if (o.signal?.aborted) throw o.signal.reason ?? new Error('redrive interrupted');
  };
  try {
    while (results.length < wanted) {
      stopIfAborted();
      const batch = await source.receive(
        Math.min(BATCH, wanted - results.length),
        o.dryRun ? DRY_RUN_VISIBILITY_SECONDS : o.visibilitySeconds,
      );
      for (const record of batch) held.set(record.id, record.receipt);
      // Empty, or only records seen already (back after their timeout): the queue is done.
      if (batch.every((r) => seen.has(r.id))) break;
      for (const record of batch) {
        // SQS delivers at least once: a record may come twice in one run.
        if (seen.has(record.id) || results.length >= wanted) continue;
        stopIfAborted();
        seen.add(record.id);
        const result = await handle(record, source, router, o.dryRun);
        if (result.status === 'redriven') held.delete(record.id);
        results.push(result);
        o.onResult?.(result);
      }
    }
    for (const [id, receipt] of held) {
      await source.release(receipt);
      held.delete(id);
    }
  } catch (error) {
    const unreleased = await releaseAll(source, held);
    if (error !== null && typeof error === 'object') Object.assign(error, { partial: results, unreleased });
    throw error;
  }
  return results;
}

/** Makes every held record visible again, in parallel, ignoring failures; returns how many failed. */
async function releaseAll(source: DeadLetterSource, held: Map<string, string>): Promise<number> {
  const settled = await Promise.allSettled([...held.values()].map((receipt) => source.release(receipt)));
  return settled.filter((s) => s.status === 'rejected').length;
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

/** How many records an interrupted redrive could not make visible again (back after their timeout). */
export function unreleasedCount(error: unknown): number {
  const n = (error as { unreleased?: unknown } | null)?.unreleased;
  return typeof n === 'number' ? n : 0;
}

/** The results so far of a redrive interrupted by an error of a port. */
export function partialResults(error: unknown): RedriveResult[] {
  const partial = (error as { partial?: unknown } | null)?.partial;
  return Array.isArray(partial) ? (partial as RedriveResult[]) : [];
}
