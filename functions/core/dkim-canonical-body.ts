/**
 * Streaming DKIM body canonicalization (RFC 6376 3.4.3 "simple", 3.4.4 "relaxed"), linear in
 * the body whatever its shape, with the output of mailauth's hashers byte for byte.
 *
 * mailauth's (`mailauth/lib/dkim/body/relaxed.js`) keeps the unfinished line and joins every
 * new chunk to it (`Buffer.concat` and a new scan per 64 KB chunk: quadratic in the line
 * length, 16 MB without a line break took 6 s), and allocates, copies and hashes every line it
 * has to change on its own (`a SP CRLF`, a tab, a bare LF: 9 s for 40 MB of `a \r\n` lines);
 * `simple.js` holds one buffer per bare line end. A sender controls all of that, with any
 * relaxed signature (a fake one will do) or none at all when copies are ARC-sealed. Here each
 * chunk is rewritten in one pass into one output buffer, handed on in one piece, and only
 * constant state crosses chunk boundaries: pending whitespace, a CR whose LF may open the next
 * chunk, and the count of held line ends (simple keeps the exact bytes of a held run only once
 * a bare LF is in it, which mailauth's message parser never lets through to a hasher).
 *
 * Signatures are checked against the hash mailauth (and the signers it interoperates with)
 * computes, so its reading of the corner cases is kept (`test/core/dkim-canonical-body.test.ts`
 * compares the two on random bodies and chunkings):
 * - relaxed: an LF ends a line, with the CR right before it if any (a bare LF is a line end
 *   too); any other CR is content, so whitespace before it is not trailing;
 * - simple: nothing changes but the end: a bare LF inside the body stays as it is; the line
 *   ends at the very end (LF or CRLF, repeatedly) are dropped, a bare CR there is content;
 * - the end (3.4.3, 3.4.4 b): trailing empty lines are dropped and one CRLF ends the body; an
 *   empty relaxed body stays empty, an empty simple body is one CRLF.
 */

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const TAB = 0x09;

/** Held CRLFs are written out from this one buffer, whatever their number. */
const RUN_PAIRS = 8192;
const CRLF_RUN = Buffer.alloc(RUN_PAIRS * 2);
for (let i = 0; i < CRLF_RUN.length; i += 2) {
  CRLF_RUN[i] = CR;
  CRLF_RUN[i + 1] = LF;
}
const CRLF = CRLF_RUN.subarray(0, 2);
const CR_ONLY = CRLF_RUN.subarray(0, 1);

/** Receives the canonical body, in order, in pieces it must not keep (they may be reused). */
export type CanonicalSink = (chunk: Buffer) => void;

export interface BodyCanonicalizer {
  /** The next raw body bytes (any split: a CRLF or a run of whitespace may straddle chunks). */
  update(chunk: Buffer): void;
  /** The body is complete: what is still held is resolved, and the final CRLF written. */
  end(): void;
}

function emitPairs(sink: CanonicalSink, count: number): void {
  for (let left = count; left > 0; left -= RUN_PAIRS)
    sink(CRLF_RUN.subarray(0, 2 * Math.min(left, RUN_PAIRS)));
}

/**
 * How many bytes at the start of `chunk` relaxed canonicalization leaves as they are, when no
 * whitespace or CR is pending from the chunk before: up to its last byte that is not a CR or
 * LF, provided the chunk holds no SP or TAB at all and every LF before that byte follows a CR.
 * Then every line end there is a CRLF that content follows (kept), and every other CR is
 * content (kept). 0 when that does not hold. Base64 and quoted-printable bodies, the bulk of
 * big mail, are made of such chunks: found with `indexOf`, at native speed, instead of a byte
 * loop and a new buffer per chunk (issue 16: ~15 % of the CPU of a 10 MB message).
 */
function verbatimPrefix(chunk: Buffer): number {
  if (chunk.indexOf(SP) >= 0 || chunk.indexOf(TAB) >= 0) return 0;
  let end = chunk.length;
  while (end > 0 && (chunk[end - 1] === CR || chunk[end - 1] === LF)) end--;
  for (let lf = chunk.indexOf(LF); lf >= 0 && lf < end; lf = chunk.indexOf(LF, lf + 1)) {
    if (lf === 0 || chunk[lf - 1] !== CR) return 0;
  }
  return end;
}

/**
 * RFC 6376 3.4.4: WSP runs become one SP, WSP at the end of a line goes, and empty lines at
 * the end of the body go; a non-empty body ends with CRLF.
 */
export class RelaxedBody implements BodyCanonicalizer {
  /** Line ends not written yet: they go if only empty lines follow them (3.4.4 b). */
  private held = 0;
  /** Whitespace seen since the last content byte of the line: one SP if content follows. */
  private wsp = false;
  /** The last byte was a CR: a line end if an LF follows, content otherwise. */
  private cr = false;
  /** Something was written: the body is not empty and gets its final CRLF. */
  private any = false;

