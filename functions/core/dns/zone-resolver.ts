/**
 * A `Resolver` over a declarative zone map: the `--zones FILE` input of the CLI and the DNS of
 * the tests. No network is involved, and the answers and errors look exactly like Node's.
 *
 * Format (JSON):
 *
 *     {
 *       "example.com": {
 *         "A": ["192.0.2.1"], "AAAA": ["2001:db8::1"],
 *         "MX": [{ "exchange": "mx.example.com", "priority": 10 }],
 *         "TXT": ["v=spf1 -all", ["chunk1", "chunk2"]],
 *         "NS": ["ns1.example.com"]
 *       },
 *       "www.example.com": { "CNAME": ["example.com."] },
 *       "broken.example": { "SERVFAIL": true }
 *     }
 *
 * - Names compare case-insensitively (ASCII, RFC 4343) and a trailing dot is ignored.
 * - A name that is absent is NXDOMAIN (`ENOTFOUND`); a present name without the queried type
 *   (or with an empty list for it) is NODATA (`ENODATA`), RFC 2308 section 2.2.
 * - `"SERVFAIL": true` makes every query for the name fail with `ESERVFAIL`.
 * - A TXT entry that is a string is one character-string (`"x"` answers `[["x"]]`); an array
 *   is one record of several character-strings (RFC 1035 section 3.3.14). Lengths are not
 *   limited to 255 octets, so a long DKIM key can be written as one string.
 * - A CNAME (exactly one target, no other data at the name: RFC 1034 section 3.6.2,
 *   RFC 2181 section 10.1) is followed for every other type, as a recursive resolver does
 *   (RFC 1034 section 3.6.2); a chain longer than 8 or a loop is `ESERVFAIL`.
 * - Names in answers (MX exchange, CNAME, NS, PTR) lose their trailing dot like Node's, so a
 *   null MX written `"."` is answered `exchange: ''`.
 * - Supported types: A, AAAA, MX, TXT, CNAME, NS, PTR. A query for another type of a present
 *   name is NODATA.
 */
import * as v from 'valibot';
import { InvalidInputError } from '../errors.js';
import { dictionary, type Problem, problemOf } from '../validation.js';
import {
  asResolver,
  type DnsAnswer,
  dnsError,
  type MxRecord,
  normalizeName,
  type Resolver,
} from './resolver.js';

/** How many CNAMEs a lookup follows before it gives up with SERVFAIL. */
const MAX_CNAME_HOPS = 8;

/**
 * A domain name as written in a zone: at most 253 characters without the trailing dot, labels
 * of 1 to 63 characters (RFC 1035 section 2.3.4), no whitespace. Underscores and other
 * characters are allowed since DNS itself allows them (`_dmarc`, `_domainkey`).
 */
function isZoneName(name: string): boolean {
  const n = normalizeName(name);
  if (n.length === 0 || n.length > 253 || /\s/.test(n)) return false;
  return n.split('.').every((label) => label.length >= 1 && label.length <= 63);
}

const NOT_A_NAME = 'not a domain name (labels of 1-63 characters, at most 253 in all, no spaces)';
const DomainNameSchema = v.pipe(v.string(), v.check(isZoneName, NOT_A_NAME));

/** The MX exchange may also be the root (`"."` or `""`): the null MX of RFC 7505. */
const MxSchema = v.strictObject({
  exchange: v.union([v.literal(''), v.literal('.'), DomainNameSchema]),
  priority: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)),
});

const TxtSchema = v.union([v.string(), v.pipe(v.array(v.string()), v.minLength(1))]);

/** The records of one name. Unknown keys (record types) are rejected. */
export const ZoneEntrySchema = v.strictObject({
  A: v.optional(v.array(v.pipe(v.string(), v.ipv4()))),
  AAAA: v.optional(v.array(v.pipe(v.string(), v.ipv6()))),
  MX: v.optional(v.array(MxSchema)),
  TXT: v.optional(v.array(TxtSchema)),
  CNAME: v.optional(
    v.pipe(v.array(DomainNameSchema), v.length(1, 'a name has exactly one CNAME (RFC 2181 section 10.1)')),
  ),
  NS: v.optional(v.array(DomainNameSchema)),
  PTR: v.optional(v.array(DomainNameSchema)),
  SERVFAIL: v.optional(v.boolean()),
});

