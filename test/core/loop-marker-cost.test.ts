/**
 * Loop markers are verified in time linear in the header (review K, December 2026): a sender
 * may write ~1,700 forged `X-Outbound-Pools-Loop: @example.org; <16 chars>` fields (within
 * 100 KB / 2,000 lines) and send to 50 addresses of a catch-all domain. Verified per field and
 * per recipient that was 170,000 HMAC-SHA256 (0.5 s of CPU against 9 ms for a header of the
 * same size); now one per route and secret. Counted by wrapping node:crypto's createHmac, and
 * as CPU against markers naming another route, with a wide margin.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { describe, it } from 'node:test';
import { classify } from '../../functions/core/decide.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { parseReceiptEvent } from '../../functions/core/ses-event.js';
import { message, NOW, sesEvent, testConfig, zones } from '../helpers/mail.js';

const config = testConfig(); // '@example.org' is a catch-all route; two SRS secrets
const recipients = Array.from({ length: 50 }, (_, i) => `user${i}@example.org`);
const markers = (route: string) =>
  message({
    headers: Array.from(
      { length: 1700 },
      (_, i) => `X-Outbound-Pools-Loop: ${route}; AAAAAAAAAAAAAAA${i % 10}`,
    ),
  });
const run = (raw: Buffer) =>
  classify({
    received: parseReceiptEvent(sesEvent({ recipients })),
    raw,
    config,
    resolver: zoneResolver(zones()),
    now: NOW,
  });

async function cpu(fn: () => Promise<unknown>) {
  await fn();
  const xs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const s = process.cpuUsage();
    await fn();
    const u = process.cpuUsage(s);
    xs.push((u.user + u.system) / 1000);
  }
  return xs.sort((a, b) => a - b)[1]!;
}

describe('review K: loop markers are verified in time linear in the header', () => {
  it('forged markers for the route of 50 catch-all recipients: at most (distinct routes x secrets + fields) HMACs', async () => {
    const raw = markers('@example.org');
    assert.ok(raw.length < 100_000);
    const original = crypto.createHmac;
    let hmacs = 0;
    crypto.createHmac = ((...args: Parameters<typeof original>) => {
      hmacs++;
      return original(...args);
    }) as typeof original;
    syncBuiltinESMExports(); // loop.ts imports createHmac by name
    let c: Awaited<ReturnType<typeof run>>;
    try {
      c = await run(raw);
    } finally {
      crypto.createHmac = original;
      syncBuiltinESMExports();
    }
    assert.equal(c.loop, false, 'the forged markers are not ours');
    const bound = 1 * config.srs.secrets.length + 1700;
    assert.ok(hmacs <= bound, `${hmacs} HMACs computed (bound ${bound})`);
  });

  it('the same message costs at most 5x one whose markers name another route', async () => {
    const hostile = markers('@example.org');
    const benign = markers('@other.test');
    const h = await cpu(() => run(hostile));
    const o = await cpu(() => run(benign));
    assert.ok(
      h <= 5 * Math.max(o, 2),
      `${h.toFixed(0)} ms of CPU vs ${o.toFixed(0)} ms (x${(h / Math.max(o, 1)).toFixed(0)})`,
    );
  });
});