  constructor(private readonly sink: CanonicalSink) {}

  update(chunk: Buffer): void {
    const n = chunk.length;
    if (n === 0) return;
    const verbatim = this.wsp || this.cr ? 0 : verbatimPrefix(chunk);
    if (verbatim > 0) {
      // Up to its last content byte the chunk is its own canonical form (below): what was held
      // goes first, then the bytes themselves, no copy. Only its final run of line ends is read.
      if (this.held > 0) emitPairs(this.sink, this.held);
      this.held = 0;
      this.any = true;
      this.sink(chunk.subarray(0, verbatim));
      if (verbatim < n) this.rewrite(chunk.subarray(verbatim));
      return;
    }
    this.rewrite(chunk);
  }

  /** The chunk rewritten byte by byte into one new buffer. */
  private rewrite(chunk: Buffer): void {
    const n = chunk.length;
    // At most 2 bytes out per byte in (an LF becomes CRLF, a byte after a WSP run gets its
    // SP), plus the SP and CR a CR held from the last chunk may turn into.
    const out = Buffer.allocUnsafe(2 * n + 4);
    let w = 0;
    let { held, wsp, cr, any } = this;
    let i = 0;
    while (i < n) {
      const b = chunk[i++]!;
      if (b === LF) {
        // The line ends (with the CR before it, if any); its trailing WSP is dropped.
        held++;
        wsp = false;
        cr = false;
        continue;
      }
      if (cr) {
        // A CR no LF follows is content.
        cr = false;
        if (held > 0) w = this.writeHeld(out, w, held);
        held = 0;
        if (wsp) out[w++] = SP;
        wsp = false;
        out[w++] = CR;
        any = true;
      }
      if (b === CR) {
        cr = true;
        continue;
      }
      if (b === SP || b === TAB) {
        wsp = true;
        continue;
      }
      if (held > 0) w = this.writeHeld(out, w, held);
      held = 0;
      if (wsp) out[w++] = SP;
      wsp = false;
      out[w++] = b;
      any = true;
      // The rest of the word as it is: no byte above SP is special.
      while (i < n && chunk[i]! > SP) out[w++] = chunk[i++]!;
    }
    this.held = held;
    this.wsp = wsp;
    this.cr = cr;
    this.any = any;
    if (w > 0) this.sink(out.subarray(0, w));
  }

  /**
   * Writes the held line ends before content. Those held from earlier chunks are not paid
   * for in `out`, so while nothing is in `out` yet (always the case when any are) they go to
   * the sink directly; later ones came from this chunk's LFs and fit.
   */
  private writeHeld(out: Buffer, w: number, held: number): number {
    if (w === 0) {
      emitPairs(this.sink, held);
      return 0;
    }
    let at = w;
    for (let k = 0; k < held; k++) {
      out[at++] = CR;
      out[at++] = LF;
    }
    return at;
  }

  end(): void {
    if (this.cr) {
      // A CR at the very end is content too (there is no LF to make it a line end).
      emitPairs(this.sink, this.held);
      this.sink(Buffer.from(this.wsp ? [SP, CR] : [CR]));
      this.any = true;
    }
    this.held = 0;
    this.wsp = false;
    this.cr = false;
    if (this.any) this.sink(CRLF);
  }
}

/**
 * RFC 6376 3.4.3: the body as it is, but the line ends at its very end become one CRLF.
 * Only a trailing run of CR and LF bytes is ever held: content after it makes it body.
 */
export class SimpleBody implements BodyCanonicalizer {
  /** Held CRLFs at the end of the body so far. */
  private heldPairs = 0;
  /**
   * Held line ends after those, once a bare LF is among them: the exact bytes, since they are
   * body if content follows. Only a bare LF brings this about, and mailauth's message parser
   * turns those into CRLF before a hasher sees them, so in the verifier it stays empty.
   */
  private heldBytes: Buffer | null = null;
  private heldLength = 0;
  /** The last byte was a CR: part of a held CRLF if an LF follows, content otherwise. */
  private cr = false;

  constructor(private readonly sink: CanonicalSink) {}

  update(chunk: Buffer): void {
    const n = chunk.length;
    if (n === 0) return;
    let last = n - 1;
    while (last >= 0 && (chunk[last] === CR || chunk[last] === LF)) last--;
    if (last >= 0) {
      // Content follows whatever is held: all of it is body, verbatim.
      this.flush();
      if (this.cr) this.sink(CR_ONLY);
      this.cr = false;
      this.sink(chunk.subarray(0, last + 1));
    }
    if (last === n - 1) return;
    // The trailing run of CR and LF: bare CRs in it are content, the rest is held.
    const out = Buffer.allocUnsafe(n - last);
    let w = 0;
    let wrote = false;
    for (let i = last + 1; i < n; i++) {
      const b = chunk[i];
      if (this.cr) {
        this.cr = false;
        if (b === LF) {
          this.holdPair();
          continue;
        }
        // The CR before this one is content: all held before it is body.
        if (wrote) w = this.writeHeld(out, w);
        else this.flush();
        wrote = true;
        out[w++] = CR;
      }
      if (b === CR) this.cr = true;
      else this.holdBytes(LF);
    }
    if (w > 0) this.sink(out.subarray(0, w));
  }

