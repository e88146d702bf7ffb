/**
 * Sender Rewriting Scheme, wire-compatible with postsrsd 1.x (which embeds libsrs2's `srs2.c`).
 *
 * References: Shevek, "Sender Rewriting Scheme" (the SRS paper, https://www.libsrs2.org/srs/srs.pdf)
 * and postsrsd 1.10 `srs2.c`/`postsrsd.c`. Formats (`=` is the fixed SRSSEP, `<sep>` is the
 * configurable separator, one of `= - +`):
 *
 *   SRS0<sep>HHHH=TT=orig-domain=orig-local@srs-domain
 *   SRS1<sep>HHHH=first-hop-domain=<opaque>@srs-domain
 *
 * - `TT` is the day number (unix seconds / 86400) mod 1024 in two base32 characters
 *   (`ABCDEFGHIJKLMNOPQRSTUVWXYZ234567`), `srs_timestamp_create`.
 * - `HHHH` is base64(HMAC-SHA1(secret, data)) cut to `hashLength` characters, where `data` is the
 *   plain concatenation (no separators) of the fields, ASCII-lower-cased (`srs_hash_create_v`):
 *   SRS0 hashes `TT + orig-domain + orig-local`, SRS1 hashes `first-hop-domain + opaque`.
 * - For SRS1, `opaque` is the local part of the incoming SRS0 address minus its leading `SRS0`,
 *   so it starts with that address's separator: `SRS1=HHHH=hop.example==GGGG=TT=dom=user`
 *   (`srs_compile_guarded`). Re-forwarding an SRS1 address keeps host and opaque and re-signs.
 * - Reversing SRS1 yields `SRS0<opaque>@first-hop-domain`, the previous hop, not the original.
 *
 * Parsing follows `srs_parse_guarded`/`srs_parse_shortcut`: the tag is case-insensitive and any of
 * the three separators is accepted after it, the SRS domain is ignored, fields are split at the
 * first `=` (so the original local part may contain `=`), the timestamp is checked before the
 * hash, hashes compare case-insensitively (the paper: some MTAs lower-case local parts), and a hash
 * longer than `hashLength` is compared on its first `hashLength` characters (postsrsd 1.10).
 *
 * Deliberate deviations from postsrsd 1.10, all on inputs postsrsd itself never produces or
 * handles badly (documented in the tests):
 * - The address is split at its LAST `@` (postsrsd: first), the domain part never holds `@`.
 * - `forward` throws on an empty local part, an empty domain or a domain containing `=`
 *   (postsrsd produces an SRS0 address that cannot be reversed to the original).
 * - A local part that is exactly `SRS0`/`SRS1` is an ordinary local part (postsrsd reads past
 *   the end of the string and treats it as SRS).
 * - `reverse` reports `malformed` for a timestamp that is not two base32 characters (postsrsd:
 *   "out of date") and for an empty host or user/opaque part (postsrsd reverses them when the
 *   hash matches; it can then return e.g. `SRS0y@`); `forward` leaves such an SRS1 unchanged.
 * - Secrets longer than 64 bytes are rejected: libsrs2's `srs_hmac_init` keys the HMAC with
 *   `strlen()` of the SHA-1 of such a secret, which is not interoperable (nor deterministic).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidInputError } from './errors.js';

export interface SrsOptions {
  /** The SRS domain the rewritten addresses live in (postsrsd `-d`). */
  domain: string;
  /** HMAC secrets: the first signs, all verify (rotation). Each 1..64 bytes of UTF-8, no CR/LF/NUL. */
  secrets: readonly string[];
  /** Maximum age of an SRS0 timestamp in days, 0..1023. Default 21 (libsrs2 `maxage`). */
  maxAgeDays?: number;
  /** Hash length in characters, 1..27 (27 = all of base64(HMAC-SHA1)). Default 4 (postsrsd `-n`). */
  hashLength?: number;
  /** Separator after `SRS0`/`SRS1` in addresses we produce (postsrsd `-a`). Default `=`. */
  separator?: '=' | '-' | '+';
}

/** `address` is the decoded original (SRS0) or the previous hop's SRS0 address (SRS1). */
export type SrsReverseResult =
  | { ok: true; address: string }
  | { ok: false; reason: 'not-srs' | 'malformed' | 'bad-hash' | 'expired' };

