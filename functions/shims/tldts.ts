/**
 * Bundle-time stand-in for `tldts` (aliased by `lib/lambda-bundling.ts`): `getDomain`, the one
 * function the router's bundle calls (mailauth's DMARC alignment, `functions/core/dkim.ts`'s
 * `organizationalDomain`), over the same Public Suffix List tables stored compactly.
 *
 * `tldts` keeps its trie as ~21,000 numbers in array literals (~123 KB of the bundle, every
 * token of them in the source map) and hashes all ~10,000 labels when it loads, in the
 * interpreter (issue 16). Here the same tables are generated from the installed `tldts` by
 * `npm run shims` as 56 KB of base64 (`functions/shims/tldts-trie.ts`, deflated), and the
 * labels are hashed only where a lookup goes. With the ASCII bundle, the router's cold start
 * took 11 ms less CPU (`bench/README.md`, "Cold start").
 *
 * Parsing is `tldts-core`'s, as in `tldts`; the suffix lookup below is ported from tldts 7.4.15
 * (`src/suffix-trie.ts`). `test/core/tldts-shim.test.ts` checks that the tables match the
 * installed `tldts` and compares `getDomain` with it on every rule of the list and on
 * generated names.
 *
 * The ported code keeps tldts' license (MIT), reproduced as its terms require:
 *
 * Copyright (c) 2017 Thomas Parisot, 2018 Rémi Berson
 *
 * Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
 * associated documentation files (the "Software"), to deal in the Software without restriction,
 * including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense,
 * and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so,
 * subject to the following conditions:
 *
 * The above copyright notice and this permission notice shall be included in all copies or substantial
 * portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
 * LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN
 * NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY,
 * WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE
 * SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
 */
import { inflateRawSync } from 'node:zlib';
import {
  fastPathLookup,
  getEmptyResult,
  type IOptions,
  type IPublicSuffix,
  type ISuffixLookupOptions,
  parseImpl,
  resetResult,
} from 'tldts-core';
import * as trie from './tldts-trie.js';

/** The tables of `tldts-trie.ts`, unpacked (`bin/tldts-trie.ts` `packTrie` says the layout). */
export function unpackTrie() {
  const raw = inflateRawSync(Buffer.from(trie.packed, 'base64'));
  let at = 0;
  // Each part copied into a buffer of its own, so the 16-bit views are aligned whatever the
  // inflated buffer's offset.
  const take = (byteLength: number) => {
    const part = new Uint8Array(raw.subarray(at, at + byteLength));
    at += byteLength;
    return part;
  };
  const edgeStart = new Uint16Array(take(2 * (trie.nodes + 1)).buffer);
  const edgeChild = new Uint16Array(take(2 * trie.edges).buffer);
  const nodeFlags = take(trie.nodes);
  const edgeLength = take(trie.edges);
  const labelText = raw.toString('utf8', at);
  return { edgeStart, edgeChild, nodeFlags, edgeLength, labelText };
}

const { edgeStart, edgeChild, nodeFlags, edgeLength, labelText } = unpackTrie();
const { rulesRoot, exceptionsRoot } = trie;

// Where each edge's label starts in `labelText`: a running sum over the edges.
const edgeOffset = new Uint32Array(trie.edges);
for (let edge = 0, offset = 0; edge < trie.edges; edge++) {
  edgeOffset[edge] = offset;
  offset += edgeLength[edge]!;
}

/**
 * The hash of each edge's label and each node's '*' edge (or -1). tldts computes them for every
 * edge when it loads (djb2 over the label read right to left); here they are computed for a
 * node's edges when a lookup first reaches it: a message's lookups reach a handful of the
 * ~600 nodes. The edges of a node are sorted by this hash (tldts' generator), which
 * `findEdge` relies on.
 */
const edgeHash = new Uint32Array(trie.edges);
const wildcardEdge = new Int32Array(trie.nodes);
const hashed = new Uint8Array(trie.nodes);

function hashEdgesOf(node: number): void {
  wildcardEdge[node] = -1;
  for (let edge = edgeStart[node]!; edge < edgeStart[node + 1]!; edge++) {
    const offset = edgeOffset[edge]!;
    let hash = 5381;
    for (let i = offset + edgeLength[edge]! - 1; i >= offset; i--)
      hash = (hash * 33) ^ labelText.charCodeAt(i);
    edgeHash[edge] = hash >>> 0;
    if (edgeLength[edge] === 1 && labelText.charCodeAt(offset) === 42 /* '*' */) wildcardEdge[node] = edge;
  }
  hashed[node] = 1;
}

const ICANN = 1;
const PRIVATE = 2;

