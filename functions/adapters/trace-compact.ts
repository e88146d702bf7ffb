/**
 * How the summary and the sends are stored on a message's main item: compactly, so that the
 * main item of ordinary mail stays under 1 KB, where one write costs one write unit (DynamoDB
 * bills a write by the larger of the item before and after it, 1 WRU per started KB:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html).
 * Issue 16 measured the plain message's item at 1,383 bytes (2 WRU for the final write); most
 * of it was the same facts twice (a send repeats its planned copy) and the authentication facts
 * spelled out as 17 named fields.
 *
 * Nothing is lost: decoding gives back exactly the `TraceSummary` and `SendRecord`s that were
 * written (a property test checks it), and items written in the full form before this are read
 * as they are (every default below only fills a field that is absent).
 *
 * - `authentication` → `auth`, a list `[envelopeDomain, fromDomain, fromCount, spf, dmarc,
 *   flags, genuineAddress]`, where `flags` holds one letter per true boolean ({@link FLAGS}).
 * - A planned copy leaves out what the summary already says: `pool` (= the summary's pool),
 *   `configurationSet` (= the summary's), `to` (= the summary's destinations: the one-copy
 *   case), `identity` (= its first route), `replyTo` when null, `fromRewritten` when false.
 * - A send leaves out its `index` (the map key) and what its planned copy says: `kind`, `to`,
 *   `pool`, `configurationSet`, `envelopeFrom`; `tenant` when it equals the configuration set.
 * - `unrouted` when empty; `outboundIpPoolName` when it equals `configurationSet` (the stack
 *   names them alike), kept (possibly null) otherwise.
 */
import type { AuthenticationFacts } from '../core/authentication.js';
import type { SendRecord, TraceSummary } from '../core/ports.js';
import type { PlannedSend } from '../core/send-plan.js';

type Item = Record<string, unknown>;

/** One letter per boolean of the authentication facts; the letter is there when it is true. */
const FLAGS = {
  aligned: 'a',
  spfPass: 's',
  dkimEnvelopeAligned: 'e',
  dkimAuthorAligned: 'f',
  envelopeAuthenticated: 'E',
  authorAuthenticated: 'F',
  claimsAcceptedDomain: 'c',
  genuineAcceptedSender: 'g',
  spoof: 'x',
  bounce: 'b',
  viaGateway: 'w',
} as const satisfies Partial<Record<keyof AuthenticationFacts, string>>;

type Flag = keyof typeof FLAGS;
type StoredAuth = [string | null, string | null, number, string, string, string, string | null];

export function encodeAuthentication(a: AuthenticationFacts): StoredAuth {
  let flags = '';
  for (const [name, letter] of Object.entries(FLAGS) as [Flag, string][]) if (a[name]) flags += letter;
  return [a.envelopeDomain, a.fromDomain, a.fromCount, a.spf, a.dmarc, flags, a.genuineAddress];
}

export function decodeAuthentication(item: Item): AuthenticationFacts | undefined {
  if (!Array.isArray(item.auth)) {
    // Written before the compact form: the facts as a map.
    return item.authentication ? (item.authentication as AuthenticationFacts) : undefined;
  }
  const [envelopeDomain, fromDomain, fromCount, spf, dmarc, flags, genuineAddress] = item.auth as StoredAuth;
  const facts = {
    envelopeDomain: envelopeDomain ?? null,
    fromDomain: fromDomain ?? null,
    fromCount: Number(fromCount),
    spf,
    dmarc,
    genuineAddress: genuineAddress ?? null,
  } as Record<string, unknown>;
  for (const [name, letter] of Object.entries(FLAGS) as [Flag, string][]) {
    facts[name] = String(flags).includes(letter);
  }
  // Key order of `authenticationFacts` (so a stored record reads back deep-equal and prints alike).
  const ordered = {
    envelopeDomain: facts.envelopeDomain,
    fromDomain: facts.fromDomain,
    fromCount: facts.fromCount,
    aligned: facts.aligned,
    spf: facts.spf,
    spfPass: facts.spfPass,
    dmarc: facts.dmarc,
    dkimEnvelopeAligned: facts.dkimEnvelopeAligned,
    dkimAuthorAligned: facts.dkimAuthorAligned,
    envelopeAuthenticated: facts.envelopeAuthenticated,
    authorAuthenticated: facts.authorAuthenticated,
    claimsAcceptedDomain: facts.claimsAcceptedDomain,
    genuineAcceptedSender: facts.genuineAcceptedSender,
    spoof: facts.spoof,
    bounce: facts.bounce,
    viaGateway: facts.viaGateway,
    genuineAddress: facts.genuineAddress,
  };
  return ordered as AuthenticationFacts;
}

const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined) =>
  Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => x === b[i]);

