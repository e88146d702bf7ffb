/**
 * A caching `Resolver`, meant to live at module scope of a Lambda so warm invocations reuse
 * answers.
 *
 * - Positive answers are cached for `ttlMs`, and so are proven negatives: NXDOMAIN
 *   (`ENOTFOUND`) and NODATA (`ENODATA`), re-thrown from the cache as fresh errors of the same
 *   shape (negative caching, RFC 2308). Node's resolver does not expose TTLs, so one fixed TTL
 *   applies to both; keep it short (default 5 minutes).
 * - Temporary failures (SERVFAIL, timeout, ...) are never cached: the next lookup retries.
 * - Concurrent lookups of the same name and type share one in-flight query.
 * - At most `maxEntries` answers are kept, and at most `maxBytes` of them (an upper estimate of
 *   the heap they hold); the oldest is evicted first. With one TTL for all, the oldest entry is
 *   also the one that expires first. The byte bound is for hostile name servers: a sender
 *   chooses the names we look up (DKIM selectors, subdomains) and answers them itself, and a
 *   64 KB TXT answer of two-octet character-strings is ~650 KB of heap (docs/hostile-input.md).
 * - Each caller gets its own copy of an answer, so no caller can corrupt the cache.
 */
import { asResolver, errorCode, isNoRecord, normalizeName, type Resolver } from './resolver.js';

export interface CachedResolverOptions {
  /** How long an answer (positive or negative) is reused, in ms. Default 300 000 (5 minutes). */
  ttlMs?: number;
  /** Most answers kept; the oldest is evicted first. Default 10 000. 0 disables caching. */
  maxEntries?: number;
  /** Most bytes of answers kept (estimated by {@link heapBytes}). Default {@link DEFAULT_CACHE_BYTES}. */
  maxBytes?: number;
  /** The clock, in ms (default `Date.now`); injectable for tests. */
  now?: () => number;
}

type Outcome = { ok: true; answer: unknown } | { ok: false; error: Error };

interface Entry {
  expiresAt: number;
  outcome: Outcome;
  bytes: number;
}

/** Default byte budget of a cache: 10 000 ordinary answers (a 2048-bit key record each) fit. */
export const DEFAULT_CACHE_BYTES = 16 * 2 ** 20;

/** An upper estimate of the heap `value` holds: strings, arrays, objects (MX), numbers. */
export function heapBytes(value: unknown): number {
  if (typeof value === 'string') return 32 + 2 * value.length;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + 8 + heapBytes(v), 32);
  if (typeof value === 'object' && value !== null) {
    return Object.values(value).reduce((n: number, v) => n + 16 + heapBytes(v), 64);
  }
  return 16;
}

/** A new error equal to a cached NXDOMAIN/NODATA error: message, code, syscall, hostname. */
function cloneNoRecordError(err: unknown): Error {
  const source = err as { message?: unknown; syscall?: unknown; hostname?: unknown };
  const copy = new Error(typeof source.message === 'string' ? source.message : String(err));
  return Object.assign(copy, {
    code: errorCode(err),
    ...(source.syscall !== undefined && { syscall: source.syscall }),
    ...(source.hostname !== undefined && { hostname: source.hostname }),
  });
}

function replay(outcome: Outcome): unknown {
  if (outcome.ok) return structuredClone(outcome.answer);
  throw cloneNoRecordError(outcome.error);
}

/**
 * Wraps `inner` with a bounded TTL cache of answers and NXDOMAIN/NODATA, sharing in-flight
 * lookups and never caching temporary failures.
 * @throws RangeError when `ttlMs` or `maxEntries` is negative or not a number.
 */
export function cachedResolver(inner: Resolver, opts: CachedResolverOptions = {}): Resolver {
  const ttlMs = opts.ttlMs ?? 300_000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const maxBytes = opts.maxBytes ?? DEFAULT_CACHE_BYTES;
  const now = opts.now ?? Date.now;
  if (!(maxBytes >= 0)) throw new RangeError(`cachedResolver: maxBytes must be >= 0, got ${maxBytes}`);
  if (!(ttlMs >= 0)) throw new RangeError(`cachedResolver: ttlMs must be >= 0, got ${ttlMs}`);
  if (!(Number.isInteger(maxEntries) && maxEntries >= 0)) {
    throw new RangeError(`cachedResolver: maxEntries must be an integer >= 0, got ${maxEntries}`);
  }

  const cache = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<Outcome>>();
  let bytes = 0;

  function drop(key: string): void {
    bytes -= cache.get(key)?.bytes ?? 0;
    cache.delete(key);
  }

  function store(key: string, outcome: Outcome): void {
    // An error is its message and stack: a few hundred bytes.
    const size = 2 * key.length + (outcome.ok ? heapBytes(outcome.answer) : 1024);
    if (maxEntries === 0 || size > maxBytes) return;
    drop(key); // re-inserting moves the key to the end of the insertion order
    cache.set(key, { expiresAt: now() + ttlMs, outcome, bytes: size });
    bytes += size;
    for (const oldest of cache.keys()) {
      if (cache.size <= maxEntries && bytes <= maxBytes) break;
      drop(oldest);
    }
  }

  /** Runs one query; resolves with an outcome for answers and no-records, rejects otherwise. */
  function query(key: string, name: string, rrtype: string): Promise<Outcome> {
    // Deferred by one tick so the promise is registered before `inner` can settle it, even
    // when `inner` throws synchronously.
    const pending = Promise.resolve()
      .then(() => inner(name, rrtype))
      .then(
        (answer): Outcome => {
          const outcome: Outcome = { ok: true, answer };
          store(key, outcome);
          return outcome;
        },
        (error: unknown): Outcome => {
          if (!isNoRecord(error)) throw error; // temporary: not cached
          const outcome: Outcome = { ok: false, error: error as Error };
          store(key, outcome);
          return outcome;
        },
      )
      .finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
    return pending;
  }

  return asResolver(async (name, rrtype) => {
    const key = `${rrtype.toUpperCase()} ${normalizeName(name)}`;
    const hit = cache.get(key);
    if (hit !== undefined) {
      if (now() < hit.expiresAt) return replay(hit.outcome);
      drop(key);
    }
    return replay(await (inFlight.get(key) ?? query(key, name, rrtype)));
  });
}
