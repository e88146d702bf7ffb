/**
 * Enhanced filtering behind gateways (the article's "Enhanced Filtering for Connectors").
 *
 * When a domain's MX points at a third-party filter or an on-premises server that then hands
 * the mail to SES, SES computes SPF against the gateway's IP address: legitimate mail fails
 * SPF there and, forwarded, lands in `relay`. For mail that reached SES from a configured
 * trusted gateway, this module finds the first hop of the `Received` chain that is *not* a
 * trusted gateway and evaluates SPF (with mailauth) against that hop's IP and HELO, as SES
 * would have done had the sender connected to it directly.
 *
 * The chain walk (RFC 5321 section 4.4: each MTA prepends one `Received` field, so the fields
 * are read top down, newest first):
 *
 * 1. The topmost `Received` field must be SES's own (`by inbound-smtp.<region>.amazonaws.com`
 *    or an `amazonses.com` host): SES prepends it to the message it stores, so nobody else
 *    can write above it. The client IP it records is the only fact not written by a third
 *    party. No `Received` field, or a topmost one SES did not write: `no-received`.
 * 2. That IP must lie inside a `trustedGateways` CIDR, else `not-from-gateway` (SES's own
 *    verdict stands, unchanged).
 * 3. Skip-listing: a field is trusted only because the hop that wrote it is a trusted gateway.
 *    Walking down, each field's sending IP (the TCP-info address literal of its `from`
 *    clause) says who connected to its writer. An IP inside a trusted CIDR is another trusted
 *    gateway, so the next field down is trusted too; a loopback IP, or a field without a
 *    `from` clause (a local hand-off such as a content filter re-injecting), stays inside the
 *    same gateway. The first IP outside every trusted CIDR is the **first untrusted hop**:
 *    its IP and HELO are what SPF is checked against, and nothing below that field is read
 *    (whoever connected from there could have written anything, including a `Received` field
 *    claiming a trusted hop).
 * 4. A chain made only of trusted hops: `no-usable-hop`, and SES's verdict stands — the
 *    message started inside the trusted gateways, so the gateway's IP SES checked is its
 *    original client.
 * 5. A field written by a trusted gateway from which no client IP can be read (a HELO such as
 *    `x;` the gateway wrote verbatim ends mailauth's `from` clause early), or which reads two
 *    ways (a HELO such as `x (x [192.0.2.11]) by y` brings its own address literal and `by`
 *    clause, and a parser would read the client's choice of IP): `unreadable-hop`,
 *    and SPF is **not passed** (`PROCESSING_FAILED`). The original client is someone outside,
 *    unknown, and SES's verdict is about the gateway's IP — which a domain whose filter also
 *    relays its outbound mail lists in its SPF record, so keeping it would let any outsider
 *    pass SPF as that domain by sending a HELO the parser cannot read.
 *
 * Only the sending IP is taken from a field; HELO names and reverse-DNS names are the
 * client's claims, used for SPF's HELO identity only (RFC 7208 section 2.3).
 */
import { BlockList, isIP } from 'node:net';
// @ts-expect-error mailauth ships no type declarations for parse-received (typed below).
import { getClientAddress, parseReceived } from 'mailauth/lib/parse-received.js';
import { spf } from 'mailauth/lib/spf/index.js';
import type { Config } from './config.js';
import type { Resolver } from './dns/resolver.js';
import { spfResolver } from './dns/spf-resolver.js';
import { DnsTemporaryError } from './errors.js';

/** What mailauth's `parseReceived` returns for the clauses we read (untyped upstream). */
interface ParsedReceived {
  from?: { value: string; comment?: string };
  by?: { value: string; comment?: string };
}
const parseReceivedField = parseReceived as (field: string) => ParsedReceived | false;
const clientAddressOf = getClientAddress as (from: ParsedReceived['from']) => string | false;

/** SES's SPF verdict vocabulary (the `spfVerdict.status` of the receipt event). */
export type GatewaySpf = 'PASS' | 'FAIL' | 'GRAY' | 'PROCESSING_FAILED';

/** One trusted hop the walk went through, SES's side first. */
export interface TrustedHop {
  gateway: string;
  ip: string;
}

