/**
 * The pause function's logic over a CloudWatch alarm invocation (the payload shape of the
 * CloudWatch User Guide, "Invoke a Lambda function from an alarm"), against the SES and SNS
 * emulators.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoNoticeLedger } from '../../functions/adapters/dynamo-notice-ledger.js';
import { SesPoolControl } from '../../functions/adapters/ses-pool-control.js';
import { SnsNoticePublisher } from '../../functions/adapters/sns-notice-publisher.js';
import { createTables } from '../../functions/adapters/tables.js';
import { parseConfig } from '../../functions/core/config.js';
import { ConfigError, InvalidInputError, OutboundPoolsError } from '../../functions/core/errors.js';
import { handleAlarm, readPools } from '../../functions/pause/handler.js';
import { Notifier } from '../../functions/router/notifier.js';
import {
  EMULATOR_CREDENTIALS,
  EMULATOR_NOTICE_TOPIC_ARN,
  type Emulators,
  startEmulators,
} from '../../sandbox/emulators/index.js';

const config = parseConfig({
  acceptedDomains: ['example.com'],
  routes: {},
  srs: { domain: 'fwd.example.com', secrets: ['pause-secret'] },
});

function alarmEvent(
  state: string,
  configurationSet: string | null,
  timestamp = '2026-12-06T10:00:00.000+0000',
) {
  return {
    source: 'aws.cloudwatch',
    alarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:pool-bounce',
    accountId: '123456789012',
    time: timestamp,
    region: 'us-east-1',
    alarmData: {
      alarmName: 'pool-bounce',
      state: {
        value: state,
        reason: 'Threshold Crossed: 1 datapoint [0.031] was greater than 0.025',
        timestamp,
      },
      previousState: { value: 'OK', reason: '', timestamp },
      configuration: {
        description: 'Bounce rate of pool high-risk',
        metrics: [
          {
            id: 'm1',
            metricStat: {
              metric: {
                namespace: 'AWS/SES',
                name: 'Reputation.BounceRate',
                dimensions: configurationSet ? { 'ses:configuration-set': configurationSet } : {},
              },
              period: 900,
              stat: 'Maximum',
            },
            returnData: true,
          },
        ],
      },
    },
  };
}

describe('pause function', () => {
  let emu: Emulators;
  let sesv2: SESv2Client;
  let ddb: DynamoDBClient;
  let deps: Parameters<typeof handleAlarm>[1];

  before(async () => {
    emu = await startEmulators();
    sesv2 = new SESv2Client(emu.clientConfig('sesv2'));
    ddb = new DynamoDBClient(emu.clientConfig('dynamodb'));
    await createTables(ddb, { limits: 'pause-limits' });
    deps = {
      pools: config.pools,
      control: new SesPoolControl({ client: sesv2, pools: config.pools, cacheMs: 0 }),
      ledger: new DynamoNoticeLedger({ client: ddb, tableName: 'pause-limits' }),
      notifier: new Notifier({
        publisher: new SnsNoticePublisher({
          topicArn: EMULATOR_NOTICE_TOPIC_ARN,
          region: 'us-east-1',
          endpoint: emu.sns.endpoint,
          credentials: { ...EMULATOR_CREDENTIALS },
        }),
        ledger: new DynamoNoticeLedger({ client: ddb, tableName: 'pause-limits' }),
      }),
      clock: () => new Date('2026-12-06T10:00:05Z'),
    };
  });
  after(async () => {
    sesv2?.destroy();
    ddb?.destroy();
    await emu?.stop();
  });

  it("ALARM on a pool's metric pauses that pool and publishes one notice per state change", async () => {
    const first = await handleAlarm(alarmEvent('ALARM', 'outbound-high-risk'), deps);
    assert.deepEqual(first, { paused: 'high-risk', pause: 'applied', notice: 'published' });
    assert.deepEqual(emu.ses.disabledConfigurationSets(), ['outbound-high-risk']);
    // Lambda retries the same invocation: the pool stays paused, no second notice.
    assert.deepEqual(await handleAlarm(alarmEvent('ALARM', 'outbound-high-risk'), deps), {
      paused: 'high-risk',
      pause: 'earlier',
      notice: 'duplicate',
    });
    const published = emu.sns.published().map((n) => JSON.parse(n.message).notice);
    assert.deepEqual(published, [
      {
        kind: 'pool-paused',
        pool: 'high-risk',
        configurationSet: 'outbound-high-risk',
        by: 'alarm',
        detail: 'pool-bounce: Threshold Crossed: 1 datapoint [0.031] was greater than 0.025',
      },
    ]);
  });

  it("OK (or INSUFFICIENT_DATA) changes nothing: resuming is an operator's call", async () => {
    for (const state of ['OK', 'INSUFFICIENT_DATA']) {
      assert.deepEqual(await handleAlarm(alarmEvent(state, 'outbound-high-risk'), deps), {
        paused: null,
        pause: 'none',
        notice: 'none',
      });
    }
    assert.deepEqual(emu.ses.disabledConfigurationSets(), ['outbound-high-risk']);
  });

  it('an alarm on no pool, or anything that is not an alarm invocation, is refused', async () => {
    await assert.rejects(handleAlarm(alarmEvent('ALARM', 'someone-elses-set'), deps), InvalidInputError);
    await assert.rejects(handleAlarm(alarmEvent('ALARM', null), deps), InvalidInputError);
    for (const bad of [
      null,
      {},
      { source: 'aws.ses' },
      { ...alarmEvent('ALARM', 'outbound-normal'), alarmData: 1 },
    ]) {
      await assert.rejects(handleAlarm(bad, deps), InvalidInputError);
    }
    assert.deepEqual(emu.ses.disabledConfigurationSets(), ['outbound-high-risk']);
  });

  describe('a "pool paused" notice SNS refuses (review of December 2026)', () => {
    // SNS's answer to a throttled Publish (SNS API Reference, "Publish": Errors), as the
    // publisher reads it; `maxAttempts: 1` leaves the retrying to Lambda.
    const throttled = () =>
      new Response(
        '<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>',
        { status: 400 },
      );
    /** The pause deps with a publisher whose first `failures` Publish calls SNS throttles. */
    const flaky = (failures: number, lostAnswer = false) => {
      let calls = 0;
      const publisher = new SnsNoticePublisher({
        topicArn: EMULATOR_NOTICE_TOPIC_ARN,
        region: 'us-east-1',
        endpoint: emu.sns.endpoint,
        credentials: { ...EMULATOR_CREDENTIALS },
        maxAttempts: 1,
        fetch: async (url, init) => {
          if (calls++ >= failures) return fetch(url, init);
          if (!lostAnswer) return throttled();
          // Published, but the answer never came back (a connection reset after the request).
          await fetch(url, init);
          throw new TypeError('fetch failed');
        },
      });
      return {
        ...deps,
        notifier: new Notifier({
          publisher,
          ledger: new DynamoNoticeLedger({ client: ddb, tableName: 'pause-limits' }),
        }),
      };
    };
    /**
     * Lambda's asynchronous invocation: the event, retried twice when the handler throws;
     * `between` runs before each retry.
     */
    async function invokeAsync(
      event: unknown,
      d: typeof deps,
      between: () => Promise<void> = async () => {},
    ) {
      const errors: unknown[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        if (attempt > 0) await between();
        try {
          return { result: await handleAlarm(event, d), errors };
        } catch (error) {
          errors.push(error);
        }
      }
      return { result: null, errors };
    }
    const pausedNotices = () =>
      emu.sns.published().filter((n) => JSON.parse(n.message).notice.kind === 'pool-paused');

    it('the invocation fails after pausing, and its retry publishes the notice', async () => {
      emu.sns.clear();
      const event = alarmEvent('ALARM', 'outbound-relay', '2026-12-06T11:00:00.000+0000');
      const { result, errors } = await invokeAsync(event, flaky(1));
      assert.equal(errors.length, 1, 'the first attempt failed, so Lambda retried it');
      assert.ok(errors[0] instanceof OutboundPoolsError && errors[0].retryable);
      assert.match(
        String((errors[0] as Error).message),
        /pool relay paused.*notice was not published.*Throttling/,
      );
      assert.ok(emu.ses.disabledConfigurationSets().includes('outbound-relay'), 'paused before the notice');
      assert.deepEqual(result, { paused: 'relay', pause: 'earlier', notice: 'published' });
      assert.equal(pausedNotices().length, 1);
      assert.equal(JSON.parse(pausedNotices()[0]!.message).notice.pool, 'relay');
      // Still paused when the retry tells it: said as it happened.
      assert.doesNotMatch(JSON.parse(pausedNotices()[0]!.message).notice.detail, /sending again/);
    });

    it('an operator who resumes the pool before the retry is not undone: the retry tells, and does not pause again', async () => {
      emu.sns.clear();
      const event = alarmEvent('ALARM', 'outbound-relay', '2026-12-06T14:00:00.000+0000');
      const control = new SesPoolControl({ client: sesv2, pools: config.pools, cacheMs: 0 });
      // Between the attempts the operator resumes the pool (`outbound-pools pools resume relay`).
      const { result, errors } = await invokeAsync(event, flaky(1), () => control.setSending('relay', true));
      assert.equal(errors.length, 1);
      assert.deepEqual(result, { paused: 'relay', pause: 'earlier', notice: 'published' });
      assert.ok(!emu.ses.disabledConfigurationSets().includes('outbound-relay'), 'still resumed');
      assert.equal(pausedNotices().length, 1, 'the pause was still told');
      // …and told as it is now: paused by the alarm, sending again since.
      assert.match(
        JSON.parse(pausedNotices()[0]!.message).notice.detail,
        /^paused earlier and sending again since \(resumed, or the pause did not hold\): /,
      );
      // A new state change of the alarm (a new ALARM after OK) pauses again.
      const again = await handleAlarm(
        alarmEvent('ALARM', 'outbound-relay', '2026-12-06T15:00:00.000+0000'),
        deps,
      );
      assert.equal(again.pause, 'applied');
      assert.ok(emu.ses.disabledConfigurationSets().includes('outbound-relay'));
    });

    it('a pause SES refuses is not remembered: the retry pauses', async () => {
      const event = alarmEvent('ALARM', 'outbound-normal', '2026-12-06T16:00:00.000+0000');
      await new SesPoolControl({ client: sesv2, pools: config.pools, cacheMs: 0 }).setSending('normal', true);
      let refusals = 1;
      const refusing = {
        ...deps,
        control: {
          setSending: async (pool: 'normal' | 'high-risk' | 'relay', sending: boolean) => {
            if (refusals-- > 0)
              throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
            return deps.control.setSending(pool, sending);
          },
        },
      };
      const { result, errors } = await invokeAsync(event, refusing);
      assert.equal(errors.length, 1);
      assert.equal(result?.pause, 'applied');
      assert.ok(emu.ses.disabledConfigurationSets().includes('outbound-normal'));
    });

    it('SNS refusing every attempt: all three fail (PoolPauseErrors), the pool stays paused', async () => {
      emu.sns.clear();
      const event = alarmEvent('ALARM', 'outbound-normal', '2026-12-06T12:00:00.000+0000');
      const { result, errors } = await invokeAsync(event, flaky(3));
      assert.equal(result, null);
      assert.equal(errors.length, 3, 'not one attempt answered "duplicate" for a notice never sent');
      assert.ok(emu.ses.disabledConfigurationSets().includes('outbound-normal'));
      assert.equal(pausedNotices().length, 0);
    });

    it('a retry whose notice did reach SNS does not fail forever', async () => {
      emu.sns.clear();
      const event = alarmEvent('ALARM', 'outbound-normal', '2026-12-06T13:00:00.000+0000');
      const lost = await invokeAsync(event, flaky(1, true));
      // The answer was lost: the first attempt cannot know, so it fails and the retry publishes
      // again (at least once, never zero times).
      assert.equal(lost.errors.length, 1);
      assert.deepEqual(lost.result, { paused: 'normal', pause: 'earlier', notice: 'published' });
      assert.equal(pausedNotices().length, 2);
      // A later delivery of the same state change (or a retry after a published notice).
      assert.deepEqual(await handleAlarm(event, flaky(0)), {
        paused: 'normal',
        pause: 'earlier',
        notice: 'duplicate',
      });
      assert.equal(pausedNotices().length, 2);
    });
  });

  it('POOLS environment: validated, a bad one names the variable', () => {
    const pools = readPools(
      JSON.stringify({
        normal: { configurationSet: 'n', tenant: 'tn' },
        'high-risk': { configurationSet: 'h', tenant: 'th' },
        relay: { configurationSet: 'r', tenant: 'tr' },
      }),
    );
    assert.deepEqual([pools.normal.configurationSet, pools.relay.tenant], ['n', 'tr']);
    assert.throws(() => readPools('{'), ConfigError);
    assert.throws(
      () => readPools(JSON.stringify({ normal: { configurationSet: 'n', tenant: 't' } })),
      /POOLS/,
    );
  });
});
