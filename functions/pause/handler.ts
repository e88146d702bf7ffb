/**
 * The pause function (issue 14): invoked by a pool's reputation alarm when the pool's bounce
 * or complaint rate crosses its threshold, it disables the pool's configuration set's sending
 * (`PutConfigurationSetSendingOptions`) and publishes a "pool paused" notice. The router then
 * blocks the pool's mail with reason `pool-paused`, and SES itself refuses anything sent
 * through it. Resuming is left to an operator (`outbound-pools pools resume POOL`): the rates
 * are rolling measurements, and a pool resumed by a machine as the rate dips would pause
 * again with the next bounce.
 *
 * The notice is part of the job: when it cannot be published the invocation fails (after the
 * pause), so Lambda retries it and `PoolPauseErrors` counts it (`handleAlarm`).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import middy from '@middy/core';
import * as v from 'valibot';
import { SDK_RETRY } from '../adapters/aws-errors.js';
import { DynamoNoticeLedger } from '../adapters/dynamo-notice-ledger.js';
import { leanLogger } from '../adapters/log-formatter.js';
import { SesPoolControl } from '../adapters/ses-pool-control.js';
import { SnsNoticePublisher } from '../adapters/sns-notice-publisher.js';
import type { Config } from '../core/config.js';
import { ConfigError, OutboundPoolsError } from '../core/errors.js';
import type { NoticeLedger } from '../core/ports.js';
import { parseEnvironment } from '../core/validation.js';
import { POOLS, type Pool } from '../core/vocabulary.js';
import { NOTICE_KEY_TTL_SECONDS, Notifier, type NotifyOutcome } from '../router/notifier.js';
import { readAlarmInvocation } from './alarm.js';

const logger = leanLogger('outbound-pools-pause');

export interface PauseDeps {
  pools: Config['pools'];
  /** Pauses; `sendingEnabled`, when given, tells a retry's notice whether the pool was resumed since. */
  control: Pick<SesPoolControl, 'setSending'> & Partial<Pick<SesPoolControl, 'sendingEnabled'>>;
  notifier: Notifier | null;
  /**
   * Where the pause of each alarm state change is remembered (the notice ledger), so that only
   * its first attempt pauses; null without a notice topic (then no attempt is ever retried).
   */
  ledger: NoticeLedger | null;
  clock: () => Date;
}

export interface PauseResult {
  paused: string | null;
  /** `earlier`: a retry, whose state change an earlier attempt paused: not paused again. */
  pause: 'applied' | 'earlier' | 'none';
  notice: Exclude<NotifyOutcome, 'failed'> | 'none';
}

/** Ledger key of the pause of one alarm state change (the notice ledger's `N#` items). */
export const pauseKey = (pool: string, stamp: string) => `pause-applied#${pool}#${stamp}`;

/**
 * Pauses the pool an ALARM names; other states change nothing.
 *
 * Throws when the "pool paused" notice could not be published (SPEC 7 promises it). A CloudWatch
 * alarm invokes its action once per state change, asynchronously; Lambda retries an
 * asynchronous invocation only when it fails (twice here, `lib/pool-pause.ts`; AWS Lambda
 * Developer Guide, "How Lambda handles errors and retries with asynchronous invocation"), and
 * only a failed invocation counts in
 * `PoolPauseErrors`. A handler returning normally after a lost notice was retried by nobody and
 * alarmed nobody. The retry does not pause again ({@link pauseOnce}) and claims the notice's key
 * afresh (`Notifier.tell` gives it back when the publish fails); a retry whose notice was in
 * fact published finds the key claimed and returns `duplicate`, so it does not fail forever.
 */
export async function handleAlarm(event: unknown, deps: PauseDeps): Promise<PauseResult> {
  const request = readAlarmInvocation(event, deps.pools);
  if (request.action === 'ignore' || !request.pool) return { paused: null, pause: 'none', notice: 'none' };
  const pause = await pauseOnce(request.pool, request.stamp, deps);
  if (!deps.notifier) return { paused: request.pool, pause, notice: 'none' };
  const since = pause === 'earlier' ? await resumedSince(request.pool, deps) : '';
  try {
    const notice = await deps.notifier.tell(
      {
        kind: 'pool-paused',
        pool: request.pool,
        configurationSet: request.configurationSet ?? deps.pools[request.pool].configurationSet,
        by: 'alarm',
        detail: `${since}${request.alarmName}: ${request.reason}`.slice(0, 1000),
      },
      deps.clock(),
      request.stamp,
    );
    return { paused: request.pool, pause, notice };
  } catch (error) {
    throw new OutboundPoolsError(
      `pool ${request.pool} paused, but its "pool paused" notice was not published ` +
        `(${(error as Error).message}); failing the invocation so that Lambda retries it`,
      { cause: error, retryable: true },
    );
  }
}

