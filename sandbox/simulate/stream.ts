/**
 * The labelled message stream of a simulation: for a seed and a size, always the same
 * messages (envelope, client IP, bytes, DKIM signatures: RSA PKCS#1 v1.5 signatures are
 * deterministic) in the same order, at the same virtual times.
 *
 * Every label is decided here, from what the simulated sender proves and from the limit
 * policy (see `classes.ts`), before anything is sent: never from the router's decisions.
 */
import { createHash } from 'node:crypto';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import type { Config, LimitPolicy } from '../../functions/core/config.js';
import { CLASSES, type ClassId, classCounts } from './classes.js';
import { type Draft, draftBuilders } from './drafts.js';
import { Random } from './random.js';
import {
  actorPolicies,
  DKIM_SELECTOR,
  type SimActorPolicies,
  type SimRoute,
  VIRTUAL_DAY,
  type World,
} from './world.js';

export interface SimMessage {
  /** Position in the stream (0-based), in virtual-time order. */
  seq: number;
  class: ClassId;
  nature: 'good' | 'bad';
  /** Virtual time the message arrives at (the sandbox's clock while it is processed). */
  at: Date;
  /** Envelope sender, `''` for the null reverse path. */
  mailFrom: string;
  rcptTo: string[];
  clientIp: string;
  helo: string;
  raw: Buffer;
  /** Every address a copy of this message may go to (routes; a reversed bounce's original sender). */
  allowed: string[];
  /** The one address an NDR may go to: an envelope-authenticated sender of a non-bounce. */
  ndrTo: string | null;
}

export interface Stream {
  seed: number;
  messages: SimMessage[];
  counts: Record<ClassId, number>;
  policies: SimActorPolicies;
  /** SHA-256 over every message's envelope and bytes, in order. */
  digest: string;
}

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** Recipients a message adds to each counter of SPEC 4 (external / internal destinations). */
function copiesOf(world: World, route: SimRoute) {
  const accepted = new Set(world.accepted);
  const internal = route.destinations.filter((d) => accepted.has(d.slice(d.lastIndexOf('@') + 1))).length;
  return { external: route.destinations.length - internal, internal };
}

/**
 * The oracle of SPEC 4 for one identity writing `n` messages within one clock hour: good
 * while the policy allows the copies, bad from the message that crosses a limit on (blocked
 * and restricted, or — `alert` — sent through high-risk; either way not `normal`).
 */
export function labelByPolicy(
  policy: LimitPolicy,
  copies: { external: number; internal: number },
  n: number,
): ('good' | 'bad')[] {
  let ext = 0;
  let int = 0;
  let day = 0;
  let restricted = false;
  const out: ('good' | 'bad')[] = [];
  const total = copies.external + copies.internal;
  for (let i = 0; i < n; i++) {
    const crosses =
      (copies.external > 0 && ext + copies.external > policy.externalPerHour) ||
      (copies.internal > 0 && int + copies.internal > policy.internalPerHour) ||
      (total > 0 && day + total > policy.perDay);
    if (restricted || crosses) {
      out.push('bad');
      if (policy.action !== 'alert') restricted = true;
      else {
        ext += copies.external;
        int += copies.internal;
        day += total;
      }
      continue;
    }
    out.push('good');
    ext += copies.external;
    int += copies.internal;
    day += total;
  }
  return out;
}

