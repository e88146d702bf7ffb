/**
 * The pause function's input (issue 14): a CloudWatch alarm invoking a Lambda function
 * directly (CloudWatch User Guide, "Invoke a Lambda function from an alarm": `source`
 * `aws.cloudwatch`, `alarmData.state`, `alarmData.configuration.metrics[].metricStat.metric`).
 * The pool is found from the alarm's own metric — the `ses:configuration-set` dimension of
 * SES's reputation metrics — so no alarm name has to be known in advance.
 */
import * as v from 'valibot';
import type { Config } from '../core/config.js';
import { InvalidInputError } from '../core/errors.js';
import { POOLS, type Pool } from '../core/vocabulary.js';

const AlarmInvocation = v.object({
  source: v.literal('aws.cloudwatch'),
  alarmArn: v.string(),
  alarmData: v.object({
    alarmName: v.string(),
    state: v.object({ value: v.string(), reason: v.optional(v.string(), ''), timestamp: v.string() }),
    configuration: v.object({
      metrics: v.array(
        v.object({
          metricStat: v.optional(
            v.object({
              metric: v.object({
                namespace: v.optional(v.string()),
                name: v.optional(v.string()),
                dimensions: v.optional(v.record(v.string(), v.string()), {}),
              }),
            }),
          ),
        }),
      ),
    }),
  }),
});

export interface PauseRequest {
  /** What to do: pause on ALARM, nothing on any other state (resuming is an operator's call). */
  action: 'pause' | 'ignore';
  pool: Pool | null;
  configurationSet: string | null;
  alarmName: string;
  /** The alarm's state-change time: one pause notice per state change. */
  stamp: string;
  reason: string;
}

/** Reads an alarm invocation; throws {@link InvalidInputError} for anything else. */
export function readAlarmInvocation(event: unknown, pools: Config['pools']): PauseRequest {
  const parsed = v.safeParse(AlarmInvocation, event);
  if (!parsed.success) {
    throw new InvalidInputError(
      'event',
      `not a CloudWatch alarm invocation: ${parsed.issues[0]?.message ?? ''}`,
    );
  }
  const data = parsed.output.alarmData;
  const sets = data.configuration.metrics.map(
    (m) => m.metricStat?.metric.dimensions['ses:configuration-set'],
  );
  const configurationSet = sets.find((s): s is string => typeof s === 'string') ?? null;
  const pool = POOLS.find((p) => pools[p].configurationSet === configurationSet) ?? null;
  const base = {
    pool,
    configurationSet,
    alarmName: data.alarmName,
    stamp: data.state.timestamp,
    reason: data.state.reason,
  };
  if (data.state.value !== 'ALARM') return { action: 'ignore', ...base };
  if (!pool) {
    throw new InvalidInputError(
      'event',
      `alarm ${data.alarmName} watches no configuration set of a pool (${configurationSet ?? 'none'})`,
    );
  }
  return { action: 'pause', ...base };
}
