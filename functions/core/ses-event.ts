/**
 * The SES email receiving event delivered to a Lambda action
 * (https://docs.aws.amazon.com/ses/latest/dg/receiving-email-notifications-contents.html).
 *
 * Our own schema rather than Powertools' `SesSchema`, which rejects real events: it requires
 * `dmarcPolicy` (SES only sends it when DMARC fails) and refuses the `DISABLED` verdict that
 * SES reports when scanning is off. Unknown fields are kept: SES adds fields over time.
 */
import * as v from 'valibot';
import { InvalidInputError } from './errors.js';
import { describePath, problemOf } from './validation.js';

export const VERDICT_STATUSES = ['PASS', 'FAIL', 'GRAY', 'PROCESSING_FAILED', 'DISABLED'] as const;
export type VerdictStatus = (typeof VERDICT_STATUSES)[number];

const verdict = v.looseObject({ status: v.picklist(VERDICT_STATUSES) });

const header = v.looseObject({ name: v.string(), value: v.string() });

export const SesMailSchema = v.looseObject({
  timestamp: v.string(),
  /** Envelope sender (MAIL FROM). Empty for a null reverse path. */
  source: v.string(),
  messageId: v.pipe(v.string(), v.minLength(1)),
  destination: v.array(v.string()),
  headersTruncated: v.optional(v.boolean()),
  headers: v.optional(v.array(header), []),
  commonHeaders: v.optional(v.looseObject({})),
});

export const SesReceiptSchema = v.looseObject({
  timestamp: v.string(),
  processingTimeMillis: v.optional(v.number()),
  /** The recipients of this message that the receipt rule matched. */
  recipients: v.pipe(v.array(v.string()), v.minLength(1)),
  spamVerdict: verdict,
  virusVerdict: verdict,
  spfVerdict: verdict,
  dkimVerdict: verdict,
  dmarcVerdict: verdict,
  /** Present only when DMARC failed: `none`, `quarantine` or `reject`. */
  dmarcPolicy: v.optional(v.string()),
  action: v.looseObject({ type: v.string() }),
});

export const SesReceiptEventSchema = v.looseObject({
  Records: v.pipe(
    v.array(
      v.looseObject({
        eventSource: v.literal('aws:ses'),
        eventVersion: v.string(),
        ses: v.looseObject({ mail: SesMailSchema, receipt: SesReceiptSchema }),
      }),
    ),
    v.minLength(1),
  ),
});

export type SesMail = v.InferOutput<typeof SesMailSchema>;
export type SesReceipt = v.InferOutput<typeof SesReceiptSchema>;
export type SesReceiptEvent = v.InferOutput<typeof SesReceiptEventSchema>;

/** The one record of a receipt event we act on (SES invokes a Lambda action per message). */
export interface ReceivedMail {
  mail: SesMail;
  receipt: SesReceipt;
}

/**
 * The event SES hands a Lambda action for one message (the inverse of
 * {@link parseReceiptEvent}): one `aws:ses` record carrying the mail and the receipt.
 */
export function receiptEventOf(
  mail: Record<string, unknown>,
  receipt: Record<string, unknown>,
): { Records: Record<string, unknown>[] } {
  return { Records: [{ eventSource: 'aws:ses', eventVersion: '1.0', ses: { mail, receipt } }] };
}

/**
 * Validates a receipt event and returns its record. Throws {@link InvalidInputError} naming
 * the bad field, e.g. `event: Records[0].ses.receipt.spamVerdict.status: ...`.
 */
export function parseReceiptEvent(json: unknown): ReceivedMail {
  const result = v.safeParse(SesReceiptEventSchema, json);
  if (!result.success) {
    const problem = problemOf(result.issues[0]);
    throw new InvalidInputError(
      'event',
      `not an SES receipt event: ${describePath(problem.path)}: ${problem.message}`,
      { cause: new v.ValiError(result.issues) },
    );
  }
  const record = result.output.Records[0]!;
  return { mail: record.ses.mail, receipt: record.ses.receipt };
}
