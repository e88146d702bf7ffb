/**
 * Signs one ARC set (RFC 8617) over a parsed header block with a private key parsed once
 * (a `KeyObject`), byte for byte what mailauth's `createSeal` writes for the same input.
 *
 * Why not `createSeal` itself: it takes the key as PEM and parses it for each of the two
 * signatures of every set (`getPrivateKey` in its signer, `crypto.sign` on the PEM for the
 * seal), and a freshly parsed RSA key signs at about half the speed of one already used,
 * whose Montgomery and blinding values OpenSSL keeps: together about 1 ms of CPU per copy
 * (issue 16). mailauth's signer accepts no `KeyObject`, so this module composes the set from
 * mailauth's own pieces (the header selection, the relaxed canonicalization and the tag
 * formatting its signer uses) and signs with the key given.
 *
 * Only the ordinary case is signed here — {@link signArcSet} returns null for anything else
 * (a failed or full chain, a `cv=pass` without a parsed chain, no From, a key that does not
 * fit the algorithm, a time no `t=` tag can hold), and the caller then lets `createSeal`
 * refuse or sign it as it always did.
 */
import { createHash, createPrivateKey, KeyObject, sign } from 'node:crypto';
import { generateCanonicalizedHeader } from 'mailauth/lib/dkim/header/index.js';
import {
  formatRelaxedLine,
  formatSignatureHeaderLine,
  getSigningHeaderLines,
  type ParsedHeaders,
  parseDkimHeaders,
  stripSignatureValue,
} from 'mailauth/lib/tools.js';
import { InvalidInputError } from '../errors.js';

/** RFC 8617 section 4.2.1: instances run from 1 to 50. */
const MAX_INSTANCE = 50;
const ARC_FIELDS = ['arc-seal', 'arc-message-signature', 'arc-authentication-results'];
/** RFC 8617 section 4.1.2: an ARC-Message-Signature never covers these (as mailauth's signer). */
const NEVER_SIGNED = new Set([...ARC_FIELDS, 'authentication-results']);
/** 1*12DIGIT (RFC 6376 3.5 `t=`). */
const MAX_TIMESTAMP = 999_999_999_999;

/** One set of the chain on arrival, as mailauth's `getARChain` returns it. */
export interface ChainLink {
  i: number;
  'arc-seal': { original: Buffer | string; parsed?: { cv?: { value?: unknown } } };
  'arc-message-signature': { original: Buffer | string };
  'arc-authentication-results': { original: Buffer | string };
}

export interface ArcSetInput {
  headers: ParsedHeaders;
  /** The chain on arrival (`getARChain`), false when none could be read. */
  chain: ChainLink[] | false;
  key: KeyObject;
  /** Follows the key type when not set. */
  algorithm?: 'rsa-sha256' | 'ed25519-sha256';
  domain: string;
  selector: string;
  cv: 'none' | 'pass' | 'fail';
  /** The ARC-Authentication-Results payload after `i=N; `, folded with CRLF. */
  authResults: string;
  /** Relaxed/SHA-256 body hash of the message, base64. */
  bodyHash: string;
  /** Header fields the ARC-Message-Signature covers. */
  headerList: readonly string[];
  signTime: Date;
  /**
   * {@link arcPosition} of `headers` and `chain`, when the caller has it (`arc-chain.ts` reads
   * it once per message); worked out here otherwise.
   */
  position?: ArcPosition;
}

