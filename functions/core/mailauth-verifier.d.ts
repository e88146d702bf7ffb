/**
 * Types for mailauth's (untyped) DKIM verifier class, which `dkim.ts` extends to verify
 * signatures within a budget, and for the stream helper `dkimVerify` feeds it with.
 */
declare module 'mailauth/lib/dkim/dkim-verifier.js' {
  import { Writable } from 'node:stream';
  import type { DKIMVerifyResult } from 'mailauth';

  /** A signature as `messageHeaders` prepared it (`prepareSignature`). */
  export interface PreparedSignature {
    type: 'DKIM' | 'ARC';
    signingDomain?: string;
    selector?: string;
    hashAlgo?: string;
    /** Not processed at all (unknown algorithm, missing tag...). */
    skip?: string;
    /** Reported neutral without a key lookup. */
    invalid?: string;
    bodyHashKey?: string;
    fallbackBodyHashKey?: string;
    /** The canonicalization mailauth also tries when the signature's own does not verify. */
    fallbackCanonicalization?: string;
    /** Its tags as parsed (`h=`: the fields it covers, as written). */
    parsed?: { h?: { value?: unknown } };
  }

  /** mailauth's body hashers (`lib/dkim/body/relaxed.js`, `simple.js`). */
  export interface BodyHasher {
    /** The `l=` limit, `''` for none. */
    maxBodyLength: number | '';
    maxSizeReached: boolean;
    canonicalizedLength: number;
    byteLength: number;
    update(chunk: Buffer | null, final?: boolean): void;
    digest(encoding: 'base64'): string;
    setContentType(contentType: unknown): void;
    getMimeStructureStart(): number | undefined;
    /** Where every canonical chunk goes, the final line end included. */
    _updateBodyHash(chunk: Buffer): void;
  }

  export class DkimVerifier extends Writable {
    constructor(options: Record<string, unknown>);
    signatureHeaders: PreparedSignature[];
    /** One body hasher per `canonicalization:hash:length` key. */
    bodyHashes: Map<string, unknown>;
    sealBodyHashKey?: string;
    strict: boolean;
    minBitLength?: number;
    resolver: (name: string, rrtype: string) => Promise<unknown>;
    /** One lookup (a promise, shared) per key record; a prefetched one is reused. */
    keyCache: {
      get(
        type: string,
        name: string,
        minBitLength: number | undefined,
        options: Record<string, unknown>,
      ): Promise<unknown>;
    };
    results: DKIMVerifyResult['results'];
    arc: unknown;
    messageHeaders(headers: unknown): Promise<void>;
    /** Verifies one prepared signature (its key looked up, its header hash computed). */
    verifySignature(signatureHeader: PreparedSignature, fallback?: boolean): Promise<unknown>;
    // The message parser it extends (`lib/dkim/message-parser.js`): see `header-end.ts`.
    state: string;
    stateBytes: number[];
    headerBytes: number;
    headerChunks: Buffer[];
    emitHeaders(chunk?: Buffer): Promise<void>;
    nextChunk(chunk: Buffer): Promise<void>;
    processChunk(chunk: Buffer): Promise<void>;
  }
}

declare module 'mailauth/lib/dkim/message-parser.js' {
  import { Writable } from 'node:stream';

  /** Separates the header block from the body and hands both on (`header-end.ts`). */
  export class MessageParser extends Writable {
    constructor(options?: Record<string, unknown>);
    state: string;
    stateBytes: number[];
    headerBytes: number;
    headerChunks: Buffer[];
    headers: unknown;
    emitHeaders(chunk?: Buffer): Promise<void>;
    nextChunk(chunk: Buffer): Promise<void>;
    messageHeaders(headers: unknown): Promise<void>;
    processChunk(chunk: Buffer): Promise<void>;
  }
}

declare module 'mailauth/lib/tools.js' {
  import type { Writable } from 'node:stream';
  export function writeToStream(
    stream: Writable,
    input: Buffer | NodeJS.ReadableStream | string,
  ): Promise<void>;
  /** A DKIM/ARC key record looked up with `resolver` and parsed (`dkim-keys.ts`). */
  export function getPublicKey(
    type: string,
    name: string,
    minBitLength: number | undefined,
    resolver: (name: string, rrtype: string) => Promise<unknown>,
    options?: Record<string, unknown>,
  ): Promise<unknown>;
  /** mailauth's per-message key lookup cache (`dkim-keys.ts` replaces it). */
  export function createKeyCache(resolver: (name: string, rrtype: string) => Promise<unknown>): {
    resolver: unknown;
    get(
      type: string,
      name: string,
      minBitLength: number | undefined,
      options?: Record<string, unknown>,
    ): Promise<unknown>;
  };
  /** A domain name with its U-labels as A-labels (RFC 8616 3). */
  export function toALabel(domain: string): string;
}
