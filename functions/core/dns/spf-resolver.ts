/**
 * The resolver SPF is evaluated through (`gateways.ts`), with a bound on the size of an SPF
 * record. A sender chooses the names SPF looks up (its envelope domain, then every `include:`
 * and `redirect=` of its records) and answers them from its own name server, with TXT records
 * of up to ~64 KB each (a DNS message is at most 65,535 octets, RFC 1035 section 4.2.2).
 * mailauth splits every TXT record of the answer into terms and checks each of them, one
 * modifier at a time with an array splice: eleven chained records of 64 KB (the first and its
 * ten lookups, RFC 7208 section 4.6.4) cost 70-230 ms of CPU against ~1 ms for a whole
 * ordinary message (December 2026, `test/hardening/hostile-dns.test.ts`).
 *
 * - An SPF record (a TXT record whose first term is `v=spf1`, as mailauth selects them,
 *   RFC 7208 section 4.5) longer than {@link MAX_SPF_RECORD_OCTETS} is a `permerror`: the
 *   record is not evaluated, and SPF is not passed (`PROCESSING_FAILED`). Never `none` or
 *   `fail` either: the domain did publish a policy, one we decline to read.
 * - The SPF records of one evaluation together longer than {@link MAX_SPF_CHAIN_OCTETS} are a
 *   `permerror` too, at the record that goes over.
 * - Any other TXT record longer than that is left out of the answer: mailauth discards records
 *   that are not SPF records anyway (RFC 7208 section 4.5), after splitting them into terms.
 *   Shorter ones are kept when the answer holds only one of them (an `exp=` explanation, RFC
 *   7208 section 6.2, is one); two or more are handed on as two empty records (no explanation
 *   is read from an answer of several records, and no SPF record is selected from them).
 * - The SPF records of one evaluation holding more than {@link MAX_SPF_MACROS} macros together
 *   are a `permerror`; an explanation holding more than what is left of that budget is handed on empty (no
 *   explanation).
 *
 * - An A or AAAA answer of more than {@link MAX_SPF_ADDRESSES} addresses is a `permerror` too,
 *   and so are the answers of one evaluation with more than {@link MAX_SPF_CHAIN_ADDRESSES}
 *   together, and an evaluation asking more than {@link MAX_SPF_ADDRESS_QUERIES} A and AAAA
 *   questions.
 *
 * Other record types pass unchanged.
 */
import { asResolver, type Resolver } from './resolver.js';

/**
 * Longest SPF record read, in characters of the record's joined strings (octets: an SPF record
 * is ASCII, RFC 7208 section 3). RFC 7208 section 3.4 asks publishers to keep the whole answer
 * within 512 octets, since a longer one needs DNS over TCP, which "could be silently ignored"
 * by verifiers; large senders split their ranges over `include:`d records of a few hundred
 * octets. 4,096 is eight times that recommendation (sixteen 255-octet strings); the chain's
 * records together are bounded apart ({@link MAX_SPF_CHAIN_OCTETS}).
 */
export const MAX_SPF_RECORD_OCTETS = 4096;

/**
 * Most octets of SPF records read in one evaluation, the records of the whole chain together
 * (the first and up to ten `include:`d or `redirect=`ed ones, RFC 7208 section 4.6.4). What an
 * evaluation costs grows with the terms it reads: eleven records of 4,096 octets of `ip4:`
 * terms (~3,300 terms, each parsed and matched) cost ~8.6 ordinary messages here (December
 * 2026), modifiers ~6. Chains of the largest senders total a few kilobytes (their records are
 * kept within RFC 7208 3.4's 512 octets, ten lookups at most); 8,192 is twice the most one
 * record may be.
 */
export const MAX_SPF_CHAIN_OCTETS = 8192;

/**
 * Most addresses read from one A or AAAA answer during SPF (the `a` and `mx` mechanisms, RFC
 * 7208 sections 5.3 and 5.4; the bound applies to every A/AAAA answer SPF reads, `exists`'s
 * too, since the resolver is not told which term asks — an `exists` name answering more than
 * 256 addresses is as unheard of). The sender's name server answers the names its record names,
 * with up to ~4,000 addresses each (a 64 KB DNS message of 16-octet A records), and mailauth
 * parses and matches every one: nine `a:` terms of 4,000 addresses cost ~23 ms behind a
 * trusted gateway, against ~1 ms for a whole ordinary message (December 2026). An answer over
 * the bound is a `permerror`, never a shorter list: matching fewer addresses than published
 * can turn a `-a` that should have matched into a later `+all`. Round-robin sets are a few
 * addresses; 256 already needs DNS over TCP (RFC 7208 3.4's 512 octets hold ~30).
 */
