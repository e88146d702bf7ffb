/**
 * The body hashes of mailauth's verifier, computed with our own canonicalization
 * (`dkim-canonical-body.ts`), once per canonicalization and hash algorithm whatever the number
 * of distinct `l=` values (issue 13 item 2; review K finding 1).
 *
 * mailauth's verifier keeps one body hasher per `canonicalization:algorithm:l=` key
 * (`dkim-verifier.js` `addBodyHash`, and the ARC seal's relaxed/sha256 one), and each hasher
 * canonicalizes the whole body in JavaScript on its own: 200 signatures with distinct `l=` on
 * a 5 MB body took 9.8 s; and its canonicalization is quadratic in the line length and
 * allocates per changed line (see `dkim-canonical-body.ts`). Yet `l=` only cuts the canonical
 * body (RFC 6376 3.4.5: "the number of octets in the body of the message after
 * canonicalization"): every signature of one canonicalization and algorithm hashes a prefix of
 * the same canonical byte stream. So each group gets one linear canonicalizer, and every key of
 * the group becomes a view that hashes the prefix its `l=` allows: one canonicalization of the
 * body and one native SHA update per view and chunk.
 */
import type { BodyHasher } from 'mailauth/lib/dkim/dkim-verifier.js';
import { type BodyCanonicalizer, bodyCanonicalizer } from './dkim-canonical-body.js';

type Digest = { update(chunk: Buffer): unknown; digest(encoding: 'base64'): string };

/**
 * Small chunks are gathered up to this size before they are canonicalized: mailauth's message
 * parser hands on one chunk per line when it rewrites bare LFs as CRLF, and a hash update per
 * line is what made such bodies slow.
 */
const STAGE = 64 * 1024;

/** One canonicalization and algorithm: the canonical stream its views hash prefixes of. */
class Group {
  byteLength = 0;
  canonicalizedLength = 0;
  readonly views: LengthView[] = [];
  private readonly canon: BodyCanonicalizer;
  private staged: Buffer | null = null;
  private stagedLength = 0;
  private finished = false;

  /**
   * `original` is mailauth's hasher the group replaces: its MIME structure finder (which
   * already knows the boundary, `setContentType` is called while the header block is read)
   * goes on scanning the canonical body, as it does inside mailauth's hasher, for
   * `getMimeStructureStart`.
   */
  constructor(
    canonicalizer: (sink: (chunk: Buffer) => void) => BodyCanonicalizer,
    private readonly original: BodyHasher,
  ) {
    const finder = (original as { mimeStructureStartFinder?: { update(chunk: Buffer): void } })
      .mimeStructureStartFinder;
    const sink = (chunk: Buffer) => {
      finder?.update(chunk);
      this.canonicalizedLength += chunk.length;
      for (const view of this.views) view.feed(chunk);
    };
    this.canon = canonicalizer(sink);
  }

  update(chunk: Buffer): void {
    if (!chunk?.length) return;
    this.byteLength += chunk.length;
    if (chunk.length >= STAGE / 4) {
      this.drain();
      this.canon.update(chunk);
      return;
    }
    if (this.stagedLength + chunk.length > STAGE) this.drain();
    this.staged ??= Buffer.allocUnsafe(STAGE);
    this.stagedLength += chunk.copy(this.staged, this.stagedLength);
  }

  private drain(): void {
    if (this.stagedLength === 0 || !this.staged) return;
    // The canonicalizer keeps nothing of its input, so the stage is reused.
    this.canon.update(this.staged.subarray(0, this.stagedLength));
    this.stagedLength = 0;
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.drain();
    this.staged = null;
    this.canon.end();
  }

  setContentType(contentType: unknown): void {
    this.original.setContentType(contentType);
  }

  getMimeStructureStart(): number | undefined {
    return this.original.getMimeStructureStart();
  }
}

/** A view on the group's canonical stream, in the shape the verifier reads a hasher in. */
class LengthView {
  /** Set by the verifier (`finalChunk`). */
  hash?: string;
  mimeStructureStart?: number;
  bodyHashedBytes = 0;
  private full: boolean;
  private digested?: string;

  constructor(
    private readonly group: Group,
    private readonly hasher: Digest,
    /** The `l=` limit as mailauth's hashers apply it, null for none. */
    private readonly limit: number | null,
    /** Whether this view passes the body on to the group (exactly one view per group does). */
    private readonly drives: boolean,
  ) {
    this.full = limit === 0;
  }

  /** A canonical chunk: the part of it this view's `l=` still allows (mailauth's `_updateBodyHash`). */
  feed(chunk: Buffer): void {
    if (this.full) return;
    let part = chunk;
    if (this.limit !== null && this.bodyHashedBytes + chunk.length > this.limit) {
      this.full = true;
      if (this.bodyHashedBytes >= this.limit) return;
      part = chunk.subarray(0, this.limit - this.bodyHashedBytes);
    }
    this.bodyHashedBytes += part.length;
    this.hasher.update(part);
  }

  update(chunk: Buffer): void {
    if (this.drives) this.group.update(chunk);
  }

  digest(encoding: 'base64'): string {
    this.group.finish();
    this.digested ??= this.hasher.digest(encoding);
    return this.digested;
  }

  setContentType(contentType: unknown): void {
    this.group.setContentType(contentType);
  }

  getMimeStructureStart(): number | undefined {
    return this.group.getMimeStructureStart();
  }

  get canonicalizedLength(): number {
    return this.group.canonicalizedLength;
  }

  get byteLength(): number {
    return this.group.byteLength;
  }
}

/** The `l=` of mailauth's hasher as it applies it: a number, or no limit. */
function limitOf(hasher: BodyHasher): number | null {
  const m = hasher.maxBodyLength;
  return typeof m === 'number' && !Number.isNaN(m) && m >= 0 ? m : null;
}

/**
 * Replaces the hashers of `bodyHashes` (keys `canon:algo:length`, before any body byte was
 * fed) with views on one linear canonicalization per canonicalization and algorithm (see
 * module comment), the seal's and single signatures' included. `newHash(algo)` gives a fresh
 * digest (`crypto.createHash`).
 */
export function shareBodyHashes(
  bodyHashes: Map<string, unknown>,
  newHash: (algorithm: string) => Digest,
): void {
  const groups = new Map<string, string[]>();
  for (const key of bodyHashes.keys()) {
    const [canon = '', algo = ''] = key.split(':');
    const group = `${canon}:${algo}`;
    groups.set(group, [...(groups.get(group) ?? []), key]);
  }
  for (const [name, keys] of groups) {
    const [canonicalization = '', algo = ''] = name.split(':');
    // mailauth throws for any other canonicalization before a hasher exists; keep its own then.
    if (!bodyCanonicalizer(canonicalization, () => {})) continue;
    const group = new Group(
      (sink) => bodyCanonicalizer(canonicalization, sink)!,
      bodyHashes.get(keys[0]!) as BodyHasher,
    );
    // As mailauth's hashers name the algorithm ("rsa-sha256" would be "sha256").
    const algorithm = (algo || 'sha256').split('-').pop()!.toLowerCase();
    for (const [i, key] of keys.entries()) {
      const view = new LengthView(
        group,
        newHash(algorithm),
        limitOf(bodyHashes.get(key) as BodyHasher),
        i === 0,
      );
      group.views.push(view);
      bodyHashes.set(key, view);
    }
  }
}