/** What a planned copy's left-out fields default to (from the summary's stored fields). */
interface PlanContext {
  pool: unknown;
  configurationSet: unknown;
  destinations: readonly string[] | undefined;
}

const defaultIdentity = (p: Partial<PlannedSend>) => p.routes?.[0] ?? null;

export function encodePlanned(p: PlannedSend, ctx: PlanContext): Item {
  const out: Item = { ...p };
  if (p.pool === ctx.pool) delete out.pool;
  if (p.configurationSet === ctx.configurationSet) delete out.configurationSet;
  if (sameList(p.to, ctx.destinations)) delete out.to;
  if (p.identity === defaultIdentity(p)) delete out.identity;
  if (p.replyTo === null) delete out.replyTo;
  if (p.fromRewritten === false) delete out.fromRewritten;
  return out;
}

export function decodePlanned(stored: Item, ctx: PlanContext): PlannedSend {
  const p = stored as Partial<PlannedSend>;
  // Every stored field as it is (fields added later come along), the left-out ones filled in.
  return {
    ...p,
    to: p.to ?? [...(ctx.destinations ?? [])],
    pool: p.pool ?? ctx.pool,
    configurationSet: p.configurationSet ?? ctx.configurationSet,
    fromRewritten: p.fromRewritten ?? false,
    replyTo: p.replyTo ?? null,
    identity: 'identity' in p ? p.identity : defaultIdentity(p),
  } as PlannedSend;
}

/** The summary's attributes on the main item (undefined members are not written). */
export function encodeSummary(s: TraceSummary, sender: string): Item {
  const ctx = { pool: s.pool, configurationSet: s.configurationSet, destinations: s.destinations };
  return {
    messageId: s.messageId,
    receivedAt: s.receivedAt,
    sender,
    recipients: s.recipients,
    destinations: s.destinations,
    unrouted: s.unrouted.length > 0 ? s.unrouted : undefined,
    pool: s.pool,
    // Left out when it is the configuration set's name; null (blocked) is kept as null.
    outboundIpPoolName: s.outboundIpPoolName === s.configurationSet ? undefined : s.outboundIpPoolName,
    configurationSet: s.configurationSet,
    reasons: s.reasons,
    plan: s.plan.map((p) => encodePlanned(p, ctx)),
    sizeBytes: s.sizeBytes,
    decisionMs: s.decisionMs,
    auth: s.authentication ? encodeAuthentication(s.authentication) : undefined,
  };
}

const planContext = (item: Item): PlanContext => ({
  pool: item.pool,
  configurationSet: item.configurationSet ?? null,
  destinations: item.destinations as string[] | undefined,
});

/** The planned copies of a stored summary, or undefined when none is stored yet. */
export function decodePlan(item: Item): PlannedSend[] | undefined {
  if (!Array.isArray(item.plan)) return undefined;
  const ctx = planContext(item);
  return (item.plan as Item[]).map((p) => decodePlanned(p, ctx));
}

/** The `outboundIpPoolName` of a stored summary. */
export function decodeOutboundIpPoolName(item: Item): string | null {
  if ('outboundIpPoolName' in item) return (item.outboundIpPoolName as string | null) ?? null;
  return (item.configurationSet as string | null | undefined) ?? null;
}

/** A send as stored: without what its planned copy (when known) already says. */
export function encodeSend(send: SendRecord, planned: PlannedSend | undefined): Item {
  const out: Item = { ...send };
  delete out.index;
  if (planned) {
    if (send.kind === planned.kind) delete out.kind;
    if (sameList(send.to, planned.to)) delete out.to;
    if (send.pool === planned.pool) delete out.pool;
    if (send.configurationSet === planned.configurationSet) delete out.configurationSet;
    if (send.envelopeFrom === planned.envelopeFrom) delete out.envelopeFrom;
  }
  if (send.tenant !== undefined && send.tenant === send.configurationSet) out.tenant = true;
  return out;
}

/** The sends of a stored item, by index, their left-out fields taken from the plan. */
export function decodeSends(item: Item, plan: PlannedSend[] | undefined): SendRecord[] {
  const stored = (item.sends as Record<string, Item> | undefined) ?? {};
  return Object.entries(stored)
    .map(([key, s]) => {
      const index = typeof s.index === 'number' ? s.index : Number(key);
      const planned = plan?.[index];
      const configurationSet = (s.configurationSet ?? planned?.configurationSet) as string;
      return {
        ...s,
        index,
        kind: s.kind ?? planned?.kind,
        to: s.to ?? planned?.to,
        pool: s.pool ?? planned?.pool,
        configurationSet,
        envelopeFrom: s.envelopeFrom ?? planned?.envelopeFrom,
        ...(s.tenant === true ? { tenant: configurationSet } : {}),
      } as SendRecord;
    })
    .sort((a, b) => a.index - b.index);
}
