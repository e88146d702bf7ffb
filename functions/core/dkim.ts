/**
 * DKIM of the sender's domain (SPEC 3, rule 6): a valid signature whose `d=` is aligned with
 * the From domain in DMARC's relaxed mode. A third-party or broken signature does not count.
 */
import { createHash } from 'node:crypto';
import libmime from 'libmime';
import type { ARCData, ARCSealOptions } from 'mailauth';
import { arc } from 'mailauth/lib/arc/index.js';
import { type BodyHasher, DkimVerifier, type PreparedSignature } from 'mailauth/lib/dkim/dkim-verifier.js';
import type { ParsedHeaderRow, ParsedHeaders } from 'mailauth/lib/tools.js';
import { writeToStream } from 'mailauth/lib/tools.js';
import { getDomain } from 'tldts';
import { shareBodyHashes } from './dkim-body-hashes.js';
import { crlfBareLineFeeds } from './dkim-canonical-body.js';
import { createKeyCache } from './dkim-keys.js';
import type { Resolver } from './dns/resolver.js';
import { processChunk } from './header-end.js';
import { parseHeaderRows, signingRows } from './header-rows.js';
import { canonicalDomain } from './message.js';
import { cutText } from './text.js';

/** mailauth's verdict values for one signature (RFC 8601 2.7.1). */
export type DkimResult = 'pass' | 'fail' | 'neutral' | 'temperror' | 'permerror' | 'policy' | 'none';

export interface DkimSignature {
  domain: string;
  selector: string;
  result: DkimResult;
  /** Whether `d=` shares the From domain's organizational domain. */
  aligned: boolean;
  /** mailauth's explanation when the result is not `pass`. */
  comment?: string;
}

export interface DkimEvaluation {
  signatures: DkimSignature[];
  /** At least one signature passed and is aligned with the (single) From domain. */
  alignedPass: boolean;
  /**
   * An aligned signature could not be checked because DNS failed temporarily, and no other
   * aligned signature passed: the outcome is unknown, not "fail" (RFC 6376 6.1.2).
   */
  temperror: boolean;
  /**
   * Validation of the ARC chain the message arrived with (RFC 8617 5.2): the `cv=` of the seal
   * we add. Computed here, from the same verification pass, so sealing each copy need not
   * verify the message again.
   */
  arcChain?: 'none' | 'pass' | 'fail';
  /**
   * The relaxed/SHA-256 hash of the body as it arrived (RFC 6376 3.4.4, 3.7; base64), the
   * `bh=` of the ARC-Message-Signature of any copy that carries the body unchanged. Computed in
   * the same pass as the verification (for free when a signature is relaxed/sha256 without
   * `l=`), so sealing a copy hashes only its header block. Only when asked for (the
   * configuration seals copies).
   */
  bodyHash?: string;
  /**
   * Signatures left unverified because the message carried more than the budget
   * (`bounds.dkimSignatures`, RFC 6376 6.1); they are not listed in `signatures`.
   */
  unverified?: number;
}

/** Longest `comment` kept from mailauth (it is written into the ARC-Authentication-Results). */
export const MAX_DKIM_COMMENT = 200;

/**
 * DKIM-Signature fields read per message, in header order, when `bounds.dkimSignatures` is
 * lower: four times the default budget. Mail carries one to three signatures, a few more
 * through lists and ESPs; past it the rest are not parsed at all (`emitHeaders`). Each costs
 * ~60 µs before the budget can choose, so 50 decoys and a heavy Content-Type came near five
 * times an ordinary message on a loaded machine (December 2026).
 */
export const MIN_PARSED_DKIM_FIELDS = 20;

/** The DKIM-Signature fields read for a budget of `maxSignatures` verified. */
export const parsedDkimFields = (maxSignatures: number): number =>
  Math.max(MIN_PARSED_DKIM_FIELDS, maxSignatures);

/**
 * Header bytes the signatures verified for one message may cover together (the rows their
 * `h=` names, each counted once per signature). Each signature is computed over its rows
 * canonicalized: five whose `h=` names every field of a 78 KB block cost ~7 ordinary messages
 * (review of December 2026). A signature covers a handful of fields (RFC 6376 5.4.1), a few
 * KB even with long To and Cc lists; the aligned one is counted first.
 */
export const MAX_SIGNED_HEADER_BYTES = 64 * 1024;

/** Default number of signatures verified per message (`bounds.dkimSignatures`). */
export const DEFAULT_MAX_DKIM_SIGNATURES = 5;

