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
    /** Not processed at all (unknown algorithm, missing tag...). */
    skip?: string;
    /** Reported neutral without a key lookup. */
    invalid?: string;
    bodyHashKey?: string;
    fallbackBodyHashKey?: string;
  }

  export class DkimVerifier extends Writable {
    constructor(options: Record<string, unknown>);
    signatureHeaders: PreparedSignature[];
    /** One body hasher per `canonicalization:hash:length` key. */
    bodyHashes: Map<string, unknown>;
    sealBodyHashKey?: string;
    results: DKIMVerifyResult['results'];
    arc: unknown;
    messageHeaders(headers: unknown): Promise<void>;
  }
}

declare module 'mailauth/lib/tools.js' {
  import type { Writable } from 'node:stream';
  export function writeToStream(
    stream: Writable,
    input: Buffer | NodeJS.ReadableStream | string,
  ): Promise<void>;
}
