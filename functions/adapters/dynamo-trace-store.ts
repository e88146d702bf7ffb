/**
 * `TraceStore` on DynamoDB: the message trace, which is also the idempotency record.
 *
 * ## Items
 *
 * One partition per message (`pk = "M#" + messageId`): the main item (`sk = "MSG"`: lease,
 * sends, summary in the compact form of `trace-compact.ts`, and the key of the one index,
 * `byPoolDay`), described in `trace-items.ts`, and its delivery events.
 *
 * Delivery events are items of their own in the message's partition, `sk = "E#" + at + "#" +
 * rank + digest`, never a list on the main item, so no item grows with them past DynamoDB's 400 KB
 * (`trace-events.ts` says why and how they are bounded). (Records written before this kept an
 * `events` list on the main item; it is still read.)
 *
 * ## Requests per message
 *
 * - `claim`: one `UpdateItem` that creates the item or takes over an expired lease (a
 *   duplicate delivery adds one `GetItem`, only on that path, to say `done` or `busy`);
 * - `recordSend`: one `UpdateItem` per call, fenced by `attempt = :attempt`;
 * - `release` (only after a failed attempt): one `UpdateItem`, fenced the same way, that ends
 *   the lease so Lambda's retry a minute later is not refused as "busy" (docs/retries.md);
 * - `recorded` (only after a failed `recordSend`): one consistent `GetItem` of the main item;
 * - `appendEvent` (feedback function): one consistent `GetItem` of the main item (the message
 *   must exist; its TTL is copied) and one conditional `PutItem` of the event item: one write
 *   unit, whatever the size of the message's trace;
 * - `get` and `query`: `trace-queries.ts`.
 * So a message sent as one copy costs exactly 2 writes (claim + the final recordSend with the
 * summary and the send) and one index entry, whatever its number of recipients: 3 write units
 * for ordinary mail, whose main item stays under 1 KB (issue 16; the limits count is the
 * router's fourth).
 *
 * ## Hot partitions
 *
 * Every message has its own partition. The index spreads each pool's day over
 * `TRACE_POOL_INDEX_SHARDS` partitions (about 1 000 writes a second each, so 4 000 messages a
 * second for one pool, above what SES lets one account send).
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LeaseLostError, TransientDependencyError } from '../core/errors.js';
import type {
  ClaimResult,
  DeliveryEvent,
  RecordedTrace,
  SendRecord,
  TraceStore,
  TraceSummary,
} from '../core/ports.js';
import type { PlannedSend } from '../core/send-plan.js';
import { type DynamoClientOptions, DynamoClients, updateItem } from './dynamo-clients.js';
import {
  Expr,
  isConditionFailed,
  sendMapped,
  TRACE_LOWER_CASE_ADDRESSES,
  TRACE_PARTITION_KEY,
  TRACE_POOL_INDEX_PK,
  TRACE_TTL_ATTRIBUTE,
} from './tables.js';
import type { TraceTable } from './trace-batches.js';
import { encodeSend, encodeSummary } from './trace-compact.js';
import { boundedAddresses, boundedEvent, eventItem } from './trace-events.js';
import {
  clean,
  DEAD_LETTER,
  type DeadLetterEnvelope,
  type DeadLetterNote,
  DONE,
  IN_PROGRESS,
  type Item,
  mainKey,
  poolIndexKey,
  senderKey,
  sendsOf,
  summaryOf,
  type TraceQuery,
  type TraceRecord,
} from './trace-items.js';
import { getTrace, queryTrace } from './trace-queries.js';

export type { DeadLetterEnvelope, DeadLetterNote, TraceQuery, TraceRecord } from './trace-items.js';
export { DEFAULT_QUERY_LIMIT } from './trace-queries.js';

export interface DynamoTraceStoreOptions extends DynamoClientOptions {
  tableName: string;
  /** Trace items expire this many days after the message was received. */
  retentionDays: number;
  /** "Now" of a search without `until` (default the system clock). */
  clock?: () => Date;
}

const DAY_SECONDS = 86_400;

/** The lower-cased form of the addresses that are not lower-case already, or undefined. */
function lowerCaseVariants(addresses: readonly string[]): string[] | undefined {
  const out = new Set<string>();
  for (const a of addresses) if (a.toLowerCase() !== a) out.add(a.toLowerCase());
  return out.size > 0 ? [...out] : undefined;
}
/**
 * The claim's `UpdateItem`: the same expressions for every message, built once (issue 16);
 * only the values change. It creates the item or takes over an expired lease.
 */