  private holdPair(): void {
    if (this.heldBytes) {
      this.holdBytes(CR);
      this.holdBytes(LF);
    } else this.heldPairs++;
  }

  private holdBytes(byte: number): void {
    if (!this.heldBytes || this.heldLength === this.heldBytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(64, this.heldLength * 2));
      this.heldBytes?.copy(grown, 0, 0, this.heldLength);
      this.heldBytes = grown;
    }
    this.heldBytes[this.heldLength++] = byte;
  }

  /** Hands the held line ends on: content follows them. */
  private flush(): void {
    emitPairs(this.sink, this.heldPairs);
    if (this.heldBytes && this.heldLength > 0) this.sink(this.heldBytes.subarray(0, this.heldLength));
    this.drop();
  }

  /** {@link flush} into `out`, for line ends held since the last flush of this chunk (they fit). */
  private writeHeld(out: Buffer, w: number): number {
    let at = w;
    for (let k = 0; k < this.heldPairs; k++) {
      out[at++] = CR;
      out[at++] = LF;
    }
    if (this.heldBytes) at += this.heldBytes.copy(out, at, 0, this.heldLength);
    this.drop();
    return at;
  }

  private drop(): void {
    this.heldPairs = 0;
    this.heldBytes = null;
    this.heldLength = 0;
  }

  end(): void {
    if (this.cr) {
      // A CR at the very end is content, and so is all before it.
      this.flush();
      this.sink(CR_ONLY);
      this.cr = false;
    }
    this.drop();
    this.sink(CRLF);
  }
}

/**
 * `chunk` with every bare LF written as CRLF, as mailauth's message parser does to the whole
 * message before it splits it (`message-parser.js` `ensureLinebreaks`), but in one piece:
 * the parser hands on one buffer, made by `Buffer.concat`, per bare LF, and every one goes
 * through the header scan and each body hasher on its own (1 MB of `a LF` lines took 380 ms
 * against 8 ms for ordinary text). `previous` is the byte before the chunk (undefined at the
 * start of the message); an LF right after a CRLF is bare too.
 */
export function crlfBareLineFeeds(chunk: Buffer, previous: number | undefined): Buffer {
  const first = firstBareLineFeed(chunk, previous);
  if (first < 0) return chunk;
  const n = chunk.length;
  let bare = 0;
  for (let i = first; i < n; i++) if (chunk[i] === LF && (i === 0 ? previous : chunk[i - 1]) !== CR) bare++;
  const out = Buffer.allocUnsafe(n + bare);
  chunk.copy(out, 0, 0, first);
  let w = first;
  let before = first === 0 ? previous : chunk[first - 1];
  for (let i = first; i < n; i++) {
    const b = chunk[i]!;
    if (b === LF && before !== CR) out[w++] = CR;
    out[w++] = b;
    before = b;
  }
  return out;
}

/** After this many line ends found with `indexOf`, see whether they are dense. */
const PROBE_CALLS = 64;
/** Line ends closer than this on average: a plain loop costs less than a call per LF. */
const DENSE_GAP = 32;

/**
 * The index of the first bare LF of `chunk` (not after a CR; `previous` is the byte before
 * it), or -1. Found with `indexOf` between line ends, at native speed (ordinary text has one
 * every 70-odd bytes, base64 every 76; a byte loop over 10 MB cost ~12 % of the CPU of such a
 * message, issue 16), and with a plain loop once they come closer than {@link DENSE_GAP} bytes
 * on average, where a call per LF would cost more (`a LF` lines).
 */
function firstBareLineFeed(chunk: Buffer, previous: number | undefined): number {
  const n = chunk.length;
  let from = 0;
  for (let calls = 1; from < n; calls++) {
    const lf = chunk.indexOf(LF, from);
    if (lf < 0) return -1;
    if ((lf === 0 ? previous : chunk[lf - 1]) !== CR) return lf;
    from = lf + 1;
    if (calls >= PROBE_CALLS && from < calls * DENSE_GAP) {
      for (let i = from; i < n; i++) if (chunk[i] === LF && chunk[i - 1] !== CR) return i;
      return -1;
    }
  }
  return -1;
}

/** The canonicalizer for a body canonicalization name as mailauth reads it, or undefined. */
export function bodyCanonicalizer(
  canonicalization: string,
  sink: CanonicalSink,
): BodyCanonicalizer | undefined {
  const name = (canonicalization || 'simple/simple').split('/').pop()?.toLowerCase().trim();
  if (name === 'relaxed') return new RelaxedBody(sink);
  if (name === 'simple') return new SimpleBody(sink);
  return undefined;
}
