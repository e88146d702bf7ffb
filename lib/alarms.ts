/**
 * Alarms before SES acts (issue 14). SES reviews — and can pause — the whole account on its
 * bounce and complaint rates (under review at 5 % bounces / 0.1 % complaints, SES Developer
 * Guide, "Sending review process FAQs"), and bounces and complaints of `high-risk` and `relay`
 * count too. So:
 *
 * - the account-level `Reputation.BounceRate` and `Reputation.ComplaintRate` (namespace
 *   `AWS/SES`, no dimension: SES publishes the account's rates so) are alarmed, and
 * - the same rates of each pool's configuration set (dimension `ses:configuration-set`,
 *   published because reputation metrics are on), for all three pools,
 *
 * at configurable thresholds below SES's (default 2.5 % / 0.05 %). A pool's own alarm also
 * invokes the pause function, which pauses the pool (`lib/pool-pause.ts`).
 *
 * Besides: copies SES refused (`SendsFailed`), surges of NDRs and of relayed mail, and mail
 * blocked because its pool is paused (`PoolPausedMail`) — each an alarm, so each reaches the
 * topic once per state change, never once per message.
 *
 * `PoolPausedMail` is how an operator learns that SES paused a pool's **tenant** under its
 * reputation policy (`GetTenant` → `DISABLED`): nothing of this stack pauses it, so no
 * "pool paused" notice is published, and the router blocks the pool's mail (`pool-paused`,
 * nothing sent) — SPEC 7: "a pool paused … reaches an SNS topic" (review of December 2026).
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { POOLS, type Pool } from '../functions/core/vocabulary.js';
import { METRIC, reasonMetric } from '../functions/router/observer.js';
import { reputationMetric, routerMetric } from './dashboard.js';
import type { IDeliveryPools } from './delivery-pools.js';
import { InfrastructureValidationError } from './validation.js';

/** SES's own review thresholds: alarms must fire below them. */
export const SES_REVIEW_BOUNCE_RATE = 0.05;
export const SES_REVIEW_COMPLAINT_RATE = 0.001;

type RateMetric = 'Reputation.BounceRate' | 'Reputation.ComplaintRate';

/** Properties of {@link ReputationAlarms}. */
export interface ReputationAlarmsProps {
  readonly deliveryPools: IDeliveryPools;
  /** Bounce rate (0-1) above which the account and pool alarms fire; below 5 %. */
  readonly bounceRate: number;
  /** Complaint rate (0-1) above which they fire; below 0.1 %. */
  readonly complaintRate: number;
  /**
   * Invoked when a pool's own rate alarm fires (pauses the pool).
   *
   * @default - pools are not paused automatically
   */
  readonly pauseFunction?: lambda.IFunction;
  /**
   * Where every alarm of this construct notifies.
   *
   * @default - nobody
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * NDRs (reported and generated) per hour above which the NDR surge alarm fires.
   *
   * @default 100
   */
  readonly ndrSurgePerHour?: number;
  /**
   * Copies sent through `relay` per hour above which the relay surge alarm fires.
   *
   * @default 500
   */
  readonly relaySurgePerHour?: number;
}

/** The period of the pool-paused mail alarm: at most one notice an hour while a pool stays paused and mail keeps coming. */
export const POOL_PAUSED_MAIL_PERIOD = Duration.hours(1);

export interface PoolRateAlarms {
  readonly bounceRate: cloudwatch.Alarm;
  readonly complaintRate: cloudwatch.Alarm;
}

