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
 *
 * The ARC-Authentication-Results value is `arc-results.ts`'s; the chain a copy carries is read
 * once per message, not per copy (`arc-chain.ts`), and signed over by `arc-sign.ts`.
 */

import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import type { ARCData, ARCSealOptions } from 'mailauth';
import { createSeal } from 'mailauth/lib/arc/index.js';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import type { Config } from '../config.js';
import type { Classification } from '../decide.js';
import { validateArcChain } from '../dkim.js';
import type { Resolver } from '../dns/resolver.js';
import { InvalidInputError } from '../errors.js';
import { parseHeaderRows } from '../header-rows.js';
import { domainOf } from '../message.js';
import { type ArrivingChain, arrivingChain } from './arc-chain.js';
import { type ArrivalAuthResults, authenticationResultsValue } from './arc-results.js';
import { type ChainLink, keyObjectOf, pemOf, signArcSet } from './arc-sign.js';
import { type ComposedMessage, formatField, joinMessage, lineEnding, splitMessage } from './rewrite.js';

export {
  type ArrivalAuthResults,
  type AuthResult,
  authenticationResultsValue,
  verdictResult,
} from './arc-results.js';

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

/** What createSeal checks before it looks at the chain (an `algorithm` and `cv` it accepts). */
const ARC_ALGORITHMS: ReadonlySet<string> = new Set(['rsa-sha256', 'ed25519-sha256']);
const CHAIN_STATUSES: ReadonlySet<string> = new Set(['none', 'pass', 'fail']);

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
    // The same bound as the arrival pass: a chain over MAX_ARC_SETS is `fail`, unvalidated.
    cv = await validateArcChain(verified.arc as unknown as ARCData, resolver);
  }
  // The chain the copy carries from the message as it arrived, read once per message
  // (arc-chain.ts), and only when needed.
  let parsed: ReturnType<typeof parseHeaderRows> | undefined;
  let carried: ArrivingChain | undefined;
  const headerOf = () => (parsed ??= parseHeaderRows(copy.header));
  const arriving = () => (carried ??= arrivingChain(headerOf(), opts.received));
  // A valid set that arrived claiming our authserv-id is not ours to vouch for (arc-claims.ts).
  if (cv === 'pass' && arriving().claimsOurId(copy.header, opts.authservId, key)) cv = 'fail';

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
  const headers = opts.bodyHash ? headerOf() : undefined;
  const chain = headers ? arriving().chain : false;
  // A full or failed chain, refused as createSeal refuses it (RFC 8617 5.1 steps 2-3) but
  // from where the chain ends as read once per message, not from every ARC field again.
  if (headers && (!key.algorithm || ARC_ALGORITHMS.has(key.algorithm)) && CHAIN_STATUSES.has(cv)) {
    const { highest, latestCv } = arriving().position;
    if (highest >= MAX_ARC_INSTANCE) return unchanged('chain-full');
    if (latestCv === 'fail') return unchanged('chain-failed');
  }
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
          position: arriving().position,
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
