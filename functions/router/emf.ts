/**
 * CloudWatch embedded metric format (EMF) documents for the metrics of one invocation, packed
 * into as few documents as the format allows.
 *
 * An EMF document is a JSON log event whose `_aws.CloudWatchMetrics` directives name metrics and
 * dimension sets by *root members*: a metric's value and each dimension's value are members of
 * the document's root ("Specification: Embedded metric format", CloudWatch User Guide,
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 * So one document holds any number of directives, but one value per member name: `Reasons`
 * {Reason=spf-pass} and `Reasons` {Reason=ndr} cannot share a document (the member `Reason`
 * would need two values), whereas `Messages` {Pool=normal}, `Sends` {Pool=normal},
 * `Reasons` {Reason=spf-pass} and a dimensionless `DecisionLatency` can. {@link emfDocuments}
 * puts every metric into the first document it fits. (That limit is why the router counts each
 * reason as a metric of its own, `Reason.<code>`, see `observer.ts`: one document per message.)
 *
 * Counts of the same metric and dimension are summed; other units keep every value (EMF takes
 * an array of up to 100 values per metric and CloudWatch computes percentiles over them).
 */

export type EmfUnit = 'Count' | 'Milliseconds';

/** One observation: a metric, optionally one dimension besides the defaults, a value. */
export interface MetricPoint {
  name: string;
  unit: EmfUnit;
  value: number;
  /** `[name, value]` of the one dimension this metric has besides the default ones. */
  dimension?: readonly [string, string];
}

export interface EmfOptions {
  namespace: string;
  /** Dimensions every metric carries (Powertools' `service`, which the dashboard names). */
  defaults: Readonly<Record<string, string>>;
  /** Epoch milliseconds of the metrics. */
  timestamp: number;
}

type Directive = { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: EmfUnit }[] };
type Document = Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: Directive[] } };

/** EMF accepts at most 100 values for one metric in one document. */
const MAX_VALUES = 100;

interface Series {
  name: string;
  unit: EmfUnit;
  dimension: readonly [string, string] | undefined;
  values: number[];
}

/** Sums counts, keeps other values, in the order the series first appeared. */
function aggregate(points: readonly MetricPoint[]): Series[] {
  const byKey = new Map<string, Series>();
  for (const p of points) {
    const key = p.dimension ? `${p.name}\u0000${p.dimension[0]}\u0000${p.dimension[1]}` : p.name;
    let s = byKey.get(key);
    if (!s) {
      s = { name: p.name, unit: p.unit, dimension: p.dimension, values: [] };
      byKey.set(key, s);
    }
    if (p.unit === 'Count' && s.values.length > 0) s.values[0]! += p.value;
    else s.values.push(p.value);
  }
  // Past 100 values a series continues in a further entry (a further document).
  return [...byKey.values()].flatMap((s) => {
    const chunks: Series[] = [];
    for (let i = 0; i < s.values.length; i += MAX_VALUES) {
      chunks.push({ ...s, values: s.values.slice(i, i + MAX_VALUES) });
    }
    return chunks;
  });
}

/**
 * The fewest documents (first fit) holding every point; none for no points. A dimension may
 * not reuse a default's name or a metric's name.
 */
export function emfDocuments(points: readonly MetricPoint[], opts: EmfOptions): Document[] {
  const defaultNames = Object.keys(opts.defaults);
  const docs: { root: Map<string, unknown>; directives: Map<string, Directive> }[] = [];
  for (const s of aggregate(points)) {
    const dimName = s.dimension?.[0];
    if (dimName !== undefined && (defaultNames.includes(dimName) || dimName === s.name)) {
      throw new Error(`EMF: dimension ${dimName} clashes with a default dimension or the metric's name`);
    }
    const fits = (root: Map<string, unknown>) =>
      !root.has(s.name) &&
      (dimName === undefined || !root.has(dimName) || root.get(dimName) === s.dimension![1]);
    let doc = docs.find((d) => fits(d.root));
    if (!doc) {
      doc = { root: new Map(Object.entries(opts.defaults)), directives: new Map() };
      docs.push(doc);
    }
    if (dimName !== undefined) doc.root.set(dimName, s.dimension![1]);
    doc.root.set(s.name, s.values.length === 1 ? s.values[0] : s.values);
    let directive = doc.directives.get(dimName ?? '');
    if (!directive) {
      directive = {
        Namespace: opts.namespace,
        Dimensions: [[...defaultNames, ...(dimName === undefined ? [] : [dimName])]],
        Metrics: [],
      };
      doc.directives.set(dimName ?? '', directive);
    }
    directive.Metrics.push({ Name: s.name, Unit: s.unit });
  }
  return docs.map((d) => ({
    _aws: { Timestamp: opts.timestamp, CloudWatchMetrics: [...d.directives.values()] },
    ...Object.fromEntries(d.root),
  }));
}
