/**
 * The ARC chain a copy carries from the message as it arrived, read once per message rather
 * than once per copy (review K).
 *
 * Reading a chain is the dear part of sealing a copy that carries one: mailauth's
 * `getARChain`, and the instance scan of `arc-sign.ts`, parse every ARC field, and the
 * ARC-Authentication-Results parser walks each value character by character (about 25 ms for
 * the 50 sets RFC 8617 allows). A forwarded message goes out as one copy per alias it arrived
 * for, and every copy carries the same ARC fields: `rewrite.ts` keeps them whole, in order,
 * with only the normalisation every field gets, none of which depends on the send.
 *
 * So what is read from the ARC fields is kept per message (keyed by the message as it
 * arrived, `ArcSealOptions.received`, and dropped with it), and is reused only for a copy
 * whose ARC fields, as mailauth's header parser reads them, are byte for byte those it was
 * read from: anything else is read again. Nothing here depends on the copy's other fields.
 */
import type { ARCChainEntry } from 'mailauth';
import { getARChain } from 'mailauth/lib/arc/index.js';
import type { ParsedHeaders } from 'mailauth/lib/tools.js';
import { foreignSetClaimsOurId } from './arc-claims.js';
import { type ArcPosition, arcPosition, type ChainLink } from './arc-sign.js';

const ARC_FIELDS: ReadonlySet<string> = new Set([
  'arc-seal',
  'arc-message-signature',
  'arc-authentication-results',
]);

/** mailauth's chain parser, as a property a test can wrap (`mock.method`) to count the reads. */
export const chainParser: { getARChain: typeof getARChain } = { getARChain };

/** What a copy's seal needs of the chain that arrived with the message. */
export interface ArrivingChain {
  /** The chain as `getARChain` reads it, false when there is none or it cannot be read. */
  chain: ARCChainEntry[] | false;
  /** The highest instance and the `cv=` of its seal (`arcPosition`). */
  position: ArcPosition;
  /**
   * `foreignSetClaimsOurId` of the copy's header block, worked out once per authserv-id and
   * key: it reads only the ARC-Seal and ARC-Authentication-Results fields.
   */
  claimsOurId(header: Buffer, authservId: string, own: { domain: string; selector: string }): boolean;
}

interface Entry extends ArrivingChain {
  /** The ARC fields read, in order. */
  rows: Buffer[];
}

const entries = new WeakMap<Buffer, Entry>();

/**
 * The ARC chain on `headers` (a copy's parsed header block), read as mailauth's signer reads
 * it when given the whole message (lenient; a chain too broken to read counts as none, and
 * the instance of our set then follows the highest one in the header fields). Read once per
 * `received` message while its copies carry the same ARC fields; without `received`, read
 * each time.
 */
export function arrivingChain(headers: ParsedHeaders, received?: Buffer): ArrivingChain {
  const rows = headers.parsed.filter((r) => r.key && ARC_FIELDS.has(r.key)).map((r) => r.line);
  const known = received ? entries.get(received) : undefined;
  if (known && sameRows(known.rows, rows)) return known;
  const entry = readChain(headers, rows);
  if (received) entries.set(received, entry);
  return entry;
}

function sameRows(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  return a.length === b.length && a.every((row, i) => row.equals(b[i]!));
}

/** The entry for `rows`, the chain read from `headers` only when first asked for. */
function readChain(headers: ParsedHeaders, rows: Buffer[]): Entry {
  let source: ParsedHeaders | undefined = headers;
  let known: { chain: ARCChainEntry[] | false; position: ArcPosition } | undefined;
  const read = () => {
    if (!known) {
      const from = source!;
      let chain: ARCChainEntry[] | false;
      try {
        chain = chainParser.getARChain(from);
      } catch {
        chain = false;
      }
      known = { chain, position: arcPosition(from, chain as ChainLink[] | false) };
      source = undefined;
    }
    return known;
  };
  const claims = new Map<string, boolean>();
  return {
    rows,
    get chain() {
      return read().chain;
    },
    get position() {
      return read().position;
    },
    claimsOurId(header, authservId, own) {
      const key = JSON.stringify([authservId, own.domain, own.selector]);
      let claimed = claims.get(key);
      if (claimed === undefined) {
        claimed = foreignSetClaimsOurId(header, authservId, own);
        claims.set(key, claimed);
      }
      return claimed;
    },
  };
}
