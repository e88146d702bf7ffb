/**
 * The router's dependencies as `createDeps` builds them (real adapters and SDK clients) over
 * the bench's in-memory AWS transport: the requests one message costs, and that clients which
 * cache their middleware (`CACHE_MIDDLEWARE`) still send each message's own bytes and keys.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpRequest } from '@smithy/types';
import { InMemoryAws } from '../../bench/transport.js';
import { LIMITS_TABLE, TRACE_TABLE } from '../../functions/adapters/tables.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { createDeps } from '../../functions/router/handler.js';
import { processReceipt } from '../../functions/router/process.js';
import { settingsEnvironment } from '../../functions/router/settings.js';
import { CONFIG_JSON, message, NOW, sesEvent, zones } from '../helpers/mail.js';

describe('createDeps over the in-memory transport', () => {
  it('three messages: each its own GetObject, SendEmail and 3 DynamoDB writes, and nothing per message that is cached', async () => {
    // Prepare
    const transport = new InMemoryAws({ tables: { 'limits-t': LIMITS_TABLE, 'trace-t': TRACE_TABLE } });
    // What each request asked for: the object key read, the message sent.
    const asked: string[] = [];
    const recording = {
      metadata: transport.metadata,
      destroy: () => undefined,
      updateHttpClientConfig: () => undefined,
      httpHandlerConfigs: () => ({}),
      handle: (request: HttpRequest) => {
        if (request.hostname.startsWith('email.') && request.path.endsWith('/outbound-emails')) {
          const body = JSON.parse(Buffer.from(request.body as Uint8Array).toString()) as {
            Content: { Raw: { Data: string } };
          };
          const raw = Buffer.from(body.Content.Raw.Data, 'base64').toString();
          asked.push(`send ${/Subject: (.*)\r\n/.exec(raw)?.[1]}`);
        } else if (request.method === 'GET' && request.path.includes('/raw/')) {
          asked.push(`get ${request.path.split('/raw/')[1]}`);
        }
        return transport.handle(request);
      },
    };
    const env = settingsEnvironment({
      config: CONFIG_JSON,
      mailBucket: 'inbound',
      mailPrefix: 'raw/',
      limitsTable: 'limits-t',
      traceTable: 'trace-t',
      leaseSeconds: 60,
      restrictionCacheSeconds: 60,
    });
    const deps = await createDeps(
      env,
      { resolver: zoneResolver(zones()), clock: () => new Date(NOW) },
      {
        clientConfig: {
          requestHandler: recording,
          region: 'us-east-1',
          credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
        },
      },
    );
    const ids = ['deps-m1', 'deps-m2', 'deps-m3'];
    for (const id of ids) {
      await transport.putObject('inbound', `raw/${id}`, message({ subject: `Subject of ${id}` }));
    }
    // Act: the first message warms the container's caches (pool status), the others are steady.
    const first = await processReceipt(sesEvent({ messageId: ids[0] }), deps);
    transport.resetTally();
    const rest = [];
    for (const id of ids.slice(1)) rest.push(await processReceipt(sesEvent({ messageId: id }), deps));
    // Assess
    for (const r of [first, ...rest]) assert.deepEqual([r.outcome, r.sends.length], ['processed', 1]);
    assert.deepEqual(transport.tally.requests, {
      'dynamodb:UpdateItem': 6,
      's3:GetObject': 2,
      'ses:SendEmail': 2,
    });
    // Each request carried its own message's key and bytes (a cached handler must not send the
    // first input again).
    assert.deepEqual(
      asked,
      ids.flatMap((id) => [`get ${id}`, `send Subject of ${id}`]),
    );
    const sesIds = new Set([first, ...rest].map((r) => r.sends[0]!.sesMessageId));
    assert.equal(sesIds.size, 3);
  });
});
