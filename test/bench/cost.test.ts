/**
 * The cost model of the bench (`bench/cost.ts`): the router's duration counts its waits on
 * the critical path (the S3 read runs while the claim is written: the longer of the two), CPU
 * stretched by the memory's share of a vCPU. Expected figures worked out by hand from the
 * model as bench/README.md states it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ASSUMPTIONS, costPerMillion, PRICES, routerWaitMs } from '../../bench/cost.js';
import type { CpuResult, LogsResult } from '../../bench/deployed-child.js';

/** What the bench measures for a plain message: 3 UpdateItems, the GET, the send. */
const PLAIN = { 'dynamodb:UpdateItem': 3, 's3:GetObject': 1, 'ses:SendEmail': 1 };

const cpu = (requests: Record<string, number>): CpuResult => ({
  shapes: [],
  router: { messages: 10, requests, wru: 4, gsiWru: 1, rru: 0 },
  feedback: {
    events: 10,
    requests: { 'dynamodb:GetItem': 1, 'dynamodb:PutItem': 1 },
    wru: 1,
    gsiWru: 0,
    rru: 1,
    cpuMsPerEvent: 2,
  },
});

const LOGS: LogsResult = { routerBytes: 845, feedbackBytes: 380, peerBytes: 723, messages: 10 };

describe('bench cost model', () => {
  it('the claim and the S3 read overlap: max(6, 15) + count 6 + send 40 + record 6 = 67 ms, not the 73 ms sum', () => {
    assert.equal(routerWaitMs(PLAIN), 67);
    // Without a GET (or without a write) nothing overlaps: the plain sum.
    assert.equal(routerWaitMs({ 'dynamodb:UpdateItem': 3, 'ses:SendEmail': 1 }), 58);
    assert.equal(routerWaitMs({ 's3:GetObject': 1, 'ses:SendEmail': 1 }), 55);
  });

  it('the router at 256 MB: 10 ms of a full vCPU take 10 × 1769 / 256 ms, plus the waits, billed at 0.25 GB', () => {
    assert.equal(ASSUMPTIONS.routerMemoryMb, 256);
    const c = costPerMillion(cpu(PLAIN), LOGS, 10);
    const durationMs = (10 * 1769) / 256 + 67;
    assert.ok(Math.abs(c.routerDurationMs - durationMs) < 1e-9, `${c.routerDurationMs}`);
    assert.equal(c.routerWaitMs, 67);
    // $ per million: GB-s × price + the request price.
    const lambda = 1e6 * (durationMs / 1000) * 0.25 * PRICES.lambdaArmPerGbSecond + 0.2;
    assert.ok(Math.abs(c.routerLambda - lambda) < 1e-9);
    // The parts add up; the S3 PUT of SES's action and the GET; 4 WRU + 2 % of a filed event's 1.
    assert.ok(Math.abs(c.total - (c.routerLambda + c.feedbackLambda + c.dynamodb + c.s3 + c.logs)) < 1e-9);
    assert.ok(Math.abs(c.s3 - (5 + 0.4)) < 1e-9);
    assert.equal(c.wruPerMessage, 4);
    assert.ok(Math.abs(c.wruPerMessageAverage - 4.02) < 1e-9);
    // 845 bytes per message and 2 % of a 380-byte feedback line, at $0.50 per GiB.
    const logBytes = 845 + 0.02 * 380;
    assert.ok(Math.abs(c.logs - ((1e6 * logBytes) / 1024 ** 3) * 0.5) < 1e-9);
  });
});
