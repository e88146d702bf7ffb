/**
 * Lambda's invocation record for a failed asynchronous invocation, as plain data: what the
 * router's on-failure destination receives (the dead-letter recorder), and what the
 * dead-letter queue holds (redrive). No I/O.
 *
 * Shape (AWS Lambda Developer Guide, "Capturing records of Lambda asynchronous invocations",
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html):
 *
 *   { version: "1.0", timestamp,
 *     requestContext: { requestId, functionArn, condition, approximateInvokeCount },
 *     requestPayload: <the event: here the SES receipt event>,
 *     responseContext: { statusCode, executedVersion, functionError },
 *     responsePayload: { errorType, errorMessage, stackTrace } }
 *
 * `condition` is `RetriesExhausted`, `EventAgeExceeded` or another reason Lambda gave up.
 * When the recorder itself fails, its own on-failure record (same shape) lands in the queue
 * with the router's record as its `requestPayload`: {@link parseDeadLetter} unwraps it, so a
 * record is never lost to a recorder fault and is redriven the same way.
 */
import * as v from 'valibot';
import { SesReceiptEventSchema } from '../core/ses-event.js';
import { cutText } from '../core/text.js';

/** A dead letter: the SES event to send back to the router, and what it is about. */
export interface DeadLetter {
  /** SES message id (the trace key and the S3 object name). */
  messageId: string;
  /** Envelope sender (`''` for the null reverse path). */
  sender: string;
  recipients: string[];
  /** `mail.timestamp`: when SES received the message. */
  receivedAt: string;
  /** The invocation record's `timestamp`: when Lambda gave up. */
  failedAt: string;
  /** `errorType: errorMessage` of the last attempt, or the condition when there is none. */
  error: string;
  condition: string;
  /** `approximateInvokeCount`. */
  attempts: number;
  /** The SES receipt event, exactly as the router received it. */
  requestPayload: Record<string, unknown>;
}

const InvocationRecordSchema = v.looseObject({
  timestamp: v.optional(v.string()),
  requestContext: v.looseObject({
    condition: v.optional(v.string()),
    approximateInvokeCount: v.optional(v.number()),
  }),
  requestPayload: v.unknown(),
  responsePayload: v.optional(v.unknown()),
});

type InvocationRecord = v.InferOutput<typeof InvocationRecordSchema>;

/** `errorType: errorMessage` of a function error payload, if it is one. */
function errorOf(response: unknown): string | undefined {
  const r = response as { errorType?: unknown; errorMessage?: unknown } | null | undefined;
  if (typeof r !== 'object' || r === null) return undefined;
  const type = typeof r.errorType === 'string' ? r.errorType : undefined;
  const message = typeof r.errorMessage === 'string' ? r.errorMessage : undefined;
  if (type === undefined && message === undefined) return undefined;
  return [type, message].filter(Boolean).join(': ');
}

/** Longest error text kept (a stack trace in a message is not what an operator needs). */
const MAX_ERROR_CHARS = 1000;

/**
 * The dead letter of an invocation record (a JSON string from the queue, or the object the
 * recorder is invoked with); a one-line problem when it is not one, so it is reported and
 * kept, never deleted nor sent to the router.
 */
export function parseDeadLetter(
  input: unknown,
): { ok: true; deadLetter: DeadLetter } | { ok: false; problem: string } {
  let json = input;
  if (typeof input === 'string') {
    try {
      json = JSON.parse(input);
    } catch {
      return { ok: false, problem: 'not JSON' };
    }
  }
  let record: InvocationRecord | undefined;
  // The recorder's own failure record wraps the router's (at most a couple of levels).
  for (let depth = 0; depth < 3; depth++) {
    const parsed = v.safeParse(InvocationRecordSchema, json);
    if (!parsed.success) break;
    record = parsed.output;
    json = parsed.output.requestPayload;
  }
  if (!record)
    return { ok: false, problem: 'not a Lambda invocation record (no requestContext/requestPayload)' };
  const event = v.safeParse(SesReceiptEventSchema, record.requestPayload);
  if (!event.success) return { ok: false, problem: 'requestPayload is not an SES receipt event' };
  const { mail } = event.output.Records[0]!.ses;
  const condition = record.requestContext.condition ?? 'unknown';
  const error = cutText(errorOf(record.responsePayload) ?? condition, MAX_ERROR_CHARS);
  return {
    ok: true,
    deadLetter: {
      messageId: mail.messageId,
      sender: mail.source,
      recipients: event.output.Records[0]!.ses.receipt.recipients,
      receivedAt: mail.timestamp,
      failedAt: record.timestamp ?? mail.timestamp,
      error,
      condition,
      attempts: record.requestContext.approximateInvokeCount ?? 0,
      requestPayload: record.requestPayload as Record<string, unknown>,
    },
  };
}

/** An invocation record as Lambda writes it (the sandbox's, and tests'). */
export function invocationRecord(o: {
  event: Record<string, unknown>;
  functionArn: string;
  requestId: string;
  at: Date;
  attempts: number;
  condition?: string;
  error: { errorType: string; errorMessage: string };
}): Record<string, unknown> {
  return {
    version: '1.0',
    timestamp: o.at.toISOString(),
    requestContext: {
      requestId: o.requestId,
      functionArn: `${o.functionArn}:$LATEST`,
      condition: o.condition ?? 'RetriesExhausted',
      approximateInvokeCount: o.attempts,
    },
    requestPayload: o.event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { ...o.error, trace: [] },
  };
}
