/**
 * Which fields of the original message may reach the copy: SES's single-instance fields, the
 * `X-SES-*` fields that steer SES, our own trace fields, fields that smuggle another behind a
 * bare CR, and which DKIM-Signature is kept. The rules themselves are explained in
 * `rewrite.ts`, which applies them.
 */

import type { DkimEvaluation } from '../dkim.js';
import { LOOP_FIELD } from '../loop.js';
import { domainOf, parseMailboxes, withoutComments } from '../message.js';
import { fieldValue, type RawField } from './header-fields.js';

/**
 * Fields SES refuses to see more than once in a raw message ("Amazon SES header fields",
 * SES developer guide), lower-cased.
 */
export const SES_SINGLE_INSTANCE_FIELDS: ReadonlySet<string> = new Set(
  [
    'Accept-Language',
    'acceptLanguage',
    'Archived-At',
    'Auto-Submitted',
    'Bounces-to',
    'Comments',
    'Content-Alternative',
    'Content-Base',
    'Content-Class',
    'Content-Description',
    'Content-Disposition',
    'Content-Duration',
    'Content-ID',
    'Content-Language',
    'Content-Length',
    'Content-Location',
    'Content-MD5',
    'Content-Transfer-Encoding',
    'Content-Type',
    'Date',
    'Delivered-To',
    'Disposition-Notification-Options',
    'Disposition-Notification-To',
    'DKIM-Signature',
    'DomainKey-Signature',
    'Errors-To',
    'From',
    'Importance',
    'In-Reply-To',
    'Keywords',
    'List-Archive',
    'List-Help',
    'List-Id',
    'List-Owner',
    'List-Post',
    'List-Subscribe',
    'List-Unsubscribe',
    'List-Unsubscribe-Post',
    'Message-Context',
    'Message-ID',
    'MIME-Version',
    'Organization',
    'Original-From',
    'Original-Message-ID',
    'Original-Recipient',
    'Original-Subject',
    'Precedence',
    'Priority',
    'References',
    'Reply-To',
    'Return-Path',
    'Return-Receipt-To',
    'Sender',
    'Solicitation',
    'Sensitivity',
    'Subject',
    'Thread-Index',
    'Thread-Topic',
    'User-Agent',
    'VBR-Info',
  ].map((f) => f.toLowerCase()),
);

/** Names of the trace fields we write (and drop when they arrive with the message). */
export const TRACE_FIELDS = {
  pool: 'X-Outbound-Pool',
  reasons: 'X-Outbound-Pool-Reasons',
  inboundId: 'X-Outbound-Pool-Inbound-Id',
} as const;

/**
 * A bare CR not followed by WSP: a parser that ends lines at a bare CR (Python's `email`)
 * reads what follows as a new field, or — anything that is not a field, even an empty line —
 * as the end of the header block, and our From, Reply-To and the rest as body. A bare CR
 * followed by SP or HTAB is a continuation for every reading.
 */
const SMUGGLED_FIELD = /\r(?![\n \t])/;

export function smuggles(field: RawField): boolean {
  return SMUGGLED_FIELD.test(field.bytes.toString('latin1'));
}

/** The `d=` and `s=` tags of a DKIM-Signature value (RFC 6376 section 3.5), lower-cased. */
export function dkimTags(value: string): { domain: string; selector: string } {
  const tags = new Map<string, string>();
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    tags.set(part.slice(0, eq).replace(/\s/g, ''), part.slice(eq + 1).replace(/\s/g, ''));
  }
  return { domain: (tags.get('d') ?? '').toLowerCase(), selector: (tags.get('s') ?? '').toLowerCase() };
}

/**
 * The DKIM-Signature to keep with the From kept: the first one whose verification (matched
 * in order by d= and s= against `dkim.signatures`) passed and is aligned, else the first.
 */
export function signatureToKeep(fields: readonly RawField[], dkim: DkimEvaluation): RawField | undefined {
  const signatures = fields.filter((f) => f.name === 'dkim-signature');
  const used = new Set<number>();
  for (const field of signatures) {
    const { domain, selector } = dkimTags(fieldValue(field));
    const index = dkim.signatures.findIndex(
      (s, i) => !used.has(i) && s.domain.toLowerCase() === domain && s.selector.toLowerCase() === selector,
    );
    if (index < 0) continue;
    used.add(index);
    const verdict = dkim.signatures[index]!;
    if (verdict.aligned && verdict.result === 'pass') return field;
  }
  return signatures[0];
}

export const isSesField = (name: string) => name.startsWith('x-ses-');
const LOOP_KEY = LOOP_FIELD.toLowerCase();
export const isTraceField = (name: string) => name.startsWith('x-outbound-pool') && name !== LOOP_KEY;

/**
 * Whether a `Sender` field may reach SES: SES checks `Sender` as an identity like `From` and
 * `Return-Path` ("you must create and verify each identity that you're going to use as a
 * "From", "Source", "Sender", or "Return-Path" address", SES Developer Guide, "Verified
 * identities in Amazon SES"), so one naming an unverified domain makes SES refuse the whole
 * send ("Email address is not verified") — a sender-controlled way to fail the invocation.
 * Only a value with exactly one address, in one of `domains` (the stack's sending identities,
 * exact domain), passes; anything ambiguous does not.
 */
export function senderIsSendingIdentity(field: RawField, domains: readonly string[]): boolean {
  const value = fieldValue(field);
  if (value.split('@').length !== 2) return false;
  const boxes = parseMailboxes(value);
  if (boxes.length !== 1) return false;
  const domain = domainOf(boxes[0]!.address);
  return domain !== undefined && domains.some((d) => d.toLowerCase() === domain);
}

/**
 * Whether an `Authentication-Results` field claims `authservId` (RFC 8601 2.2: its value
 * starts with the authserv-id, after optional comments, before an optional version and `;`).
 * Such a field in an inbound message was written by the sender, not by us: RFC 8601 5 says
 * an ADMD MUST remove (or rename) those that claim its own authserv-id, and our copies
 * carry our results in the ARC set under that id.
 */
export function claimsAuthservId(field: RawField, authservId: string): boolean {
  return authservIdOf(fieldValue(field)) === authservId.toLowerCase();
}

/**
 * The authserv-id an (ARC-)Authentication-Results value starts with, lower case: RFC 8601 2.2
 * makes it a `value`, a token or a quoted string (`"fwd.example.com"` claims the same id),
 * after optional comments (CFWS).
 */
export function authservIdOf(value: string): string | undefined {
  const v = withoutComments(value).trimStart();
  if (v.startsWith('"')) {
    const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(v)?.[1];
    return quoted?.replace(/\\(.)/g, '$1').toLowerCase();
  }
  return /^([^\s;]+)/.exec(v)?.[1]?.toLowerCase();
}
