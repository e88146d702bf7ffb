/**
 * What an SESv2 `SendEmail` error means for the message (issue 15 item 1), as a value: a pure
 * function over the error's name and text and the copy that was being sent, so every case is
 * testable without SES.
 *
 * SendEmail's documented errors (SESv2 API Reference, "SendEmail", Errors,
 * https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html; the SDKs' error
 * enums list the same, e.g. aws-sdk-sesv2 `SendEmailError`: `AccountSuspendedException`, `BadRequestException`,
 * `LimitExceededException`, `MailFromDomainNotVerifiedException`, `MessageRejected`,
 * `NotFoundException`, `SendingPausedException`, `TooManyRequestsException`), plus the SES v1
 * names (`AccountSendingPausedException`, `ConfigurationSetDoesNotExistException`,
 * `ConfigurationSetSendingPausedException`) that the same faults carry in v1 and SMTP
 * answers, sorted by what can fix them:
 *
 * - **throttle**: over the account's sending rate — the same call succeeds a little later,
 *   so it is retried with backoff within the invocation (`ses-mailer.ts`).
 * - **account**: the account is suspended or paused, over its daily quota, or still in the
 *   SES sandbox (SES then refuses every unverified *recipient*: "If your account is still in
 *   the Amazon SES sandbox, you also need to verify any email addresses which you plan on
 *   sending email to", SES Developer Guide, "Verified identities in Amazon SES",
 *   https://docs.aws.amazon.com/ses/latest/dg/verify-addresses-and-domains.html).
 * - **identity**: the From, Sender or Return-Path is not a verified identity ("Before you can
 *   send an email using Amazon SES, you must create and verify each identity that you're
 *   going to use as a "From", "Source", "Sender", or "Return-Path" address", same page; the
 *   error reads "Email address is not verified. The following identities failed the check in
 *   region …", AWS Knowledge Center "ses-554-400-message-rejected-error"), sending
 *   authorization refused, or the custom MAIL FROM domain not verified.
 * - **configuration-set**: the pool's configuration set or tenant is missing or paused.
 * - **copy**: SES refused *this* copy's bytes (`MessageRejected`: a virus, an illegal header;
 *   `BadRequestException` on the message) — retrying the same bytes cannot succeed.
 *
 * The first three are faults of the deployment: every copy would fail the same way, so the
 * invocation fails (retried, then dead-lettered and alarmed) and the mail waits for an
 * operator, never recorded as one failed copy. Only a copy refusal is recorded (and answered
 * with an NDR when SPEC 3 rule 1 allows).
 */
import { cutText } from './text.js';

export const DEPLOYMENT_FAULT_SCOPES = ['account', 'identity', 'configuration-set'] as const;
/** Where a deployment fault lies: what an operator must fix before redriving. */
export type DeploymentFaultScope = (typeof DEPLOYMENT_FAULT_SCOPES)[number];

export const COPY_REFUSALS = ['content', 'request', 'size'] as const;
/**
 * Why SES refused (or would refuse) one copy: its content (`MessageRejected`), the request
 * made of it (`BadRequestException`), or its size (refused before the call, `copy-size.ts`).
 */
export type CopyRefusal = (typeof COPY_REFUSALS)[number];

export type SesErrorVerdict =
  | { kind: 'throttle' }
  | { kind: 'deployment'; scope: DeploymentFaultScope }
  | { kind: 'copy'; refusal: CopyRefusal }
  /** Not an SES refusal we know: the caller maps it as any other AWS error. */
  | { kind: 'other' };

/** The error as SES sent it. */
export interface SesErrorFacts {
  name: string;
  message: string;
}

/** The copy SES was asked to send. */
export interface SendFacts {
  /** The envelope recipients (`Destination`). */
  recipients: readonly string[];
}

const THROTTLE_NAMES = new Set(['TooManyRequestsException', 'Throttling', 'ThrottlingException']);

const BY_NAME: Readonly<Record<string, DeploymentFaultScope>> = {
  AccountSuspendedException: 'account',
  AccountSendingPausedException: 'account',
  MailFromDomainNotVerifiedException: 'identity',
  ConfigurationSetDoesNotExistException: 'configuration-set',
  ConfigurationSetDoesNotExist: 'configuration-set',
  ConfigurationSetSendingPausedException: 'configuration-set',
};

/** SES v1/SMTP texts for the sending rate, e.g. "Throttling – Maximum sending rate exceeded". */
const RATE_TEXT = /maximum sending rate exceeded|rate exceeded|too many requests/i;
/** The 24-hour quota: it does not clear within an invocation, nor within Lambda's retries. */
const QUOTA_TEXT = /daily message quota exceeded|sending quota exceeded|maximum send(ing)? quota/i;
const ACCOUNT_TEXT =
  /account.*(?:paused|suspended|disabled|not enabled|sandbox)|(?:sending|email sending).*(?:paused|suspended|disabled).*account|sandbox/i;