/** libsrs2 `SRS_TIME_BASECHARS`: base32, upper case (parsing accepts lower case). */
const TIME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** Two base32 characters: the timestamp wraps every 1024 days (`SRS_TIME_SLOTS`). */
const TIME_SLOTS = 1024;
const DAY_MS = 86_400_000;
/** base64 of a 20-byte SHA-1 is 27 significant characters (plus one `=` pad). */
const MAX_HASH_LENGTH = 27;
/** SHA-1 block size: longer HMAC keys hit the libsrs2 key-hashing bug (see above). */
const MAX_SECRET_BYTES = 64;
/** libsrs2 `SRS_IS_SRS_ADDRESS`: `SRS` (any case), `0` or `1`, one of the separators. */
const SRS_TAG = /^SRS([01])[=+-]/i;

/** ASCII-only lower-casing, like C `tolower` in the C locale (never touches non-ASCII). */
function asciiLower(value: string): string {
  return value.replace(/[A-Z]+/g, (run) => run.toLowerCase());
}

/** The local part: everything before the last `@`, or the whole string without one. */
function localPartOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : address.slice(0, at);
}

/** Days since the epoch, wrapped to the 1024-day timestamp cycle. */
function daySlot(now: Date): number {
  const day = Math.floor(now.getTime() / DAY_MS);
  return ((day % TIME_SLOTS) + TIME_SLOTS) % TIME_SLOTS;
}

function assertDate(now: Date): void {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new InvalidInputError('now', 'not a valid Date');
  }
}

/**
 * A sender address split at its last `@`; throws `InvalidInputError('sender', …)` without
 * `@`, with an empty local part, an empty domain or a domain containing `=` (whose SRS0
 * address could not be reversed to it).
 */
function senderParts(address: string): { local: string; host: string } {
  if (typeof address !== 'string') throw new InvalidInputError('sender', 'address must be a string');
  const at = address.lastIndexOf('@');
  if (at < 0) throw new InvalidInputError('sender', `no '@' in address: ${JSON.stringify(address)}`);
  const local = address.slice(0, at);
  const host = address.slice(at + 1);
  if (local === '') throw new InvalidInputError('sender', `empty local part: ${JSON.stringify(address)}`);
  if (host === '' || host.includes('=')) {
    throw new InvalidInputError('sender', `invalid domain: ${JSON.stringify(address)}`);
  }
  return { local, host };
}

/** Splits an SRS1 body `HHHH=host=opaque` at the first two `=`; host and opaque must be non-empty. */
function parseSrs1Body(body: string): { hash: string; host: string; opaque: string } | undefined {
  const i = body.indexOf('=');
  const j = i < 0 ? -1 : body.indexOf('=', i + 1);
  if (j < 0) return undefined;
  const host = body.slice(i + 1, j);
  const opaque = body.slice(j + 1);
  if (host === '' || opaque === '') return undefined;
  return { hash: body.slice(0, i), host, opaque };
}

/**
 * Syntactic check (libsrs2 `SRS_IS_SRS_ADDRESS`): the local part starts with `SRS0` or `SRS1`
 * (tag in any case) followed by `=`, `-` or `+`. Says nothing about hash or age.
 */
export function isSrsShaped(address: string): boolean {
  return typeof address === 'string' && SRS_TAG.test(localPartOf(address));
}

export class Srs {
  readonly #domain: string;
  readonly #secrets: readonly Buffer[];
  readonly #maxAgeDays: number;
  readonly #hashLength: number;
  readonly #separator: '=' | '-' | '+';

  /** Validates the options; throws `InvalidInputError('srs', …)` when they are unusable. */
  constructor(options: SrsOptions) {
    const fail = (message: string): never => {
      throw new InvalidInputError('srs', message);
    };
    if (options === null || typeof options !== 'object') fail('options must be an object');
    const { domain, secrets, maxAgeDays = 21, hashLength = 4, separator = '=' } = options;

    if (typeof domain !== 'string' || domain === '') fail('domain must be a non-empty string');
    if (/[@\s\u0000-\u001f\u007f]/.test(domain)) fail(`domain must not contain '@', spaces or controls`);
    if (!Array.isArray(secrets) || secrets.length === 0) fail('at least one secret is required');
    const keys = secrets.map((secret, index) => {
      if (typeof secret !== 'string' || secret === '') fail(`secret #${index + 1} is empty`);
      if (/[\r\n\u0000]/.test(secret)) fail(`secret #${index + 1} contains CR, LF or NUL`);
      const key = Buffer.from(secret, 'utf8');
      if (key.length > MAX_SECRET_BYTES) {
        fail(`secret #${index + 1} is longer than ${MAX_SECRET_BYTES} bytes (not postsrsd-compatible)`);
      }
      return key;
    });
    if (!Number.isInteger(maxAgeDays) || maxAgeDays < 0 || maxAgeDays >= TIME_SLOTS) {
      fail(`maxAgeDays must be an integer in 0..${TIME_SLOTS - 1}`);
    }
    if (!Number.isInteger(hashLength) || hashLength < 1 || hashLength > MAX_HASH_LENGTH) {
      fail(`hashLength must be an integer in 1..${MAX_HASH_LENGTH}`);
    }
    if (separator !== '=' && separator !== '-' && separator !== '+')
      fail(`separator must be '=', '-' or '+'`);

    this.#domain = domain;
    this.#secrets = keys;
    this.#maxAgeDays = maxAgeDays;
    this.#hashLength = hashLength;
    this.#separator = separator;
  }

