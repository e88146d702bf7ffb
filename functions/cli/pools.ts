/**
 * `outbound-pools pools status|pause|resume` (issue 14): which pools are paused, and pausing
 * or resuming one by hand. A pool is paused when its configuration set's sending is disabled
 * in SES, or SES paused its tenant (`status` says which; `resume` re-enables the configuration
 * set only); the router blocks its mail with reason `pool-paused` (within POOL_STATUS_CACHE_SECONDS,
 * 30 s by default; the sandbox at once) and SES refuses anything sent through it. Works against
 * AWS and against the sandbox (AWS_ENDPOINT_URL_SESV2). With NOTICE_TOPIC_ARN and LIMITS_TABLE
 * set, a pause or resume is also published as a notice on the operators' topic.
 */
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoNoticeLedger } from '../adapters/dynamo-notice-ledger.js';
import { SesPoolControl } from '../adapters/ses-pool-control.js';
import { SnsNoticePublisher } from '../adapters/sns-notice-publisher.js';
import { ConfigError, InvalidInputError } from '../core/errors.js';
import { POOLS, type Pool } from '../core/vocabulary.js';
import { Notifier, type NotifyOutcome } from '../router/notifier.js';
import { awsSetupError } from './aws.js';
import { awsEndpoint, EXIT, loadConfig, painter, sdkClientConfig, table, wantsJson } from './io.js';

import { POOLS_USAGE } from './pools-usage.js';

export { POOLS_USAGE };

function isPool(value: string | undefined): value is Pool {
  return (POOLS as readonly string[]).includes(value ?? '');
}

/** A notifier from the environment, or null when no topic is configured. */
function notifierFromEnv(env: NodeJS.ProcessEnv): Notifier | null {
  const topic = env.NOTICE_TOPIC_ARN;
  const table = env.LIMITS_TABLE;
  if (!topic || !table) return null;
  const { credentials } = sdkClientConfig('sns');
  return new Notifier({
    publisher: new SnsNoticePublisher({
      topicArn: topic,
      region: env.AWS_REGION ?? topic.split(':')[3] ?? 'us-east-1',
      endpoint: env.AWS_ENDPOINT_URL_SNS,
      ...(credentials ? { credentials } : {}),
    }),
    ledger: new DynamoNoticeLedger({
      client: new DynamoDBClient(sdkClientConfig('dynamodb')),
      tableName: table,
    }),
  });
}

/**
 * Runs SES calls, their errors said as the other commands say them: no credentials or region,
 * credentials refused, a configuration set or tenant SES does not know (exit 2), access denied
 * (exit 1); throttling and network stay retryable (exit 75).
 */
async function withSes<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const setup = awsSetupError(error, what);
    if (setup) throw setup;
    const name = (error as { name?: string } | null)?.name ?? '';
    if (name === 'NotFoundException' || name === 'ResourceNotFoundException') {
      throw new ConfigError(
        `${what}: SES (${awsEndpoint('sesv2')}) has no such configuration set or tenant: check AWS_REGION and the configuration's namePrefix, or deploy the stack (${(error as Error).message})`,
        { cause: error },
      );
    }
    throw error;
  }
}

