/**
 * Plain values ↔ DynamoDB `AttributeValue`s, exactly as the document client
 * (`@aws-sdk/lib-dynamodb`, `removeUndefinedValues: true`) converts them, for the router's hot
 * path, which sends low-level `UpdateItem`s (issue 16: the document client's marshalling walk and
 * its uncacheable middleware stack cost ~0.15 ms of CPU per request; see `dynamo-clients.ts`).
 *
 * Only the plain data the trace and limits items hold: strings, finite numbers within the safe
 * integer range (as the document client: other numbers throw), booleans, null, arrays and plain
 * objects, whose `undefined` and function members are left out. Anything else (Sets, Maps,
 * binary, bigint) throws a `TypeError`: the hot path never writes them, and a silent
 * difference from what the document client would store is worse than a loud one. Reading
 * back takes every DynamoDB type, as `unmarshall` does (a number beyond the safe integers
 * becomes a BigInt). `test/adapters/dynamo-values.test.ts` checks both directions against the
 * document client's requests and answers.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** The `AttributeValue` of a value. */
export function toAttribute(value: unknown): AttributeValue {
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'number':
      return { N: numberText(value) };
    case 'boolean':
      return { BOOL: value };
    case 'object': {
      if (value === null) return { NULL: true };
      if (Array.isArray(value)) {
        const list: AttributeValue[] = [];
        for (const member of value) {
          if (member !== undefined && typeof member !== 'function') list.push(toAttribute(member));
        }
        return { L: list };
      }
      const proto = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null)
        return { M: toAttributes(value as Record<string, unknown>) };
      break;
    }
  }
  throw new TypeError(`cannot store ${describe(value)} in a DynamoDB item on this path`);
}

/** A map of values (an item, `ExpressionAttributeValues`): undefined and function members left out. */
export function toAttributes(values: Record<string, unknown>): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const key in values) {
    const member = values[key];
    if (member !== undefined && typeof member !== 'function') out[key] = toAttribute(member);
  }
  return out;
}

/** The plain value of an `AttributeValue`. */
export function fromAttribute(av: AttributeValue): unknown {
  const a = av as unknown as Record<string, unknown>;
  if (a.S !== undefined) return a.S;
  if (a.N !== undefined) return fromNumber(a.N as string);
  if (a.BOOL !== undefined) return Boolean(a.BOOL);
  if (a.NULL !== undefined) return null;
  if (a.M !== undefined) return fromAttributes(a.M as Record<string, AttributeValue>);
  if (a.L !== undefined) return (a.L as AttributeValue[]).map(fromAttribute);
  if (a.B !== undefined) return a.B;
  if (a.SS !== undefined) return new Set(a.SS as string[]);
  if (a.NS !== undefined) return new Set((a.NS as string[]).map(fromNumber));
  if (a.BS !== undefined) return new Set(a.BS as Uint8Array[]);
  throw new TypeError(`unsupported attribute value: ${Object.keys(a).join(', ')}`);
}

/** An item's plain values. */
export function fromAttributes(item: Record<string, AttributeValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in item) out[key] = fromAttribute(item[key]!);
  return out;
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`Special numeric value ${n} is not allowed`);
  if (n > Number.MAX_SAFE_INTEGER || n < Number.MIN_SAFE_INTEGER) {
    throw new TypeError(`Number ${n} is outside the safe integer range`);
  }
  return n.toString();
}

function fromNumber(text: string): number | bigint {
  const n = Number(text);
  if ((n > Number.MAX_SAFE_INTEGER || n < Number.MIN_SAFE_INTEGER) && Number.isFinite(n)) {
    try {
      return BigInt(text);
    } catch {
      throw new TypeError(`${text} can't be converted to BigInt`);
    }
  }
  return n;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value !== 'object') return typeof value;
  return (value as object).constructor?.name ?? 'object';
}
