/**
 * Requests per message on the hot path, counted by the emulators (dynalite, s3rver, the SES
 * recording layer) while `processReceipt` runs with the router's real adapters
 * (`createDeps`), sequentially, the counters read before and after every message.
 *
 * Scenarios: `steady` — 16 sending identities (aliases forwarded to one mailbox each), 6
 * messages each, interleaved; the first message of each identity is reported apart (`first`:
 * its limits item does not exist yet). `list` — an alias with 3 destinations (1 copy, still
 * one trace item and one index entry). `duplicate` — a re-delivered event. `blocked` — a message for an address
 * without a route (an NDR goes back to the authenticated sender).
 *
 * Besides request counts, DynamoDB write/read *units*: every call asks for
 * `ReturnConsumedCapacity: INDEXES` (dynalite computes the table's units from item sizes:
 * max(before, after) rounded up to 1 KB); a conditional write that fails is charged 1 WRU by
 * DynamoDB and is counted so; GSI writes, which dynalite does not report, are derived from
 * the stored items (the one GSI key attribute, `gsiPool`, is written once, with the summary:
 * 1 WRU per index entry, ordinary mail's entry being below 1 KB).
 *
 * Run directly: `node --import tsx bench/requests.ts <corpusDir>` prints JSON.
 */
import { pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { SDK_RETRY } from '../functions/adapters/aws-errors.js';
import { DynamoLimitsStore } from '../functions/adapters/dynamo-limits-store.js';
import { DynamoTraceStore } from '../functions/adapters/dynamo-trace-store.js';
import { createTables, TRACE_POOL_INDEX_PK } from '../functions/adapters/tables.js';
import { createDeps } from '../functions/router/handler.js';
import { type PipelineDeps, processReceipt } from '../functions/router/process.js';
import { type Emulators, startEmulators } from '../sandbox/emulators/index.js';
import { type Corpus, IDENTITIES, loadCorpus, receiptEvent, routerEnvironment } from './corpus.js';
import { median } from './stats.js';

export const BUCKET = 'bench-inbound';
export const PREFIX = 'raw/';

const WRITE_OPS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
const READ_OPS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

/** Consumed capacity seen by the bench's DynamoDB client. */
export interface CapacityMeter {
  wru: number;
  rru: number;
  failedConditionalWrites: number;
}

/**
 * A DynamoDB client that asks for `ReturnConsumedCapacity: INDEXES` on every call and adds
 * up what comes back (document-client commands go through the same middleware stack).
 */
export function meteredDynamo(emu: Emulators, meter: CapacityMeter): DynamoDBDocumentClient {
  const client = new DynamoDBClient({ ...emu.clientConfig('dynamodb'), ...SDK_RETRY });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'INDEXES';
      const isWrite = WRITE_OPS.has(String(context.commandName ?? '').replace(/Command$/, ''));
      try {
        const out = await next(args);
        const consumed = (out.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
        for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
          const units = Number((c as { CapacityUnits?: number }).CapacityUnits ?? 0);
          if (isWrite) meter.wru += units;
          else meter.rru += units;
        }
        return out;
      } catch (error) {
        if ((error as Error).name === 'ConditionalCheckFailedException') {
          meter.failedConditionalWrites++;
          meter.wru += 1;
        }
        throw error;
      }
    },
    { step: 'initialize', name: 'benchConsumedCapacity' },
  );
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export interface StackHandle {
  emu: Emulators;
  env: Record<string, string>;
  tables: { limits: string; trace: string };
  put(messageId: string, raw: Buffer): Promise<void>;
  stop(): Promise<void>;
}