/** The three fields of the new set, ARC-Seal first (as `createSeal` returns them), or null. */
export function signArcSet(input: ArcSetInput): string[] | null {
  const { highest, latestCv } = input.position ?? arcPosition(input.headers, input.chain);
  if (latestCv === 'fail' || highest >= MAX_INSTANCE) return null;
  if (input.cv === 'pass' && highest > 0 && !(input.chain && input.chain.length > 0)) return null;
  const keyType = input.key.asymmetricKeyType;
  if (keyType !== 'rsa' && keyType !== 'ed25519') return null;
  const algorithm = input.algorithm ?? `${keyType}-sha256`;
  if (algorithm !== `${keyType}-sha256`) return null;
  const timestamp = Math.floor(input.signTime.getTime() / 1000);
  if (!Number.isInteger(timestamp) || timestamp < 0 || timestamp > MAX_TIMESTAMP) return null;

  const fieldNames = input.headerList
    .map((f) => f.trim())
    .filter((f) => f && !NEVER_SIGNED.has(f.toLowerCase()))
    .join(':');
  const lines = getSigningHeaderLines(input.headers.parsed, fieldNames);
  if (!lines.headers.some((h) => h.key === 'from')) return null; // RFC 6376 5.4: From is signed
  const instance = highest + 1;

  // ARC-Message-Signature: as mailauth's DkimSigner.finalize() builds an `ARC` signature.
  const { canonicalizedHeader, dkimHeaderOpts } = generateCanonicalizedHeader('ARC', lines, {
    signingDomain: input.domain,
    selector: input.selector,
    canonicalization: 'relaxed/relaxed',
    algorithm,
    instance,
    identity: false,
    signTime: input.signTime,
    timestamp,
    expiration: false,
    bodyHash: input.bodyHash,
  });
  dkimHeaderOpts.b = signWith(input.key, keyType, canonicalizedHeader);
  const messageSignature = formatSignatureHeaderLine('ARC', dkimHeaderOpts, true);
  const authResults = `ARC-Authentication-Results: i=${instance}; ${input.authResults}`;

  // ARC-Seal: as mailauth's signAS(), over the chain (only when it passed, RFC 8617 5.1.1)
  // and the new set's first two fields.
  const chunks: Buffer[] = [];
  if (input.cv === 'pass') {
    for (const link of input.chain || []) {
      chunks.push(formatRelaxedLine(link['arc-authentication-results'].original, '\r\n'));
      chunks.push(formatRelaxedLine(link['arc-message-signature'].original, '\r\n'));
      chunks.push(formatRelaxedLine(link['arc-seal'].original, '\r\n'));
    }
  }
  chunks.push(formatRelaxedLine(authResults, '\r\n'));
  chunks.push(formatRelaxedLine(messageSignature, '\r\n'));
  const sealOpts: Record<string, unknown> = {
    i: instance,
    a: algorithm,
    s: input.selector,
    d: input.domain,
    cv: input.cv,
    bh: input.bodyHash,
    t: timestamp,
  };
  // b= with a value while hashing, so that it folds as the final line will.
  const unsigned = formatSignatureHeaderLine('AS', { b: 'a'.repeat(73), ...sealOpts }, true);
  chunks.push(stripSignatureValue(formatRelaxedLine(unsigned)));
  sealOpts.b = signWith(input.key, keyType, Buffer.concat(chunks));
  return [formatSignatureHeaderLine('AS', sealOpts, true), messageSignature, authResults];
}

/** RSA signs the data with SHA-256; Ed25519 signs its SHA-256 digest (RFC 8463 section 3). */
function signWith(key: KeyObject, keyType: 'rsa' | 'ed25519', data: Buffer): string {
  return keyType === 'rsa'
    ? sign('rsa-sha256', data, key).toString('base64')
    : sign(null, createHash('sha256').update(data).digest(), key).toString('base64');
}

/** Where a new set goes: after the highest instance, whose seal has this `cv=`. */
export interface ArcPosition {
  highest: number;
  latestCv: string | false;
}

/**
 * The highest instance on the message and the `cv=` of its seal, from the ARC header fields
 * (even unparseable as a chain, a new set must not reuse an instance) and the parsed chain:
 * mailauth's `getArcPosition`, which `createSeal` uses.
 */
export function arcPosition(headers: ParsedHeaders, chain: ChainLink[] | false): ArcPosition {
  let highest = 0;
  let latestCv: string | false = false;
  for (const row of headers.parsed) {
    if (!row.key || !ARC_FIELDS.includes(row.key)) continue;
    let parsed: Record<string, { value?: unknown } | undefined> | undefined;
    try {
      parsed = parseDkimHeaders(row.line)?.parsed;
    } catch {
      continue;
    }
    const i = parsed?.i?.value;
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 1) continue;
    if (i > highest) {
      highest = i;
      latestCv = false;
    }
    const cv = parsed?.cv?.value;
    if (i === highest && row.key === 'arc-seal' && typeof cv === 'string') latestCv = cv.toLowerCase().trim();
  }
  const last = chain && chain.length > 0 ? chain[chain.length - 1]! : undefined;
  if (last && last.i >= highest) {
    highest = last.i;
    const cv = String(last['arc-seal'].parsed?.cv?.value ?? '')
      .toLowerCase()
      .trim();
    latestCv = cv || latestCv;
  }
  return { highest, latestCv };
}

/** The key as PEM, for mailauth's signer (the uncommon paths of `sealArc`). */
export function pemOf(key: string | KeyObject): string {
  if (!(key instanceof KeyObject)) return key;
  if (key.type !== 'private') throw new InvalidInputError('arc key', 'must be a private key');
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/**
 * The private key parsed, or null for what mailauth's signer must judge (a PEM that does not
 * parse, a public key): it refuses those with the error it always gave.
 */
export function keyObjectOf(key: string | KeyObject): KeyObject | null {
  if (key instanceof KeyObject) return key.type === 'private' ? key : null;
  try {
    return createPrivateKey(key);
  } catch {
    return null;
  }
}