export type GatewayVerdict =
  | {
      applied: false;
      /**
       * - `not-from-gateway`: SES's client was not a trusted gateway (the normal case);
       * - `no-usable-hop`: it was, but the chain has no untrusted hop SPF could be checked
       *   against (only trusted hops);
       * - `unreadable-hop`: it was, and a field a trusted gateway wrote has no readable client
       *   IP: SPF is not passed (step 5 above);
       * - `no-received`: no `Received` field written by SES to start from.
       */
      why: 'not-from-gateway' | 'no-usable-hop' | 'no-received' | 'unreadable-hop';
      /** For people: what was found, and that SES's verdict is used. */
      note?: string;
    }
  | {
      applied: true;
      /** The trusted gateway that accepted the message from the first untrusted hop. */
      gateway: string;
      /** The first untrusted hop: SPF's client IP (an IPv4-mapped IPv6 address as IPv4). */
      ip: string;
      /** That hop's HELO name when it is a domain name, else null. */
      helo: string | null;
      /** The recomputed SPF, in SES's vocabulary (see {@link mapSpfResult}). */
      spf: GatewaySpf;
      /** mailauth's result keyword (`pass`, `fail`, `softfail`, `neutral`, `none`, `permerror`). */
      mailauthResult: string;
      /** The trusted hops walked, SES's client first. */
      trustedHops: TrustedHop[];
      /** SPF failed temporarily on the last attempt and counts as not passed (SPEC 2a). */
      temperror?: boolean;
    };

/** A header field as `parseHeaders` gives it (`key`) or as the SES event does (`name`). */
export type HeaderLike = { key: string; value: string } | { name: string; value: string };

export interface GatewayChainInput {
  /** The message's header fields, topmost first (the raw message SES stored, or `mail.headers`). */
  headers: readonly HeaderLike[];
  /** Envelope sender (MAIL FROM), null for a null reverse path. */
  envelopeSender: string | null;
  trustedGateways: Config['trustedGateways'];
  resolver: Resolver;
  /** The decision's clock; SPF itself has no time input, so this is informational. */
  now?: Date;
  /**
   * What an SPF `temperror` does: `throw` (default) a retryable {@link DnsTemporaryError};
   * `not-passed` (the last attempt, SPEC 2a) gives the verdict `PROCESSING_FAILED` — SES's own
   * word for a check it could not complete, never a pass — with `temperror: true`.
   */
  onTemporary?: 'throw' | 'not-passed';
}

/**
 * mailauth's SPF result → SES's verdict vocabulary, so rule 6 and `spf-pass` read it like
 * SES's own `spfVerdict`:
 *
 * | mailauth    | RFC 7208          | verdict             | why                                                     |
 * | ----------- | ----------------- | ------------------- | ------------------------------------------------------- |
 * | `pass`      | 2.6.3             | `PASS`              | the client is authorized                                |
 * | `fail`      | 2.6.4             | `FAIL`              | explicitly not authorized                               |
 * | `softfail`  | 2.6.5 (and 8.5)   | `FAIL`              | "probably not authorized": never an authentication; as |
 * |             |                   |                     | FAIL it also marks a spoof of an accepted domain        |
 * | `neutral`   | 2.6.2 (and 8.2)   | `GRAY`              | no assertion; must be treated exactly like `none`       |
 * | `none`      | 2.6.1 (and 4.3)   | `GRAY`              | no SPF record, or no valid domain to check              |
 * | `permerror` | 2.6.7             | `PROCESSING_FAILED` | the record is broken: neither authorized nor refused    |
 * | `temperror` | 2.6.6             | (throws)            | transient: {@link DnsTemporaryError}, retryable; never  |
 * |             |                   |                     | FAIL, never a downgrade to `relay`                      |
 *
 * Returns null for `temperror` (and anything unknown), which the caller turns into a
 * retryable error.
 */
export function mapSpfResult(result: string): GatewaySpf | null {
  switch (result) {
    case 'pass':
      return 'PASS';
    case 'fail':
    case 'softfail':
      return 'FAIL';
    case 'neutral':
    case 'none':
      return 'GRAY';
    case 'permerror':
      return 'PROCESSING_FAILED';
    default:
      return null;
  }
}

/** SES's inbound endpoints (`inbound-smtp.<region>.amazonaws.com`) and its own hosts. */
const SES_BY = /^(?:inbound-smtp\.[a-z0-9-]+\.amazonaws\.com|(?:[a-z0-9-]+\.)*amazonses\.com)\.?$/i;

/** A HELO name usable as SPF's HELO identity (RFC 7208 2.3: a domain, not an address literal). */
const HELO_DOMAIN =
  /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?\.?$/i;

/** An address literal alone, as in `from [192.0.2.1]` / `from [IPv6:2001:db8::1]`. */
const LITERAL_ONLY = /^\[(?:IPv6:)?([^\]\s]+)\](?::\d+)?$/i;

/** SPF evaluation budget (RFC 7208 4.6.4 suggests at least 20 seconds), then `temperror`. */
const SPF_TIME_LIMIT_MS = 20_000;

/**
 * An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, `::ffff:c000:201`) as IPv4, other addresses
 * unchanged (lower case). RFC 7208 section 5 treats such a client as IPv4.
 */
