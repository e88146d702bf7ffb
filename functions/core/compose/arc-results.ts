/**
 * The ARC-Authentication-Results value of the set we add (RFC 8617 4.1.1): the results the
 * message had on arrival (SES's SPF and DMARC verdicts, our DKIM evaluation) in RFC 8601
 * syntax. Re-exported by `arc.ts`, which seals with it.
 */

import { isIP } from 'node:net';
import type { DkimEvaluation } from '../dkim.js';
import { InvalidInputError } from '../errors.js';
import { sanitizeHeaderText } from '../message.js';
import type { VerdictStatus } from '../ses-event.js';

/** What SES and our DKIM evaluation said about the message when it arrived. */
export interface ArrivalAuthResults {
  spf: VerdictStatus;
  dmarc: VerdictStatus;
  /** MAIL FROM, null for a null reverse path. */
  envelopeSender: string | null;
  /** The (single) From domain DMARC was evaluated for. */
  fromDomain: string | undefined;
  dkim: DkimEvaluation;
  /** The connecting client, when known (recorded as `smtp.remote-ip` of the `arc` result). */
  clientIp?: string;
}

/** An RFC 8601 result with its optional `reason=` (section 2.2, `reasonspec`). */
export interface AuthResult {
  result: 'pass' | 'fail' | 'none' | 'temperror';
  reason?: string;
}

/**
 * SES's SPF and DMARC verdicts as RFC 8601 results (section 2.7.2 for SPF, RFC 7489 section
 * 11.2 for DMARC):
 * - `GRAY` is `none`: SES reports it when the domain publishes no SPF or DMARC record, which
 *   is exactly what `none` means for both methods ("no policy published"). It is neither
 *   `neutral` (a published `?all`, which SES does not tell apart) nor a failure.
 * - `PROCESSING_FAILED` is `temperror`: SES could not reach a verdict, usually DNS; the
 *   outcome is unknown, not negative.
 * - `DISABLED` is `none` with `reason="not checked"`: the check was not run, so nothing was
 *   authenticated; the reason keeps it from reading as "no record published".
 */
export function verdictResult(status: VerdictStatus): AuthResult {
  switch (status) {
    case 'PASS':
      return { result: 'pass' };
    case 'FAIL':
      return { result: 'fail' };
    case 'GRAY':
      return { result: 'none' };
    case 'PROCESSING_FAILED':
      return { result: 'temperror' };
    case 'DISABLED':
      return { result: 'none', reason: 'not checked' };
  }
}

/** RFC 2045 token: no tspecials, space or control character. */
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;
/** `local-part@domain` with a dot-atom local part (RFC 5322 3.2.3) and an LDH domain. */
const DOT_ATOM_ADDRESS =
  /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*$/;
const DOMAIN = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?$/;

function quoted(text: string): string {
  return `"${text.replace(/(["\\])/g, '\\$1')}"`;
}

/** A `value` (RFC 2045 token or quoted-string), e.g. the authserv-id or a reason. */
function value(text: string): string {
  const clean = sanitizeHeaderText(text);
  return TOKEN.test(clean) ? clean : quoted(clean);
}

/** A `pvalue` (RFC 8601 section 2.2): an address or domain as is when it can be, else quoted. */
function pvalue(text: string): string {
  const clean = sanitizeHeaderText(text).replace(/\s/g, '');
  return DOT_ATOM_ADDRESS.test(clean) || DOMAIN.test(clean) ? clean : quoted(clean);
}

/** A comment (RFC 5322 3.2.2) with nothing that could end or nest it. */
function comment(text: string): string {
  const clean = sanitizeHeaderText(text)
    .replace(/[()\\]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return clean ? ` (${clean})` : '';
}

function resinfo(method: string, r: AuthResult, extra: string): string {
  return `${method}=${r.result}${r.reason ? ` reason=${value(r.reason)}` : ''}${extra}`;
}

/**
 * The RFC 8601 value of an (ARC-)Authentication-Results field for the results seen on arrival:
 * `authserv-id; spf=pass smtp.mailfrom=...; dkim=pass header.d=... header.s=...; dmarc=pass
 * header.from=...`, unfolded. One `dkim=` per signature (`dkim=none` for an unsigned message).
 * The SES verdict mapping is {@link verdictResult}'s. Every value is sanitised.
 */
export function authenticationResultsValue(authservId: string, r: ArrivalAuthResults): string {
  const id = value(authservId);
  if (!id || id === '""') throw new InvalidInputError('authservId', 'an authserv-id is required');
  const ip = r.clientIp && isIP(r.clientIp.trim()) ? r.clientIp.trim() : undefined;

  const spfProps = [ip ? comment(`sender IP is ${ip}`) : ''];
  if (r.envelopeSender) spfProps.push(` smtp.mailfrom=${pvalue(r.envelopeSender)}`);
  else spfProps.push(comment('null reverse-path'));
  const parts = [id, resinfo('spf', verdictResult(r.spf), spfProps.join(''))];

  if (r.dkim.signatures.length === 0) {
    parts.push('dkim=none');
  } else {
    for (const s of r.dkim.signatures) {
      const note = s.result !== 'pass' && s.comment ? comment(s.comment) : '';
      const selector = s.selector ? ` header.s=${pvalue(s.selector)}` : '';
      parts.push(`dkim=${s.result}${note} header.d=${pvalue(s.domain)}${selector}`);
    }
  }

  const fromDomain = r.fromDomain ? ` header.from=${pvalue(r.fromDomain)}` : '';
  parts.push(resinfo('dmarc', verdictResult(r.dmarc), fromDomain));
  return parts.join('; ');
}
