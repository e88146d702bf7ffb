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
 * Every metric names its `Unit`, counts too, although the specification makes it optional:
 * without one CloudWatch stores `None`, and "if the metric is published with multiple types of
 * units and you don't specify a unit, the alarm's behavior is not defined" (CloudWatch API
 * Reference, `PutMetricAlarm`, `Unit`; our alarms name none). Not worth ~15 bytes a count.
 *
 * A document may carry any other members, which CloudWatch Logs keeps as log fields (the
 * specification: members not recognized are ignored): `properties` puts a log record in the
 * first document, so the record and its metrics are one log event and a member such as `Pool`
 * is written once for both.
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
  /**
   * Other members of the first document, written before `_aws` (the log record the metrics
   * ride on). One member serves both: a string member named like a dimension is that
   * dimension's value in this document (a metric with another value goes to a further
   * document), and no metric takes the name of one of them.
   */
  properties?: Readonly<Record<string, unknown>>;
}

type Directive = { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: EmfUnit }[] };
/** An EMF document; without `_aws` only when it is the record alone (`properties`). */
type Document = Record<string, unknown> & { _aws?: { Timestamp: number; CloudWatchMetrics: Directive[] } };

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
 * not reuse a default's name or a metric's name. With `properties`, the first document holds
 * them (without `_aws` if no metric fits beside them).
 */
export function emfDocuments(points: readonly MetricPoint[], opts: EmfOptions): Document[] {
  const defaultNames = Object.keys(opts.defaults);
  const properties = opts.properties ?? {};
  for (const name of defaultNames) {
    if (name in properties && properties[name] !== opts.defaults[name]) {
      throw new Error(`EMF: property ${name} contradicts the default dimension`);
    }
  }
  const docs: { root: Map<string, unknown>; directives: Map<string, Directive> }[] = [];
  const newDocument = () => {
    const root = new Map<string, unknown>(docs.length === 0 ? Object.entries(properties) : []);
    for (const [k, v] of Object.entries(opts.defaults)) root.set(k, v);
    docs.push({ root, directives: new Map() });
    return docs[docs.length - 1]!;
  };
  // The first document holds the properties, whether or not a metric fits beside them.
  if (points.length > 0) newDocument();
  for (const s of aggregate(points)) {
    const dimName = s.dimension?.[0];
    if (dimName !== undefined && (defaultNames.includes(dimName) || dimName === s.name)) {
      throw new Error(`EMF: dimension ${dimName} clashes with a default dimension or the metric's name`);
    }
    const fits = (root: Map<string, unknown>) =>
      !root.has(s.name) &&
      (dimName === undefined || !root.has(dimName) || root.get(dimName) === s.dimension![1]);
    const doc = docs.find((d) => fits(d.root)) ?? newDocument();
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
  // The properties first (the record a reader looks at), then `_aws` and the other members.
  return docs.map((d, i) => {
    const head = i === 0 ? Object.keys(properties) : [];
    const rest = [...d.root].filter(([k]) => !head.includes(k));
    // The record alone, when no metric fits beside it, is a plain log event (no empty `_aws`).
    const aws =
      d.directives.size === 0
        ? {}
        : { _aws: { Timestamp: opts.timestamp, CloudWatchMetrics: [...d.directives.values()] } };
    return {
      ...Object.fromEntries(head.map((k) => [k, d.root.get(k)])),
      ...aws,
      ...Object.fromEntries(rest),
    } as Document;
  });
}
