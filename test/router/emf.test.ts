/**
 * EMF packing (`functions/router/emf.ts`): the documents are read back the way the CloudWatch
 * specification says they are read (every dimension and metric a member of the root, one value
 * per member), independently of how they were built, and must give back exactly the input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { emfDocuments, type MetricPoint } from '../../functions/router/emf.js';

const OPTS = { namespace: 'OutboundPools', defaults: { service: 'router' }, timestamp: 1_700_000_000_000 };

/** `name{dim=value,...}` → values, read from the documents per the EMF specification. */
function readBack(docs: unknown[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const raw of docs) {
    // A document survives a JSON round trip unchanged (it is printed as one line).
    const doc = JSON.parse(JSON.stringify(raw)) as Record<string, unknown> & {
      _aws?: {
        Timestamp: number;
        CloudWatchMetrics: {
          Namespace: string;
          Dimensions: string[][];
          Metrics: { Name: string; Unit: string }[];
        }[];
      };
    };
    // A document without `_aws` is the log record alone (its metrics all went elsewhere).
    if (doc._aws) assert.equal(doc._aws.Timestamp, OPTS.timestamp);
    for (const d of doc._aws?.CloudWatchMetrics ?? []) {
      assert.equal(d.Namespace, OPTS.namespace);
      assert.equal(d.Dimensions.length, 1);
      const set = d.Dimensions[0]!;
      for (const k of set) assert.equal(typeof doc[k], 'string', `dimension member ${k} is a string`);
      for (const m of d.Metrics) {
        const v = doc[m.Name];
        const values = Array.isArray(v) ? v : [v];
        assert.ok(values.length >= 1 && values.length <= 100, 'at most 100 values per metric');
        for (const x of values) assert.equal(typeof x, 'number');
        const key = `${m.Name}{${set
          .filter((k) => k !== 'service')
          .map((k) => `${k}=${String(doc[k])}`)
          .join(',')}}`;
        out.set(key, [...(out.get(key) ?? []), ...(values as number[])]);
      }
    }
  }
  return out;
}

const keyOf = (p: MetricPoint) => `${p.name}{${p.dimension ? `${p.dimension[0]}=${p.dimension[1]}` : ''}}`;

