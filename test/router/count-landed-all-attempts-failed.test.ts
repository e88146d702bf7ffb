/**
 * Review (December 2026): a message's count under its sender's limits that landed although all
 * six attempts of its update failed (its answer lost, the client's five retries throttled or
 * answered 500 before reaching DynamoDB). The attempt used to fail: the count is not known to
 * have landed, so it was not given back, and Lambda's retry a minute later counted the message
 * again under a new token (`mtok` only catches a retry that reaches DynamoDB). A sender exactly
 * at its limit was then blocked and restricted for the day by its own message, never sent. The
 * store now reads the item after such a failure and finds its token. Likewise an NDR's count
 * (`countNdr`, token `ctok`): the retry counted it again and, at `ndr.perRecipientPerHour`,
 * dropped the NDR. On the emulators, the limits table behind a transport that loses the answer.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { DynamoLimitsStore } from '../../functions/adapters/dynamo-limits-store.js';
import { SendRejectedError } from '../../functions/core/errors.js';
import type { Restriction } from '../../functions/core/limits.js';
import type { Mailer } from '../../functions/core/ports.js';
import { processReceipt } from '../../functions/router/process.js';
import { type LostAnswerClient, lostAnswerClient } from '../helpers/lost-answer-dynamo.js';
import { message, NOW, sesEvent } from '../helpers/mail.js';
import { type Harness, oneExternalAnHour, startHarness, withArcKey } from '../helpers/pipeline.js';

/** The body of a count's day-path update (the only one naming `identity`). */
const DAY_PATH = /"identity".*"mtok"|"mtok".*"identity"/;

let h: Harness;
let faults: LostAnswerClient;
before(async () => {
  h = await startHarness(
    { ...oneExternalAnHour('block-for-today'), ndr: { perRecipientPerHour: 1 } },
    withArcKey(),
  );
  faults = lostAnswerClient(h.emu.clientConfig('dynamodb').endpoint as string);
});
after(async () => {
  faults?.client.destroy();
  await h?.stop();
});

it('a count that landed although all six attempts failed counts the message once: sent, nobody restricted', async () => {
  // Prepare: the alias may send one external recipient an hour; this message is that one.
  const limits = new DynamoLimitsStore({
    client: faults.client,
    tableName: h.env.LIMITS_TABLE!,
    restrictionCacheMs: 0,
  });
  const restricted: Restriction[] = [];
  const messageId = 'count-landed-unanswered';
  await h.put(messageId, message());
  const event = sesEvent({ messageId, recipients: ['alias@example.com'], spf: 'PASS' });
  const attempt = async (seconds: number) => {
    h.clock.now = new Date(NOW.getTime() + seconds * 1000);
    return processReceipt(
      event,
      await h.deps({ limits, observer: { restricted: (r) => void restricted.push(r) } }),
    );
  };
  // Act: the count's update (the identity's first: the fast path fails its condition, then the
  // day path) lands, its answer is lost and the client's five retries fail; if the attempt
  // fails, Lambda's retry comes a minute later.
  faults.loseNext('UpdateItem', DAY_PATH, 5);
  const first = await attempt(0).catch((error: Error) => error);
  const result = first instanceof Error ? await attempt(61) : first;
  // Assess: counted once, sent once, nobody restricted.
  assert.equal(faults.lost, 1, 'the fault was injected');
  assert.equal(result.pool, 'normal');
  assert.equal(h.emu.ses.sent().length, 1);
  assert.deepEqual(restricted, []);
  const state = await limits.peek('alias@example.com', h.clock.now);
  assert.equal(state?.counters.externalHour, 1);
  assert.equal(state?.restriction ?? null, null);
});

it('an NDR count that landed although all six attempts failed is that NDR: the refusal is answered once', async () => {
  // Prepare: one copy (x@example.org → catchall@remote.test), refused by SES for its content;
  // carol is SPF-authenticated, so she is owed an NDR, the one of her hour.
  const limits = new DynamoLimitsStore({
    client: faults.client,
    tableName: h.env.LIMITS_TABLE!,
    restrictionCacheMs: 0,
  });
  const messageId = 'ndr-count-landed-unanswered';
  await h.put(messageId, message());
  const event = sesEvent({
    messageId,
    recipients: ['x@example.org'],
    source: 'carol@sender.test',
    spf: 'PASS',
  });
  const refusing = (mailer: Mailer): Mailer => ({
    send: (request) =>
      request.to.includes('catchall@remote.test')
        ? Promise.reject(new SendRejectedError('MessageRejected', 'Message contains a virus.'))
        : mailer.send(request),
  });
  const attempt = async (seconds: number) => {
    h.clock.now = new Date(NOW.getTime() + seconds * 1000);
    const deps = await h.deps({ limits });
    return processReceipt(event, { ...deps, mailer: refusing(deps.mailer) });
  };
  const lostBefore = faults.lost;
  // Act: the NDR's count lands, its answer is lost and the client's five retries fail; if the
  // attempt fails, Lambda's retry comes a minute later (same clock hour).
  faults.loseNext('UpdateItem', /NDR#carol@sender\.test/, 5);
  const first = await attempt(0).catch((error: Error) => error);
  const result = first instanceof Error ? await attempt(61) : first;
  // Assess: the refusal answered by one NDR to carol.
  assert.equal(faults.lost, lostBefore + 1, 'the fault was injected');
  assert.deepEqual(
    (await h.trace.get(messageId))?.sends.map((x) => [x.kind, x.status]),
    [
      ['forward', 'failed'],
      ['ndr', 'sent'],
    ],
  );
  assert.equal(result.messageId, messageId);
  const ndrs = h.emu.ses
    .sent()
    .filter((s) => (s.destination.ToAddresses ?? []).includes('carol@sender.test'));
  assert.equal(ndrs.length, 1);
});