/** Emulators, tables, and the router's environment (set in `process.env` for its SDK clients). */
export async function startStack(corpus: Corpus): Promise<StackHandle> {
  const emu = await startEmulators({ buckets: [BUCKET] });
  const tables = { limits: 'bench-limits', trace: 'bench-trace' };
  const admin = new DynamoDBClient(emu.clientConfig('dynamodb'));
  await createTables(admin, tables);
  admin.destroy();
  const s3 = new S3Client(emu.clientConfig('s3'));
  const env = routerEnvironment(corpus, emu.env, { bucket: BUCKET, prefix: PREFIX, tables });
  return {
    emu,
    env,
    tables,
    put: async (messageId, raw) => {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}${messageId}`, Body: raw }));
    },
    stop: async () => {
      s3.destroy();
      await emu.stop();
    },
  };
}

export interface MessageCost {
  scenario: string;
  dynamo: Record<string, number>;
  dynamoWrites: number;
  dynamoReads: number;
  /** Table WRUs reported by dynalite (+1 per failed conditional write). */
  tableWru: number;
  rru: number;
  failedConditionalWrites: number;
  s3: Record<string, number>;
  s3Gets: number;
  ses: Record<string, number>;
  sesSends: number;
  /** Wall time of processReceipt against the local emulators. */
  ms: number;
}

export interface BucketSummary {
  messages: number;
  dynamoWrites: number;
  dynamoReads: number;
  tableWru: number;
  gsiWru: number;
  wru: number;
  rru: number;
  s3Gets: number;
  sesSends: number;
  dynamoByOperation: Record<string, number>;
  medianMs: number;
}

export interface RequestsResult {
  identities: number;
  messagesPerIdentity: number;
  /** Messages after the first of their identity (the steady state). */
  steady: BucketSummary;
  /** The first message of each identity. */
  first: BucketSummary;
  list: BucketSummary;
  duplicate: BucketSummary;
  blocked: BucketSummary;
  messageBytes: number;
}

const diff = (after: Record<string, number>, before: Record<string, number>) => {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
};
const sumOf = (r: Record<string, number>, ops: Set<string>) =>
  Object.entries(r).reduce((s, [k, v]) => s + (ops.has(k) ? v : 0), 0);

/** The GSI entries a message's trace items carry (each written once: 1 WRU each). */
async function gsiEntries(doc: DynamoDBDocumentClient, table: string, messageId: string): Promise<number> {
  const out = await doc.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `M#${messageId}` },
    }),
  );
  let n = 0;
  for (const item of out.Items ?? []) {
    if (item[TRACE_POOL_INDEX_PK] !== undefined) n++;
  }
  return n;
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

function summarize(costs: MessageCost[], gsi: Map<MessageCost, number>): BucketSummary {
  const n = Math.max(costs.length, 1);
  const avg = (f: (c: MessageCost) => number) => round(costs.reduce((s, c) => s + f(c), 0) / n);
  const byOp: Record<string, number> = {};
  for (const c of costs) for (const [k, v] of Object.entries(c.dynamo)) byOp[k] = (byOp[k] ?? 0) + v;
  for (const k of Object.keys(byOp)) byOp[k] = round(byOp[k]! / n);
  const gsiWru = avg((c) => gsi.get(c) ?? 0);
  const tableWru = avg((c) => c.tableWru);
  return {
    messages: costs.length,
    dynamoWrites: avg((c) => c.dynamoWrites),
    dynamoReads: avg((c) => c.dynamoReads),
    tableWru,
    gsiWru,
    wru: round(tableWru + gsiWru),
    rru: avg((c) => c.rru),
    s3Gets: avg((c) => c.s3Gets),
    sesSends: avg((c) => c.sesSends),
    dynamoByOperation: Object.fromEntries(Object.entries(byOp).sort(([a], [b]) => a.localeCompare(b))),
    medianMs: costs.length > 0 ? median(costs.map((c) => c.ms)) : 0,
  };
}

