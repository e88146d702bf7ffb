/**
 * The bench's peak-memory figure is the median of several fresh processes (`medianSample`):
 * the middle sample itself, with every sample's ratio in the order taken.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { medianSample } from '../../bench/deployed.js';
import type { MemoryResult } from '../../bench/deployed-child.js';

const sample = (ratio: number, baselineRss: number): MemoryResult => ({
  runner: 'ours',
  message: 'attach-10mb',
  bytes: 100,
  baselineRss,
  peakRssGrowth: ratio * 100,
  ratio,
});

describe('medianSample', () => {
  it('is the middle sample of an odd count, whatever the order they were taken in', () => {
    const got = medianSample([
      sample(1.99, 1),
      sample(1.35, 2),
      sample(2.0, 3),
      sample(1.62, 4),
      sample(1.68, 5),
    ]);
    assert.equal(got.ratio, 1.68);
    assert.equal(got.baselineRss, 5);
    assert.equal(got.peakRssGrowth, 168);
    assert.deepEqual(got.samples, [1.99, 1.35, 2.0, 1.62, 1.68]);
  });

  it('of an even count, the lower middle one; of one, that one', () => {
    assert.equal(medianSample([sample(3, 1), sample(1, 2), sample(4, 3), sample(2, 4)]).ratio, 2);
    assert.equal(medianSample([sample(1.5, 1)]).ratio, 1.5);
  });
});
