/**
 * One canonicalization of the body per canonicalization and hash algorithm, whatever the
 * number of distinct `l=` values (issue 13 item 2).
 *
 * mailauth's verifier keeps one body hasher per `canonicalization:algorithm:l=` key
 * (`dkim-verifier.js` `addBodyHash`), and each hasher canonicalizes the whole body in
 * JavaScript on its own: 200 signatures with distinct `l=` on a 5 MB body took 9.8 s. Yet
 * `l=` only cuts the canonical body (RFC 6376 3.4.5: "the number of octets in the body of
 * the message after canonicalization"): every signature of one canonicalization and
 * algorithm hashes a prefix of the same canonical byte stream. So one hasher per group, the
 * leader, canonicalizes with no limit, and every key of the group becomes a view that hashes
 * the prefix its `l=` allows of what the leader produced: one canonicalization and one
 * native SHA update per view.
 */
import type { BodyHasher } from 'mailauth/lib/dkim/dkim-verifier.js';

/** A view on the leader's canonical stream, in the shape the verifier reads a hasher in. */
class LengthView {
  hash?: string;
  mimeStructureStart?: number;
  bodyHashedBytes = 0;
  private readonly hasher;

  constructor(
    private readonly group: Group,
    hasher: { update(chunk: Buffer): unknown; digest(encoding: 'base64'): string },
    private readonly limit: number | null,
    /** Whether this view passes the body on to the leader (exactly one view per group does). */
    private readonly drives: boolean,
  ) {
    this.hasher = hasher;
  }

  /** A canonical chunk from the leader: the part of it this view's `l=` still allows. */
  feed(chunk: Buffer): void {
    const room = this.limit === null ? chunk.length : Math.max(0, this.limit - this.bodyHashedBytes);
    const part = room >= chunk.length ? chunk : chunk.subarray(0, room);
    if (part.length === 0) return;
    this.bodyHashedBytes += part.length;
    this.hasher.update(part);
  }

  update(chunk: Buffer): void {
    if (this.drives) this.group.leader.update(chunk);
  }

  digest(encoding: 'base64'): string {
    this.group.finish();
    return this.hasher.digest(encoding);
  }

  setContentType(contentType: unknown): void {
    this.group.leader.setContentType(contentType);
  }

  getMimeStructureStart(): number | undefined {
    return this.group.leader.getMimeStructureStart();
  }

  get canonicalizedLength(): number {
    return this.group.leader.canonicalizedLength;
  }

  get byteLength(): number {
    return this.group.leader.byteLength;
  }
}

interface Group {
  leader: BodyHasher;
  views: LengthView[];
  finish(): void;
}

/** The `l=` of a body hash key as mailauth's hashers read it: a number, or no limit. */
function lengthOf(key: string): number | null {
  const raw = key.split(':')[2] ?? '';
  const n = raw === '' ? Number.NaN : Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : null;
}

/**
 * Replaces the hashers of `bodyHashes` (keys `canon:algo:length`, before any body byte was
 * fed) so that each canonicalization and algorithm is computed once (see module comment).
 * `newHash(algo)` gives a fresh digest (`crypto.createHash`).
 */
export function shareBodyHashes(
  bodyHashes: Map<string, unknown>,
  newHash: (algorithm: string) => { update(chunk: Buffer): unknown; digest(encoding: 'base64'): string },
): void {
  const groups = new Map<string, string[]>();
  for (const key of bodyHashes.keys()) {
    const [canon = '', algo = ''] = key.split(':');
    const group = `${canon}:${algo}`;
    groups.set(group, [...(groups.get(group) ?? []), key]);
  }
  for (const [group, keys] of groups) {
    if (keys.length < 2) continue;
    const leader = bodyHashes.get(keys[0]!) as BodyHasher;
    // The leader canonicalizes the whole body; the views apply the limits.
    leader.maxBodyLength = '';
    leader.maxSizeReached = false;
    let finished = false;
    const g: Group = {
      leader,
      views: [],
      finish() {
        if (finished) return;
        finished = true;
        leader.digest('base64'); // flushes the held line ends through the views
      },
    };
    const algo = group.split(':')[1] || 'sha256';
    for (const [i, key] of keys.entries()) {
      g.views.push(new LengthView(g, newHash(algo), lengthOf(key), i === 0));
    }
    const own = leader._updateBodyHash.bind(leader);
    leader._updateBodyHash = (chunk: Buffer) => {
      for (const view of g.views) view.feed(chunk);
      own(chunk);
    };
    for (const [i, key] of keys.entries()) bodyHashes.set(key, g.views[i]!);
  }
}