export interface DkimBudget {
  /** At most this many DKIM signatures are verified. */
  maxSignatures: number;
  /** The single From domain (alignment first), if any. */
  fromDomain: string | undefined;
  /** The envelope sender's domain (preferred next), if any. */
  envelopeDomain: string | undefined;
}

/**
 * mailauth's verifier with a budget (RFC 6376 6.1: "A Verifier MAY limit the number of
 * signatures it tries"). mailauth prepares every signature when the header block is read and
 * only afterwards hashes the body and looks keys up, so the selection happens in between:
 * at most `maxSignatures` DKIM signatures are kept, those whose `d=` is aligned with the From
 * domain first, then those aligned with the envelope domain, then the rest in header order
 * (processable ones before those mailauth already found invalid). The body hashers of the
 * signatures left out are dropped before any body byte reaches them: mailauth keeps one per
 * distinct canonicalization, algorithm and `l=`, so a message with 200 distinct `l=` costs
 * 200 hashes of the body without this; and the kept ones of one canonicalization share one
 * pass over the body (`dkim-body-hashes.ts`). The newest ARC-Message-Signature (for the ARC chain)
 * and the seal's body hash are always kept.
 */
class BudgetedVerifier extends DkimVerifier {
  unverified = 0;

  constructor(
    options: Record<string, unknown>,
    private readonly budget: DkimBudget,
  ) {
    super(options);
    // Key records parsed once per container (`dkim-keys.ts`); the ARC validation of the same
    // message finds the cache on its data, as mailauth's own.
    this.keyCache = createKeyCache(this.resolver);
    (this.arc as { keyCache?: unknown }).keyCache = this.keyCache;
  }

  /** mailauth's, without its garbage per header byte (`header-end.ts`, issue 16). */
  override processChunk(chunk: Buffer): Promise<void> {
    return processChunk(this, chunk);
  }

  declare headers: unknown;

  /**
   * mailauth's, with the header block read by our linear parser (`header-rows.ts`, the same
   * rows): its own merges a field's lines in time quadratic in their number. mailauth parses
   * and prepares every DKIM-Signature before the budget can choose (~20 µs each once its code
   * is warm, ~60 µs before): it is shown the first {@link parsedDkimFields} only, the
   * rest count as unverified; nor Return-Path or Content-Type (below). The signatures it
   * verifies are still computed over the header block as it is (`this.headers`, every row).
   */
  override async emitHeaders(chunk?: Buffer): Promise<void> {
    this.state = 'body';
    if (chunk) this.headerChunks.push(chunk);
    const headers = parseHeaderRows(Buffer.concat(this.headerChunks));
    const readable = parsedDkimFields(this.budget.maxSignatures);
    let dkimFields = 0;
    // Nor Return-Path: mailauth hands the last one to its address parser for an envelopeFrom
    // we never read, and no bound limits its size (88 KB of groups: ~10× an ordinary message).
    // Nor Content-Type: mailauth parses the last one again for every signature it prepares
    // (50 signatures and 40 KB of Content-Type: ~30×); it is parsed once, in messageHeaders.
    this.contentType = headers.parsed.findLast((r) => r.key === 'content-type');
    const shown = headers.parsed.filter(
      (r) =>
        r.key !== 'return-path' &&
        r.key !== 'content-type' &&
        (r.key !== 'dkim-signature' || ++dkimFields <= readable),
    );
    const unread = Math.max(0, dkimFields - readable);
    this.rows = headers.parsed;
    await this.messageHeaders(
      shown.length < headers.parsed.length ? { parsed: shown, original: headers.original } : headers,
    );
    this.headers = headers;
    this.unverified += unread;
  }

  /**
   * mailauth's, with the rows a signature covers picked in one pass (`signingRows`): its own
   * `getSigningHeaderLines` scans every row for every name of `h=`, which the sender writes
   * (2,300 names over 1,900 fields, five signatures: ~25 ordinary messages). It is handed
   * just the rows it would pick, the first picked last, and the names that pick one: it then
   * finds each at the end of its list and takes the same rows, in the same order. Both are put
   * back before anything is awaited (mailauth reads them before its first `await`, the key
   * lookup).
   */
  override verifySignature(signature: PreparedSignature, fallback?: boolean): Promise<unknown> {
    const headers = this.headers as ParsedHeaders | undefined;
    const h = signature.parsed?.h;
    if (!headers?.parsed || !h || typeof h.value !== 'string')
      return super.verifySignature(signature, fallback);
    const written = h.value;
    // An invalid signature is neutral whatever it covers: nothing to canonicalize.
    const picked = signature.invalid ? { rows: [], names: [] } : signingRows(headers.parsed, written);
    this.headers = { parsed: picked.rows.reverse(), original: headers.original };
    h.value = picked.names.join(':');
    try {
      return super.verifySignature(signature, fallback);
    } finally {
      this.headers = headers;
      h.value = written;
    }
  }