const RECORD_TYPES = ['A', 'AAAA', 'MX', 'TXT', 'CNAME', 'NS', 'PTR'] as const;

/** The zone map: owner name to its records. */
export const ZonesSchema = dictionary(DomainNameSchema, ZoneEntrySchema);

export type ZoneEntry = v.InferOutput<typeof ZoneEntrySchema>;
export type Zones = v.InferOutput<typeof ZonesSchema>;

/** What relates names and records to each other, checked once every entry is valid. */
function zoneProblems(zones: Zones): Problem[] {
  const problems: Problem[] = [];
  const seen = new Map<string, string>();
  for (const [name, entry] of Object.entries(zones)) {
    const key = normalizeName(name);
    const previous = seen.get(key);
    if (previous !== undefined) problems.push({ path: [name], message: `same name as "${previous}"` });
    seen.set(key, name);
    if (entry.CNAME !== undefined) {
      const others = RECORD_TYPES.filter((t) => t !== 'CNAME' && entry[t] !== undefined);
      if (others.length > 0) {
        problems.push({
          path: [name, 'CNAME'],
          message: `a CNAME cannot coexist with ${others.join(', ')} (RFC 1034 section 3.6.2)`,
        });
      }
    }
  }
  return problems;
}

/** `"mail.example" MX[0].priority` for the path of a problem. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const [i, part] of path.entries()) {
    if (i === 0) out = JSON.stringify(String(part));
    else if (typeof part === 'number') out += `[${part}]`;
    else out += i === 1 ? ` ${String(part)}` : `.${String(part)}`;
  }
  return out;
}

/**
 * Validates a zone map (e.g. the parsed `--zones` JSON file).
 * @throws InvalidInputError `zones: "name" TYPE[i]: problem; ...` for every problem found.
 */
export function parseZones(json: unknown): Zones {
  const result = v.safeParse(ZonesSchema, json);
  const problems = result.success ? zoneProblems(result.output) : result.issues.map(problemOf);
  if (!result.success || problems.length > 0) {
    const described = problems.map((p) => {
      const where = formatPath(p.path);
      return where ? `${where}: ${p.message}` : p.message;
    });
    throw new InvalidInputError('zones', described.join('; '), {
      ...(result.success ? {} : { cause: new v.ValiError(result.issues) }),
    });
  }
  return result.output;
}

function stripDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** A fresh copy of the records of `type`, or undefined when there are none. */
function answer(entry: ZoneEntry, type: string): DnsAnswer | undefined {
  switch (type) {
    case 'A':
    case 'AAAA':
      return entry[type]?.slice();
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return entry[type]?.map(stripDot);
    case 'MX':
      return entry.MX?.map((mx): MxRecord => ({ exchange: stripDot(mx.exchange), priority: mx.priority }));
    case 'TXT':
      return entry.TXT?.map((txt) => (typeof txt === 'string' ? [txt] : txt.slice()));
    default:
      return undefined;
  }
}

/**
 * A resolver answering from `zones` (validated again here, so a hand-built map gets the same
 * checks as a parsed file). The map is copied: changing `zones` later has no effect, and
 * every answer is a fresh copy that callers may mutate.
 * @throws InvalidInputError when `zones` is not a valid zone map.
 */
export function zoneResolver(zones: Zones): Resolver {
  const byName = new Map<string, ZoneEntry>();
  for (const [name, entry] of Object.entries(parseZones(structuredClone(zones)))) {
    byName.set(normalizeName(name), entry);
  }

  return asResolver(async (name, rrtype) => {
    const type = rrtype.toUpperCase();
    let current = normalizeName(name);
    for (let hops = 0; ; hops++) {
      const entry = byName.get(current);
      if (entry === undefined) throw dnsError('ENOTFOUND', name, type);
      if (entry.SERVFAIL === true) throw dnsError('ESERVFAIL', name, type);
      const target = entry.CNAME?.[0];
      if (target !== undefined && type !== 'CNAME') {
        if (hops >= MAX_CNAME_HOPS) throw dnsError('ESERVFAIL', name, type);
        current = normalizeName(target);
        continue;
      }
      const records = answer(entry, type);
      if (records === undefined || records.length === 0) throw dnsError('ENODATA', name, type);
      return records;
    }
  });
}
