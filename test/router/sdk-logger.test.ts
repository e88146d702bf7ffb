/**
 * The SDK clients' quiet logger (`QUIET_SDK_LOGGER`, `functions/router/handler.ts`): the SDK's
 * logger middleware then skips building its per-request `info` record, whose sensitive-data
 * filters walk every request input through the operation's schema (issue 16). Observed from
 * outside: how often the request's members are read, with the default logger and the quiet one.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { QUIET_SDK_LOGGER } from '../../functions/router/handler.js';

/** A transport that answers SendEmail as SES does, and counts the requests. */
function transport() {
  const seen = { requests: 0 };
  return {
    seen,
    handler: {
      handle: async () => {
        seen.requests++;
        return {
          response: {
            statusCode: 200,
            headers: { 'content-type': 'application/json' },
            body: Readable.from([Buffer.from('{"MessageId":"0100-test"}')]),
          },
        };
      },
    },
  };
}

/** Sends one email whose `FromEmailAddress` counts how often it is read; returns the count. */
async function readsOfOneSend(logger: object | undefined): Promise<{ reads: number; requests: number }> {
  const t = transport();
  const client = new SESv2Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
    requestHandler: t.handler,
    ...(logger ? { logger: logger as typeof QUIET_SDK_LOGGER } : {}),
  });
  let reads = 0;
  const input = {
    Destination: { ToAddresses: ['dest@remote.test'] },
    Content: { Raw: { Data: Buffer.from('From: a@b.test\r\n\r\nHi\r\n') } },
    get FromEmailAddress() {
      reads++;
      return 'a@b.test';
    },
  };
  const out = await client.send(new SendEmailCommand(input));
  assert.equal(out.MessageId, '0100-test');
  return { reads, requests: t.seen.requests };
}

describe('QUIET_SDK_LOGGER', () => {
  it('the SDK no longer filters each request for a log record nobody writes; the request is the same', async () => {
    const usual = await readsOfOneSend(undefined);
    const quiet = await readsOfOneSend(QUIET_SDK_LOGGER);
    assert.equal(usual.requests, 1);
    assert.equal(quiet.requests, 1);
    assert.ok(quiet.reads >= 1, 'the request still carries the member');
    assert.ok(
      quiet.reads < usual.reads,
      `read ${quiet.reads} times with the quiet logger, ${usual.reads} without`,
    );
  });

  it('keeps debug, warn and error (no-ops) and has no info', () => {
    const l = QUIET_SDK_LOGGER as unknown as Record<string, unknown>;
    for (const m of ['debug', 'warn', 'error']) assert.equal(typeof l[m], 'function', m);
    assert.equal(l.info, undefined);
  });
});