function dsnBody(reportingMta: string, failed: string): string {
  return [
    '--dsn',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'Your message could not be delivered.',
    '',
    '--dsn',
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${reportingMta}`,
    '',
    `Final-Recipient: rfc822; ${failed}`,
    'Action: failed',
    'Status: 5.1.1',
    '',
    '--dsn--',
    '',
  ].join('\r\n');
}

function rfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

async function render(
  d: Draft,
  seq: number,
  at: Date,
  seed: number,
  rng: Random,
  world: World,
): Promise<Buffer> {
  const fromDomain = /@([^>\s]+)>?$/.exec(d.from)?.[1] ?? 'simulate.test';
  const headers = [
    `From: ${d.from}`,
    `To: ${d.rcptTo.join(', ')}`,
    `Subject: ${d.subject}`,
    `Message-ID: <sim.${seed}.${seq}@${fromDomain}>`,
    `Date: ${rfc5322Date(at)}`,
    'MIME-Version: 1.0',
    d.shape === 'report'
      ? 'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"'
      : 'Content-Type: text/plain; charset=utf-8',
  ];
  const body =
    d.shape === 'report'
      ? dsnBody(d.helo, `${rng.word(6)}@remote.test`)
      : `${Array.from({ length: 3 + rng.int(5) }, () => rng.word(3 + rng.int(7))).join(' ')}.\r\n`;
  const raw = Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body}`);
  if (!d.sign) return raw;
  const result = await dkimSign(raw, {
    signTime: at,
    canonicalization: 'relaxed/relaxed',
    signatureData: [{ signingDomain: d.sign, selector: DKIM_SELECTOR, privateKey: world.key.privateKey }],
  } as unknown as Parameters<typeof dkimSign>[1]);
  if (result.errors?.length) throw new Error(`DKIM signing failed: ${JSON.stringify(result.errors)}`);
  return Buffer.concat([Buffer.from(result.signatures), raw]);
}

/** Builds the stream: deterministic for (`config`, `world`, `seed`, `total`). */
export async function buildStream(
  config: Config,
  world: World,
  seed: number,
  total: number,
): Promise<Stream> {
  const rng = new Random(seed);
  const counts = classCounts(total);
  const policies = actorPolicies(
    world,
    { burst: counts['compromised-burst'], alerts: counts['alert-only'] },
    config.limits.default,
  );
  const builders = draftBuilders({ rng, config, world, policies });

  // Episodes: the limited senders write in one burst inside one clock hour each (10:10,
  // 12:10, 14:10), labelled by the policy's arithmetic; the rest of the traffic is spread
  // evenly over 08:00-18:00 in a random order.
  const episodes: { id: ClassId; hour: number; policy: LimitPolicy }[] = [
    { id: 'compromised-burst', hour: 10, policy: policies.burst.policy },
    { id: 'subaddress-restricted', hour: 12, policy: policies.newsletter.policy },
    { id: 'alert-only', hour: 14, policy: policies.alerts.policy },
  ];
  const timed: { at: Date; order: number; draft: Draft }[] = [];
  const copies = copiesOf(world, world.actorRoute);
  for (const e of episodes) {
    const n = counts[e.id];
    const natures = labelByPolicy(e.policy, copies, n);
    const spacing = Math.min(20_000, Math.floor((40 * MINUTE) / n));
    for (let i = 0; i < n; i++) {
      const at = new Date(VIRTUAL_DAY + e.hour * HOUR + 10 * MINUTE + i * spacing);
      timed.push({ at, order: timed.length, draft: { ...builders[e.id](i, () => at), nature: natures[i]! } });
    }
  }
  const background = rng.shuffle(
    CLASSES.filter((c) => !episodes.some((e) => e.id === c.id)).flatMap((c) =>
      Array.from({ length: counts[c.id] }, (_, i) => ({ id: c.id, i })),
    ),
  );
  const step = (10 * HOUR) / Math.max(1, background.length);
  background.forEach(({ id, i }, k) => {
    const at = new Date(VIRTUAL_DAY + 8 * HOUR + Math.floor(k * step));
    timed.push({ at, order: timed.length, draft: builders[id](i, () => at) });
  });
  timed.sort((x, y) => x.at.getTime() - y.at.getTime() || x.order - y.order);

  const hash = createHash('sha256');
  const messages: SimMessage[] = [];
  for (const [seq, { at, draft }] of timed.entries()) {
    const { from: _from, subject: _subject, shape: _shape, sign: _sign, ...label } = draft;
    const raw = await render(draft, seq, at, seed, rng, world);
    hash.update(
      `${draft.mailFrom}\n${draft.rcptTo.join(',')}\n${draft.clientIp}\n${draft.helo}\n${raw.length}\n`,
    );
    hash.update(raw);
    messages.push({ ...label, seq, at, raw });
  }
  return { seed, messages, counts, policies, digest: hash.digest('hex') };
}