  /**
   * Rewrites a sender (envelope MAIL FROM) address into the SRS domain, as postsrsd's forward
   * table does (`handle_forward` + `srs_forward`):
   * - returned unchanged when it already is a valid SRS address under our secrets (any domain;
   *   postsrsd answers "500 Already rewritten"), when its domain is the SRS domain (ASCII
   *   case-insensitive; postsrsd echoes it), or when its local part claims SRS1 but lacks the
   *   `HHHH=host=opaque` structure (postsrsd answers 500, so Postfix keeps the address);
   * - `SRS1…` local part: re-signed SRS1 keeping the first-hop host and opaque part;
   * - `SRS0…` local part (another forwarder's address): SRS1 wrapping it;
   * - otherwise SRS0 stamped with the day of `now`.
   * Throws `InvalidInputError('sender', …)` without `@`, with an empty local or domain part, or a
   * domain containing `=`; `InvalidInputError('now', …)` for an invalid date.
   */
  forward(address: string, now: Date): string {
    assertDate(now);
    if (typeof address !== 'string') throw new InvalidInputError('sender', 'address must be a string');
    if (this.reverse(address, now).ok) return address;

    const at = address.lastIndexOf('@');
    if (at >= 0 && asciiLower(address.slice(at + 1)) === asciiLower(this.#domain)) return address;
    const { local, host } = senderParts(address);

    const sep = this.#separator;
    const tag = SRS_TAG.exec(local);
    if (tag?.[1] === '1') {
      const parsed = parseSrs1Body(local.slice(5));
      if (parsed === undefined) return address;
      const hash = this.#sign(parsed.host, parsed.opaque);
      return `SRS1${sep}${hash}=${parsed.host}=${parsed.opaque}@${this.#domain}`;
    }
    if (tag?.[1] === '0') {
      // The opaque part keeps the incoming separator: `SRS0=x` -> `SRS1=HHHH=host==x`.
      const opaque = local.slice(4);
      return `SRS1${sep}${this.#sign(host, opaque)}=${host}=${opaque}@${this.#domain}`;
    }
    return this.#srs0(local, host, now);
  }

  /**
   * The return path of a sender whose address was *proved* (SPEC 2a): SRS0 of the whole
   * address, whatever its local part looks like, so its bounce reverses to the sender's own
   * domain, and expires. postsrsd's {@link forward} keeps things the sender wrote and nobody
   * proved (an `SRS1…` local part's first-hop host; a valid SRS address of ours on another
   * domain, which SES refuses as an unverified Return-Path), and writes an `SRS0…` sender as
   * SRS1 — whose hash, over `host + opaque`, both the sender's, is valid for an SRS0 address
   * too wherever the strings meet: SRS0 hashes `TT + host + user` with the same secret and no
   * separator (libsrs2 `srs_hash_create_v`). A sender at `<TT>victim.co` (TT a current
   * timestamp) given `SRS1=H=<TT>victim.co=mceo@…` could bounce `SRS0=H=<TT>=victim.com=ceo@…`
   * to `ceo@victim.com`. So no return path we issue is SRS1; SRS0 of `SRS0=…@host` reverses to
   * the same `SRS0=…@host` as SRS1 did. Found in reviews (December 2026).
   */
  forwardProved(address: string, now: Date): string {
    assertDate(now);
    const { local, host } = senderParts(address);
    return this.#srs0(local, host, now);
  }

  /** SRS0 of `local@host`, stamped with the day of `now` (checked by the caller). */
  #srs0(local: string, host: string, now: Date): string {
    const slot = daySlot(now);
    const stamp = `${TIME_CHARS[slot >> 5]}${TIME_CHARS[slot & 31]}`;
    return `SRS0${this.#separator}${this.#sign(stamp, host, local)}=${stamp}=${host}=${local}@${this.#domain}`;
  }

  /**
   * Decodes an SRS address (its domain is ignored, like libsrs2). SRS0 gives the original
   * sender, SRS1 the previous hop's SRS0 address. Never throws on any address string; throws
   * `InvalidInputError('now', …)` only for an invalid date.
   */
  reverse(address: string, now: Date): SrsReverseResult {
    assertDate(now);
    if (typeof address !== 'string') return { ok: false, reason: 'not-srs' };
    const local = localPartOf(address);
    const tag = SRS_TAG.exec(local);
    if (tag === null) return { ok: false, reason: 'not-srs' };
    const body = local.slice(5);

    if (tag[1] === '1') {
      const parsed = parseSrs1Body(body);
      if (parsed === undefined) return { ok: false, reason: 'malformed' };
      if (!this.#verify(parsed.hash, parsed.host, parsed.opaque)) return { ok: false, reason: 'bad-hash' };
      return { ok: true, address: `SRS0${parsed.opaque}@${parsed.host}` };
    }

    // SRS0: HHHH=TT=host=user, split at the first three '=' (the user may contain '=').
    const i = body.indexOf('=');
    const j = i < 0 ? -1 : body.indexOf('=', i + 1);
    const k = j < 0 ? -1 : body.indexOf('=', j + 1);
    if (k < 0) return { ok: false, reason: 'malformed' };
    const hash = body.slice(0, i);
    const stamp = body.slice(i + 1, j);
    const host = body.slice(j + 1, k);
    const user = body.slice(k + 1);
    if (host === '' || user === '') return { ok: false, reason: 'malformed' };
    const then = decodeStamp(stamp);
    if (then === undefined) return { ok: false, reason: 'malformed' };
    // srs_timestamp_check: `now` is moved forward by whole cycles until it is >= then, so a stamp
    // "in the future" reads as ~1023 days old and is rejected unless maxAgeDays is that large.
    const age = (daySlot(now) - then + TIME_SLOTS) % TIME_SLOTS;
    if (age > this.#maxAgeDays) return { ok: false, reason: 'expired' };
    if (!this.#verify(hash, stamp, host, user)) return { ok: false, reason: 'bad-hash' };
    return { ok: true, address: `${user}@${host}` };
  }

  /**
   * Syntactic check (libsrs2 `SRS_IS_SRS_ADDRESS`): the local part starts with `SRS0` or `SRS1`
   * (tag in any case) followed by `=`, `-` or `+`. Says nothing about hash or age.
   */
  isSrsAddress(address: string): boolean {
    return isSrsShaped(address);
  }

  /** base64(HMAC-SHA1(key, lower(concat(fields)))), cut to hashLength (`srs_hash_create_v`). */
  #hash(key: Buffer, fields: readonly string[]): string {
    return createHmac('sha1', key)
      .update(asciiLower(fields.join('')), 'utf8')
      .digest('base64')
      .slice(0, this.#hashLength);
  }

  #sign(...fields: string[]): string {
    return this.#hash(this.#secrets[0]!, fields);
  }

  /**
   * `srs_hash_check` (postsrsd 1.10): shorter than hashLength fails, longer is cut to it, the
   * comparison is ASCII case-insensitive, and every secret is tried.
   */
  #verify(given: string, ...fields: string[]): boolean {
    if (given.length < this.#hashLength) return false;
    const candidate = Buffer.from(asciiLower(given.slice(0, this.#hashLength)), 'utf8');
    let match = false;
    for (const key of this.#secrets) {
      const expected = Buffer.from(asciiLower(this.#hash(key, fields)), 'utf8');
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) match = true;
    }
    return match;
  }
}

/** Two base32 characters (any case) to a day slot, or undefined (libsrs2 `srs_timestamp_check`). */
function decodeStamp(stamp: string): number | undefined {
  if (stamp.length !== 2) return undefined;
  let value = 0;
  for (const char of stamp) {
    const index = /^[a-z]$/.test(char) ? TIME_CHARS.indexOf(char.toUpperCase()) : TIME_CHARS.indexOf(char);
    if (index < 0) return undefined;
    value = (value << 5) | index;
  }
  return value;
}