const CLAIM = (() => {
  const x = new Expr();
  const inProgress = x.v(IN_PROGRESS);
  const nowValue = x.v('now');
  const status = x.n('status');
  const attempt = x.n('attempt');
  const leaseUntil = x.n('leaseUntil');
  const zero = x.v(0);
  const one = x.v(1);
  const leaseValue = x.v('leaseUntil');
  const messageIdValue = x.v('messageId');
  const expiresValue = x.v('expiresAt');
  const update = [
    `${status} = ${inProgress}`,
    `${attempt} = if_not_exists(${attempt}, ${zero}) + ${one}`,
    `${leaseUntil} = ${leaseValue}`,
    `${x.n('messageId')} = ${messageIdValue}`,
    `${x.n('receivedAt')} = if_not_exists(${x.n('receivedAt')}, ${nowValue})`,
    `${x.n(TRACE_TTL_ATTRIBUTE)} = if_not_exists(${x.n(TRACE_TTL_ATTRIBUTE)}, ${expiresValue})`,
    `${x.n('sends')} = if_not_exists(${x.n('sends')}, ${x.v({})})`,
  ];
  // A dead letter is claimed at once — only a redrive (or a late duplicate) gets here, after
  // Lambda gave up on every attempt (issue 15) — unless an attempt still holds its lease: a
  // dead letter can be recorded while one runs (a duplicate delivery that found it busy on
  // each of its attempts), and a redrive then would send beside it (review, December 2026).
  const condition = `attribute_not_exists(${x.n(TRACE_PARTITION_KEY)}) OR (${status} = ${inProgress} AND ${leaseUntil} < ${nowValue}) OR (${status} = ${x.v(DEAD_LETTER)} AND (attribute_not_exists(${leaseUntil}) OR ${leaseUntil} < ${nowValue}))`;
  const fixed = x.values;
  return {
    update: `SET ${update.join(', ')}`,
    condition,
    names: x.names,
    values(v: { now: string; leaseUntil: string; messageId: string; expiresAt: number | undefined }) {
      return {
        ...fixed,
        [nowValue]: v.now,
        [leaseValue]: v.leaseUntil,
        [messageIdValue]: v.messageId,
        [expiresValue]: v.expiresAt,
      };
    },
  };
})();

/** Plans remembered (most recent), to store sends without what their planned copy says. */
const REMEMBERED_PLANS = 1_000;

export class DynamoTraceStore implements TraceStore {
  private readonly dynamo: DynamoClients;
  private readonly tableName: string;
  /** The same table, as the read and batch functions take it. */
  private readonly table: TraceTable;
  private readonly retentionSeconds: number;
  private readonly clock: () => Date;
  /** Plans of the summaries this instance wrote or resumed (`trace-compact.ts` `encodeSend`). */
  private readonly plans = new Map<string, PlannedSend[]>();

  constructor(opts: DynamoTraceStoreOptions) {
    const dynamo = new DynamoClients(opts);
    this.dynamo = dynamo;
    this.tableName = opts.tableName;
    this.table = {
      get doc() {
        return dynamo.doc;
      },
      tableName: this.tableName,
    };
    this.retentionSeconds = Math.round(opts.retentionDays * DAY_SECONDS);
    this.clock = opts.clock ?? (() => new Date());
  }

  /** The document client (built on first use: the router's hot path sends low-level updates). */
  private get doc(): DynamoDBDocumentClient {
    return this.dynamo.doc;
  }

  async claim(messageId: string, now: Date, leaseMs: number): Promise<ClaimResult> {
    const nowIso = now.toISOString();
    const values = CLAIM.values({
      now: nowIso,
      leaseUntil: new Date(now.getTime() + leaseMs).toISOString(),
      messageId,
      expiresAt: this.expiresAt(nowIso),
    });
    for (let round = 0; round < 3; round++) {
      try {
        const attributes = await sendMapped('UpdateItem', () =>
          updateItem(this.dynamo.client, {
            TableName: this.tableName,
            Key: mainKey(messageId),
            UpdateExpression: CLAIM.update,
            ConditionExpression: CLAIM.condition,
            ReturnValues: 'ALL_NEW',
            ExpressionAttributeNames: CLAIM.names,
            ExpressionAttributeValues: values,
          }),
        );
        const item = attributes ?? {};
        let resumed: { summary: TraceSummary; sent: SendRecord[] } | null = null;
        if (item.plan !== undefined) {
          const summary = summaryOf(item);
          this.rememberPlan(messageId, summary.plan);
          resumed = { summary, sent: sendsOf(item).filter((s) => s.status === 'sent') };
        }
        return { state: 'claimed', attempt: item.attempt as number, resumed };
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
      }
      // Only a duplicate gets here: say whether it is done or still owned by someone.
      const current = await this.getMain(messageId, ['status', 'leaseUntil']);
      if (!current) continue; // expired between the two calls: claim it afresh
      if (current.status === DONE) return { state: 'done' };
      const lease = typeof current.leaseUntil === 'string' ? current.leaseUntil : '';
      if (lease >= nowIso) return { state: 'busy', leaseUntil: lease };
      // The lease ran out between the two calls: try to take it over.
    }
    throw new TransientDependencyError('dynamodb', `claim ${messageId}: the trace item kept changing`);
  }