export function normalizeIp(ip: string): string {
  const address = ip.trim().toLowerCase();
  if (isIP(address) !== 6) return address;
  let host: string;
  try {
    host = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address;
  }
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (!m) return host;
  const hi = Number.parseInt(m[1]!, 16);
  const lo = Number.parseInt(m[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || (isIP(ip) === 4 && ip.startsWith('127.'));
}

interface GatewayMatcher {
  name: string;
  list: BlockList;
}

function matchers(gateways: Config['trustedGateways']): GatewayMatcher[] {
  return gateways.map((g) => {
    const list = new BlockList();
    for (const cidr of g.cidrs) {
      const [address = '', bits] = cidr.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      const prefix = bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits);
      list.addSubnet(address, prefix, family);
    }
    return { name: g.name, list };
  });
}

/** The trusted gateway whose CIDRs contain `ip`, if any (BlockList matches IPv4-mapped too). */
function gatewayOf(ip: string, gateways: readonly GatewayMatcher[]): string | undefined {
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  return gateways.find((g) => g.list.check(ip, family))?.name;
}

/**
 * A lookup of the trusted gateway (its name) whose CIDRs contain an IP address, for callers
 * outside the chain walk (`outbound-pools doctor` matches MX hosts with it).
 */
export function trustedGatewayMatcher(
  gateways: Config['trustedGateways'],
): (ip: string) => string | undefined {
  const list = matchers(gateways);
  return (ip) => (isIP(ip) === 0 ? undefined : gatewayOf(normalizeIp(ip), list));
}

interface Hop {
  /** No `from` clause at all: a local hand-off inside the host that wrote the field. */
  local: boolean;
  ip: string | null;
  helo: string | null;
  /**
   * The field reads two ways: its `from` clause holds more than one address literal, or the
   * field more than one `by` clause. The HELO inside `from` is the client's own words, written
   * verbatim by many MTAs, so a client can say `EHLO x (x [192.0.2.11]) by y` and make a
   * parser end the `from` clause at *its* TCP-info comment, before the writer's real one
   * (review L). Which IP the writer saw is then unknown.
   */
  ambiguous: boolean;
}

const BY_CLAUSE = /(?:^|[\s)])by[\s(]/gi;

/** See {@link Hop.ambiguous}. The date, after the last `;`, is left out. */
function isAmbiguous(value: string): boolean {
  const clauses = value.replace(/;[^;]*$/, '');
  const bys = [...clauses.matchAll(BY_CLAUSE)];
  if (bys.length > 1) return true;
  const before = bys[0] ? clauses.slice(0, bys[0].index) : clauses;
  return (before.match(/\[[^\]]*\]/g)?.length ?? 0) > 1;
}

/** The client IP and HELO of one `Received` field (null IP: none could be read). */
function readHop(value: string): Hop & { by: string | null } {
  const ambiguous = isAmbiguous(value);
  // A field that starts with a `from` clause is never a local hand-off, whatever a parser
  // makes of the clause: `EHLO (c) by x` leaves mailauth an empty `from` value.
  const fromWritten = /^\s*(?:\([^)]*\)\s*)*from\b/i.test(value);
  const parsed = parseReceivedField(`Received: ${value}`);
  if (!parsed) return { local: false, ip: null, helo: null, by: null, ambiguous };
  const by = parsed.by?.value ?? null;
  const from = parsed.from;
  if (!from?.value) return { local: !fromWritten && by !== null, ip: null, helo: null, by, ambiguous };
  const fromValue = from.value.trim();
  const literal = LITERAL_ONLY.exec(fromValue);
  // RFC 5321 4.4 TCP-info: `from helo (rdns [ip])`, `from helo ([ip])`, Exim's
  // `from [ip] (helo=name)`; mailauth reads the literal the receiving MTA recorded.
  let ip: string | false = clientAddressOf(from);
  // `from [ip]` with no TCP-info comment: the writer (a trusted gateway, or SES) recorded only
  // the address it saw.
  if (!ip && literal?.[1] && isIP(literal[1])) ip = literal[1];
  let helo: string | null = literal ? null : fromValue;
  if (literal) {
    const claimed = /(?:^|[\s(;,])(?:helo|ehlo)=\s*([^\s);,]+)/i.exec(from.comment ?? '');
    helo = claimed?.[1] ?? null;
  }
  if (helo !== null && !HELO_DOMAIN.test(helo)) helo = null;
  return {
    local: false,
    ip: ip ? normalizeIp(ip) : null,
    helo: helo?.replace(/\.$/, '').toLowerCase() ?? null,
    by,
    ambiguous,
  };
}

function headerName(h: HeaderLike): string {
  return ('key' in h ? h.key : h.name).toLowerCase();
}

const SES_FALLBACK = "SES's own SPF verdict is used";

