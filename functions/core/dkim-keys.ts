/**
 * mailauth's per-message key lookup cache (`createKeyCache` of `mailauth/lib/tools.js`), with
 * the parsed key records kept for the container: a sender's key record is looked up in DNS for
 * every message as before, but when the answer is the one already parsed, the parse is not
 * done again. mailauth's `getPublicKey` decodes the record's base64, builds a key object from
 * the DER and exports it to PEM for every signature (issue 16: about 3 % of a plain message's
 * CPU, as much again as the RSA verification it prepares).
 *
 * The result of `getPublicKey` is a function of the answer's first TXT record (its strings
 * joined: the only one it reads) and the question's options (type, strict mode, `minBitLength`,
 * hash algorithm) only, so it is cached under exactly those: a changed record is parsed afresh,
 * and a lookup that fails (DNS or key error) is never cached. Per message the behaviour is mailauth's: one lookup per
 * question, shared by the DKIM signatures and the ARC sets that name the same key.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { getPublicKey, toALabel } from 'mailauth/lib/tools.js';

type DnsResolver = (name: string, rrtype: string) => Promise<unknown>;

interface KeyOptions {
  strict?: boolean;
  hashAlgo?: string;
}

/** What `getPublicKey` answers (the members the verifiers read). */
interface KeyRecord {
  warnings?: string[];
  flags?: string[];
  [member: string]: unknown;
}

/**
 * Parsed records kept per container (most recent): a sender's domain rarely has more than a few
 * keys. Bounded memory against a hostile name server: the cache key is a digest of the answer,
 * so a record kept costs its own size once (a DNS answer is at most 64 KB), and an attacker's
 * many keys only cycle the entries.
 */
export const MAX_PARSED = 100;
const parsed = new Map<string, KeyRecord>();

function remember(key: string, record: KeyRecord): void {
  parsed.delete(key);
  parsed.set(key, record);
  if (parsed.size > MAX_PARSED) {
    const oldest = parsed.keys().next();
    if (!oldest.done) parsed.delete(oldest.value);
  }
}

/** A copy, so no caller can change what the next message is given. */
const copyOf = (r: KeyRecord): KeyRecord => ({
  ...r,
  ...(r.warnings ? { warnings: [...r.warnings] } : {}),
  ...(r.flags ? { flags: [...r.flags] } : {}),
});

/**
 * Longest key record read (the first TXT record of the answer, its strings joined, as
 * mailauth reads it). The sender chooses the selector, so the name, and answers it: up to
 * ~64 KB, parsed tag by tag and its base64 checked for every message whose answer differs from
 * the last. An RSA-4096 key record is ~750 octets, an RSA-8192 one ~1,450, Ed25519 ~60.
 */
export const MAX_KEY_RECORD_OCTETS = 4096;

/**
 * Most tag-specs read in a key record, counted as its `;` separators (RFC 6376 section 3.2: a
 * tag-list is tag-specs separated by `;`, the last optionally followed by one). RFC 6376
 * section 3.6.1 defines seven tags (v, h, k, n, p, s, t) and key records carry three or four;
 * 16 leaves room for tags defined later. mailauth parses every tag-spec of the record, and an
 * ARC chain at `MAX_ARC_SETS` (`dkim.ts`) whose ten seal keys were records of 4 KB of `a=b;`
 * (~800 tags each) cost ~6.5-8.4 ordinary messages of the same header size (December 2026).
 */
export const MAX_KEY_RECORD_TAGS = 16;

/** The number of `;` in `text`, counting no further than one past `limit`. */
function separators(text: string, limit: number): number {
  let n = 0;
  for (let i = text.indexOf(';'); i >= 0 && n <= limit; i = text.indexOf(';', i + 1)) n++;
  return n;
}

/**
 * Largest RSA modulus a signature is verified with. RFC 8301 section 3.2: verifiers MUST
 * validate keys of 1024 to 4096 bits and MAY validate larger ones; 8192 keeps every key we
 * seal with ourselves verifiable. A verification costs as the square of the modulus: 0.24 ms
 * at 8192 bits, 1.06 at 16,384 (OpenSSL's largest), 0.03 at 2048.
 */
export const MAX_RSA_MODULUS_BITS = 8192;

