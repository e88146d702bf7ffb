/**
 * Issue 13 item 5: no copy SES would refuse for size is ever attempted. SES sends messages of
 * at most {@link SES_MAX_MESSAGE_BYTES} (40 MB, SES quotas "Maximum message size"), and a copy
 * is larger than the message it was made from: the rewrite writes `Return-Path`, our trace
 * fields and, with the author rewritten, `From`, `Reply-To`, `X-Original-From` and
 * `X-Original-Sender`; the ARC seal adds three fields on top. A message of exactly
 * 41,943,040 bytes gave a copy 972 bytes larger, which SES refused.
 *
 * {@link copySizeBound} is an upper bound of every copy's size, computed at decision time
 * from the classification alone (no copy is built): the message blocked over it
 * (`hard-limit-size`, {@link overSize}) is never composed, and {@link assertCopySize} guards
 * the send itself, so a copy over the limit never reaches SES even if the bound were wrong.
 *
 * The bound is generous where the exact size would need the copy: every byte of the From,
 * Sender and Reply-To fields may come back up to 34 times (a raw 8-bit byte is read as
 * U+FFFD, 3 UTF-8 bytes, and Q-encoded as 9, in the rewritten `From` and again in `Reply-To`,
 * plus `X-Original-From`, with encoded-word and folding overhead), and each header line may
 * gain a CR (line endings normalised to CRLF). For ordinary mail the reserve is about 5 KB
 * (13 KB with ARC sealing) of the 40 MB; the tests compose real copies and check them
 * against it.
 */
import { type Config, SES_MAX_MESSAGE_BYTES } from '../config.js';
import type { Classification } from '../decide.js';
import { SendRejectedError } from '../errors.js';
import { REASONS } from '../vocabulary.js';
import { arrivalResults, authenticationResultsValue } from './arc.js';

/** How much a byte of the author fields may grow in the rewritten header (see module comment). */
export const AUTHOR_GROWTH = 34;

/** The ARC-Message-Signature and ARC-Seal with RSA keys of up to 8192 bits, folded. */
export const ARC_SIGNATURE_FIELDS_BYTES = 8 * 1024;

/** The trace fields, `Return-Path` and the field names of the author block, all but their values. */
const FIXED_FIELD_BYTES = 2 * 1024;

/** `text` folded (RFC 5322 2.2.3): at worst 3 bytes (CRLF + space) per 70 of value. */
function folded(bytes: number): number {
  return bytes + 3 * Math.ceil(bytes / 70) + 3;
}

const ALL_REASONS_BYTES = REASONS.reduce((n, r) => n + r.length + 2, 0);

/** Upper bound of the bytes any copy of the classified message has (see module comment). */
export function copySizeBound(c: Classification, config: Pick<Config, 'arc' | 'bounceSink' | 'srs'>): number {
  const envelope = c.envelopeSender?.length ?? 0;
  // Return-Path: the bounce sink, the sender itself, or its SRS address (SRS0=hash=tt=domain=local@srs).
  const returnPath = folded(Math.max(config.bounceSink.length, envelope + config.srs.domain.length + 64));
  const trace = folded(ALL_REASONS_BYTES) + folded(c.messageId.length) + 64;
  // From/Reply-To/X-Original-*, and the sending identity or bounce sink in the new From.
  const author = folded(AUTHOR_GROWTH * c.bounds.authorFieldBytes + 2 * 320 + config.bounceSink.length);
  // Line ends normalised: a CR per line, a line end for an unterminated last line, the empty line.
  const lineEnds = c.bounds.headerLines + 4;
  let arc = 0;
  if (config.arc) {
    const authservId = config.arc.authservId ?? config.srs.domain;
    // The results as the seal writes them, plus `arc=...` and `smtp.remote-ip=...`.
    const results = authenticationResultsValue(authservId, arrivalResults(c)).length + 80;
    arc = folded(results + 64) + ARC_SIGNATURE_FIELDS_BYTES;
  }
  return c.sizeBytes + FIXED_FIELD_BYTES + returnPath + trace + author + lineEnds + arc;
}

/**
 * Rule 1's size test: the message is over `maxMessageBytes`, or one of its copies could be
 * over what SES sends.
 */
export function overSize(
  c: Classification,
  config: Pick<Config, 'arc' | 'bounceSink' | 'srs' | 'maxMessageBytes'>,
): boolean {
  return c.sizeBytes > config.maxMessageBytes || copySizeBound(c, config) > SES_MAX_MESSAGE_BYTES;
}

/**
 * The last guard before SendEmail: a copy over SES's limit is refused here, as SES would
 * refuse it (`MessageRejected`), without being sent.
 * @throws SendRejectedError when `raw` (one buffer, or the pieces of one message) is larger than {@link SES_MAX_MESSAGE_BYTES}.
 */
export function assertCopySize(raw: Buffer | readonly Buffer[]): void {
  const bytes = Buffer.isBuffer(raw) ? raw.length : raw.reduce((n, piece) => n + piece.length, 0);
  if (bytes > SES_MAX_MESSAGE_BYTES) {
    throw new SendRejectedError(
      'MessageTooLarge',
      `the copy is ${bytes} bytes; SES sends at most ${SES_MAX_MESSAGE_BYTES}`,
      { refusal: 'size' },
    );
  }
}
