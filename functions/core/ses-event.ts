/**
 * The SES email receiving event delivered to a Lambda action
 * (https://docs.aws.amazon.com/ses/latest/dg/receiving-email-notifications-contents.html).
 *
 * Our own schema rather than Powertools' `SesSchema`, which rejects real events: it requires
 * `dmarcPolicy` (SES only sends it when DMARC fails) and refuses the `DISABLED` verdict that
 * SES reports when scanning is off. Unknown fields are kept: SES adds fields over time.
 */
import * as z from 'zod/mini';
import { InvalidInputError } from './errors.js';

export const VERDICT_STATUSES = ['PASS', 'FAIL', 'GRAY', 'PROCESSING_FAILED', 'DISABLED'] as const;
export type VerdictStatus = (typeof VERDICT_STATUSES)[number];

const verdict = z.looseObject({ status: z.enum(VERDICT_STATUSES) });

const header = z.looseObject({ name: z.string(), value: z.string() });

export const SesMailSchema = z.looseObject({
  timestamp: z.string(),
  /** Envelope sender (MAIL FROM). Empty for a null reverse path. */
  source: z.string(),
  messageId: z.string().check(z.minLength(1)),
  destination: z.array(z.string()),
  headersTruncated: z.optional(z.boolean()),
  headers: z._default(z.array(header), []),
  commonHeaders: z.optional(z.looseObject({})),
});

export const SesReceiptSchema = z.looseObject({
  timestamp: z.string(),
  processingTimeMillis: z.optional(z.number()),
  /** The recipients of this message that the receipt rule matched. */
  recipients: z.array(z.string()).check(z.minLength(1)),
  spamVerdict: verdict,
  virusVerdict: verdict,
  spfVerdict: verdict,
  dkimVerdict: verdict,
  dmarcVerdict: verdict,
  /** Present only when DMARC failed: `none`, `quarantine` or `reject`. */
  dmarcPolicy: z.optional(z.string()),
  action: z.looseObject({ type: z.string() }),
});

export const SesReceiptEventSchema = z.looseObject({
  Records: z
    .array(
      z.looseObject({
        eventSource: z.literal('aws:ses'),
        eventVersion: z.string(),
        ses: z.looseObject({ mail: SesMailSchema, receipt: SesReceiptSchema }),
      }),
    )
    .check(z.minLength(1)),
});

export type SesMail = z.output<typeof SesMailSchema>;
export type SesReceipt = z.output<typeof SesReceiptSchema>;
export type SesReceiptEvent = z.output<typeof SesReceiptEventSchema>;

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
  const result = SesReceiptEventSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('') ?? '';
    throw new InvalidInputError(
      'event',
      `not an SES receipt event: ${path.replace(/^\./, '') || '(root)'}: ${issue?.message ?? 'invalid'}`,
      { cause: result.error },
    );
  }
  const record = result.data.Records[0]!;
  return { mail: record.ses.mail, receipt: record.ses.receipt };
}