/**
 * Walks the `Received` chain of a message SES received and, when SES's client was a trusted
 * gateway, recomputes SPF against the first untrusted hop (module comment).
 * @throws DnsTemporaryError (retryable) when the recomputed SPF is `temperror` (RFC 7208
 *   2.6.6): a temporary DNS failure is never read as FAIL (on the last attempt, with
 *   `onTemporary: 'not-passed'`, it is `PROCESSING_FAILED` instead: not a pass either).
 */
export async function evaluateGatewayChain(input: GatewayChainInput): Promise<GatewayVerdict> {
  const received = input.headers.filter((h) => headerName(h) === 'received').map((h) => h.value);
  const top = received[0];
  if (top === undefined) {
    return { applied: false, why: 'no-received', note: `the message has no Received field; ${SES_FALLBACK}` };
  }
  const sesHop = readHop(top);
  if (sesHop.by === null || !SES_BY.test(sesHop.by)) {
    return {
      applied: false,
      why: 'no-received',
      note: `the topmost Received field was not written by SES (by ${sesHop.by ?? 'nobody'}); ${SES_FALLBACK}`,
    };
  }
  // SES's SPF verdict is about the IP that really connected to it; only this walk can be misled
  // by a HELO written into SES's field, so a field that reads two ways keeps SES's verdict.
  if (sesHop.ambiguous) {
    return {
      applied: false,
      why: 'not-from-gateway',
      note: `SES's Received field reads two ways (a HELO holding a client address or a by clause); ${SES_FALLBACK}`,
    };
  }
  if (sesHop.ip === null) {
    return {
      applied: false,
      why: 'no-usable-hop',
      note: `SES's Received field names no client IP; ${SES_FALLBACK}`,
    };
  }
  const gateways = matchers(input.trustedGateways);
  let writer = gatewayOf(sesHop.ip, gateways);
  if (writer === undefined) {
    return {
      applied: false,
      why: 'not-from-gateway',
      note: `SES's client ${sesHop.ip} is not a trusted gateway`,
    };
  }
  const trustedHops: TrustedHop[] = [{ gateway: writer, ip: sesHop.ip }];

  let first: { ip: string; helo: string | null; gateway: string } | undefined;
  for (const value of received.slice(1)) {
    const hop = readHop(value);
    if (hop.local) continue;
    if (hop.ip === null || hop.ambiguous) {
      return {
        applied: false,
        why: 'unreadable-hop',
        note: `a Received field written by trusted gateway ${writer} has no readable client IP${hop.ambiguous ? ' (it reads two ways: a HELO holding a client address or a by clause)' : ''}: the original client is unknown and SES's SPF verdict is about the gateway, so SPF is not passed`,
      };
    }
    if (isLoopback(hop.ip)) continue;
    const next = gatewayOf(hop.ip, gateways);
    if (next === undefined) {
      first = { ip: hop.ip, helo: hop.helo, gateway: writer };
      break;
    }
    trustedHops.push({ gateway: next, ip: hop.ip });
    writer = next;
  }
  if (first === undefined) {
    return {
      applied: false,
      why: 'no-usable-hop',
      note: `every Received hop is a trusted gateway (last: ${writer}): the message started there; ${SES_FALLBACK}`,
    };
  }

  // RFC 7208 2.4: a null reverse path is checked as postmaster@<HELO>; without a usable HELO
  // there is no identity to check, which is "none" (4.3).
  if (input.envelopeSender === null && first.helo === null) {
    return { applied: true, ...first, spf: 'GRAY', mailauthResult: 'none', trustedHops };
  }
  const result = await spf({
    sender: input.envelopeSender ?? '',
    ip: first.ip,
    ...(first.helo !== null && { helo: first.helo }),
    mta: 'outbound-pools',
    // An SPF record over MAX_SPF_RECORD_OCTETS is a permerror (`dns/spf-resolver.ts`): a
    // sender's name server answers every name of its include: chain, with up to 64 KB each.
    resolver: spfResolver(input.resolver),
    maxElapsedTime: SPF_TIME_LIMIT_MS,
  });
  const keyword = String(result.status.result);
  const mapped = mapSpfResult(keyword);
  if (mapped === null && input.onTemporary === 'not-passed') {
    return {
      applied: true,
      ...first,
      spf: 'PROCESSING_FAILED',
      mailauthResult: keyword,
      trustedHops,
      temperror: true,
    };
  }
  if (mapped === null) {
    throw new DnsTemporaryError(result.domain, 'TXT', {
      cause: new Error(result.status.comment ?? `SPF ${keyword} for ${result.domain}`),
    });
  }
  return { applied: true, ...first, spf: mapped, mailauthResult: keyword, trustedHops };
}