/**
 * What a retry's notice says first when the pool is sending again: the notice of a pause an
 * earlier attempt applied comes late (its publish failed), and an operator may have resumed
 * the pool in between; told as it was, the notice announced a pause that had already ended
 * (review of December 2026). Empty when the pool is still paused or its state is unknown.
 */
async function resumedSince(pool: Pool, deps: PauseDeps): Promise<string> {
  const sending = await deps.control.sendingEnabled?.(pool).catch(() => null);
  // "Since": an operator's resume, or (when an earlier attempt's pause failed and its ledger
  // key could not be given back) a pause that never took; either way the pool sends now.
  return sending === true
    ? 'paused earlier and sending again since (resumed, or the pause did not hold): '
    : '';
}

/**
 * Pauses `pool` for the alarm state change `stamp` once. Pause first: a notice that fails must
 * not keep the pool sending. A retry of the invocation (its notice failed) finds the pause
 * remembered and leaves the pool as it is: an operator who resumed it in between
 * (`outbound-pools pools resume`) is not undone by a retry that may come minutes, or with
 * throttling hours, later (review of December 2026). The ledger failing never stops a pause:
 * then the pool is paused as before, and a retry may pause it again.
 */
async function pauseOnce(pool: Pool, stamp: string, deps: PauseDeps): Promise<'applied' | 'earlier'> {
  const now = deps.clock();
  const key = pauseKey(pool, stamp);
  const first = deps.ledger
    ? await deps.ledger.claim(key, now, NOTICE_KEY_TTL_SECONDS).catch(() => true)
    : true;
  if (!first) return 'earlier';
  try {
    await deps.control.setSending(pool, false);
  } catch (error) {
    // Not paused: a retry must pause.
    await deps.ledger?.release(key, now).catch((releaseError: unknown) => {
      logger.warn('pause key not released', { error: releaseError });
    });
    throw error;
  }
  return 'applied';
}

let deps: PauseDeps | undefined;

/** The pause function's environment (set by `lib/pool-pause.ts`). */
const PauseSettings = v.object({
  /** `{"normal": {"configurationSet": …, "tenant": …}, …}`: the pools, as the router's configuration has them. */
  POOLS: v.string(),
  /** The limits table, where notice events are remembered. */
  LIMITS_TABLE: v.pipe(v.string(), v.minLength(3)),
  NOTICE_TOPIC_ARN: v.optional(v.string()),
});

const poolNames = v.object({ configurationSet: v.string(), tenant: v.string() });
const PoolsJson = v.object({ normal: poolNames, 'high-risk': poolNames, relay: poolNames });

/** The pools of the `POOLS` variable, validated. */
export function readPools(json: string): Config['pools'] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new ConfigError(`POOLS is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const parsed = v.safeParse(PoolsJson, value);
  if (!parsed.success)
    throw new ConfigError(`POOLS: ${parsed.issues[0]?.message ?? 'invalid'}`, { field: 'POOLS' });
  // Only the names matter here; the rest of a pool's settings are the router's.
  return Object.fromEntries(
    POOLS.map((p) => [p, { ...parsed.output[p], ipPool: '', reputationPolicy: 'none' as const }]),
  ) as Config['pools'];
}

function createDeps(env: NodeJS.ProcessEnv): PauseDeps {
  const settings = parseEnvironment(PauseSettings, env);
  const pools = readPools(settings.POOLS);
  const topic = settings.NOTICE_TOPIC_ARN;
  const ledger = topic
    ? new DynamoNoticeLedger({
        client: new DynamoDBClient({ ...SDK_RETRY }),
        tableName: settings.LIMITS_TABLE,
      })
    : null;
  return {
    pools,
    control: new SesPoolControl({ client: new SESv2Client({ ...SDK_RETRY }), pools }),
    ledger,
    notifier:
      topic && ledger
        ? new Notifier({
            publisher: new SnsNoticePublisher({
              topicArn: topic,
              region: env.AWS_REGION ?? topic.split(':')[3]!,
            }),
            ledger,
            // `tell` throws a publish failure; this reports only a key it could not give back.
            onError: (error) => logger.warn('pause notice key not released', { error }),
          })
        : null,
    clock: () => new Date(),
  };
}

export const handler = middy(async (event: unknown) => {
  deps ??= createDeps(process.env);
  const result = await handleAlarm(event, deps);
  logger.info('alarm handled', { ...result });
  return result;
}).use(injectLambdaContext(logger, { resetKeys: true }));
