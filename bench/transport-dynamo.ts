/**
 * DynamoDB in memory for the bench's transport: the JSON 1.0 protocol's operations the
 * project's adapters call (GetItem, PutItem, UpdateItem, DeleteItem, Query, BatchWriteItem,
 * BatchGetItem) over `Map`s of items, with the condition and update expressions evaluated
 * (`dynamo-expressions.ts`), conditional-check failures answered as DynamoDB answers them, and
 * the capacity each request consumes computed by DynamoDB's rules — table and GSI units — and
 * returned when the request asks (`ReturnConsumedCapacity`), and always tallied.
 *
 * Units (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html):
 * a write costs 1 WRU per started KB of the larger of the item before and after; a failed
 * conditional write still costs (at least 1 WRU); each GSI whose projected entry is put or
 * deleted costs 1 WRU per started KB of the projected entry (a key change is a delete and a
 * put); a read costs 1 RRU per started 4 KB, half of it when eventually consistent.
 */
import type { TableDescription } from '../functions/adapters/tables.js';
import {
  type AttributeValue,
  applyUpdate,
  type ExpressionContext,
  evaluateCondition,
  type Item,
  itemSize,
} from './dynamo-expressions.js';

export interface DynamoTally {
  requests: Record<string, number>;
  wru: number;
  /** Of `wru`, GSI entries. */
  gsiWru: number;
  rru: number;
  conditionalFailures: number;
}

export const emptyDynamoTally = (): DynamoTally => ({
  requests: {},
  wru: 0,
  gsiWru: 0,
  rru: 0,
  conditionalFailures: 0,
});

export class DynamoError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

type Request = Record<string, unknown> & ExpressionContext;

/** The request's placeholders as the expression evaluator takes them. */
const withContext = (r: Record<string, unknown>): Request => ({
  ...r,
  names: r.ExpressionAttributeNames as ExpressionContext['names'],
  values: r.ExpressionAttributeValues as ExpressionContext['values'],
});

const kb = (bytes: number, unit: number) => Math.max(1, Math.ceil(bytes / unit));

export class InMemoryDynamo {
  readonly #items = new Map<string, Map<string, Item>>();
  constructor(
    readonly tables: Readonly<Record<string, TableDescription>>,
    readonly tally: DynamoTally,
  ) {}