export async function measureRequests(
  corpus: Corpus,
  opts: { messagesPerIdentity?: number; log?: (s: string) => void } = {},
): Promise<RequestsResult> {
  const perIdentity = opts.messagesPerIdentity ?? 6;
  const message = corpus.messages.find((m) => m.name === 'plain/1sig')!;
  const stack = await startStack(corpus);
  try {
    const meter: CapacityMeter = { wru: 0, rru: 0, failedConditionalWrites: 0 };
    const doc = meteredDynamo(stack.emu, meter);
    const plainDoc = DynamoDBDocumentClient.from(new DynamoDBClient(stack.emu.clientConfig('dynamodb')));
    const deps: PipelineDeps = await createDeps(stack.env, {
      limits: new DynamoLimitsStore({ client: doc, tableName: stack.tables.limits }),
      trace: new DynamoTraceStore({ client: doc, tableName: stack.tables.trace, retentionDays: 30 }),
      resolver: corpus.resolver,
      clock: () => corpus.now,
      observer: {},
    });

    const costs: MessageCost[] = [];
    const ids = new Map<MessageCost, string>();
    let seq = 0;
    const run = async (scenario: string, event: Record<string, unknown>, messageId: string) => {
      const before = {
        d: stack.emu.dynamodb.requests(),
        s3: stack.emu.s3.requests(),
        ses: stack.emu.ses.requests(),
        m: { ...meter },
      };
      const t = performance.now();
      await processReceipt(event, deps);
      const ms = performance.now() - t;
      const d = diff(stack.emu.dynamodb.requests(), before.d);
      const s3 = diff(stack.emu.s3.requests(), before.s3);
      const ses = diff(stack.emu.ses.requests(), before.ses);
      const cost: MessageCost = {
        scenario,
        dynamo: d,
        dynamoWrites: sumOf(d, WRITE_OPS),
        dynamoReads: sumOf(d, READ_OPS),
        tableWru: meter.wru - before.m.wru,
        rru: meter.rru - before.m.rru,
        failedConditionalWrites: meter.failedConditionalWrites - before.m.failedConditionalWrites,
        s3,
        s3Gets: s3.GetObject ?? 0,
        ses,
        sesSends: ses.SendEmail ?? 0,
        ms,
      };
      costs.push(cost);
      ids.set(cost, messageId);
      return cost;
    };
    const receive = async (scenario: string, recipients: string[], extra: { spf?: 'PASS' | 'FAIL' } = {}) => {
      const messageId = `bench-req-${++seq}`;
      await stack.put(messageId, message.raw);
      const event = receiptEvent({ messageId, recipients, now: corpus.now, ...extra });
      return { cost: await run(scenario, event, messageId), event, messageId };
    };

    // Steady state: identities interleaved, so each message is a "warm" container's typical one.
    for (let round = 0; round < perIdentity; round++) {
      for (let i = 0; i < IDENTITIES; i++) {
        await receive(round === 0 ? 'first' : 'steady', [`user${i}@example.com`]);
      }
    }
    // A list: 3 destinations, one copy.
    await receive('list-first', ['team@example.com']);
    for (let i = 0; i < 5; i++) await receive('list', ['team@example.com']);
    // Duplicates: re-delivered events of messages already done.
    const done = costs.filter((c) => c.scenario === 'steady').slice(0, 5);
    for (const c of done) {
      const messageId = ids.get(c)!;
      await run('duplicate', receiptEvent({ messageId, recipients: ['user0@example.com'] }), messageId);
    }
    // No route (authenticated sender: an NDR goes back).
    for (let i = 0; i < 5; i++) await receive('blocked', ['nobody@example.com']);

    const gsi = new Map<MessageCost, number>();
    for (const c of costs) {
      if (c.scenario === 'duplicate') continue;
      gsi.set(c, await gsiEntries(plainDoc, stack.tables.trace, ids.get(c)!));
    }
    const of = (s: string) => costs.filter((c) => c.scenario === s);
    const result: RequestsResult = {
      identities: IDENTITIES,
      messagesPerIdentity: perIdentity,
      steady: summarize(of('steady'), gsi),
      first: summarize(of('first'), gsi),
      list: summarize(of('list'), gsi),
      duplicate: summarize(of('duplicate'), gsi),
      blocked: summarize(of('blocked'), gsi),
      messageBytes: message.raw.length,
    };
    for (const [name, b] of Object.entries(result)) {
      if (typeof b !== 'object') continue;
      opts.log?.(
        `  ${name.padEnd(10)} ${b.messages} msgs: DynamoDB ${b.dynamoWrites.toFixed(2)} writes ${b.dynamoReads.toFixed(2)} reads (${b.wru.toFixed(2)} WRU incl. ${b.gsiWru.toFixed(2)} GSI, ${b.rru.toFixed(2)} RRU) ${JSON.stringify(b.dynamoByOperation)} · S3 GET ${b.s3Gets.toFixed(2)} · SES ${b.sesSends.toFixed(2)} · ${b.medianMs.toFixed(1)} ms`,
      );
    }
    plainDoc.destroy();
    return result;
  } finally {
    await stack.stop();
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: requests.ts <corpusDir>');
  const result = await measureRequests(
    loadCorpus(dir, (n) => n === 'plain/1sig'),
    {
      log: (s) => process.stderr.write(`${s}\n`),
    },
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