  async recordSend(
    messageId: string,
    attempt: number,
    send: SendRecord | null,
    summary: TraceSummary | null,
    final: boolean,
  ): Promise<void> {
    if (summary) this.rememberPlan(messageId, summary.plan);
    const x = new Expr();
    const sets: string[] = [];
    if (send) {
      const planned = (summary?.plan ?? this.plans.get(messageId))?.[send.index];
      sets.push(`${x.n('sends')}.${x.n(String(send.index))} = ${x.v(clean(encodeSend(send, planned)))}`);
    }
    if (summary) {
      const attrs: Record<string, unknown> = {
        ...encodeSummary(clean(summary), senderKey(summary.sender)),
        // The one index entry (issue 16), written here and never again.
        [TRACE_POOL_INDEX_PK]: poolIndexKey(summary.pool, summary.receivedAt, summary.messageId),
        [TRACE_LOWER_CASE_ADDRESSES]: lowerCaseVariants([...summary.recipients, ...summary.destinations]),
        [TRACE_TTL_ATTRIBUTE]: this.expiresAt(summary.receivedAt),
      };
      for (const [name, value] of Object.entries(attrs)) {
        if (value !== undefined) sets.push(`${x.n(name)} = ${x.v(value)}`);
      }
    }
    if (final) sets.push(`${x.n('status')} = ${x.v(DONE)}`);
    const attemptValue = x.v(attempt);
    if (sets.length === 0) sets.push(`${x.n('attempt')} = ${attemptValue}`);
    try {
      await sendMapped('UpdateItem', () =>
        updateItem(this.dynamo.client, {
          TableName: this.tableName,
          Key: mainKey(messageId),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: `${x.n('attempt')} = ${attemptValue}`,
          ...x.params(),
        }),
      );
    } catch (err) {
      if (isConditionFailed(err)) {
        throw new LeaseLostError(messageId, `attempt ${attempt} no longer owns this message`, { cause: err });
      }
      throw err;
    }
    if (final) this.plans.delete(messageId);
  }

  async release(messageId: string, attempt: number, now: Date): Promise<boolean> {
    const x = new Expr();
    return this.updateIf(
      new UpdateCommand({
        TableName: this.tableName,
        Key: mainKey(messageId),
        // The lease ends now: the next claim (`leaseUntil < now`) takes the message over. A
        // dead letter recorded during the attempt (a duplicate delivery that found it busy)
        // keeps the attempt and its lease, so it is released too: else the retry within the
        // lease was refused as busy (review, December 2026). Never a message that is done.
        UpdateExpression: `SET ${x.n('leaseUntil')} = ${x.v(now.toISOString())}`,
        ConditionExpression: `${x.n('attempt')} = ${x.v(attempt)} AND ${x.n('status')} IN (${x.v(IN_PROGRESS)}, ${x.v(DEAD_LETTER)})`,
        ...x.params(),
      }),
    );
  }

  /**
   * The main item as it is now (one consistent `GetItem`, only after a failed `recordSend`):
   * whether that write landed although its answer never came.
   */
  async recorded(messageId: string): Promise<RecordedTrace | null> {
    const item = await this.getMain(messageId);
    if (!item) return null;
    return {
      attempt: (item.attempt as number | undefined) ?? 0,
      summary: item.plan !== undefined ? summaryOf(item) : null,
      sends: sendsOf(item),
    };
  }