// The last match of `walk`, in module scope as in tldts (lookups are synchronous).
let matchNode = -1;
let matchStart = 0;
let matchEnd = 0;

function labelEquals(edge: number, hostname: string, start: number, length: number): boolean {
  if (edgeLength[edge] !== length) return false;
  const offset = edgeOffset[edge]!;
  for (let i = 0; i < length; i++) {
    if (labelText.charCodeAt(offset + i) !== hostname.charCodeAt(start + i)) return false;
  }
  return true;
}

/** The child edge of `node` labelled `hostname[start, start + length)`: edges are sorted by hash. */
function findEdge(node: number, hash: number, hostname: string, start: number, length: number): number {
  if (hashed[node] === 0) hashEdgesOf(node);
  let lo = edgeStart[node]!;
  let hi = edgeStart[node + 1]!;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const value = edgeHash[mid]!;
    if (value < hash) lo = mid + 1;
    else if (value > hash) hi = mid;
    else {
      for (let e = mid; e >= lo && edgeHash[e] === hash; e--) {
        if (labelEquals(e, hostname, start, length)) return e;
      }
      for (let e = mid + 1; e < hi && edgeHash[e] === hash; e++) {
        if (labelEquals(e, hostname, start, length)) return e;
      }
      return -1;
    }
  }
  return -1;
}

/** One step down from `node` by a label, or by the node's '*' edge; -1 when neither exists. */
function descend(node: number, hash: number, hostname: string, start: number, length: number): number {
  const edge = findEdge(node, hash >>> 0, hostname, start, length);
  return edge === -1 ? wildcardEdge[node]! : edge;
}

/**
 * Walks `hostname`'s labels right to left from `root`, recording the deepest node whose flags
 * pass `allowedMask` (and that match's label boundaries). True when anything matched.
 */
function walk(hostname: string, root: number, allowedMask: number): boolean {
  let node = root;
  let end = hostname.length;
  let hash = 5381;
  matchNode = -1;
  for (let i = hostname.length - 1; i >= 0; i--) {
    const code = hostname.charCodeAt(i);
    if (code !== 46 /* '.' */) {
      hash = (hash * 33) ^ code;
      continue;
    }
    const edge = descend(node, hash, hostname, i + 1, end - i - 1);
    if (edge === -1) return matchNode !== -1;
    node = edgeChild[edge]!;
    if ((nodeFlags[node]! & allowedMask) !== 0) {
      matchNode = node;
      matchStart = i + 1;
      matchEnd = end;
    }
    end = i;
    hash = 5381;
  }
  const edge = descend(node, hash, hostname, 0, end);
  if (edge !== -1) {
    node = edgeChild[edge]!;
    if ((nodeFlags[node]! & allowedMask) !== 0) {
      matchNode = node;
      matchStart = 0;
      matchEnd = end;
    }
  }
  return matchNode !== -1;
}

/** tldts' `suffixLookup`: the public suffix of `hostname` into `out`. */
function suffixLookup(hostname: string, options: ISuffixLookupOptions, out: IPublicSuffix): void {
  if (fastPathLookup(hostname, options, out)) return;
  const allowedMask = (options.allowPrivateDomains ? PRIVATE : 0) | (options.allowIcannDomains ? ICANN : 0);
  // Exceptions come first and strip their own left-most label ('!www.ck': the suffix of www.ck is ck).
  if (walk(hostname, exceptionsRoot, allowedMask)) {
    out.isIcann = (nodeFlags[matchNode]! & ICANN) !== 0;
    out.isPrivate = (nodeFlags[matchNode]! & PRIVATE) !== 0;
    out.publicSuffix = hostname.slice(matchEnd + 1);
    return;
  }
  if (walk(hostname, rulesRoot, allowedMask)) {
    out.isIcann = (nodeFlags[matchNode]! & ICANN) !== 0;
    out.isPrivate = (nodeFlags[matchNode]! & PRIVATE) !== 0;
    out.publicSuffix = hostname.slice(matchStart);
    return;
  }
  // No rule: the prevailing '*' rule makes the right-most label the suffix.
  out.isIcann = false;
  out.isPrivate = false;
  const lastDot = hostname.lastIndexOf('.');
  out.publicSuffix = lastDot === -1 ? hostname : hostname.slice(lastDot + 1);
}

// One result object reused by every call, as tldts does for everything but `parse`.
const RESULT = getEmptyResult();

/** The registrable domain of a URL or host name (tldts' `getDomain`), or null. */
export function getDomain(url: string, options?: Partial<IOptions>): string | null {
  resetResult(RESULT);
  return parseImpl(url, 3 /* FLAG.DOMAIN */, suffixLookup, options, RESULT).domain;
}
