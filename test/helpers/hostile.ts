/**
 * What the hostile-input tests measure with (`test/hardening/hostile-*.test.ts`): a hostile
 * shape's CPU against an ordinary message's, alternating runs after warm-ups, and the ordinary
 * messages and decisions they compare.
 */
import assert from 'node:assert/strict';
import { arcSeal } from '../../functions/core/compose/arc.js';
import { type Decision, decideMessage } from '../../functions/core/decide.js';
import { asResolver, type Resolver } from '../../functions/core/dns/resolver.js';
import { type Zones, zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { parseReceiptEvent } from '../../functions/core/ses-event.js';
import { type DkimKey, dkimKey, message, NOW, sesEvent, sign, testConfig, zones } from './mail.js';

/** The most a hostile shape may cost, in ordinary messages of its kind. */
export const MAX_RATIO = 5;
export const senderKey = dkimKey('sender.test');
export const baseZones = zones([senderKey], { 'attacker.test': { A: ['192.0.2.66'] } });

/** CPU milliseconds (user + system) of `fn`. */
export async function cpuMs(fn: () => Promise<unknown>): Promise<number> {
  const start = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/**
 * The least of the runs: for shapes of a few milliseconds, what the work itself costs. A run
 * can only be slowed by what else the process and the machine do (a collection of an earlier
 * test's garbage, the other test file CI runs beside this one), never sped up: with a median,
 * such shapes read 2× alone and 5× once in five full-suite runs.
 */
export const least = (xs: number[]) => Math.min(...xs);

/**
 * Median (or `pick`) CPU time of `hostile` over that of `ordinary`, runs alternating so that
 * both see the same machine load; three warm-up runs each first (module loading, and the JIT:
 * a shape that runs one parser hundreds of times, such as 190 DKIM signatures, costs twice as
 * much while its code is still being compiled, which a warm container has done long before).
 */
export async function ratio(
  hostile: () => Promise<unknown>,
  ordinary: () => Promise<unknown>,
  runs = 5,
  warmUps = 3,
  pick: (xs: number[]) => number = median,
) {
  for (let i = 0; i < warmUps; i++) {
    await hostile();
    await ordinary();
  }
  const h: number[] = [];
  const o: number[] = [];
  for (let i = 0; i < runs; i++) {
    h.push(await cpuMs(hostile));
    o.push(await cpuMs(ordinary));
  }
  // A floor of 1 ms keeps a near-zero baseline from turning noise into a ratio.
  return { ratio: pick(h) / Math.max(pick(o), 1), hostileMs: pick(h), ordinaryMs: pick(o) };
}

export function decideWith(
  raw: Buffer,
  opts: {
    spf?: 'PASS' | 'FAIL';
    config?: Record<string, unknown>;
    resolver?: Resolver;
    finalAttempt?: boolean;
  } = {},
): Promise<Decision> {
  return decideMessage({
    received: parseReceiptEvent(sesEvent({ spf: opts.spf ?? 'PASS' })),
    raw,
    config: testConfig(opts.config),
    resolver: opts.resolver ?? zoneResolver(baseZones),
    now: NOW,
    ...(opts.finalAttempt ? { finalAttempt: true } : {}),
  });
}

/** An ordinary message of exactly `size` bytes: the usual header, a body of text lines. */
export function ordinaryOfSize(size: number): Buffer {
  const head = message({ body: '' });
  const line = `${'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(1)}\r\n`;
  const body = line.repeat(Math.ceil((size - head.length) / line.length)).slice(0, size - head.length);
  return Buffer.concat([head, Buffer.from(body)]);
}

/** An ordinary message whose header block is `size` bytes: the usual fields, then fillers of 70-odd bytes. */
export function ordinaryHeaderOfSize(size: number): Buffer {
  const base = message();
  const filler = (i: number) => `X-Filler-${i}: ${'lorem ipsum dolor sit amet '.repeat(2)}`;
  const count = Math.max(0, Math.round((size - base.indexOf('\r\n\r\n')) / (filler(100).length + 2)));
  return message({ headers: Array.from({ length: count }, (_, i) => filler(i)) });
}

/**
 * A header-shaped hostile message within every bound (decided, not blocked) against an
 * ordinary signed message with a header block of the same size: the least of nine runs after
 * 20 warm-ups (`least`; the address and tag parsers these shapes run cost 3-4× more until
 * the JIT has optimized them, which a warm container did long before). Returns the decision.
 */
export async function assertHeaderShapeBounded(
  raw: Buffer,
  what: (d: Decision) => string,
): Promise<Decision> {
  const d = await decideWith(raw);
  assert.equal(d.classification.bounds.exceeded, null);
  const ordinary = await sign(ordinaryHeaderOfSize(d.classification.bounds.headerBytes), senderKey);
  assertBounded(
    await ratio(
      () => decideWith(raw),
      () => decideWith(ordinary),
      9,
      20,
      least,
    ),
    what(d),
  );
  return d;
}

/** A resolver that counts lookups (to show that nothing was looked up). */
export function counting(inner: Resolver): { resolver: Resolver; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    resolver: asResolver(async (name, rrtype) => {
      calls.push(`${name}/${rrtype}`);
      return inner(name, rrtype);
    }),
  };
}

export function assertBounded(
  r: { ratio: number; hostileMs: number; ordinaryMs: number },
  what: string,
  max = MAX_RATIO,
) {
  assert.ok(
    r.ratio <= max,
    `${what}: ${r.hostileMs.toFixed(1)} ms of CPU vs ${r.ordinaryMs.toFixed(1)} ms for an ordinary message (×${r.ratio.toFixed(1)})`,
  );
}

/**
 * SPF recomputed behind a trusted gateway (`gateways.ts`): a message from `source` that came
 * through the gateway `mx1.filter.test` from `mail.sender.test [192.0.2.11]`, SES's own SPF
 * verdict FAIL, decided over the base zones, `sender.test`'s SPF record and `extra` (the
 * sender's answers). Returns a function deciding it afresh.
 */
export function decideViaGateway(source: string, extra: Zones): () => Promise<Decision> {
  const date = 'Mon, 23 Nov 2026 10:00:00 +0000';
  const resolver = zoneResolver({
    ...baseZones,
    'sender.test': { ...baseZones['sender.test'], TXT: ['v=spf1 ip4:192.0.2.0/25 -all'] },
    ...extra,
  });
  const raw = message({
    from: `Alice <${source}>`,
    headers: [
      `Received: from mx1.filter.test (mx1.filter.test [198.51.100.7]) by inbound-smtp.us-east-1.amazonaws.com with SMTP id msg-0001 for alias@example.com; ${date} (UTC)`,
      `Received: from mail.sender.test (mail.sender.test [192.0.2.11]) by mx1.filter.test (Postfix) with ESMTPS id 4Xy7 for <alias@example.com>; ${date}`,
    ],
  });
  return () =>
    decideMessage({
      received: parseReceiptEvent(sesEvent({ source, spf: 'FAIL' })),
      raw,
      config: testConfig({ trustedGateways: [{ name: 'filter', cidrs: ['198.51.100.0/24'] }] }),
      resolver,
      now: NOW,
    });
}

/**
 * `raw` sealed by one Ed25519 ARC set per key, each set saying the chain below it passed (the
 * first `none`), as relays `mx<i>.relay.test` would: every stage, `raw` first.
 */
export async function arcSealedChain(
  raw: Buffer,
  keys: readonly DkimKey[],
  resolver: Resolver,
): Promise<Buffer[]> {
  const sealed = [raw];
  for (const [i, k] of keys.entries()) {
    sealed.push(
      await arcSeal(sealed[i]!, {
        key: {
          domain: k.domain,
          selector: k.selector,
          privateKey: k.privateKey,
          algorithm: 'ed25519-sha256',
        },
        authservId: `mx${i}.relay.test`,
        results: {
          spf: 'PASS',
          dmarc: 'PASS',
          envelopeSender: 'alice@sender.test',
          fromDomain: 'sender.test',
          dkim: { signatures: [], alignedPass: false, temperror: false, arcChain: i === 0 ? 'none' : 'pass' },
        },
        resolver,
        now: NOW,
      }),
    );
  }
  return sealed;
}
