/**
 * The router's invocation, played locally.
 *
 * Asynchronous, like Lambda's `Event` invocations: the SMTP client has its `250` before the
 * handler runs. When the handler throws a retryable error it is retried after each delay of
 * `retryDelaysMs` (default 1 s and 2 s: Lambda retries twice, after about 1 and 2 minutes),
 * then the event goes to an in-memory dead-letter list (Lambda's on-failure destination). A
 * non-retryable error goes there at once: a retry would fail the same way.
 */
import { randomUUID } from 'node:crypto';
import { isRetryable } from '../../functions/core/errors.js';
import type { SendRecord } from '../../functions/core/ports.js';
import type { PipelineResult } from '../../functions/router/process.js';
import type { Verdicts } from './verdicts.js';

/** One received message and what became of it. */
export interface ProcessedMessage {
  messageId: string;
  receivedAt: string;
  /** Envelope sender, `''` for the null reverse path. */
  sender: string;
  recipients: string[];
  clientIp: string;
  helo: string;
  verdicts: Verdicts;
  /** `failed` = dead-lettered. */
  outcome: PipelineResult['outcome'] | 'failed';
  pool: PipelineResult['pool'];
  reasons: PipelineResult['reasons'];
  sends: SendRecord[];
  /** Handler invocations made (1 + retries). */
  attempts: number;
  error?: string;
}

export interface DeadLetter {
  messageId: string;
  at: string;
  attempts: number;
  error: string;
  retryable: boolean;
  /** The event, for a manual redrive. */
  event: Record<string, unknown>;
}

/** What the ingress tells its log. */
export type IngressEvent =
  | {
      type: 'refused';
      at: string;
      sender: string;
      recipient: string;
      clientIp: string;
      code: number;
      response: string;
    }
  | { type: 'rejected'; at: string; sender: string; recipients: string[]; code: number; response: string }
  | {
      type: 'accepted';
      at: string;
      messageId: string;
      sender: string;
      recipients: string[];
      verdicts: Verdicts;
    }
  | { type: 'retry'; at: string; messageId: string; attempt: number; delayMs: number; error: string }
  | { type: 'processed'; at: string; message: ProcessedMessage }
  | { type: 'dead-letter'; at: string; message: ProcessedMessage; deadLetter: DeadLetter };

/** Invokes the router with a receipt event (the sandbox wraps the middy handler). */
export type Invoke = (event: Record<string, unknown>) => Promise<PipelineResult>;

export interface InvocationOptions {
  invoke: Invoke;
  /** Delays before each retry of a retryable failure. */
  retryDelays: readonly number[];
  clock: () => Date;
  emit: (event: IngressEvent) => void;
  /** The message reached its end: processed, or dead-lettered. */
  finish: (message: ProcessedMessage) => void;
  deadLetter: (deadLetter: DeadLetter) => void;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Invokes the router as Lambda's `Event` invocation does: a retryable failure is retried after
 * each delay, then dead-lettered; a permanent one is dead-lettered at once.
 */
export async function invokeWithRetries(
  event: Record<string, unknown>,
  base: Omit<ProcessedMessage, 'outcome' | 'pool' | 'reasons' | 'sends' | 'attempts'>,
  o: InvocationOptions,
): Promise<void> {
  const { retryDelays, clock, emit } = o;
  let attempt = 0;
  for (;;) {
    attempt++;
    try {
      const result = await o.invoke(event);
      const message: ProcessedMessage = {
        ...base,
        outcome: result.outcome,
        pool: result.pool,
        reasons: result.reasons,
        sends: result.sends,
        attempts: attempt,
      };
      o.finish(message);
      emit({ type: 'processed', at: clock().toISOString(), message });
      return;
    } catch (error) {
      const retryable = isRetryable(error);
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const delay = retryDelays[attempt - 1];
      if (retryable && delay !== undefined) {
        emit({
          type: 'retry',
          at: clock().toISOString(),
          messageId: base.messageId,
          attempt,
          delayMs: delay,
          error: text,
        });
        await sleep(delay);
        continue;
      }
      const deadLetter: DeadLetter = {
        messageId: base.messageId,
        at: clock().toISOString(),
        attempts: attempt,
        error: text,
        retryable,
        event,
      };
      o.deadLetter(deadLetter);
      const message: ProcessedMessage = {
        ...base,
        outcome: 'failed',
        pool: null,
        reasons: [],
        sends: [],
        attempts: attempt,
        error: text,
      };
      o.finish(message);
      emit({ type: 'dead-letter', at: deadLetter.at, message, deadLetter });
      return;
    }
  }
}

/** A fake Lambda context for the middy handler (what `injectLambdaContext` reads). */
export function lambdaContext(functionArn: string) {
  const functionName = functionArn.slice(functionArn.lastIndexOf(':') + 1);
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'sandbox',
    getRemainingTimeInMillis: () => 120_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
