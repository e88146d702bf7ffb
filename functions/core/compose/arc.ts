/**
 * ARC sealing (RFC 8617) of the copy we re-send, so that a receiver can see the
 * authentication results the message had when it reached us, before we rewrote its From or
 * dropped its DKIM signatures.
 *
 * We add one ARC set: ARC-Authentication-Results (the SES verdicts and our DKIM evaluation
 * on arrival, RFC 8601 syntax), ARC-Message-Signature (over the copy as sent) and ARC-Seal
 * (over the chain). The chain validation status `cv` is that of the ARC chain on arrival
 * (RFC 8617 section 5.1.1 step 2): pass the message as it arrived in `received`, since the
 * rewrite may break the previous hop's ARC-Message-Signature.
 *
 * Not sealed (the message comes back unchanged, {@link sealArc} says why):
 * - the newest ARC-Seal already has `cv=fail` (RFC 8617 section 5.1 step 2: nothing is added
 *   to a failed chain). A chain that fails validation here, including one too broken to
 *   parse, is sealed once with `cv=fail`, which signs only our own set (section 5.1.2), and
 *   so is never sealed again;
 * - the chain already has 50 sets (section 4.2.1: instances run from 1 to 50).
 *
 * The ARC-Message-Signature signs mailauth's default ARC field list without `Date` and
 * `Message-ID`, which SES replaces with its own values ("Amazon SES header fields"), plus our
 * `X-Original-From`. SES's own DKIM-Signature is added on top, so the one we keep (the
 * bottom-most) is still the one signed.
 */

import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import type { ARCChainEntry, ARCData, ARCSealOptions } from 'mailauth';
import { arc, createSeal, getARChain } from 'mailauth/lib/arc/index.js';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { type ParsedHeaders, parseHeaders } from 'mailauth/lib/tools.js';
import type { Config } from '../config.js';
import type { Classification } from '../decide.js';
import type { DkimEvaluation } from '../dkim.js';
import type { Resolver } from '../dns/resolver.js';
import { InvalidInputError } from '../errors.js';
import { domainOf, sanitizeHeaderText } from '../message.js';
import type { VerdictStatus } from '../ses-event.js';
import { foreignSetClaimsOurId } from './arc-claims.js';
import { type ChainLink, keyObjectOf, pemOf, signArcSet } from './arc-sign.js';
import { type ComposedMessage, formatField, joinMessage, lineEnding, splitMessage } from './rewrite.js';

export interface ArcSigningKey {
  domain: string;
  selector: string;
  /**
   * PEM, or the key parsed once per container (`loadArcKey`), which signs about twice as fast
   * as a key parsed for each signature (`arc-sign.ts`).
   */
  privateKey: string | KeyObject;
  /** Follows the key type when not set. */
  algorithm?: 'rsa-sha256' | 'ed25519-sha256';
}

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

