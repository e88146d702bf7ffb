/**
 * The part of DynamoDB's expression language the project's adapters use, evaluated over items
 * in DynamoDB's JSON wire form (`{ S: "x" }`, `{ N: "1" }`, `{ M: {…} }`…), for the bench's
 * in-memory transport: condition and key-condition expressions (comparisons, `BETWEEN`, `IN`,
 * `AND`/`OR`/`NOT`, `attribute_exists`, `attribute_not_exists`, `begins_with`, `contains`,
 * `size`) and update expressions (`SET` with `+`/`-`, `if_not_exists`, `list_append`;
 * `REMOVE`; `ADD` numbers and sets; `DELETE` from sets). Paths: top-level names and map
 * members (`#a.#b`), no list indexes.
 * Grammar: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html
 */

export type AttributeValue = Record<string, unknown>;
export type Item = Record<string, AttributeValue>;

export interface ExpressionContext {
  names?: Record<string, string>;
  values?: Record<string, AttributeValue>;
}

const TOKEN = /\s*(<>|<=|>=|[=<>(),.+-]|[#:]?[A-Za-z_][A-Za-z0-9_]*)/y;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const m = TOKEN.exec(text);
    if (!m)
      throw new Error(`ValidationException: cannot parse expression at: ${text.slice(TOKEN.lastIndex)}`);
    tokens.push(m[1]!);
  }
  return tokens;
}

class Parser {
  i = 0;
  constructor(
    readonly tokens: string[],
    readonly ctx: ExpressionContext,
  ) {}
  peek(): string | undefined {
    return this.tokens[this.i];
  }
  next(): string {
    const t = this.tokens[this.i++];
    if (t === undefined) throw new Error('ValidationException: unexpected end of expression');
    return t;
  }
  expect(t: string): void {
    const got = this.next();
    if (got.toUpperCase() !== t) throw new Error(`ValidationException: expected ${t}, got ${got}`);
  }
  isKeyword(t: string): boolean {
    return this.peek()?.toUpperCase() === t;
  }
  name(token: string): string {
    if (!token.startsWith('#')) return token;
    const n = this.ctx.names?.[token];
    if (n === undefined) throw new Error(`ValidationException: undefined name ${token}`);
    return n;
  }
  path(): string[] {
    const parts = [this.name(this.next())];
    while (this.peek() === '.') {
      this.next();
      parts.push(this.name(this.next()));
    }
    return parts;
  }
}

function get(item: Item, path: string[]): AttributeValue | undefined {
  let v: AttributeValue | undefined = item[path[0]!];
  for (const p of path.slice(1)) v = (v?.M as Item | undefined)?.[p];
  return v;
}