  #table(name: unknown): { description: TableDescription; items: Map<string, Item> } {
    const description = this.tables[name as string];
    if (!description)
      throw new DynamoError('ResourceNotFoundException', `Requested resource not found: ${name}`);
    const items = this.#items.get(name as string) ?? new Map<string, Item>();
    this.#items.set(name as string, items);
    return { description, items };
  }

  #keyOf(description: TableDescription, item: Item): string {
    const pk = item[description.partitionKey.name];
    const sk = description.sortKey ? item[description.sortKey.name] : undefined;
    if (!pk || (description.sortKey && !sk)) {
      throw new DynamoError('ValidationException', 'The provided key element does not match the schema');
    }
    return JSON.stringify([pk, sk]);
  }

  /** GSI units of replacing `before` with `after` (either absent). */
  #gsiUnits(description: TableDescription, before: Item | undefined, after: Item | undefined): number {
    let units = 0;
    for (const index of Object.values(description.indexes ?? {})) {
      const keys = [index.partitionKey.name, ...(index.sortKey ? [index.sortKey.name] : [])];
      const keyOf = (item: Item | undefined) =>
        item && keys.every((k) => item[k] !== undefined)
          ? JSON.stringify(keys.map((k) => item[k]))
          : undefined;
      const projected = (item: Item | undefined): Item => {
        if (!item) return {};
        if (index.projection === 'ALL') return item;
        const names = [
          ...keys,
          description.partitionKey.name,
          ...(description.sortKey ? [description.sortKey.name] : []),
          ...(index.projection === 'INCLUDE' ? (index.nonKeyAttributes ?? []) : []),
        ];
        return Object.fromEntries(names.filter((n) => item[n] !== undefined).map((n) => [n, item[n]!]));
      };
      const [was, is] = [keyOf(before), keyOf(after)];
      const size = kb(itemSize(projected(after ?? before)), 1024);
      if (was && is && was !== is) units += 2 * size;
      else if (was && is) {
        if (JSON.stringify(projected(before)) !== JSON.stringify(projected(after))) units += size;
      } else if (was || is) units += size;
    }
    return units;
  }

  #write(table: string, before: Item | undefined, after: Item | undefined): Record<string, unknown> {
    const { description } = this.#table(table);
    const units = kb(Math.max(itemSize(before), itemSize(after)), 1024);
    const gsi = this.#gsiUnits(description, before, after);
    this.tally.wru += units + gsi;
    this.tally.gsiWru += gsi;
    return { TableName: table, CapacityUnits: units + gsi, WriteCapacityUnits: units + gsi };
  }

  #read(table: string, bytes: number, consistent: boolean): Record<string, unknown> {
    const units = kb(bytes, 4096) * (consistent ? 1 : 0.5);
    this.tally.rru += units;
    return { TableName: table, CapacityUnits: units, ReadCapacityUnits: units };
  }

  #check(r: Request, before: Item | undefined): void {
    const condition = r.ConditionExpression as string | undefined;
    if (condition && !evaluateCondition(condition, before ?? {}, r)) {
      this.tally.conditionalFailures++;
      // Billed like the write it would have been (at least 1 WRU); no index changes.
      this.tally.wru += kb(itemSize(before), 1024);
      const old = r.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && before ? { Item: before } : {};
      throw new DynamoError('ConditionalCheckFailedException', 'The conditional request failed', old);
    }
  }

  handle(operation: string, request: Record<string, unknown>): Record<string, unknown> {
    const r = withContext(request);
    this.tally.requests[operation] = (this.tally.requests[operation] ?? 0) + 1;
    const capacity = (c: Record<string, unknown>) =>
      r.ReturnConsumedCapacity && r.ReturnConsumedCapacity !== 'NONE' ? { ConsumedCapacity: c } : {};
    switch (operation) {
      case 'GetItem': {
        const { description, items } = this.#table(r.TableName);
        const item = items.get(this.#keyOf(description, r.Key as Item));
        const c = this.#read(r.TableName as string, itemSize(item), r.ConsistentRead === true);
        return { ...(item ? { Item: item } : {}), ...capacity(c) };
      }
      case 'PutItem':
      case 'DeleteItem': {
        const { description, items } = this.#table(r.TableName);
        const key = this.#keyOf(description, (r.Item ?? r.Key) as Item);
        const before = items.get(key);
        this.#check(r, before);
        const after = operation === 'PutItem' ? (r.Item as Item) : undefined;
        if (after) items.set(key, after);
        else items.delete(key);
        const c = this.#write(r.TableName as string, before, after);
        return { ...(r.ReturnValues === 'ALL_OLD' && before ? { Attributes: before } : {}), ...capacity(c) };
      }
      case 'UpdateItem': {
        const { description, items } = this.#table(r.TableName);
        const key = this.#keyOf(description, r.Key as Item);
        const before = items.get(key);
        this.#check(r, before);
        const after = applyUpdate(
          (r.UpdateExpression as string | undefined) ?? '',
          { ...before, ...(r.Key as Item) },
          r,
        );
        items.set(key, after);
        const c = this.#write(r.TableName as string, before, after);
        return { ...returnValues(r.ReturnValues as string | undefined, before, after), ...capacity(c) };
      }
      case 'Query':
        return this.#query(r, capacity);
      case 'BatchWriteItem': {
        const consumed: Record<string, unknown>[] = [];
        for (const [table, requests] of Object.entries(
          r.RequestItems as Record<string, Record<string, { Item?: Item; Key?: Item }>[]>,
        )) {
          for (const w of requests) {
            const put = w.PutRequest;
            const del = w.DeleteRequest;
            const out = this.handle(put ? 'PutItem' : 'DeleteItem', {
              TableName: table,
              ...(put ? { Item: put.Item } : { Key: del?.Key }),
              ReturnConsumedCapacity: 'TOTAL',
            });
            this.tally.requests[put ? 'PutItem' : 'DeleteItem']!--;
            consumed.push(out.ConsumedCapacity as Record<string, unknown>);
          }
        }
        return { UnprocessedItems: {}, ...(r.ReturnConsumedCapacity ? { ConsumedCapacity: consumed } : {}) };
      }
      case 'BatchGetItem': {
        const responses: Record<string, Item[]> = {};
        for (const [table, spec] of Object.entries(
          r.RequestItems as Record<string, { Keys: Item[]; ConsistentRead?: boolean }>,
        )) {
          const { description, items } = this.#table(table);
          responses[table] = spec.Keys.map((k) => items.get(this.#keyOf(description, k))).filter(
            (i): i is Item => !!i,
          );
          this.#read(
            table,
            responses[table].reduce((s, i) => s + itemSize(i), 0),
            spec.ConsistentRead === true,
          );
        }
        return { Responses: responses, UnprocessedKeys: {} };
      }
      default:
        throw new DynamoError('UnknownOperationException', `bench transport: ${operation} is not emulated`);
    }
  }

  #query(
    r: Request,
    capacity: (c: Record<string, unknown>) => Record<string, unknown>,
  ): Record<string, unknown> {
    const { description, items } = this.#table(r.TableName);
    const index = r.IndexName ? description.indexes?.[r.IndexName as string] : undefined;
    if (r.IndexName && !index) throw new DynamoError('ValidationException', `no index ${r.IndexName}`);
    const sortKey = (index ?? description).sortKey?.name;
    let found = [...items.values()].filter((i) =>
      evaluateCondition(r.KeyConditionExpression as string, i, r),
    );
    if (sortKey) found.sort((a, b) => ((a[sortKey]?.S as string) < (b[sortKey]?.S as string) ? -1 : 1));
    if (r.ScanIndexForward === false) found.reverse();
    const bytes = found.reduce((s, i) => s + itemSize(i), 0);
    if (r.FilterExpression)
      found = found.filter((i) => evaluateCondition(r.FilterExpression as string, i, r));
    if (typeof r.Limit === 'number') found = found.slice(0, r.Limit);
    const c = this.#read(r.TableName as string, bytes, r.ConsistentRead === true);
    return { Items: found, Count: found.length, ScannedCount: found.length, ...capacity(c) };
  }
}

function returnValues(
  mode: string | undefined,
  before: Item | undefined,
  after: Item,
): Record<string, unknown> {
  if (mode === 'ALL_NEW') return { Attributes: after };
  if (mode === 'ALL_OLD') return before ? { Attributes: before } : {};
  if (mode === 'UPDATED_NEW' || mode === 'UPDATED_OLD') {
    const source = mode === 'UPDATED_NEW' ? after : (before ?? {});
    const changed = Object.keys({ ...before, ...after }).filter(
      (k) => JSON.stringify(before?.[k]) !== JSON.stringify(after[k]) && source[k] !== undefined,
    );
    return changed.length
      ? { Attributes: Object.fromEntries(changed.map((k) => [k, source[k] as AttributeValue])) }
      : {};
  }
  return {};
}