/** The arrival results of a classified message, as the seal of each copy carries them. */
export function arrivalResults(
  c: Pick<Classification, 'spf' | 'dmarc' | 'envelopeSender' | 'from' | 'dkim'>,
): ArrivalAuthResults {
  return {
    spf: c.spf,
    dmarc: c.dmarc,
    envelopeSender: c.envelopeSender,
    fromDomain: domainOf(c.from[0]?.address),
    dkim: c.dkim,
  };
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

/**
 * Fields the ARC-Message-Signature covers: mailauth's default ARC list (DKIM-Signature,
 * Delivered-To and the RFC 6376 5.4.1 list) without Date and Message-ID, which SES replaces.
 */
export const ARC_SIGNED_FIELDS: readonly string[] = [
  'DKIM-Signature',
  'Delivered-To',
  'From',
  'Sender',
  'Reply-To',
  'Subject',
  'To',
  'Cc',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'Content-ID',
  'Content-Description',
  'Resent-Date',
  'Resent-From',
  'Resent-Sender',
  'Resent-To',
  'Resent-Cc',
  'Resent-Message-ID',
  'In-Reply-To',
  'References',
  'List-Id',
  'List-Help',
  'List-Unsubscribe',
  'List-Subscribe',
  'List-Post',
  'List-Owner',
  'List-Archive',
  'X-Original-From',
];

/** RFC 8617 section 4.2.1: at most 50 ARC sets. */
export const MAX_ARC_INSTANCE = 50;

export interface ArcSealOptions {
  key: ArcSigningKey;
  /** Our authserv-id (RFC 8601 section 2.5), usually a host name. */
  authservId: string;
  results: ArrivalAuthResults;
  resolver: Resolver;
  now: Date;
  /**
   * The message as it arrived, whose ARC chain is validated for `cv` when
   * `results.dkim.arcChain` does not already say. Defaults to `raw`; pass it whenever `raw` is
   * a rewritten copy.
   */
  received?: Buffer;
  /**
   * The relaxed/SHA-256 hash of the body of `raw` (base64), when the caller already has it:
   * the arrival DKIM pass's `dkim.bodyHash` for a copy that keeps the body it arrived with.
   * Then only the header block is read here, and the body is neither hashed nor scanned again.
   */
  bodyHash?: string;
}

export type ChainStatus = 'none' | 'pass' | 'fail';

export interface ArcSealOutcome {
  /** The sealed message, or `raw` unchanged when it was not sealed. */
  message: Buffer;
  sealed: boolean;
  /** Validation status of the chain on arrival (the `cv=` of our seal when sealed). */
  cv: ChainStatus;
  /** Instance of the set we added, null when not sealed. */
  instance: number | null;
  /** Why nothing was added. */
  skipped?: 'chain-failed' | 'chain-full';
  /** The ARC-Authentication-Results payload written (after `i=N;`). */
  authResults: string;
}

const SAFE_DNS_LABELS = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

/** `raw` as header block (ending with its empty line) and body, both views of `raw`. */
function composed(raw: Buffer | ComposedMessage): ComposedMessage {
  if (Buffer.isBuffer(raw)) {
    const parts = splitMessage(raw);
    return { header: raw.subarray(0, parts.header.length + parts.separator.length), body: parts.body };
  }
  if (raw && Buffer.isBuffer(raw.header) && Buffer.isBuffer(raw.body)) return raw;
  throw new InvalidInputError('message', 'raw message must be a Buffer or a header and a body');
}

/** The message for mailauth to read: the bytes themselves, or a stream of the two pieces. */
function messageInput(raw: Buffer | ComposedMessage, copy: ComposedMessage): Buffer | Readable {
  return Buffer.isBuffer(raw) ? raw : Readable.from([copy.header, copy.body], { objectMode: false });
}

/**
 * Seals `raw` (see the module comment), reporting what it did. `raw` may come as the header
 * block and body of {@link rewriteHeader}: the sealed message is then the one buffer the body
 * is copied into.
 * @throws InvalidInputError for a message that cannot be read or signed (no From) and for an
 *   unusable key.
 */
export async function sealArc(raw: Buffer | ComposedMessage, opts: ArcSealOptions): Promise<ArcSealOutcome> {
  const copy = composed(raw);
  if (opts.received !== undefined && !Buffer.isBuffer(opts.received)) {
    throw new InvalidInputError('received', 'must be a Buffer');
  }
  if (opts.bodyHash !== undefined && !/^[A-Za-z0-9+/]{43}=$/.test(opts.bodyHash)) {
    throw new InvalidInputError('bodyHash', 'must be a base64 SHA-256 digest');
  }
  if (!(opts.now instanceof Date) || Number.isNaN(opts.now.getTime())) {
    throw new InvalidInputError('now', 'invalid date');
  }
  const { key, resolver, now } = opts;
  if (!SAFE_DNS_LABELS.test(key.domain ?? '') || !SAFE_DNS_LABELS.test(key.selector ?? '')) {
    throw new InvalidInputError('arc key', 'domain and selector must be DNS names');
  }

  // RFC 8617 section 5.1.1 step 2 / 5.2: the chain as it arrived — known from the arrival
  // DKIM pass when the caller has it (`results.dkim.arcChain`), else verified here.
  let cv: ChainStatus;
  if (opts.results.dkim.arcChain) {
    cv = opts.results.dkim.arcChain;
  } else {
    const verified = await dkimVerify(opts.received ?? messageInput(raw, copy), { resolver, curTime: now });
    const validation = await arc(verified.arc as unknown as ARCData, { resolver });
    cv = (validation.status.result ?? 'none') as ChainStatus;
  }
  // A valid set that arrived claiming our authserv-id is not ours to vouch for (arc-claims.ts).
  if (cv === 'pass' && foreignSetClaimsOurId(copy.header, opts.authservId, key)) cv = 'fail';

  const ip = opts.results.clientIp && isIP(opts.results.clientIp.trim()) ? opts.results.clientIp.trim() : '';
  const authResults = `${authenticationResultsValue(opts.authservId, opts.results)}; arc=${cv}${
    ip ? ` smtp.remote-ip=${ip}` : ''
  }`;
  const unchanged = (skipped: ArcSealOutcome['skipped']): ArcSealOutcome => ({
    message: Buffer.isBuffer(raw) ? raw : joinMessage(copy),
    sealed: false,
    cv,
    instance: null,
    skipped,
    authResults,
  });

  // Folded for the field as written ("ARC-Authentication-Results: i=NN; "), CRLF for mailauth.
  const prefix = 'ARC-Authentication-Results: i=50;';
  const folded = formatField('ARC-Authentication-Results', `i=50; ${authResults}`, '\r\n')
    .slice(prefix.length)
    .replace(/^(?:\r\n)? /, '')
    .replace(/\r\n$/, '');

  // With the body hash known, the set is signed from the parsed header block alone (what
  // authenticate() does when it seals in its verification pass): by `arc-sign.ts` with the
  // parsed key in the ordinary case, else by mailauth, which refuses or signs the rest.
  const headers = opts.bodyHash ? parseHeaders(copy.header) : undefined;
  const chain = headers ? existingChain(headers) : false;
  const parsedKey = headers ? keyObjectOf(key.privateKey) : null;
  const fast =
    headers && parsedKey && opts.bodyHash
      ? signArcSet({
          headers,
          chain: chain as ChainLink[] | false,
          key: parsedKey,
          ...(key.algorithm ? { algorithm: key.algorithm } : {}),
          domain: key.domain,
          selector: key.selector,
          cv,
          authResults: folded,
          bodyHash: opts.bodyHash,
          headerList: ARC_SIGNED_FIELDS,
          signTime: now,
        })
      : null;
  const seal = (): ARCSealOptions & { cv: ChainStatus; authResults: string; signTime: Date } => ({
    signingDomain: key.domain,
    selector: key.selector,
    privateKey: pemOf(key.privateKey),
    ...(key.algorithm ? { algorithm: key.algorithm } : {}),
    cv,
    authResults: folded,
    signTime: now,
    headerList: [...ARC_SIGNED_FIELDS],
  });
  const sealed = fast
    ? { headers: fast, errors: [] }
    : headers
      ? await createSeal(false, {
          headers,
          arc: { chain } as unknown as ARCData,
          seal: { ...seal(), bodyHash: opts.bodyHash },
        })
      : await createSeal(messageInput(raw, copy), { seal: seal() });
  if (sealed.headers.length === 0) {
    const err = sealed.errors[0]?.err;
    if (err?.code === 'EARCCHAINFAILED') return unchanged('chain-failed');
    if (err?.code === 'EINVALIDINSTANCE' && /the chain already has/.test(err.message))
      return unchanged('chain-full');
    throw new InvalidInputError('arc', `cannot seal: ${err?.message ?? 'unknown error'}`, { cause: err });
  }

  const eol = lineEnding(splitMessage(copy.header));
  const fields = sealed.headers.map((h) => (eol === '\n' ? h.replace(/\r\n/g, '\n') : h));
  const instance = Number(/^ARC-Seal:\s*i=(\d+)/i.exec(fields[0] ?? '')?.[1] ?? Number.NaN);
  return {
    message: joinMessage(copy, Buffer.from(fields.join(eol) + eol)),
    sealed: true,
    cv,
    instance: Number.isInteger(instance) ? instance : null,
    authResults,
  };
}

/**
 * The ARC chain already on the message, read as mailauth's signer reads it when it is given
 * the whole message (lenient; a chain too broken to read counts as none, and the instance of
 * our set then follows the highest one in the header fields).
 */
function existingChain(headers: ParsedHeaders): ARCChainEntry[] | false {
  try {
    return getARChain(headers);
  } catch {
    return false;
  }
}

/**
 * The seal options of a copy the router sends of `received`, the message as it arrived: the
 * arrival results of its classification, with the chain status and the body hash of the
 * arrival pass (a copy keeps the body it arrived with, so that hash is the copy's), and our
 * authserv-id (`arc.authservId`, else the SRS domain).
 */
export function copySealOptions(
  c: Classification,
  received: Buffer,
  ctx: { config: Pick<Config, 'arc' | 'srs'>; key: ArcSigningKey; resolver: Resolver; now: Date },
): ArcSealOptions {
  return {
    key: ctx.key,
    authservId: ctx.config.arc?.authservId ?? ctx.config.srs.domain,
    results: arrivalResults(c),
    resolver: ctx.resolver,
    now: ctx.now,
    received,
    ...(c.dkim.bodyHash ? { bodyHash: c.dkim.bodyHash } : {}),
  };
}

/** Seals `raw` with one ARC set; see {@link sealArc} for when it is left unchanged. */
export async function arcSeal(raw: Buffer, opts: ArcSealOptions): Promise<Buffer> {
  return (await sealArc(raw, opts)).message;
}