function put(item: Item, path: string[], value: AttributeValue | undefined): void {
  let target = item;
  for (const p of path.slice(0, -1)) {
    const next = target[p]?.M as Item | undefined;
    if (!next)
      throw new Error('ValidationException: the document path provided in the update expression is invalid');
    target = next;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete target[last];
  else target[last] = value;
}

type Operand = (item: Item) => AttributeValue | undefined;

function operand(p: Parser): Operand {
  const t = p.peek()!;
  if (t.startsWith(':')) {
    p.next();
    const v = p.ctx.values?.[t];
    if (v === undefined) throw new Error(`ValidationException: undefined value ${t}`);
    return () => v;
  }
  const fn = t.toLowerCase();
  if (p.tokens[p.i + 1] === '(' && ['if_not_exists', 'list_append', 'size'].includes(fn)) {
    p.next();
    p.expect('(');
    const a = operand(p);
    if (fn === 'size') {
      p.expect(')');
      return (item) => {
        const v = a(item);
        const x = v?.S ?? v?.B ?? v?.L ?? v?.SS ?? v?.NS ?? v?.M;
        const n =
          typeof x === 'string'
            ? Buffer.byteLength(x)
            : Array.isArray(x)
              ? x.length
              : Object.keys(x ?? {}).length;
        return { N: String(n) };
      };
    }
    p.expect(',');
    const b = operand(p);
    p.expect(')');
    if (fn === 'if_not_exists') return (item) => a(item) ?? b(item);
    return (item) => ({ L: [...((a(item)?.L as unknown[]) ?? []), ...((b(item)?.L as unknown[]) ?? [])] });
  }
  const path = p.path();
  return (item) => get(item, path);
}

function compare(a: AttributeValue | undefined, b: AttributeValue | undefined): number | undefined {
  if (!a || !b) return undefined;
  if (a.N !== undefined && b.N !== undefined) return Number(a.N) - Number(b.N);
  if (typeof a.S === 'string' && typeof b.S === 'string') return a.S < b.S ? -1 : a.S > b.S ? 1 : 0;
  if (a.B !== undefined && b.B !== undefined)
    return Buffer.compare(Buffer.from(a.B as string), Buffer.from(b.B as string));
  return JSON.stringify(a) === JSON.stringify(b) ? 0 : undefined;
}

type Condition = (item: Item) => boolean;

function primary(p: Parser): Condition {
  if (p.isKeyword('NOT')) {
    p.next();
    const c = primary(p);
    return (item) => !c(item);
  }
  if (p.peek() === '(') {
    p.next();
    const c = disjunction(p);
    p.expect(')');
    return c;
  }
  const fn = p.peek()!.toLowerCase();
  if (
    p.tokens[p.i + 1] === '(' &&
    ['attribute_exists', 'attribute_not_exists', 'begins_with', 'contains', 'attribute_type'].includes(fn)
  ) {
    p.next();
    p.expect('(');
    const a = operand(p);
    let b: Operand | undefined;
    if (p.peek() === ',') {
      p.next();
      b = operand(p);
    }
    p.expect(')');
    switch (fn) {
      case 'attribute_exists':
        return (item) => a(item) !== undefined;
      case 'attribute_not_exists':
        return (item) => a(item) === undefined;
      case 'begins_with':
        return (item) => {
          const x = a(item)?.S;
          const y = b?.(item)?.S;
          return typeof x === 'string' && typeof y === 'string' && x.startsWith(y);
        };
      case 'attribute_type':
        return (item) => Object.keys(a(item) ?? {})[0] === b?.(item)?.S;
      default:
        return (item) => {
          const x = a(item);
          const y = b?.(item);
          if (typeof x?.S === 'string' && typeof y?.S === 'string') return x.S.includes(y.S);
          const set = (x?.SS ?? x?.NS ?? x?.L) as unknown[] | undefined;
          return !!set?.some((e) => JSON.stringify(e) === JSON.stringify(y?.S ?? y?.N ?? y));
        };
    }
  }
  const left = operand(p);
  if (p.isKeyword('BETWEEN')) {
    p.next();
    const lo = operand(p);
    p.expect('AND');
    const hi = operand(p);
    return (item) => (compare(left(item), lo(item)) ?? -1) >= 0 && (compare(left(item), hi(item)) ?? 1) <= 0;
  }
  if (p.isKeyword('IN')) {
    p.next();
    p.expect('(');
    const options = [operand(p)];
    while (p.peek() === ',') {
      p.next();
      options.push(operand(p));
    }
    p.expect(')');
    return (item) => options.some((o) => compare(left(item), o(item)) === 0);
  }
  const op = p.next();
  const right = operand(p);
  return (item) => {
    const c = compare(left(item), right(item));
    if (op === '<>') return c !== 0;
    if (c === undefined) return false;
    return op === '=' ? c === 0 : op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
  };
}

function conjunction(p: Parser): Condition {
  const parts = [primary(p)];
  while (p.isKeyword('AND')) {
    p.next();
    parts.push(primary(p));
  }
  return (item) => parts.every((c) => c(item));
}

function disjunction(p: Parser): Condition {
  const parts = [conjunction(p)];
  while (p.isKeyword('OR')) {
    p.next();
    parts.push(conjunction(p));
  }
  return (item) => parts.some((c) => c(item));
}

/** Whether `item` (absent: `{}`) satisfies a condition or key-condition expression. */
export function evaluateCondition(expression: string, item: Item, ctx: ExpressionContext): boolean {
  const p = new Parser(tokenize(expression), ctx);
  const c = disjunction(p);
  if (p.peek() !== undefined) throw new Error(`ValidationException: unexpected ${p.peek()} in condition`);
  return c(item);
}

function arith(a: AttributeValue | undefined, b: AttributeValue | undefined, sign: number): AttributeValue {
  if (a?.N === undefined || b?.N === undefined) {
    throw new Error('ValidationException: an operand in the update expression has an incorrect data type');
  }
  return { N: String(Number(a.N) + sign * Number(b.N)) };
}

/** Applies an update expression to a copy of `item`; returns the new item. */
export function applyUpdate(expression: string, item: Item, ctx: ExpressionContext): Item {
  const out = structuredClone(item);
  const p = new Parser(tokenize(expression), ctx);
  while (p.peek() !== undefined) {
    const clause = p.next().toUpperCase();
    do {
      if (p.peek() === ',') p.next();
      const path = p.path();
      if (clause === 'SET') {
        p.expect('=');
        const a = operand(p);
        let value: AttributeValue | undefined;
        if (p.peek() === '+' || p.peek() === '-') {
          const sign = p.next() === '+' ? 1 : -1;
          const b = operand(p);
          value = arith(a(item), b(item), sign);
        } else value = a(item);
        put(out, path, value);
      } else if (clause === 'REMOVE') {
        put(out, path, undefined);
      } else if (clause === 'ADD' || clause === 'DELETE') {
        const v = operand(p)(item)!;
        const old = get(out, path);
        const setKey = ['SS', 'NS', 'BS'].find((k) => v[k] !== undefined);
        if (setKey) {
          const current = new Set((old?.[setKey] as string[] | undefined) ?? []);
          for (const e of v[setKey] as string[]) clause === 'ADD' ? current.add(e) : current.delete(e);
          put(out, path, current.size ? { [setKey]: [...current] } : undefined);
        } else if (clause === 'ADD') put(out, path, arith(old ?? { N: '0' }, v, 1));
      } else throw new Error(`ValidationException: unknown clause ${clause}`);
    } while (p.peek() === ',');
  }
  return out;
}

/**
 * An item's size as DynamoDB bills it: attribute names plus values (strings and binaries by
 * length, numbers about one byte per two digits plus one, 3 bytes of overhead per map or list
 * plus 1 per element). https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
 */
export function itemSize(item: Item | undefined): number {
  if (!item) return 0;
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name) + valueSize(value);
  return size;
}

function valueSize(v: AttributeValue): number {
  if (typeof v.S === 'string') return Buffer.byteLength(v.S);
  if (typeof v.N === 'string') return Math.ceil(v.N.replace(/^-|\./g, '').length / 2) + 1;
  if (v.B !== undefined) return Buffer.from(v.B as string, 'base64').length;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.M) return 3 + itemSize(v.M as Item) + Object.keys(v.M).length;
  if (v.L) return 3 + (v.L as AttributeValue[]).reduce((s, e) => s + valueSize(e) + 1, 0);
  const set = (v.SS ?? v.NS ?? v.BS) as string[] | undefined;
  return set ? set.reduce((s, e) => s + Buffer.byteLength(e), 0) : 0;
}
