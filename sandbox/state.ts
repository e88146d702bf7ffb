/**
 * The sandbox's DynamoDB state on disk (`--state-dir`): dynalite runs in memory, so its tables
 * are written to one JSON snapshot and loaded from it at the next start. A snapshot is taken
 * shortly after each processed message and every half minute (what the operator CLI changes,
 * e.g. a released restriction), and on a clean stop; each is written to a temporary file and
 * renamed over the last one, so a crash never leaves a half-written snapshot behind.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';

type Item = Record<string, AttributeValue>;

/** Writes every item of `tables` to `file` (atomically: a temporary file, then a rename). */
export async function saveTables(
  client: DynamoDBClient,
  tables: readonly string[],
  file: string,
): Promise<void> {
  const out: Record<string, Item[]> = {};
  for (const table of tables) {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    out[table] = items;
  }
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ version: 1, tables: out })}\n`);
  await rename(temporary, file);
}

/** Loads a snapshot written by {@link saveTables}; 0 items when there is none yet. */
export async function loadTables(client: DynamoDBClient, file: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  let snapshot: { tables?: Record<string, Item[]> };
  try {
    snapshot = JSON.parse(text) as typeof snapshot;
  } catch (error) {
    throw new Error(`${file} is not a sandbox snapshot (invalid JSON): move it away to start empty`, {
      cause: error,
    });
  }
  let count = 0;
  for (const [table, items] of Object.entries(snapshot.tables ?? {})) {
    for (let i = 0; i < items.length; i += 25) {
      let requests = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const res = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
        requests = (res.UnprocessedItems?.[table] ?? []) as typeof requests;
      }
    }
    count += items.length;
  }
  return count;
}

export interface SnapshotOptions {
  /** After a change is announced, wait this long for more before writing. Default 500 ms. */
  settleMs?: number;
  /** Write this often anyway. Default 30 s. */
  everyMs?: number;
  /** A snapshot that failed (the sandbox reports it and carries on). */
  onError?: (error: unknown) => void;
}

/** Snapshots taken one at a time: soon after a change, periodically, and a last one on close. */
export class TableSnapshots {
  readonly #save: () => Promise<void>;
  readonly #settleMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #interval: NodeJS.Timeout;
  #pending: NodeJS.Timeout | undefined;
  /** The snapshot being written, if any: the next one waits for it. */
  #writing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(client: DynamoDBClient, tables: readonly string[], file: string, opts: SnapshotOptions = {}) {
    this.#save = () => saveTables(client, tables, file);
    this.#settleMs = opts.settleMs ?? 500;
    this.#onError = opts.onError ?? (() => undefined);
    this.#interval = setInterval(() => void this.#write(), opts.everyMs ?? 30_000).unref();
  }

  /** Something changed: write a snapshot once things settle. */
  changed(): void {
    if (this.#closed) return;
    clearTimeout(this.#pending);
    this.#pending = setTimeout(() => void this.#write(), this.#settleMs).unref();
  }

  /** Stops the timers and writes the last snapshot. */
  async close(): Promise<void> {
    this.cancel();
    await this.#write(true);
  }

  /** Stops the timers without writing (the sandbox failed to start). */
  cancel(): void {
    this.#closed = true;
    clearTimeout(this.#pending);
    clearInterval(this.#interval);
  }

  #write(final = false): Promise<void> {
    if (this.#closed && !final) return this.#writing;
    this.#writing = this.#writing.then(() =>
      this.#save().catch((error: unknown) => {
        if (final) throw error;
        this.#onError(error);
      }),
    );
    return this.#writing;
  }
}