describe('EMF documents of one message', () => {
  it('a message with one reason, sent as two copies: one document, counts summed', () => {
    const points: MetricPoint[] = [
      { name: 'ColdStart', unit: 'Count', value: 1 },
      { name: 'Messages', unit: 'Count', value: 1, dimension: ['Pool', 'normal'] },
      { name: 'Reasons', unit: 'Count', value: 1, dimension: ['Reason', 'spf-pass'] },
      { name: 'DecisionLatency', unit: 'Milliseconds', value: 7 },
      { name: 'Sends', unit: 'Count', value: 1, dimension: ['Pool', 'normal'] },
      { name: 'Sends', unit: 'Count', value: 1, dimension: ['Pool', 'normal'] },
    ];
    const docs = emfDocuments(points, OPTS);
    assert.equal(docs.length, 1);
    const read = readBack(docs);
    assert.deepEqual(read.get('Sends{Pool=normal}'), [2]);
    assert.deepEqual(read.get('Messages{Pool=normal}'), [1]);
    assert.deepEqual(read.get('DecisionLatency{}'), [7]);
    assert.deepEqual(read.get('ColdStart{}'), [1]);
  });

  it('two reasons need two documents (one value per member); a blocked message with an NDR too', () => {
    const docs = emfDocuments(
      [
        { name: 'Messages', unit: 'Count', value: 1, dimension: ['Pool', 'blocked'] },
        { name: 'Reasons', unit: 'Count', value: 1, dimension: ['Reason', 'limit-day'] },
        { name: 'LimitHits', unit: 'Count', value: 1, dimension: ['Reason', 'limit-day'] },
        { name: 'Reasons', unit: 'Count', value: 1, dimension: ['Reason', 'ndr'] },
        { name: 'Sends', unit: 'Count', value: 1, dimension: ['Pool', 'high-risk'] },
      ],
      OPTS,
    );
    assert.equal(docs.length, 2);
    assert.equal(readBack(docs).size, 5);
  });

  it('no points, no document; a dimension named like a default or its metric is refused', () => {
    assert.deepEqual(emfDocuments([], OPTS), []);
    assert.throws(
      () => emfDocuments([{ name: 'X', unit: 'Count', value: 1, dimension: ['service', 'y'] }], OPTS),
      /clashes/,
    );
    assert.throws(
      () => emfDocuments([{ name: 'X', unit: 'Count', value: 1, dimension: ['X', 'y'] }], OPTS),
      /clashes/,
    );
  });

  it('a log record rides on the first document: its Pool serves the metrics of that pool, another pool goes on', () => {
    const docs = emfDocuments(
      [
        { name: 'Messages', unit: 'Count', value: 1, dimension: ['Pool', 'normal'] },
        { name: 'Sends', unit: 'Count', value: 1, dimension: ['Pool', 'relay'] },
        { name: 'DecisionLatency', unit: 'Milliseconds', value: 3 },
      ],
      { ...OPTS, properties: { message: 'done', service: 'router', Pool: 'normal' } },
    );
    assert.equal(docs.length, 2);
    const [first, second] = docs as [Record<string, unknown>, Record<string, unknown>];
    assert.deepEqual(Object.keys(first).slice(0, 4), ['message', 'service', 'Pool', '_aws']);
    assert.equal(first.Messages, 1);
    assert.equal(first.Sends, undefined);
    assert.equal(second.Pool, 'relay');
    assert.equal(second.message, undefined);
    const read = readBack(docs);
    assert.deepEqual(read.get('Messages{Pool=normal}'), [1]);
    assert.deepEqual(read.get('Sends{Pool=relay}'), [1]);
    // Every metric names its unit, counts too (an alarm over mixed units is unpredictable).
    const units = docs.flatMap((d) =>
      ((d._aws?.CloudWatchMetrics ?? []) as { Metrics: { Name: string; Unit?: string }[] }[]).flatMap(
        (c) => c.Metrics,
      ),
    );
    assert.deepEqual(
      units.map((m) => [m.Name, m.Unit]),
      [
        ['Messages', 'Count'],
        ['DecisionLatency', 'Milliseconds'],
        ['Sends', 'Count'],
      ],
    );
    // The record's own `Pool` holds the first document even when no metric of that pool does.
    const alone = emfDocuments([{ name: 'Sends', unit: 'Count', value: 1, dimension: ['Pool', 'relay'] }], {
      ...OPTS,
      properties: { Pool: 'normal' },
    });
    assert.deepEqual(
      alone.map((d) => [d.Pool, d.Sends, d._aws === undefined]),
      [
        ['normal', undefined, true],
        ['relay', 1, false],
      ],
    );
    assert.throws(
      () =>
        emfDocuments([{ name: 'X', unit: 'Count', value: 1 }], { ...OPTS, properties: { service: 'other' } }),
      /contradicts/,
    );
  });

  it('any mix of the router metrics reads back exactly, in as many documents as one dimension has values', () => {
    const byDimension: Record<string, string | undefined> = {
      Messages: 'Pool',
      Sends: 'Pool',
      SendsFailed: 'Pool',
      Reasons: 'Reason',
      LimitHits: 'Reason',
      DecisionLatency: undefined,
      NdrsGenerated: undefined,
    };
    const point = fc
      .record({
        name: fc.constantFrom(...Object.keys(byDimension)),
        value: fc.integer({ min: 0, max: 5000 }),
        dimValue: fc.constantFrom('normal', 'relay', 'blocked', 'spf-pass', 'ndr', 'limit-day', 'x'),
      })
      .map(({ name, value, dimValue }): MetricPoint => {
        const dim = byDimension[name];
        const unit = name === 'DecisionLatency' ? 'Milliseconds' : 'Count';
        return { name, unit, value, ...(dim ? { dimension: [dim, dimValue] as const } : {}) };
      });
    // With or without a log record riding on the first document (its `Pool` a dimension value).
    const properties = fc.option(
      fc.record({ message: fc.constant('done'), Pool: fc.constantFrom('normal', 'relay', 'blocked') }),
      { nil: undefined },
    );
    fc.assert(
      fc.property(fc.array(point, { maxLength: 250 }), properties, (points, props) => {
        const docs = emfDocuments(points, { ...OPTS, ...(props ? { properties: props } : {}) });
        if (props && docs.length > 0) {
          // The record's members come first, unchanged, in the first document only.
          assert.deepEqual(Object.keys(docs[0]!).slice(0, 2), ['message', 'Pool']);
          assert.equal(docs[0]!.Pool, props.Pool);
          for (const d of docs.slice(1)) assert.equal(d.message, undefined);
        }
        const read = readBack(docs);
        const expected = new Map<string, number[]>();
        for (const p of points) {
          const k = keyOf(p);
          const prev = expected.get(k) ?? [];
          expected.set(k, p.unit === 'Count' ? [(prev[0] ?? 0) + p.value] : [...prev, p.value]);
        }
        assert.deepEqual(new Map([...read].sort()), new Map([...expected].sort()));
        // Fewest documents: each holds one value of a dimension; latency past 100 values spills.
        const distinct = (dim: string) =>
          new Set([
            ...points.filter((p) => p.dimension?.[0] === dim).map((p) => p.dimension![1]),
            // The record's dimension value holds the first document, whatever the metrics.
            ...(dim === 'Pool' && props && points.length > 0 ? [props.Pool] : []),
          ]).size;
        const latencies = points.filter((p) => p.name === 'DecisionLatency').length;
        const least = Math.max(distinct('Pool'), distinct('Reason'), Math.ceil(latencies / 100));
        assert.equal(docs.length, points.length === 0 ? 0 : Math.max(1, least));
      }),
      { numRuns: 200 },
    );
  });
});