  declare lastByte: number | undefined;
  declare byteLength: number;

  /**
   * mailauth's, with a chunk's bare LFs made CRLF in one piece (`crlfBareLineFeeds`): its own
   * hands each bare-LF line on as a chunk of its own, through the header scan and every body
   * hasher (review K: 4 MB of `a LF` lines took 2.2 s).
   */
  async writeAsync(chunk: Buffer): Promise<void> {
    if (!chunk?.length) return;
    const fixed = crlfBareLineFeeds(chunk, this.lastByte);
    this.lastByte = chunk[chunk.length - 1];
    await this.processChunk(fixed);
    this.byteLength += fixed.length;
  }

  /** The last Content-Type row of the header block (not shown to mailauth, `emitHeaders`). */
  private contentType: ParsedHeaderRow | undefined;

  override async messageHeaders(headers: unknown): Promise<void> {
    await super.messageHeaders(headers);
    // What mailauth does with the last Content-Type, for every signature it prepared (none
    // skipped or invalid): the MIME boundary for each body hasher. Here once, for all of them.
    if (this.contentType && this.signatureHeaders.some((s) => !s.skip && !s.invalid)) {
      let line = this.contentType.line.toString();
      if (line.indexOf(':') >= 0) line = line.substring(line.indexOf(':') + 1).trim();
      const parsed = libmime.parseHeaderValue(line);
      for (const hasher of this.bodyHashes.values()) (hasher as BodyHasher).setContentType(parsed);
    }
    const { fromDomain, envelopeDomain, maxSignatures } = this.budget;
    const rank = (s: PreparedSignature): number => {
      const d = s.signingDomain ?? '';
      const aligned =
        fromDomain && d && relaxedAligned(d, fromDomain)
          ? 0
          : envelopeDomain && d && relaxedAligned(d, envelopeDomain)
            ? 2
            : 4;
      return aligned + (s.skip || s.invalid ? 1 : 0);
    };
    const dkim = this.signatureHeaders.filter((s) => s.type === 'DKIM');
    if (dkim.length > maxSignatures) this.keep(dkim, rank, maxSignatures);
    this.keepWithinSignedBytes(rank);
    shareBodyHashes(this.bodyHashes, (algorithm) => createHash(algorithm));
    this.prefetchKeys();
  }

  /**
   * mailauth looks keys up one signature after the other, each waiting for the last: started
   * here, all at once, they overlap each other and the body hash, and its key cache hands each
   * signature its (shared) lookup. All of them run under the message's DNS deadline.
   */
  private prefetchKeys(): void {
    for (const s of this.signatureHeaders) {
      if (s.skip || s.invalid || !s.selector || !s.signingDomain) continue;
      void this.keyCache.get(s.type, `${s.selector}._domainkey.${s.signingDomain}`, this.minBitLength, {
        strict: this.strict,
        hashAlgo: s.hashAlgo,
      });
    }
  }

  /** Every row of the header block (`emitHeaders`), what the signatures are computed over. */
  private rows: ParsedHeaderRow[] = [];

  /**
   * {@link MAX_SIGNED_HEADER_BYTES}: the header bytes each signature to verify covers (its
   * `h=` rows, `signingRows`), counted in rank order and the newest ARC-Message-Signature last
   * (twice when mailauth will also try its fallback canonicalization). A DKIM signature past
   * the budget is left unverified, as past `maxSignatures`; an ARC-Message-Signature past it is
   * invalid (neutral: the chain is then `fail`). Signatures already invalid cost nothing: they
   * are given no rows to canonicalize (`verifySignature`).
   */
  private keepWithinSignedBytes(rank: (s: PreparedSignature) => number): void {
    const covered = (s: PreparedSignature): number => {
      const h = s.parsed?.h?.value;
      if (typeof h !== 'string' || s.skip || s.invalid) return 0;
      return signingRows(this.rows, h).rows.reduce((n, row) => n + row.line.length, 0);
    };
    let left = MAX_SIGNED_HEADER_BYTES;
    const dkim = this.signatureHeaders
      .map((s, i) => ({ s, i }))
      .filter(({ s }) => s.type === 'DKIM')
      .sort((a, b) => rank(a.s) - rank(b.s) || a.i - b.i);
    const over = new Set<PreparedSignature>();
    for (const { s } of dkim) {
      const bytes = covered(s);
      if (bytes > left) over.add(s);
      else left -= bytes;
    }
    for (const s of this.signatureHeaders) {
      if (s.type !== 'ARC') continue;
      const bytes = covered(s) * (s.fallbackCanonicalization ? 2 : 1);
      if (bytes > left) s.invalid = 'signs too many header bytes';
      else left -= bytes;
    }
    if (over.size === 0) return;
    this.unverified += over.size;
    this.signatureHeaders = this.signatureHeaders.filter((s) => !over.has(s));
    this.dropUnusedBodyHashes();
  }