export class ReputationAlarms extends Construct {
  readonly account: PoolRateAlarms;
  readonly pools: Readonly<Record<Pool, PoolRateAlarms>>;
  readonly sendsFailed: cloudwatch.Alarm;
  readonly ndrSurge: cloudwatch.Alarm;
  readonly relaySurge: cloudwatch.Alarm;
  /** Mail blocked `pool-paused` (a pool paused by the pause function, an operator or SES on its tenant). */
  readonly poolPausedMail: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ReputationAlarmsProps) {
    super(scope, id);
    const check = (field: string, value: number, max: number) => {
      if (!(value > 0 && value < max)) {
        throw new InfrastructureValidationError(
          field,
          `must be a rate above 0 and below SES's review threshold ${max} (got ${value})`,
          this,
        );
      }
    };
    check('reputation.bounceRate', props.bounceRate, SES_REVIEW_BOUNCE_RATE);
    check('reputation.complaintRate', props.complaintRate, SES_REVIEW_COMPLAINT_RATE);

    const rateAlarm = (alarmId: string, metric: cloudwatch.Metric, threshold: number, what: string) =>
      new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: `${what} is above ${+(threshold * 100).toFixed(4)} % (SES reviews the account at ${
          metric.metricName === 'Reputation.BounceRate'
            ? SES_REVIEW_BOUNCE_RATE * 100
            : SES_REVIEW_COMPLAINT_RATE * 100
        } %)`,
        metric,
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    const accountMetric = (metricName: RateMetric) =>
      new cloudwatch.Metric({
        namespace: 'AWS/SES',
        metricName,
        statistic: cloudwatch.Stats.MAXIMUM,
        period: Duration.minutes(15),
      });

    this.account = {
      bounceRate: rateAlarm(
        'AccountBounceRate',
        accountMetric('Reputation.BounceRate'),
        props.bounceRate,
        'Bounce rate of the SES account',
      ),
      complaintRate: rateAlarm(
        'AccountComplaintRate',
        accountMetric('Reputation.ComplaintRate'),
        props.complaintRate,
        'Complaint rate of the SES account',
      ),
    };
    const ids: Record<Pool, string> = { normal: 'Normal', 'high-risk': 'HighRisk', relay: 'Relay' };
    const pools = {} as Record<Pool, PoolRateAlarms>;
    for (const pool of POOLS) {
      const set = props.deliveryPools.pools[pool].configurationSetName;
      pools[pool] = {
        bounceRate: rateAlarm(
          `${ids[pool]}PoolBounceRate`,
          reputationMetric('Reputation.BounceRate', set),
          props.bounceRate,
          `Bounce rate of pool ${pool} (${set})`,
        ),
        complaintRate: rateAlarm(
          `${ids[pool]}PoolComplaintRate`,
          reputationMetric('Reputation.ComplaintRate', set),
          props.complaintRate,
          `Complaint rate of pool ${pool} (${set})`,
        ),
      };
    }
    this.pools = pools;

    const sumOverPools = (metricName: string, period: Duration) =>
      new cloudwatch.MathExpression({
        expression: POOLS.map((_, i) => `FILL(m${i}, 0)`).join(' + '),
        usingMetrics: Object.fromEntries(
          POOLS.map((pool, i) => [`m${i}`, routerMetric(metricName, { Pool: pool }, { period })]),
        ),
        period,
      });
    this.sendsFailed = new cloudwatch.Alarm(this, 'SendsFailed', {
      alarmDescription:
        'SES refused a copy for its content, request or size (deployment faults go to the dead-letter queue): see the trace',
      metric: sumOverPools(METRIC.sendsFailed, Duration.minutes(5)),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const hour = Duration.hours(1);
    const ndrs = props.ndrSurgePerHour ?? 100;
    const relay = props.relaySurgePerHour ?? 500;
    if (!(Number.isInteger(ndrs) && ndrs > 0)) {
      throw new InfrastructureValidationError(
        'ndrSurgePerHour',
        `must be a positive integer (got ${ndrs})`,
        this,
      );
    }
    if (!(Number.isInteger(relay) && relay > 0)) {
      throw new InfrastructureValidationError(
        'relaySurgePerHour',
        `must be a positive integer (got ${relay})`,
        this,
      );
    }
    this.ndrSurge = new cloudwatch.Alarm(this, 'NdrSurge', {
      alarmDescription: `More than ${ndrs} NDRs in an hour (bounces relayed and NDRs generated)`,
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(reported, 0) + FILL(generated, 0)',
        usingMetrics: {
          reported: routerMetric(reasonMetric('ndr'), {}, { period: hour }),
          generated: routerMetric(METRIC.ndrs, {}, { period: hour }),
        },
        period: hour,
      }),
      threshold: ndrs,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.relaySurge = new cloudwatch.Alarm(this, 'RelaySurge', {
      alarmDescription: `More than ${relay} copies sent through the relay pool in an hour`,
      metric: routerMetric(METRIC.sends, { Pool: 'relay' }, { period: hour }),
      threshold: relay,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.poolPausedMail = new cloudwatch.Alarm(this, 'PoolPausedMail', {
      alarmDescription:
        'Mail was blocked because its pool is paused (reason pool-paused, nothing sent): `outbound-pools pools status` says whether the configuration set or SES (the tenant) paused it',
      metric: routerMetric(reasonMetric('pool-paused'), {}, { period: POOL_PAUSED_MAIL_PERIOD }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    if (props.pauseFunction) {
      const pause = new cwActions.LambdaAction(props.pauseFunction, { useUniquePermissionId: true });
      for (const pool of POOLS) {
        pools[pool].bounceRate.addAlarmAction(pause);
        pools[pool].complaintRate.addAlarmAction(pause);
      }
    }
    if (props.alarmTopic) {
      const notify = new cwActions.SnsAction(props.alarmTopic);
      for (const alarm of this.all()) alarm.addAlarmAction(notify);
    }
  }

  /** Every alarm of the construct. */
  all(): cloudwatch.Alarm[] {
    return [
      this.account.bounceRate,
      this.account.complaintRate,
      ...POOLS.flatMap((p) => [this.pools[p].bounceRate, this.pools[p].complaintRate]),
      this.sendsFailed,
      this.ndrSurge,
      this.relaySurge,
      this.poolPausedMail,
    ];
  }
}
