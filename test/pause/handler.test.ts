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
import { ConfigError, InvalidInputError } from '../../functions/core/errors.js';
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
    assert.deepEqual(first, { paused: 'high-risk', notice: 'published' });
    assert.deepEqual(emu.ses.disabledConfigurationSets(), ['outbound-high-risk']);
    // Lambda retries the same invocation: the pool stays paused, no second notice.
    assert.deepEqual(await handleAlarm(alarmEvent('ALARM', 'outbound-high-risk'), deps), {
      paused: 'high-risk',
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
