/**
 * The copy SES re-sends (SESv2 `SendEmail`, `Content.Raw`): the original message with only
 * what must change for SES and for the receiver, and nothing else.
 *
 * Everything here works on bytes. The header block is cut into fields (a field is its first
 * line and every line after it that does not start a new field), fields are dropped or kept
 * whole with their original bytes (8-bit included), and the few fields we write are
 * sanitised and folded. The bytes after the empty line that ends the header block, the body,
 * are never looked at and are copied unchanged.
 *
 * What changes and why:
 *
 * - SES only sends from a verified identity, checking `From`, `Sender` and `Return-Path`
 *   (SES error "Email address is not verified ... could apply to the From, Source, Sender, or
 *   Return-Path address"). When the decision rewrote the author, every `From` is replaced by
 *   one `From: <send.from>`, `Reply-To` is set to the original author, the original `From`
 *   (and `Sender`, which would otherwise still name the unverified domain) is carried in
 *   `X-Original-From` / `X-Original-Sender`.
 * - SES accepts at most one `DKIM-Signature` (and one of each field in its list of
 *   single-instance fields, {@link SES_SINGLE_INSTANCE_FIELDS}); it rejects the message with
 *   "Duplicate header" otherwise. A rewritten `From` breaks every signature, so they all go
 *   (the ARC seal, `arc.ts`, carries the results seen on arrival). With the `From` kept, the
 *   aligned passing signature is kept (else the first) and the others dropped. For the other
 *   single-instance fields the first (topmost) occurrence is kept.
 * - `X-SES-*` fields steer SES itself: `X-SES-CONFIGURATION-SET` and `X-SES-MESSAGE-TAGS`
 *   (SES event publishing) would let a sender pick its own pool and tags,
 *   `X-SES-SOURCE-ARN`, `X-SES-FROM-ARN` and `X-SES-RETURN-PATH-ARN` (sending authorization)
 *   another account's identity, `X-SES-LIST-MANAGEMENT-OPTIONS` our contact lists; SES inbound
 *   itself adds `X-SES-RECEIPT`, `X-SES-Spam-Verdict`, `X-SES-Virus-Verdict`,
 *   `X-SES-DKIM-SIGNATURE`... None may reach SES from a sender: every `X-SES-*` is dropped.
 * - `Return-Path` tells SES where to send bounces and complaints, so a sender's own value is
 *   dropped and ours (`envelopeFrom`) written.
 * - Our trace fields (`X-Outbound-Pool*`) are written on top; copies of them that arrived
 *   with the message are dropped, since they would lie about us.
 * - A loop marker (`X-Outbound-Pools-Loop`, `loop.ts`) is written for every route the copy
 *   is sent for. Markers that arrived with the message are kept: a copy going round two
 *   routes (A forwards to B's domain, B back to A) still carries A's marker when it reaches
 *   A again. A marker cannot be forged (it is keyed), so keeping them costs nothing.
 * - `Bcc` never leaves a message (RFC 5322 3.6.3 leaves it to the sender to remove before
 *   transmission); a copy carrying one would disclose hidden recipients, and a raw send that
 *   took recipients from headers would deliver to them. Only `Destination` decides who gets
 *   a copy.
 *
 * A field that hides a bare CR followed by something that looks like a new field
 * (`Subject: x<CR>X-SES-CONFIGURATION-SET: y`) is dropped: a parser that ends lines at a bare
 * CR would otherwise see a field we never checked.
 *
 * Lines before the first field (a continuation line or text that is no field) belong to no
 * field and are dropped: written after our trace fields, they would extend the last one. So
 * are lines that are neither a field nor a continuation anywhere in the block, with their
 * continuation lines (see {@link headerFields}): dropped rather than the message blocked,
 * because a mailer's broken line is not worth a lost message once no parser can see it.
 *
 * Line endings are normalised once, in the copy's header block: every line of it, and the
 * empty line that ends it, ends with the line end of the first line (CRLF by default), so
 * a strict CRLF parser and an LF parser both see exactly the fields we wrote.
 *
 * A message without the empty line that ends the header block (RFC 5322 section 2.1 makes
 * the body optional) is all header: the copy gets the empty line SES requires ("The message
 * has to contain a header and a body, separated by a blank line") and an empty body, which
 * is byte-identical to the empty body it had.
 */

