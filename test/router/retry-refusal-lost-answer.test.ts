/**
 * A copy SES refuses is recorded in one trace write with the decision and the NDR it gets
 * (docs/retries.md, "SES refusals"). When that write lands but its answer is lost and the SDK's
 * five retries of it then fail too, the attempt fails without knowing the decision is in the
 * trace: it used to give back what it counted (the sender's identity and the NDR), and its
 * retry, resuming the recorded decision, counts nothing, so both counts were lost (review,
 * December 2026). The attempt now reads the trace back to learn whether its write landed. On
 * the emulators, the trace behind a transport that loses the answer.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { NDR_COUNTER_PREFIX } from '../../functions/adapters/dynamo-limits-store.js';
import { DynamoTraceStore } from '../../functions/adapters/dynamo-trace-store.js';
import { windowAt } from '../../functions/adapters/limits-items.js';
import { LIMITS_PARTITION_KEY } from '../../functions/adapters/tables.js';
import { SendRejectedError, TransientDependencyError } from '../../functions/core/errors.js';
import type { Mailer } from '../../functions/core/ports.js';
import { processReceipt } from '../../functions/router/process.js';
import { type LostAnswerClient, lostAnswerClient } from '../helpers/lost-answer-dynamo.js';
import { message, NOW, sesEvent } from '../helpers/mail.js';
import { type Harness, startHarness, withArcKey } from '../helpers/pipeline.js';

let h: Harness;
let faults: LostAnswerClient;
before(async () => {
  h = await startHarness({ ndr: { perRecipientPerHour: 1 } }, withArcKey());
  faults = lostAnswerClient(h.emu.clientConfig('dynamodb').endpoint as string);
});
after(async () => {
  faults?.client.destroy();
  await h?.stop();
});

/**
 * SES refuses every copy to `catchall@remote.test` for its content; as it does, the trace's
 * next write (the one recording the refusal) lands, its answer is lost and the SDK's five
 * retries of it fail: six attempts, all failed, the first applied.
 */
function refusingCatchall(mailer: Mailer, onRefusal: () => void): Mailer {
  return {
    send(request) {
      if (request.to.includes('catchall@remote.test')) {
        onRefusal();
        return Promise.reject(new SendRejectedError('MessageRejected', 'Message contains a virus.'));
      }
      return mailer.send(request);
    },
  };
}

/** This hour's NDR count to `mailbox`. */
async function ndrCount(mailbox: string): Promise<number> {
  const out = await h.dynamo.send(
    new GetCommand({
      TableName: h.env.LIMITS_TABLE!,
      Key: { [LIMITS_PARTITION_KEY]: `${NDR_COUNTER_PREFIX}${mailbox}#${windowAt(NOW.getTime()).hk}` },
      ConsistentRead: true,
    }),
  );
  return (out.Item?.n as number | undefined) ?? 0;
}

it('a refused first copy whose trace write landed unanswered keeps its counts; the retry resumes and counts nothing', async () => {
  // Prepare: one copy (x@example.org → catchall@remote.test, counted under the route
  // @example.org), refused by SES; carol is SPF-authenticated, so she is owed an NDR.
  h.clock.now = NOW;
  const messageId = 'refusal-write-landed';
  await h.put(messageId, message());
  const event = sesEvent({
    messageId,
    recipients: ['x@example.org'],
    source: 'carol@sender.test',
    spf: 'PASS',
  });
  const deps = await h.deps();
  const trace = new DynamoTraceStore({
    client: faults.client,
    tableName: h.env.TRACE_TABLE!,
    retentionDays: 30,
  });
  const mailer = refusingCatchall(deps.mailer, () => faults.loseNext('UpdateItem', /virus/, 5));
  // Act: the first attempt fails; Lambda's retry a minute later (same clock hour) resumes.
  await assert.rejects(processReceipt(event, { ...deps, trace, mailer }), TransientDependencyError);
  assert.equal(faults.lost, 1);
  const recorded = await h.trace.get(messageId);
  assert.equal(recorded?.summary?.plan.length, 2, 'the decision and its NDR are in the trace');
  const counted = async () => {
    const state = await deps.limits.peek('@example.org', h.clock.now);
    return (state?.counters.externalHour ?? 0) + (state?.counters.internalHour ?? 0);
  };
  const afterFailure = { identity: await counted(), ndr: await ndrCount('carol@sender.test') };
  h.clock.now = new Date(NOW.getTime() + 61_000);
  const retryDeps = await h.deps();
  const retried = await processReceipt(event, {
    ...retryDeps,
    mailer: refusingCatchall(retryDeps.mailer, () => undefined),
  });
  // Assess: the failed attempt kept its counts, the retry sent the one NDR and counted nothing.
  assert.deepEqual(afterFailure, { identity: 1, ndr: 1 });
  assert.equal(retried.outcome, 'resumed');
  assert.deepEqual(
    retried.sends.map((s) => [s.kind, s.status]),
    [['ndr', 'sent']],
  );
  const ndrs = h.emu.ses
    .sent()
    .filter((s) => (s.destination.ToAddresses ?? []).includes('carol@sender.test'));
  assert.equal(ndrs.length, 1);
  assert.deepEqual(
    (await h.trace.get(messageId))?.sends.map((s) => [s.kind, s.status]),
    [
      ['forward', 'failed'],
      ['ndr', 'sent'],
    ],
  );
  assert.deepEqual(
    { identity: await counted(), ndr: await ndrCount('carol@sender.test') },
    { identity: 1, ndr: 1 },
  );
});

it('a refusal after a sent copy whose trace write landed unanswered keeps its NDR count; the retry sends that one NDR', async () => {
  // Prepare: two copies (alias → dest, example.org → catchall); SES refuses the second.
  h.clock.now = NOW;
  const messageId = 'second-refusal-write-landed';
  await h.put(messageId, message());
  const event = sesEvent({
    messageId,
    recipients: ['alias@example.com', 'x@example.org'],
    source: 'dave@sender.test',
    spf: 'PASS',
  });
  const deps = await h.deps();
  const trace = new DynamoTraceStore({
    client: faults.client,
    tableName: h.env.TRACE_TABLE!,
    retentionDays: 30,
  });
  const mailer = refusingCatchall(deps.mailer, () => faults.loseNext('UpdateItem', /virus/, 5));
  // Act: the first attempt sends copy 0, then fails recording the refusal of copy 1 (which
  // landed); Lambda's retry a minute later resumes.
  await assert.rejects(processReceipt(event, { ...deps, trace, mailer }), TransientDependencyError);
  const afterFailure = await ndrCount('dave@sender.test');
  h.clock.now = new Date(NOW.getTime() + 61_000);
  const retryDeps = await h.deps();
  const retried = await processReceipt(event, {
    ...retryDeps,
    mailer: refusingCatchall(retryDeps.mailer, () => undefined),
  });
  // Assess: the NDR planned with the refusal is the one of the hour, counted once and sent once.
  assert.equal(afterFailure, 1);
  assert.equal(retried.outcome, 'resumed');
  const ndrs = h.emu.ses.sent().filter((s) => (s.destination.ToAddresses ?? []).includes('dave@sender.test'));
  assert.equal(ndrs.length, 1);
  assert.equal(await ndrCount('dave@sender.test'), 1);
});