const CONFIGURATION_SET_TEXT = /configuration[ -]?set|tenant/i;
const UNVERIFIED_TEXT = /not verified/i;
const NOT_AUTHORIZED_TEXT = /not authori[sz]ed|sending authorization/i;
const MAIL_FROM_TEXT = /mail[ -]?from domain/i;

/**
 * The identities an "Email address is not verified" text names, lower-cased: "The following
 * identities failed the check in region US-EAST-1: a@x.test, b@y.test".
 */
export function unverifiedIdentities(message: string): string[] {
  const m = /failed the check[^:]*:(.*)$/is.exec(message);
  if (!m) return [];
  return m[1]!
    .split(/[\s,;]+/)
    .map((s) => s.replace(/^[<"']+|[>"'.]+$/g, '').toLowerCase())
    .filter((s) => s.length > 0);
}

/**
 * `text` without its quoted spans ('…', "…", `…`, “…”). The curly quotes are escaped: one
 * non-ASCII character in the bundle makes Node hold all of its source as UTF-16 (issue 16, cold
 * start; `test/bundle-ascii.test.ts`).
 */
function withoutQuoted(text: string): string {
  return text.replace(/'[^']*'|"[^"]*"|`[^`]*`|\u201C[^\u201D]*\u201D/g, ' ');
}

/** Classifies an SESv2 SendEmail error. Pure: no I/O, no clock. */
export function classifySesError(error: SesErrorFacts, send: SendFacts): SesErrorVerdict {
  const name = error.name ?? '';
  const text = error.message ?? '';
  if (THROTTLE_NAMES.has(name)) return { kind: 'throttle' };
  // SESv2 documents LimitExceededException as "too many instances of the specified resource
  // type"; on SendEmail the only limit a send can exceed is the sending rate, unless the text
  // names the daily quota.
  if (name === 'LimitExceededException') {
    return QUOTA_TEXT.test(text) ? { kind: 'deployment', scope: 'account' } : { kind: 'throttle' };
  }
  const byName = BY_NAME[name];
  if (byName) return { kind: 'deployment', scope: byName };
  if (name === 'SendingPausedException') {
    // SESv2 uses one name for a paused account and a paused configuration set.
    return {
      kind: 'deployment',
      scope: CONFIGURATION_SET_TEXT.test(text) ? 'configuration-set' : 'account',
    };
  }
  if (name === 'NotFoundException') {
    // The only resources SendEmail names are the configuration set and the tenant (we send
    // no template, no contact list): a missing one is a deployment fault either way.
    return { kind: 'deployment', scope: 'configuration-set' };
  }
  if (name !== 'MessageRejected' && name !== 'BadRequestException') return { kind: 'other' };

  // MessageRejected and BadRequestException carry many causes; the text tells them apart.
  // SES may quote a piece of the message in it ("Illegal header 'X-…'"): a sender controls
  // that piece, so quoted spans are not read, lest a header named like a deployment fault
  // turn a refusal of its own copy into a dead-lettered message.
  const ours = withoutQuoted(text);
  if (QUOTA_TEXT.test(ours)) return { kind: 'deployment', scope: 'account' };
  if (RATE_TEXT.test(ours)) return { kind: 'throttle' };
  if (UNVERIFIED_TEXT.test(ours)) {
    const recipients = new Set(send.recipients.map((r) => r.toLowerCase()));
    const failed = unverifiedIdentities(text);
    // A recipient failing the check means the account is still in the sandbox.
    if (failed.some((f) => recipients.has(f)) || /sandbox/i.test(ours)) {
      return { kind: 'deployment', scope: 'account' };
    }
    return { kind: 'deployment', scope: 'identity' };
  }
  if (ACCOUNT_TEXT.test(ours)) return { kind: 'deployment', scope: 'account' };
  if (CONFIGURATION_SET_TEXT.test(ours)) return { kind: 'deployment', scope: 'configuration-set' };
  if (NOT_AUTHORIZED_TEXT.test(ours) || MAIL_FROM_TEXT.test(ours)) {
    return { kind: 'deployment', scope: 'identity' };
  }
  return { kind: 'copy', refusal: name === 'MessageRejected' ? 'content' : 'request' };
}

/** What an operator does about each deployment fault (the error's one line says it). */
export const DEPLOYMENT_FAULT_ACTIONS: Readonly<Record<DeploymentFaultScope, string>> = {
  account:
    'the SES account cannot send (suspended, paused, over quota, or still in the sandbox): fix it in SES, then redrive',
  identity:
    'a From, Sender or Return-Path identity is not verified or not authorized in SES: verify it, then redrive',
  'configuration-set':
    "the pool's configuration set or tenant is missing or paused: restore it, then redrive",
};

/** One line (CR, LF and runs of whitespace made single spaces), at most `max` characters. */
export function oneLine(text: string, max = 500): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return cutText(line, max, '…');
}
