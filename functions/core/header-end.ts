/**
 * Where mailauth's message parser (`mailauth/lib/dkim/message-parser.js`, the base of its DKIM
 * verifier) splits the header block from the body, found without its per-byte garbage.
 *
 * mailauth's `processChunk` walks the header block byte by byte and copies a 4-byte window
 * array for every byte (`stateBytes.slice(-4)`): about 250 KB of garbage for a 3 KB message,
 * a sixth of everything the router allocates per plain message (issue 16). This is the same
 * rule, looked for only at each LF (`indexOf`): the header block ends with the first LF that
 * follows an LF or a CRLF, or that is the message's first byte, or its second after a CR
 * (RFC 5322 2.1: the first empty line ends the header section; an empty first line means an
 * empty one). The parser's state (`headerBytes`, the last bytes in `stateBytes`) is kept as
 * mailauth keeps it, so a chunk boundary anywhere gives the same split;
 * `test/core/header-end.test.ts` checks it against mailauth's own parser.
 */

/** The members of mailauth's `MessageParser` its `processChunk` uses. */
export interface HeaderScanner {
  state: 'header' | 'body' | string;
  /** The last (up to 4) bytes of the header block seen so far. */
  stateBytes: number[];
  /** Bytes of the header block seen so far. */
  headerBytes: number;
  headerChunks: Buffer[];
  emitHeaders(chunk?: Buffer): Promise<void>;
  nextChunk(chunk: Buffer): Promise<void>;
}

const LF = 0x0a;
const CR = 0x0d;

/** mailauth's `processChunk`, with the end of the header block found by {@link headerEnd}. */
export async function processChunk(parser: HeaderScanner, input: Buffer): Promise<void> {
  if (!input?.length) return;
  let chunk = input;
  if (parser.state === 'header') {
    const end = headerEnd(parser, chunk);
    if (end === chunk.length - 1) {
      await parser.emitHeaders(chunk);
      return;
    }
    if (end !== -1) {
      await parser.emitHeaders(chunk.subarray(0, end + 1));
      chunk = chunk.subarray(end + 1);
    }
  }
  if (parser.state !== 'body') {
    parser.headerChunks.push(chunk);
    return;
  }
  await parser.nextChunk(chunk);
}

/**
 * The index in `chunk` of the LF that ends the header block, or -1; advances `headerBytes` and
 * `stateBytes` over the bytes it consumed, as mailauth's loop does.
 */
export function headerEnd(parser: HeaderScanner, chunk: Buffer): number {
  const before = parser.stateBytes;
  // The byte `back` positions before `chunk[i]`, from the chunk or the bytes seen before it.
  const byteBefore = (i: number, back: number): number | undefined =>
    i - back >= 0 ? chunk[i - back] : before[before.length + (i - back)];
  let end = -1;
  for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
    const seen = parser.headerBytes + i + 1;
    const b1 = byteBefore(i, 1);
    if (b1 === LF || (b1 === CR && byteBefore(i, 2) === LF) || seen === 1 || (seen === 2 && b1 === CR)) {
      end = i;
      break;
    }
  }
  const consumed = end === -1 ? chunk.length : end + 1;
  parser.headerBytes += consumed;
  const tail: number[] = [];
  for (let back = Math.min(4, before.length + consumed); back >= 1; back--) {
    tail.push(byteBefore(consumed, back)!);
  }
  parser.stateBytes = tail;
  return end;
}