import type { PlannedSend } from '../decide.js';
import type { DkimEvaluation } from '../dkim.js';
import { InvalidInputError } from '../errors.js';
import { LOOP_FIELD } from '../loop.js';
import { sanitizeHeaderText } from '../message.js';
import type { Reason } from '../vocabulary.js';
import {
  claimsAuthservId,
  isSesField,
  isTraceField,
  SES_SINGLE_INSTANCE_FIELDS,
  senderIsSendingIdentity,
  signatureToKeep,
  smuggles,
  TRACE_FIELDS,
} from './field-rules.js';
import { formatField } from './fold.js';
import {
  fieldValue,
  headerFields,
  lineEnding,
  normalizeLineEnds,
  type RawField,
  splitMessage,
  withoutWspBeforeColon,
} from './header-fields.js';

// The pieces this module is built from, importable from here as before the split.
export { dkimTags, SES_SINGLE_INSTANCE_FIELDS, TRACE_FIELDS } from './field-rules.js';
export { formatField, MAX_LINE_OCTETS, PREFERRED_LINE_OCTETS } from './fold.js';
export {
  fieldValue,
  headerFields,
  lineEnding,
  type MessageParts,
  normalizeLineEnds,
  type RawField,
  splitMessage,
  withoutWspBeforeColon,
} from './header-fields.js';

export interface RewriteOptions {
  send: Pick<PlannedSend, 'from' | 'fromRewritten' | 'replyTo' | 'envelopeFrom' | 'pool'>;
  reasons: readonly Reason[];
  /** SES receipt message id, for the trace header. */
  inboundMessageId: string;
  /** Which signature to keep when From is kept. */
  dkim: DkimEvaluation;
  /** Values of the loop markers to write (one per route of the copy, `loopMarker()`). */
  loopMarkers?: readonly string[];
  /**
   * The stack's sending domains (`sending-domains.ts`): a kept From keeps its `Sender` only in
   * one of them. Absent: none, so `Sender` never reaches SES.
   */
  sendingDomains?: readonly string[];
  /**
   * Our authserv-id (the ARC set's, `arc.authservId` else the SRS domain): an inbound
   * `Authentication-Results` that claims it is dropped ({@link claimsAuthservId}).
   */
  authservId?: string;
}

/** `<address>` for a path, whether or not it came bracketed. */
function path(address: string): string {
  const clean = sanitizeHeaderText(address).replace(/\s/g, '');
  const bare = clean.startsWith('<') && clean.endsWith('>') ? clean.slice(1, -1) : clean;
  return `<${bare.replace(/[<>]/g, '')}>`;
}

/**
 * A copy in two pieces: its new header block (the empty line that ends it included) and the
 * body of the message it was made from, a view of the same bytes rather than a copy of them.
 * `header + body` is the message to send; keeping them apart lets the ARC seal put its fields
 * on top and make the one copy of a multi-megabyte body there.
 */
export interface ComposedMessage {
  header: Buffer;
  body: Buffer;
}

/** The bytes of a composed message, in one buffer (the body's single copy). */
export function joinMessage(message: ComposedMessage, top?: Buffer): Buffer {
  return Buffer.concat(top ? [top, message.header, message.body] : [message.header, message.body]);
}

/**
 * Builds the copy to send. See the module comment for the rules.
 * @throws InvalidInputError when `raw` is not a Buffer or the options cannot be written
 *   (no From to write when the From is rewritten).
 */
export function rewriteMessage(raw: Buffer, opts: RewriteOptions): Buffer {
  return joinMessage(rewriteHeader(raw, opts));
}

/**
 * {@link rewriteMessage} without joining: the new header block, and the body of `raw` as a
 * view of `raw` (not copied).
 */
