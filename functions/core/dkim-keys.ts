/**
 * mailauth's per-message key lookup cache (`createKeyCache` of `mailauth/lib/tools.js`), with
 * the parsed key records kept for the container: a sender's key record is looked up in DNS for
 * every message as before, but when the answer is the one already parsed, the parse is not
 * done again. mailauth's `getPublicKey` decodes the record's base64, builds a key object from
 * the DER and exports it to PEM for every signature (issue 16: about 3 % of a plain message's
 * CPU, as much again as the RSA verification it prepares).
 *
 * The result of `getPublicKey` is a function of the TXT answer and the question's options
 * (type, strict mode, `minBitLength`, hash algorithm) only, so it is cached under exactly
 * those: a changed record is a different answer and is parsed afresh, and a lookup that fails
 * (DNS or key error) is never cached. Per message the behaviour is mailauth's: one lookup per
 * question, shared by the DKIM signatures and the ARC sets that name the same key.
 */
import { createHash } from 'node:crypto';
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

async function lookUp(
  type: string,
  name: string,
  minBitLength: number | undefined,
  resolver: DnsResolver,
  options: KeyOptions,
): Promise<KeyRecord> {
  // The question getPublicKey asks, asked here: its errors reach the caller unchanged.
  const answer = await resolver(toALabel(name), 'TXT');
  const key = createHash('sha256')
    .update(JSON.stringify([type, !!options.strict, minBitLength ?? null, options.hashAlgo ?? '', answer]))
    .digest('base64');
  const known = parsed.get(key);
  if (known) return copyOf(known);
  const record = (await getPublicKey(type, name, minBitLength, async () => answer, {
    ...options,
  })) as KeyRecord;
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
