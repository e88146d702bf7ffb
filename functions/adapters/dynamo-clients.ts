/**
 * The DynamoDB clients of the limits and trace adapters, and the one request of the router's
 * hot path that does not go through the document client (issue 16).
 *
 * Per message the router makes three `UpdateItem`s (the trace claim, the limits count, the final
 * trace record). Sent as low-level commands (the router's without the SDK's middleware at all,
 * `dynamo-direct-update.ts`), they skip lib-dynamodb's marshalling walk; their values are
 * marshalled by `dynamo-values.ts` exactly as the document client would marshal them. Everything else (restrictions, notices, a duplicate's read, queries) keeps using the
 * document client, built on first use.
 */
import { type AttributeValue, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { directUpdater } from './dynamo-direct-update.js';
import { fromAttributes, toAttributes } from './dynamo-values.js';
import { documentClient } from './tables.js';

/** What an adapter is given: a client, and for a client that caches its middleware, the document client to use. */
export interface DynamoClientOptions {
  client: DynamoDBDocumentClient | DynamoDBClient;
  /**
   * The document client for everything but the hot path's updates, built on first use. Needed
   * when `client` was built with `cacheMiddleware` (lib-dynamodb refuses such a client: its
   * commands resolve into a handler bound to their own input, which a cache would replay);
   * default: a document client over `client`.
   */
  documents?: () => DynamoDBDocumentClient;
}

/**
 * The clients of a DynamoDB adapter. `client` sends the hot path's updates ({@link updateItem});
 * `doc`, everything else, built on first use: the router's steady state never builds it
 * (issue 16: one client fewer to build and warm per container).
 */
export class DynamoClients {
  readonly client: DynamoDBDocumentClient | DynamoDBClient;
  #doc: DynamoDBDocumentClient | undefined;
  readonly #documents: () => DynamoDBDocumentClient;

  constructor(opts: DynamoClientOptions) {
    this.client = opts.client;
    const cached = (opts.client.config as { cacheMiddleware?: boolean }).cacheMiddleware === true;
    if (cached && !opts.documents) {
      throw new TypeError(
        'a DynamoDB client built with cacheMiddleware needs `documents` (a document client of its own)',
      );
    }
    this.#documents = opts.documents ?? (() => documentClient(opts.client));
  }

  get doc(): DynamoDBDocumentClient {
    this.#doc ??= this.#documents();
    return this.#doc;
  }
}

/** The members of an `UpdateItem` the hot path uses (Key and values as plain data). */
export type HotUpdateInput = Pick<
  UpdateCommandInput,
  | 'TableName'
  | 'Key'
  | 'UpdateExpression'
  | 'ConditionExpression'
  | 'ExpressionAttributeNames'
  | 'ExpressionAttributeValues'
  | 'ReturnValues'
>;

/**
 * One `UpdateItem` of plain values (Key and `ExpressionAttributeValues` as the document client
 * takes them), answered with the plain `Attributes`. On a low-level client it is sent as the
 * low-level command, marshalled here (`dynamo-values.ts`, what the document client would send,
 * byte for byte): that skips lib-dynamodb's marshalling walk and lets a client built with
 * `cacheMiddleware` reuse its resolved middleware stack — together about 0.15 ms of CPU per
 * request, three per message (issue 16). A client marked by `sendUpdatesDirectly` (the
 * router's) sends it without the SDK's middleware at all (`dynamo-direct-update.ts`, another
 * ~0.1 ms per request). On a document client (callers that inject one, e.g.
 * to mock its commands) it is the document command, as before.
 */
export async function updateItem(
  client: DynamoDBDocumentClient | DynamoDBClient,
  input: HotUpdateInput,
): Promise<Record<string, unknown> | undefined> {
  if (client instanceof DynamoDBDocumentClient)
    return (await client.send(new UpdateCommand(input))).Attributes;
  const { Key, ExpressionAttributeValues, ...rest } = input;
  const lowLevel = {
    ...rest,
    Key: toAttributes(Key ?? {}),
    ...(ExpressionAttributeValues
      ? { ExpressionAttributeValues: toAttributes(ExpressionAttributeValues) }
      : {}),
  };
  const direct = directUpdater(client);
  const out = direct ? await direct(lowLevel) : await client.send(new UpdateItemCommand(lowLevel));
  // The direct path's Attributes are the wire JSON: binary (B, BS) would still be base64 there,
  // where the SDK gives bytes. The hot path's items hold no binary attribute.
  return out.Attributes ? fromAttributes(out.Attributes as Record<string, AttributeValue>) : undefined;
}