/**
 * Largest RSA public exponent, in bits. Keys use 65,537 (17 bits), and nothing bounds it in
 * RFC 6376 or RFC 8017; but a verification costs as many squarings as the exponent has bits,
 * and OpenSSL bounds it (64 bits) only for moduli over 3072 bits. A sender that publishes an
 * RSA-3072 key with a 3,068-bit exponent (its private exponent is then small: signing stays
 * cheap) makes every verification a full modular exponentiation, ~6 ms (×120): five such
 * DKIM signatures, or ARC seals, cost ~30 times an ordinary message (December 2026). The bound
 * is OpenSSL's own, applied to every modulus size.
 */
export const MAX_RSA_EXPONENT_BITS = 64;

/** A key record refused here: mailauth's "invalid public key" (DKIM `neutral`, ARC `fail`). */
function refused(message: string, rr?: string): Error {
  return Object.assign(new Error(message), {
    code: 'EINVALIDVAL',
    ...(rr !== undefined && { rr: rr.slice(0, 256) }),
  });
}

/** The first TXT record of an answer, joined, as getPublicKey reads it (null when none). */
function firstRecord(answer: unknown): string | null {
  if (!Array.isArray(answer) || answer.length === 0) return null;
  const first: unknown = answer[0];
  return Array.isArray(first) ? first.join('') : String(first);
}

/** Refuses an RSA key over {@link MAX_RSA_MODULUS_BITS} or {@link MAX_RSA_EXPONENT_BITS}. */
function checkRsaBounds(record: KeyRecord): void {
  if (record.keyType !== 'rsa' || typeof record.publicKey !== 'string') return;
  const details = createPublicKey(record.publicKey).asymmetricKeyDetails;
  const bits = details?.modulusLength ?? 0;
  const exponent = details?.publicExponent ?? 0n;
  if (bits > MAX_RSA_MODULUS_BITS) {
    throw refused(`RSA key of ${bits} bits, over ${MAX_RSA_MODULUS_BITS}`);
  }
  if (exponent.toString(2).length > MAX_RSA_EXPONENT_BITS) {
    throw refused(
      `RSA public exponent of ${exponent.toString(2).length} bits, over ${MAX_RSA_EXPONENT_BITS}`,
    );
  }
}

async function lookUp(
  type: string,
  name: string,
  minBitLength: number | undefined,
  resolver: DnsResolver,
  options: KeyOptions,
): Promise<KeyRecord> {
  // The question getPublicKey asks, asked here: its errors reach the caller unchanged.
  const answer = await resolver(toALabel(name), 'TXT');
  const text = firstRecord(answer);
  if (text !== null && text.length > MAX_KEY_RECORD_OCTETS) {
    throw refused(`key record of ${text.length} octets, over ${MAX_KEY_RECORD_OCTETS}`, text);
  }
  if (text !== null && separators(text, MAX_KEY_RECORD_TAGS) > MAX_KEY_RECORD_TAGS) {
    throw refused(`key record of more than ${MAX_KEY_RECORD_TAGS} tags`, text);
  }
  // Keyed on the first record, all getPublicKey reads of the answer: the sender writes the rest
  // too (up to ~64 KB of other records, ~32,000 strings), and serializing it whole for every
  // key cost five signatures ~5-6 ordinary messages of CPU (December 2026).
  const key = createHash('sha256')
    .update(JSON.stringify([type, !!options.strict, minBitLength ?? null, options.hashAlgo ?? '', text]))
    .digest('base64');
  const known = parsed.get(key);
  if (known) return copyOf(known);
  const record = (await getPublicKey(type, name, minBitLength, async () => answer, {
    ...options,
  })) as KeyRecord;
  checkRsaBounds(record);
  remember(key, copyOf(record));
  return record;
}

/** Drops the parsed records (tests). */
export function forgetParsedKeys(): void {
  parsed.clear();
}

/**
 * A drop-in for mailauth's `createKeyCache(resolver)`: the same object (`resolver`, `get`),
 * the same per-message sharing (one promise per question, keyed as mailauth keys it).
 */
export function createKeyCache(resolver: DnsResolver) {
  const cache = new Map<string, Promise<KeyRecord>>();
  return {
    resolver,
    get(type: string, name: string, minBitLength: number | undefined, options: KeyOptions = {}) {
      const key = [!!options.strict, minBitLength || '', options.hashAlgo || '', name].join(':');
      let lookup = cache.get(key);
      if (!lookup) {
        lookup = lookUp(type, name, minBitLength, resolver, options);
        // A prefetched lookup can fail before anything waits for it (as mailauth's).
        lookup.catch(() => false);
        cache.set(key, lookup);
      }
      return lookup;
    },
  };
}
