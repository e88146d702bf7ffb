/**
 * A notice key's claim whose answer is lost after DynamoDB wrote it (a 500 or a reset
 * connection once the put landed) is sent again by the SDK's standard retry mode. The retried
 * put found the claim it had just made and answered "claimed by someone else": the notice was
 * never published and the key stayed taken for its two days (for the pause function, SPEC 7's
 * "pool paused" notice was lost and its invocation succeeded). A claim now recognizes its own
 * put. Found in a review (December 2026). On dynalite.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { DynamoNoticeLedger } from '../../functions/adapters/dynamo-notice-ledger.js';
import { lostAnswerLimitsTable } from '../helpers/lost-answer-dynamo.js';

const TABLE = 'limits';
const NOW = new Date('2026-11-23T10:15:00.000Z');
const faults = lostAnswerLimitsTable(TABLE);

it('a claim whose answer was lost and retried by the SDK is still this claim; a racer’s is not', async () => {
  const ledger = new DynamoNoticeLedger({ client: faults.client, tableName: TABLE });
  faults.loseNext('PutItem');
  assert.equal(await ledger.claim('pool-paused#normal#t1', NOW, 3600), true, 'the claim that landed is ours');
  assert.equal(faults.lost, 1, 'the fault was injected');
  // Another container's claim of the same key, even in the same millisecond, is refused...
  assert.equal(
    await new DynamoNoticeLedger({ client: faults.client, tableName: TABLE }).claim(
      'pool-paused#normal#t1',
      NOW,
      3600,
    ),
    false,
  );
  // ...and ours can still be given back, then claimed again.
  assert.equal(await ledger.release('pool-paused#normal#t1', NOW), true);
  assert.equal(await ledger.claim('pool-paused#normal#t1', NOW, 3600), true);
});