  /** A conditional UpdateItem: true when written, false when its condition did not hold. */
  private async updateIf(command: UpdateCommand): Promise<boolean> {
    try {
      await sendMapped('UpdateItem', () => this.doc.send(command));
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  /**
   * Marks a message Lambda gave up on as `dead-letter`, with the note (issue 15): the
   * dead-letter recorder calls it with the router's invocation record. Creates a bare record
   * (no summary) when the router failed before its claim, kept as long as a message received
   * at `receivedAt`. Never touches a message that is `done` (a stale failure record of a
   * message a duplicate delivery or a redrive finished): answers false then.
   */
  async recordDeadLetter(
    messageId: string,
    receivedAt: string,
    note: DeadLetterNote,
    envelope?: DeadLetterEnvelope,
  ): Promise<boolean> {
    const x = new Expr();
    const update = [
      `${x.n('status')} = ${x.v(DEAD_LETTER)}`,
      `${x.n('deadLetter')} = ${x.v(clean(note))}`,
      `${x.n('messageId')} = ${x.v(messageId)}`,
      `${x.n('receivedAt')} = if_not_exists(${x.n('receivedAt')}, ${x.v(receivedAt)})`,
      `${x.n('attempt')} = if_not_exists(${x.n('attempt')}, ${x.v(0)})`,
      `${x.n('sends')} = if_not_exists(${x.n('sends')}, ${x.v({})})`,
    ];
    if (envelope) {
      // What SES said of the message, so a search by sender or recipient finds it when no
      // decision was recorded; a recorded decision's facts and index entry are kept.
      const set = (name: string, value: unknown) =>
        `${x.n(name)} = if_not_exists(${x.n(name)}, ${x.v(value)})`;
      // Bounded as an event's recipients are (SES's event lists them all).
      const recipients = boundedAddresses(envelope.recipients);
      update.push(
        set('sender', senderKey(envelope.sender)),
        set('recipients', recipients),
        set(TRACE_POOL_INDEX_PK, poolIndexKey('dead-letter', receivedAt, messageId)),
      );
      const lower = lowerCaseVariants(recipients);
      if (lower) update.push(set(TRACE_LOWER_CASE_ADDRESSES, lower));
    }
    const expiresAt = this.expiresAt(receivedAt);
    if (expiresAt !== undefined) {
      update.push(
        `${x.n(TRACE_TTL_ATTRIBUTE)} = if_not_exists(${x.n(TRACE_TTL_ATTRIBUTE)}, ${x.v(expiresAt)})`,
      );
    }
    return this.updateIf(
      new UpdateCommand({
        TableName: this.tableName,
        Key: mainKey(messageId),
        UpdateExpression: `SET ${update.join(', ')}`,
        ConditionExpression: `attribute_not_exists(${x.n(TRACE_PARTITION_KEY)}) OR ${x.n('status')} <> ${x.v(DONE)}`,
        ...x.params(),
      }),
    );
  }

  /**
   * Files one SES event under its message as an item of its own (`trace-events.ts`). False,
   * writing nothing, when the message has no trace record (expired, or not ours). The same
   * event delivered again is the same item: recorded once, answered true.
   */
  async appendEvent(messageId: string, event: DeliveryEvent): Promise<boolean> {
    const main = await this.getMain(messageId, [TRACE_PARTITION_KEY, TRACE_TTL_ATTRIBUTE]);
    if (!main) return false;
    const item = eventItem(
      messageId,
      boundedEvent(clean(event)),
      main[TRACE_TTL_ATTRIBUTE] as number | undefined,
    );
    const x = new Expr();
    try {
      await sendMapped('PutItem', () =>
        this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: item,
            // Never overwrites anything: a redelivered event finds its item already there.
            ConditionExpression: `attribute_not_exists(${x.n(TRACE_PARTITION_KEY)})`,
            ...x.params(),
          }),
        ),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
    return true;
  }

  /**
   * A message's trace (strongly consistent) with its most recent events, or null
   * (`trace-queries.ts`).
   */
  async get(messageId: string): Promise<TraceRecord | null> {
    return getTrace(this.table, messageId);
  }

  /**
   * Searches the trace by sender and/or recipient, most recent first (`trace-queries.ts`).
   * GSIs are eventually consistent: a message recorded a moment ago may be missing.
   */
  async query(q: TraceQuery): Promise<TraceRecord[]> {
    return queryTrace(this.table, q, this.clock());
  }

  private expiresAt(receivedAt: string): number | undefined {
    const ms = Date.parse(receivedAt);
    return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000) + this.retentionSeconds;
  }

  private rememberPlan(messageId: string, plan: PlannedSend[]): void {
    this.plans.delete(messageId);
    this.plans.set(messageId, plan);
    if (this.plans.size > REMEMBERED_PLANS) {
      const oldest = this.plans.keys().next();
      if (!oldest.done) this.plans.delete(oldest.value);
    }
  }

  private async getMain(messageId: string, attributes?: string[]): Promise<Item | undefined> {
    const x = new Expr();
    const projection = attributes?.map((a) => x.n(a)).join(', ');
    const out = await sendMapped('GetItem', () =>
      this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: mainKey(messageId),
          ConsistentRead: true,
          ...(projection ? { ProjectionExpression: projection, ...x.params() } : {}),
        }),
      ),
    );
    return out.Item;
  }
}
