/**
 * The adapters of issue 14 against the local emulators: pausing through SES configuration-set
 * sending options (SES emulator), the notice publisher (SNS emulator, which insists on a
 * Signature V4 `Authorization` for `sns`), the notice ledger (dynalite), and the notifier that
 * joins them: one notice per event however many callers race.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoLimitsStore } from '../../functions/adapters/dynamo-limits-store.js';
import { DynamoNoticeLedger } from '../../functions/adapters/dynamo-notice-ledger.js';
import { SesPoolControl } from '../../functions/adapters/ses-pool-control.js';
import { SnsNoticePublisher } from '../../functions/adapters/sns-notice-publisher.js';
import { createTables } from '../../functions/adapters/tables.js';
import { parseConfig } from '../../functions/core/config.js';
import { TransientDependencyError } from '../../functions/core/errors.js';
import { type Notice, noticeKey } from '../../functions/core/notices.js';
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
  srs: { domain: 'fwd.example.com', secrets: ['adapter-secret'] },
  pools: { relay: { configurationSet: 'relay-set', tenant: 'relay-tenant' } },
});
const credentials = { ...EMULATOR_CREDENTIALS };
const restricted: Notice = {
  kind: 'sender-restricted',
  identity: 'b@example.com',
  reason: 'limit-day',
  until: null,
};

describe('issue 14 adapters (emulators)', () => {
  let emu: Emulators;
  let sesv2: SESv2Client;
  let ddb: DynamoDBClient;
  const tables = { limits: 'iso-limits', trace: 'iso-trace' };

  before(async () => {
    emu = await startEmulators();
    sesv2 = new SESv2Client(emu.clientConfig('sesv2'));
    ddb = new DynamoDBClient(emu.clientConfig('dynamodb'));
    await createTables(ddb, tables);
  });
  after(async () => {
    sesv2?.destroy();
    ddb?.destroy();
    await emu?.stop();
  });

  const publisher = () =>
    new SnsNoticePublisher({
      topicArn: EMULATOR_NOTICE_TOPIC_ARN,
      region: 'us-east-1',
      endpoint: emu.sns.endpoint,
      credentials,
    });

  describe('SesPoolControl', () => {
    it('pause disables the configuration set (SES then refuses sends through it); resume enables it', async () => {
      const control = new SesPoolControl({ client: sesv2, pools: config.pools, cacheMs: 0 });
      assert.deepEqual([...(await control.paused())], []);
      await control.setSending('relay', false);
      assert.deepEqual([...(await control.paused())], ['relay']);
      assert.deepEqual(emu.ses.disabledConfigurationSets(), ['relay-set']);
      const status = await control.status();
      assert.deepEqual(
        status.map((s) => [
          s.pool,
          s.configurationSet,
          s.sendingEnabled,
          s.tenant,
          s.tenantStatus,
          s.pausedBy,
        ]),
        [
          ['normal', 'outbound-normal', true, 'outbound-normal', 'ENABLED', []],
          ['high-risk', 'outbound-high-risk', true, 'outbound-high-risk', 'ENABLED', []],
          ['relay', 'relay-set', false, 'relay-tenant', 'ENABLED', ['configuration-set']],
        ],
      );
      await assert.rejects(
        sesv2.send(
          new SendEmailCommand({
            ConfigurationSetName: 'relay-set',
            TenantName: 'relay-tenant',
            Destination: { ToAddresses: ['d@remote.test'] },
            Content: { Raw: { Data: Buffer.from('From: a@example.com\r\nTo: d@remote.test\r\n\r\nx') } },
          }),
        ),
        (e: Error) => e.name === 'SendingPausedException',
      );
      await control.setSending('relay', true);
      assert.deepEqual([...(await control.paused())], []);
    });

    it('paused() is cached for cacheMs: a pause by someone else shows once the cache expires', async () => {
      let now = 1_000_000;
      const router = new SesPoolControl({
        client: sesv2,
        pools: config.pools,
        cacheMs: 30_000,
        clock: () => now,
      });
      const operator = new SesPoolControl({ client: sesv2, pools: config.pools, cacheMs: 0 });
      assert.deepEqual([...(await router.paused())], []);
      emu.ses.resetCounts();
      await operator.setSending('normal', false);
      now += 29_999;
      assert.deepEqual([...(await router.paused())], [], 'still cached');
      assert.equal(emu.ses.requests().GetConfigurationSet ?? 0, 0, 'no SES call within the cache');
      assert.equal(emu.ses.requests().GetTenant ?? 0, 0, 'no tenant lookup within the cache');
      now += 1;
      assert.deepEqual([...(await router.paused())], ['normal']);
      assert.equal(emu.ses.requests().GetConfigurationSet, 3, 'one call per pool');
      assert.equal(emu.ses.requests().GetTenant, 3, 'one tenant lookup per pool');
      await operator.setSending('normal', true);
    });

    it('paused(pools) asks SES about those pools only, caches each pool on its own, shares a lookup in flight', async () => {
      let now = 2_000_000;
      const router = new SesPoolControl({
        client: sesv2,
        pools: config.pools,
        cacheMs: 30_000,
        clock: () => now,
      });
      const operator = new SesPoolControl({ client: sesv2, pools: config.pools, cacheMs: 0 });
      await operator.setSending('relay', false);
      try {
        emu.ses.resetCounts();
        // Issue 16: a message for `normal` costs two requests, whatever the other pools' state.
        assert.deepEqual([...(await router.paused(['normal']))], []);
        assert.deepEqual(emu.ses.requests(), { GetConfigurationSet: 1, GetTenant: 1 });
        // Two messages at once for `relay`: one lookup, both see it paused.
        const both = await Promise.all([router.paused(['relay']), router.paused(['relay', 'relay'])]);
        assert.deepEqual(
          both.map((p) => [...p]),
          [['relay'], ['relay']],
        );
        assert.deepEqual(emu.ses.requests(), { GetConfigurationSet: 2, GetTenant: 2 });
        // Cached per pool: a later question about both asks only about the new one.
        now += 10_000;
        assert.deepEqual([...(await router.paused(['normal', 'relay', 'high-risk']))].sort(), ['relay']);
        assert.deepEqual(emu.ses.requests(), { GetConfigurationSet: 3, GetTenant: 3 });
        // `normal`, asked at the start, expires first; `high-risk` (asked 10 s later) does not.
        now += 20_000;
        assert.deepEqual([...(await router.paused(['normal', 'high-risk']))], []);
        assert.deepEqual(emu.ses.requests(), { GetConfigurationSet: 4, GetTenant: 4 });
        assert.deepEqual([...(await router.paused([]))], [], 'no pool, no question');
        assert.deepEqual(emu.ses.requests(), { GetConfigurationSet: 4, GetTenant: 4 });
      } finally {
        await operator.setSending('relay', true);
      }
    });

    it('a tenant SES paused (DISABLED) pauses its pool; REINSTATED sends; status says which of the two paused it', async () => {
      const control = new SesPoolControl({ client: sesv2, pools: config.pools, cacheMs: 0 });
      try {
        emu.ses.setTenantSendingStatus('relay-tenant', 'DISABLED');
        assert.deepEqual([...(await control.paused())], ['relay']);
        const byPool = async () =>
          Object.fromEntries(
            (await control.status()).map((s) => [s.pool, [s.paused, s.pausedBy, s.tenantStatus]]),
          );
        assert.deepEqual((await byPool()).relay, [true, ['tenant'], 'DISABLED']);
        await control.setSending('relay', false);
        assert.deepEqual((await byPool()).relay, [true, ['configuration-set', 'tenant'], 'DISABLED']);
        await control.setSending('relay', true);
        emu.ses.setTenantSendingStatus('relay-tenant', 'REINSTATED');
        assert.deepEqual([...(await control.paused())], [], 'REINSTATED sends despite findings');
        assert.deepEqual((await byPool()).relay, [false, [], 'REINSTATED']);
        // Another pool's tenant name is not this one's: only the named tenant pauses.
        emu.ses.setTenantSendingStatus('outbound-normal', 'DISABLED');
        assert.deepEqual([...(await control.paused())], ['normal']);
      } finally {
        await emu.ses.clear();
      }
    });

    it('a tenant lookup SES does not answer fails paused() (retryable when transient), never reads as "sending"', async () => {
      // Fault injection on GetTenant alone: the configuration sets still answer from the emulator.
      let tenantLookups = 0;
      const failing = (name: string, status: number) => {
        const client = new SESv2Client({ ...emu.clientConfig('sesv2'), maxAttempts: 1 });
        client.middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName === 'GetTenantCommand') {
              tenantLookups++;
              throw Object.assign(new Error(`injected ${name}`), {
                name,
                $metadata: { httpStatusCode: status },
              });
            }
            return next(args);
          },
          { step: 'initialize' },
        );
        return client;
      };
      for (const [name, status, expected] of [
        ['TooManyRequestsException', 429, TransientDependencyError],
        ['AccessDeniedException', 403, Error],
      ] as const) {
        const client = failing(name, status);
        try {
          const control = new SesPoolControl({ client, pools: config.pools, cacheMs: 30_000 });
          tenantLookups = 0;
          for (let attempt = 0; attempt < 2; attempt++) {
            await assert.rejects(control.paused(), (e: Error) => {
              assert.ok(e instanceof expected, `${name}: ${e.name}`);
              assert.equal(e instanceof TransientDependencyError, name === 'TooManyRequestsException');
              return true;
            });
          }
          // A failed lookup is not cached: the second message asks SES again.
          assert.equal(tenantLookups, 6);
          // The operator's status still shows the configuration sets, the tenant as unknown.
          assert.deepEqual(
            (await control.status()).map((s) => s.tenantStatus),
            ['unknown', 'unknown', 'unknown'],
          );
        } finally {
          client.destroy();
        }
      }
    });
  });

  describe('SnsNoticePublisher', () => {
    it('publishes a signed Query API request the emulator accepts', async () => {
      emu.sns.clear();
      await publisher().publish('subject line', '{"a":1}');
      const [n] = emu.sns.published();
      assert.deepEqual(
        [n?.topicArn, n?.subject, n?.message],
        [EMULATOR_NOTICE_TOPIC_ARN, 'subject line', '{"a":1}'],
      );
    });

    it('retries 5xx and throttling, then gives up with a retryable error', async () => {
      let calls = 0;
      const flaky = (status: number, code: string) =>
        (async () => {
          calls++;
          return new Response(
            `<ErrorResponse><Error><Code>${code}</Code><Message>m</Message></Error></ErrorResponse>`,
            {
              status,
            },
          );
        }) as typeof fetch;
      const make = (f: typeof fetch) =>
        new SnsNoticePublisher({
          topicArn: EMULATOR_NOTICE_TOPIC_ARN,
          region: 'us-east-1',
          credentials,
          fetch: f,
          maxAttempts: 3,
        });
      await assert.rejects(make(flaky(500, 'InternalError')).publish('s', 'm'), TransientDependencyError);
      assert.equal(calls, 3);
      calls = 0;
      await assert.rejects(make(flaky(400, 'Throttling')).publish('s', 'm'), TransientDependencyError);
      assert.equal(calls, 3);
      calls = 0;
      await assert.rejects(
        make(flaky(403, 'AuthorizationError')).publish('s', 'm'),
        (e: Error) => e.name === 'AuthorizationError' && !(e instanceof TransientDependencyError),
      );
      assert.equal(calls, 1, 'a refusal is not retried');
    });
  });

  describe('DynamoNoticeLedger and Notifier', () => {
    it('a key is claimed once, with a TTL; concurrent claims: exactly one wins', async () => {
      const ledger = new DynamoNoticeLedger({ client: ddb, tableName: tables.limits });
      const now = new Date('2026-12-06T10:00:00Z');
      assert.equal(await ledger.claim('k1', now, 60), true);
      assert.equal(await ledger.claim('k1', now, 60), false);
      const item = await DynamoDBDocumentClient.from(ddb).send(
        new GetCommand({ TableName: tables.limits, Key: { pk: 'N#k1' } }),
      );
      assert.equal(item.Item?.expiresAt, Math.floor(now.getTime() / 1000) + 60);
      const racers = await Promise.all(Array.from({ length: 12 }, () => ledger.claim('k2', now, 60)));
      assert.equal(racers.filter(Boolean).length, 1);
    });

    it("an NDR counted for a mailbox shaped like a notice key takes no notice's item", async () => {
      // Review of December 2026: NDR counters shared the ledger's `N#` prefix, and a notice key
      // is `<kind>#<identity>#<hour>`, so NDRs to `limit-alert#team@example.com` silenced the
      // alert of team@example.com for that hour.
      const now = new Date('2026-12-06T12:00:00Z');
      const limits = new DynamoLimitsStore({ client: ddb, tableName: tables.limits });
      const identity = 'team@example.com';
      const alert: Notice = { kind: 'limit-alert', identity, reasons: ['limit-day'] };
      assert.equal(await limits.countNdr(`limit-alert#${identity}`, now), 1);
      const ledger = new DynamoNoticeLedger({ client: ddb, tableName: tables.limits });
      assert.equal(await ledger.claim(noticeKey(alert, now), now, 3600), true, 'the alert is still to send');
      assert.equal(await limits.countNdr(`limit-alert#${identity}`, now), 2, 'and the counter still counts');
    });

    it('twelve notifiers racing on one event publish one notice', async () => {
      emu.sns.clear();
      const notifiers = Array.from(
        { length: 12 },
        () =>
          new Notifier({
            publisher: publisher(),
            ledger: new DynamoNoticeLedger({ client: ddb, tableName: tables.limits }),
          }),
      );
      const now = new Date('2026-12-06T11:00:00Z');
      const outcomes = await Promise.all(notifiers.map((n) => n.notify(restricted, now)));
      assert.deepEqual(outcomes.filter((o) => o === 'published').length, 1);
      assert.deepEqual(outcomes.filter((o) => o === 'duplicate').length, 11);
      assert.equal(emu.sns.published().length, 1);
      assert.deepEqual(JSON.parse(emu.sns.published()[0]!.message).notice, restricted);
    });

    it('a publisher that fails: the outcome is "failed" and the error reported, never thrown', async () => {
      const errors: string[] = [];
      const notifier = new Notifier({
        publisher: { publish: async () => Promise.reject(new Error('sns down')) },
        ledger: new DynamoNoticeLedger({ client: ddb, tableName: tables.limits }),
        onError: (e, n) => errors.push(`${n.kind}: ${e.message}`),
      });
      const other: Notice = { ...restricted, identity: 'c@example.com' };
      assert.equal(await notifier.notify(other, new Date('2026-12-06T12:00:00Z')), 'failed');
      assert.deepEqual(errors, ['sender-restricted: sns down']);
    });
  });
});