export const MAX_SPF_ADDRESSES = 256;

/**
 * Most addresses read in one evaluation, every A and AAAA answer together. An `mx` term looks
 * up the addresses of up to ten mail exchangers (RFC 7208 section 4.6.4), and those lookups do
 * not count against the evaluation's ten: nine `mx:` terms of ten exchangers of 256 addresses
 * each are ~23,000 addresses within the bound above, ~29 ordinary messages of CPU here
 * (December 2026). A domain's mail exchangers have a few addresses each; 1,024 is four answers
 * at their bound, and costs ~2 ordinary messages.
 */
export const MAX_SPF_CHAIN_ADDRESSES = 1024;

/**
 * Most A and AAAA questions one evaluation asks. mailauth asks both for every host it looks up
 * (an IPv4 client's `A`, and `AAAA` to tell a void name from a single-stack host), and RFC 7208
 * section 4.6.4 lets each `mx` term look up ten exchangers beyond the evaluation's ten lookups:
 * nine `mx:` terms ask 180 questions, ~6.6 ordinary messages of CPU here even with a few
 * addresses each (December 2026). 40 is twenty hosts: an `mx` term's ten exchangers and ten
 * more; a domain's record names its own mail exchangers once.
 */
export const MAX_SPF_ADDRESS_QUERIES = 40;

/**
 * Most macros (`%{...}`, RFC 7208 section 7) in the SPF records of one evaluation together, and
 * in one explanation record. mailauth expands every modifier's value up front, lookups or not
 * (an unknown modifier such as `x=%{S}` costs no DNS lookup), and an explanation (`exp=`) is
 * expanded whole; an upper-case macro letter URL-escapes its value a byte at a time (RFC 7208
 * section 7.3). The explanation's macros count with the records' (it is read last). 8 KB of `x=%{S}` terms with a sender of 255 octets cost ~20-29 ordinary
 * messages of CPU here, a 4 KB explanation of `%{S}` ~15 (December 2026). Records that use
 * macros name a few (`exists:%{i}._spf.example`, `include:%{ir}.%{v}.%{d}.spf.example`, an
 * explanation with `%{i}` and `%{d}`); 32 is three for every lookup an evaluation may make
 * and a few for its explanation, and 32 of the dearest (upper case, a sender of 255 octets)
 * cost about one ordinary message (64 cost ~3.5).
 */
export const MAX_SPF_MACROS = 32;

/** Counts the macros of `text` as mailauth reads them (`%%` is a literal percent sign). */
function macrosIn(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/%%|%\{/g)) if (m[0] === '%{') n++;
  return n;
}

/**
 * `text` with the delimiters of each macro (RFC 7208 7.1: `%{` letter, digits, `r`, delimiters
 * `}`) written with `-` last. mailauth splits a value on a character class of the delimiters
 * in the order written, escaping all but `-`: `%{l.-+}` became `/[\.-\+]/`, "Range out of
 * order", which it reports as a temperror, so the sender's record had its message retried
 * twice and then decided as not passed. The delimiters are a set: their order means nothing,
 * and a `-` last in a character class is itself.
 */
export function withDashLast(text: string): string {
  // `%%` is a literal percent sign (RFC 7208 7.1): matched first, so `%%{l-.}` stays text.
  return text.replace(/%%|%\{([a-z]\d*r?)([-.+,/_=]+)\}/gi, (whole, head?: string, delimiters?: string) =>
    head !== undefined && delimiters?.includes('-') ? `%{${head}${delimiters.replaceAll('-', '')}-}` : whole,
  );
}

/** A TXT record's strings joined, as mailauth reads it. */
function recordText(record: unknown): string {
  return Array.isArray(record) ? record.join('') : String(record);
}

/**
 * True when `record` cannot be an SPF record, seen from its first octet alone: printable ASCII
 * other than `v` or `V` (an SPF record starts with `v=spf1`, after blanks in mailauth's lenient
 * reading, which trims any whitespace).
 */
function plainlyNotSpf(record: unknown): boolean {
  const first: unknown = Array.isArray(record) ? record[0] : record;
  if (typeof first !== 'string' || first.length === 0) return false;
  const c = first.charCodeAt(0);
  return c > 0x20 && c < 0x7f && c !== 0x76 && c !== 0x56;
}