export async function poolsCommand(
  argv: string[],
  out: NodeJS.WriteStream,
  env: NodeJS.ProcessEnv = process.env,
  err: NodeJS.WriteStream = process.stderr,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      reason: { type: 'string' },
      json: { type: 'boolean' },
      pretty: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [verb, pool, ...extra] = positionals;
  const usage = (why: string) => new InvalidInputError('pools', `${why}\n\n${POOLS_USAGE}`);
  if (verb !== 'status' && verb !== 'pause' && verb !== 'resume') {
    throw usage('expected "status", "pause POOL" or "resume POOL"');
  }
  if (verb === 'status' && (pool !== undefined || extra.length > 0)) throw usage('"status" takes no pool');
  if (verb !== 'status' && (!isPool(pool) || extra.length > 0)) {
    throw usage(`"${verb}" takes one pool: ${POOLS.join(', ')} (got ${JSON.stringify(pool ?? '')})`);
  }
  const config = await loadConfig(values.config);
  const control = new SesPoolControl({
    client: new SESv2Client(sdkClientConfig('sesv2')),
    pools: config.pools,
    cacheMs: 0,
  });
  const json = wantsJson(values, out);
  const paint = painter(out);

  if (verb === 'status') {
    const states = await withSes('the pools in SES', () => control.status());
    if (json) {
      out.write(`${JSON.stringify(states)}\n`);
    } else {
      out.write(
        `${table([
          ['pool', 'state', 'configuration set', 'sending', 'tenant', 'tenant status'].map((h) =>
            paint('bold', h),
          ),
          ...states.map((s) => [
            s.pool,
            // Why a pool is paused: its configuration set (pause function, operator) or SES's
            // pause of its tenant (reputation policy) — resumed in different places.
            s.paused ? paint('red', `PAUSED (${s.pausedBy.join(' + ')})`) : paint('green', 'sending'),
            s.configurationSet,
            s.sendingEnabled ? paint('green', 'enabled') : paint('red', 'disabled'),
            s.tenant,
            s.tenantStatus === 'DISABLED' ? paint('red', s.tenantStatus) : s.tenantStatus,
          ]),
        ])}\n`,
      );
    }
    return EXIT.ok;
  }

  const target = pool as Pool;
  const enable = verb === 'resume';
  const configurationSet = config.pools[target].configurationSet;
  await withSes(`configuration set ${configurationSet}`, () => control.setSending(target, enable));
  // Resuming re-enables the configuration set only: a tenant SES paused (reputation policy)
  // stays paused, and the pool with it. Then no "pool resumed" notice, and exit 1.
  let stillPaused: { tenant: string; tenantStatus: string } | undefined;
  if (enable) {
    try {
      const state = (await control.status()).find((s) => s.pool === target);
      if (state?.paused) stillPaused = state;
    } catch (error) {
      err.write(
        `outbound-pools: warning: could not read ${target}'s state after resuming it: ${(error as Error).message.split('\n')[0]}\n`,
      );
    }
  }
  if (stillPaused) {
    err.write(
      `outbound-pools: ${target} is still paused: SES paused its tenant ${stillPaused.tenant} (${stillPaused.tenantStatus}) under the tenant's reputation policy; its configuration set ${configurationSet} is enabled again, but the pool sends only once SES reinstates the tenant (no notice published)\n`,
    );
  }
  const now = new Date();
  const detail = values.reason ?? `${verb} by an operator`;
  const notifier = stillPaused ? null : notifierFromEnv(env);
  const notice: NotifyOutcome | 'none' | 'skipped' = stillPaused
    ? 'skipped'
    : notifier
      ? await notifier.notify(
          enable
            ? { kind: 'pool-resumed', pool: target, configurationSet, by: 'operator', detail }
            : { kind: 'pool-paused', pool: target, configurationSet, by: 'operator', detail },
          now,
        )
      : 'none';
  if (json) {
    out.write(
      `${JSON.stringify({
        pool: target,
        configurationSet,
        sendingEnabled: enable,
        ...(enable ? { paused: stillPaused !== undefined } : {}),
        notice,
      })}\n`,
    );
  } else if (stillPaused) {
    out.write(
      `${target} still paused: tenant ${stillPaused.tenant} ${stillPaused.tenantStatus} (configuration set ${configurationSet} enabled)\n`,
    );
  } else {
    out.write(
      `${enable ? 'resumed' : 'paused'} ${target} (${configurationSet})${
        notice === 'published' ? ', notice published' : notice === 'failed' ? ', notice NOT published' : ''
      }\n`,
    );
  }
  return stillPaused ? EXIT.failure : EXIT.ok;
}