export function rewriteHeader(raw: Buffer, opts: RewriteOptions): ComposedMessage {
  if (!Buffer.isBuffer(raw)) throw new InvalidInputError('message', 'raw message must be a Buffer');
  const { send } = opts;
  const newFrom = sanitizeHeaderText(send.from ?? '');
  if (send.fromRewritten && newFrom === '') {
    throw new InvalidInputError('send.from', 'a rewritten From needs an address');
  }

  const parts = splitMessage(raw);
  const eol = lineEnding(parts);
  const fields = headerFields(parts.header).filter((f) => f.name !== '');

  // Line ends normalised to `eol` (a bare LF inside a CRLF message would otherwise be a line
  // end for us and none for a strict CRLF parser); a last line without its line end (a
  // message that ends inside the header block) gets one.
  const terminated = (field: RawField): Buffer => {
    const bytes = normalizeLineEnds(withoutWspBeforeColon(field.bytes), eol);
    return bytes[bytes.length - 1] === 0x0a ? bytes : Buffer.concat([bytes, Buffer.from(eol)]);
  };

  const keptSignature = send.fromRewritten ? undefined : signatureToKeep(fields, opts.dkim);
  const originalFrom = fields.filter((f) => f.name === 'from').map(fieldValue);
  const senderFields = fields.filter((f) => f.name === 'sender');
  const originalSender = senderFields.map(fieldValue);
  // One rule for `Sender` (SES checks it as an identity): it reaches SES only beside a kept
  // From and naming a sending identity; otherwise it is carried in `X-Original-Sender`.
  const senderKept =
    !send.fromRewritten &&
    senderFields[0] !== undefined &&
    senderIsSendingIdentity(senderFields[0], opts.sendingDomains ?? []);
  const movedSender = senderKept ? '' : sanitizeHeaderText(originalSender.join(', '));

  // The author fields we write in place of the first From.
  const authorBlock: string[] = [];
  if (send.fromRewritten) {
    authorBlock.push(formatField('From', newFrom, eol));
    if (send.replyTo) {
      const replyTo = sanitizeHeaderText(send.replyTo);
      if (replyTo) authorBlock.push(formatField('Reply-To', replyTo, eol));
    }
    const from = sanitizeHeaderText(originalFrom.join(', '));
    if (from) authorBlock.push(formatField('X-Original-From', from, eol));
    if (movedSender) authorBlock.push(formatField('X-Original-Sender', movedSender, eol));
  }

  const out: Buffer[] = [
    Buffer.from(formatField('Return-Path', path(send.envelopeFrom ?? ''), eol)),
    Buffer.from(formatField(TRACE_FIELDS.pool, send.pool, eol)),
    Buffer.from(formatField(TRACE_FIELDS.reasons, opts.reasons.join(', '), eol)),
    Buffer.from(formatField(TRACE_FIELDS.inboundId, opts.inboundMessageId, eol)),
    ...(opts.loopMarkers ?? []).map((m) => Buffer.from(formatField(LOOP_FIELD, m, eol))),
  ];
  const topFields = out.length;
  const seen = new Set<string>();
  let authorWritten = false;
  let fromKept = false;
  for (const field of fields) {
    const { name } = field;
    if (
      isSesField(name) ||
      isTraceField(name) ||
      name === 'return-path' ||
      name === 'bcc' ||
      smuggles(field) ||
      (name === 'authentication-results' &&
        opts.authservId !== undefined &&
        claimsAuthservId(field, opts.authservId))
    ) {
      continue;
    }
    if (send.fromRewritten) {
      if (name === 'from') {
        if (!authorWritten) out.push(Buffer.from(authorBlock.join('')));
        authorWritten = true;
        continue;
      }
      if (
        name === 'reply-to' ||
        name === 'sender' ||
        name === 'dkim-signature' ||
        name === 'domainkey-signature' ||
        name === 'x-original-from' ||
        name === 'x-original-sender' ||
        // Return paths written in the header, which older MTAs and list software honour
        // (sendmail's `UseErrorsTo`, delivery receipts): on a copy sent as us, bounces and
        // receipts go to its Return-Path, never to whomever the sender named.
        name === 'errors-to' ||
        name === 'return-receipt-to'
      ) {
        continue;
      }
    } else if (name === 'dkim-signature' && field !== keptSignature) {
      continue;
    } else if (!senderKept && (name === 'sender' || (movedSender && name === 'x-original-sender'))) {
      // In place of the first Sender; one arriving with the message would lie beside ours.
      if (movedSender && field === senderFields[0]) {
        out.push(Buffer.from(formatField('X-Original-Sender', movedSender, eol)));
      }
      continue;
    }
    if (SES_SINGLE_INSTANCE_FIELDS.has(name)) {
      if (seen.has(name)) continue;
      seen.add(name);
    }
    if (name === 'from') fromKept = true;
    out.push(terminated(field));
  }
  if (send.fromRewritten && !authorWritten) {
    out.splice(topFields, 0, Buffer.from(authorBlock.join('')));
  } else if (!send.fromRewritten && !fromKept && newFrom !== '') {
    // The From to keep was missing or unusable (dropped above): write the planned one.
    out.splice(topFields, 0, Buffer.from(formatField('From', newFrom, eol)));
  }

  // The empty line is written as `eol` too: a CRLF header block ended by a bare LF-LF would
  // end, for a strict CRLF parser, only at a later CRLF CRLF in what we call the body, and the
  // lines in between (say `Bcc:` or `X-SES-CONFIGURATION-SET:`) would be fields for it.
  return { header: Buffer.concat([...out, Buffer.from(eol)]), body: parts.body };
}