/**
 * What stands in for the records of an answer that are not SPF records when there are two or
 * more of them: mailauth splits every record of a TXT answer into terms, SPF record or not, and
 * a 64 KB answer holds ~5,000 of them (eleven such answers cost ~14-20 ordinary messages of
 * CPU, December 2026). Such records matter to SPF only as an explanation, read only from an
 * answer of exactly one record (RFC 7208 section 6.2): two empty records keep the answer one
 * of several, and select no SPF record.
 */
const NOT_SPF_STAND_INS: readonly string[][] = [[''], ['']];

/**
 * The error mailauth's SPF evaluation reads as `permerror` (its `spfResult`), not temperror:
 * every bound of this resolver ends the evaluation with one, `code` naming the bound.
 */
function permerror(code: string, text: string): Error {
  return Object.assign(new Error(text), { code, spfResult: { error: 'permerror', text } });
}

/** How mailauth (lenient mode) recognises an SPF record: `v=spf1` as the first term. */
const SPF_RECORD = /^\s*v=spf1(?:\s|$)/i;

/**
 * `inner` with the SPF record and address answers bounded above, for one SPF evaluation only
 * (the chain's octets and addresses are counted from its first lookup).
 */
export function spfResolver(inner: Resolver): Resolver {
  let chainOctets = 0;
  let chainAddresses = 0;
  let addressQueries = 0;
  let chainMacros = 0;
  return asResolver(async (name, rrtype) => {
    const type = rrtype.toUpperCase();
    const address = type === 'A' || type === 'AAAA';
    // Counted before asking: a question over the bound is not sent.
    if (address && ++addressQueries > MAX_SPF_ADDRESS_QUERIES) {
      throw permerror(
        'ESPFQUERIES',
        `${type} ${name} is address question ${MAX_SPF_ADDRESS_QUERIES + 1}, over ${MAX_SPF_ADDRESS_QUERIES}`,
      );
    }
    const answer = await inner(name, rrtype);
    if (address && Array.isArray(answer)) {
      if (answer.length > MAX_SPF_ADDRESSES) {
        throw permerror(
          'ESPFADDRESSES',
          `${type} answer of ${name} has ${answer.length} addresses, over ${MAX_SPF_ADDRESSES}`,
        );
      }
      chainAddresses += answer.length;
      if (chainAddresses > MAX_SPF_CHAIN_ADDRESSES) {
        throw permerror(
          'ESPFADDRESSES',
          `address answers read up to ${type} ${name} have ${chainAddresses} addresses, over ${MAX_SPF_CHAIN_ADDRESSES}`,
        );
      }
    }
    if (type !== 'TXT' || !Array.isArray(answer)) return answer;
    const kept: unknown[] = [];
    let others = 0;
    let other: unknown;
    for (const record of answer as unknown[]) {
      // Most records are plainly not SPF records (a first octet that is neither `v` nor a
      // blank): counted without being joined, since an answer can hold thousands.
      if (plainlyNotSpf(record)) {
        others++;
        other = record;
        continue;
      }
      const text = recordText(record);
      const spf = SPF_RECORD.test(text);
      if (text.length > MAX_SPF_RECORD_OCTETS) {
        if (spf)
          throw permerror(
            'ESPFRECORDSIZE',
            `SPF record of ${name} is ${text.length} octets, over ${MAX_SPF_RECORD_OCTETS}`,
          );
        continue;
      }
      if (!spf) {
        others++;
        other = record;
        continue;
      }
      chainOctets += text.length;
      if (chainOctets > MAX_SPF_CHAIN_OCTETS)
        throw permerror(
          'ESPFCHAINSIZE',
          `SPF records read up to ${name} total ${chainOctets} octets, over ${MAX_SPF_CHAIN_OCTETS}`,
        );
      chainMacros += macrosIn(text);
      if (chainMacros > MAX_SPF_MACROS)
        throw permerror(
          'ESPFMACROS',
          `SPF records read up to ${name} hold ${chainMacros} macros, over ${MAX_SPF_MACROS}`,
        );
      const mended = withDashLast(text);
      kept.push(mended === text ? record : [mended]);
    }
    if (others > 1) return [...kept, ...NOT_SPF_STAND_INS.map((r) => [...r])];
    if (others === 1) {
      // One record that is not SPF: an explanation, perhaps, expanded after the records; over
      // what is left of the macro budget (or over the size bound), no explanation.
      const text = recordText(other);
      const usable = text.length <= MAX_SPF_RECORD_OCTETS && chainMacros + macrosIn(text) <= MAX_SPF_MACROS;
      const mended = withDashLast(text);
      kept.push(!usable ? [''] : mended === text ? other : [mended]);
    }
    return kept;
  });
}