  private dropUnusedBodyHashes(): void {
    const needed = new Set<string>(this.sealBodyHashKey ? [this.sealBodyHashKey] : []);
    for (const s of this.signatureHeaders) {
      if (s.bodyHashKey) needed.add(s.bodyHashKey);
      if (s.fallbackBodyHashKey) needed.add(s.fallbackBodyHashKey);
    }
    for (const key of [...this.bodyHashes.keys()]) if (!needed.has(key)) this.bodyHashes.delete(key);
  }

  private keep(dkim: PreparedSignature[], rank: (s: PreparedSignature) => number, maxSignatures: number) {
    const chosen = new Set(
      dkim
        .map((s, i) => ({ s, i, r: rank(s) }))
        .sort((a, b) => a.r - b.r || a.i - b.i)
        .slice(0, maxSignatures)
        .map((x) => x.s),
    );
    // mailauth leaves unprocessable (`skip`) signatures out of its lenient results anyway.
    this.unverified = dkim.filter((s) => !chosen.has(s) && !s.skip).length;
    this.signatureHeaders = this.signatureHeaders.filter((s) => s.type !== 'DKIM' || chosen.has(s));
    this.dropUnusedBodyHashes();
  }
}

/** One label: letters, digits and inner hyphens, 1 to 63 octets (RFC 1035 2.3.1, RFC 5890 A-labels). */
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
/** Two labels or more, 253 octets in all: RFC 6376 3.5's `d=` and RFC 5321's `Domain`. */
const DOMAIN_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})+$`);

/**
 * Whether `domain` (lower case, no trailing dot) is a domain name as a DKIM `d=`, a From or an
 * envelope domain must be to take part in alignment. A sender controls all three: anything
 * else is refused before the Public Suffix List sees it, since tldts parses its input as a URL
 * and `example.com/.attacker.test` would be "example.com" there, while DNS looks its DKIM key
 * up inside attacker.test (a `d=` written so is aligned with example.com otherwise).
 * Internationalized names take part as A-labels (`xn--`), as DNS holds them: the callers
 * pass names through `canonicalDomain` first, which writes U-labels so.
 */
export function isDomainName(domain: string): boolean {
  return DOMAIN_NAME.test(domain);
}

/**
 * Organizational domain per RFC 7489 3.2 (the Public Suffix List, private suffixes included
 * as mailauth does), falling back to the name itself when it has no registrable part or is
 * not a domain name ({@link isDomainName}).
 */
export function organizationalDomain(domain: string): string {
  const d = canonicalDomain(domain);
  return isDomainName(d) ? registrableDomain(d) : d;
}

/** The Public Suffix List's registrable domain of a canonical domain name, else the name. */
const registrableDomain = (name: string): string => getDomain(name, { allowPrivateDomains: true }) ?? name;

/**
 * Relaxed identifier alignment, RFC 7489 3.1.1: both are domain names ({@link isDomainName})
 * with the same organizational domain. A string that is not a domain name is aligned with
 * nothing, not even itself.
 */
export function relaxedAligned(a: string, b: string): boolean {
  const [x, y] = [canonicalDomain(a), canonicalDomain(b)];
  if (!isDomainName(x) || !isDomainName(y)) return false;
  return registrableDomain(x) === registrableDomain(y);
}

/**
 * Most ARC sets a chain may have for us to validate it. RFC 8617 allows 50 (section 4.2.1)
 * and has every seal validated (section 5.2), each with a key the sealer names and publishes:
 * 50 minimal Ed25519 sets fit within `bounds.signatureFieldBytes` and cost ~19 ms of CPU
 * (the seals are canonicalized over every set below them, quadratic in the chain) and 50 key
 * lookups, against ~1 ms for an ordinary message (December 2026). A chain longer than this
 * is `fail`, RFC 8617's status for a chain that does not validate: our seal then says so
 * (`cv=fail`), no key is looked up for it, and nothing else of the decision changes. Each
 * hop that seals adds one set: mail crosses a handful (a list, a forwarder, a filter); 10 is
 * twice that, and at 10 the chain costs under 5 times an ordinary message of its header size
 * (16 measured 5.1 times).
 */
export const MAX_ARC_SETS = 10;

/** The `cv=` of a chain as it arrived (RFC 8617 5.2), at most {@link MAX_ARC_SETS} sets long. */
export async function validateArcChain(data: ARCData, resolver: Resolver): Promise<'none' | 'pass' | 'fail'> {
  const sets = (data as { chain?: unknown[] | false }).chain;
  if (Array.isArray(sets) && sets.length > MAX_ARC_SETS) return 'fail';
  const chain = await arc(data, { resolver });
  return chain.status.result === 'pass' || chain.status.result === 'fail' ? chain.status.result : 'none';
}

/**
 * Verifies the DKIM signatures of the raw message, at most `maxSignatures` of them (default
 * {@link DEFAULT_MAX_DKIM_SIGNATURES}, see {@link BudgetedVerifier}), and evaluates alignment against
 * `fromDomain` (undefined when the message has no single usable From domain: then nothing is
 * aligned, as RFC 7489 6.6.1 leaves messages with several From domains to local policy).
 * With `bodyHash` (copies will be ARC-sealed) the result carries the body hash a seal needs.
 */
export async function evaluateDkim(
  raw: Buffer,
  fromDomain: string | undefined,
  resolver: Resolver,
  now: Date,
  opts: { bodyHash?: boolean; maxSignatures?: number; envelopeDomain?: string | undefined } = {},
): Promise<DkimEvaluation> {
  // mailauth's verifier computes the relaxed/sha256 body hash a seal needs when it is given a
  // `seal` object, and stores it there as `bodyHash` (what authenticate() does before sealing
  // in the same pass). The object carries no key: it is only the place the hash lands in.
  // Without a seal to make it is not asked for: for a message with no relaxed/sha256
  // signature it would be a hash of the whole body for nothing.
  const seal = opts.bodyHash ? ({} as ARCSealOptions & { bodyHash?: string }) : undefined;
  // What mailauth's dkimVerify does, with the budgeted verifier in place of its own.
  const verifier = new BudgetedVerifier(
    { resolver, curTime: now, ...(seal ? { seal } : {}) },
    {
      maxSignatures: opts.maxSignatures ?? DEFAULT_MAX_DKIM_SIGNATURES,
      fromDomain,
      envelopeDomain: opts.envelopeDomain,
    },
  );
  await writeToStream(verifier, raw);
  const verified = { results: verifier.results, arc: verifier.arc };
  const signatures: DkimSignature[] = [];
  for (const r of verified.results) {
    if (!r.signingDomain) continue; // "none": the message carries no signature at all
    let result = (r.status?.result ?? 'neutral') as DkimResult;
    // A signature with `l=` vouches for a prefix of the body: whatever follows it is nobody's,
    // and anyone replaying the message may append anything (RFC 6376 8.2). With unsigned
    // bytes after the prefix it proves nothing about the message as received: `policy`
    // (RFC 8601 2.7.1: valid, but not accepted by local policy).
    let comment = r.status?.comment;
    const unsigned = Number(r.status?.underSized ?? 0);
    if (result === 'pass' && unsigned > 0) {
      result = 'policy';
      comment = `l= leaves ${unsigned} bytes of the body unsigned`;
    }
    const sig: DkimSignature = {
      domain: r.signingDomain.toLowerCase(),
      selector: r.selector ?? '',
      result,
      aligned: fromDomain !== undefined && relaxedAligned(r.signingDomain, fromDomain),
    };
    if (result !== 'pass' && comment) sig.comment = cutText(String(comment), MAX_DKIM_COMMENT);
    signatures.push(sig);
  }
  const alignedPass = signatures.some((s) => s.aligned && s.result === 'pass');
  const temperror = !alignedPass && signatures.some((s) => s.aligned && s.result === 'temperror');
  const arcChain = await validateArcChain(verified.arc as unknown as ARCData, resolver);
  const evaluation: DkimEvaluation = { signatures, alignedPass, temperror, arcChain };
  if (verifier.unverified > 0) evaluation.unverified = verifier.unverified;
  if (typeof seal?.bodyHash === 'string') evaluation.bodyHash = seal.bodyHash;
  return evaluation;
}
