/**
 * The three delivery pools of SPEC 2: for each, one SES configuration set whose delivery
 * options name one dedicated IP pool, with reputation metrics and two event destinations
 * (CloudWatch dimensions from the send's message tags; the default EventBridge bus, which
 * feeds the feedback function).
 */
import { Annotations, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import type { Config } from '../functions/core/config.js';
import { POOLS, type Pool } from '../functions/core/vocabulary.js';
import { InfrastructureValidationError } from './validation.js';

/** SES's shared IP addresses: a configuration set naming it sends through no dedicated IP. */
export const SHARED_IP_POOL = 'ses-shared-pool';
/** SES's pool of dedicated IPs that belong to no pool of yours. */
export const DEFAULT_DEDICATED_IP_POOL = 'ses-default-dedicated-pool';
/** Pool names SES manages itself: never created by the stack, only referenced. */
export const SES_MANAGED_IP_POOLS: readonly string[] = [SHARED_IP_POOL, DEFAULT_DEDICATED_IP_POOL];

/**
 * The SES events published for every send. Open and click are left out on purpose: SES only
 * tracks them when a destination asks for them, and tracking rewrites the body (pixel, link
 * wrapping), which breaks the DKIM signatures and ARC seals of re-sent mail.
 */
export const PUBLISHED_EVENTS: readonly ses.EmailSendingEvent[] = [
  ses.EmailSendingEvent.SEND,
  ses.EmailSendingEvent.DELIVERY,
  ses.EmailSendingEvent.BOUNCE,
  ses.EmailSendingEvent.COMPLAINT,
  ses.EmailSendingEvent.REJECT,
  ses.EmailSendingEvent.DELIVERY_DELAY,
  ses.EmailSendingEvent.RENDERING_FAILURE,
];

/** EventBridge detail types of {@link PUBLISHED_EVENTS} (source `aws.ses`). */
export const PUBLISHED_EVENT_DETAIL_TYPES: readonly string[] = [
  'Email Sent',
  'Email Delivered',
  'Email Bounced',
  'Email Complaint Received',
  'Email Rejected',
  'Email Delivery Delayed',
  'Email Rendering Failed',
];

/**
 * The tag SES adds to every send with the configuration set's name: a dimension of the SES
 * event metrics, and the dimension of the configuration set's reputation metrics.
 */
export const CONFIGURATION_SET_DIMENSION = 'ses:configuration-set';

/**
 * CloudWatch dimensions of the SES event metrics, all from message tags: the configuration
 * set (SES's own tag), and `pool` and `reason`, which the router sets on every send
 * (`functions/router/process.ts`).
 */
export const METRIC_TAG_DIMENSIONS: readonly string[] = [CONFIGURATION_SET_DIMENSION, 'pool', 'reason'];
/** Dimension value of an event whose send carried no such tag (not sent by the router). */
export const MISSING_TAG_VALUE = 'none';

/** How a pool's IP pool comes to be. */
export type IpPoolSource = 'created' | 'existing' | 'ses-managed';

/** One delivery pool. */
export interface DeliveryPool {
  readonly pool: Pool;
  readonly configurationSet: ses.IConfigurationSet;
  /** Name of the configuration set (from the configuration, never a token). */
  readonly configurationSetName: string;
  readonly ipPool: ses.IDedicatedIpPool;
  /** Name of the IP pool (from the configuration, never a token). */
  readonly ipPoolName: string;
  /** `created` by this stack, an `existing` pool of the account, or one SES manages. */
  readonly ipPoolSource: IpPoolSource;
}

/** Properties of {@link DeliveryPools}. */
export interface DeliveryPoolsProps {
  /** The pools of the validated configuration (`config.pools`). */
  readonly pools: Config['pools'];
  /**
   * IP pools that already exist in the account (dedicated IPs already placed in them): the
   * configuration sets reference them by name and the stack creates no pool resource.
   * `ses-shared-pool` and `ses-default-dedicated-pool` are always referenced, never created.
   *
   * @default - every other pool name is created
   */
  readonly existingIpPools?: readonly string[];
  /**
   * Scaling mode of the dedicated IP pools the stack creates, per pool. `MANAGED` lets SES
   * lease, warm and scale the IPs; `STANDARD` pools hold IPs you place in them.
   *
   * @default ScalingMode.STANDARD for every created pool
   */
  readonly scalingMode?: Partial<Record<Pool, ses.ScalingMode>>;
}

/** The configuration sets a sender may use, and the events they publish. */
export interface IDeliveryPools {
  readonly pools: Readonly<Record<Pool, DeliveryPool>>;
  /** ARNs of the three configuration sets. */
  readonly configurationSetArns: readonly string[];
  /** Matches the SES events (default bus) of the three configuration sets. */
  readonly eventPattern: events.EventPattern;
  /** `ses:GetConfigurationSet` on the three configuration sets: which pools are paused (issue 14). */
  grantReadSendingStatus(grantee: iam.IGrantable): iam.Grant;
  /** `ses:PutConfigurationSetSendingOptions` on the three configuration sets: pause and resume. */
  grantPause(grantee: iam.IGrantable): iam.Grant;
}

const CONSTRUCT_ID: Record<Pool, string> = { normal: 'Normal', 'high-risk': 'HighRisk', relay: 'Relay' };
// DedicatedIpPool: "lowercase letters (a-z), numbers (0-9), underscores (_), and hyphens (-)".
const CREATED_POOL_NAME = /^[a-z0-9_-]{1,64}$/;

/** Validates the combination of pools before anything is created. */
function validatePools(scope: Construct, props: DeliveryPoolsProps): Map<string, IpPoolSource> {
  const existing = new Set(props.existingIpPools ?? []);
  const sourceOf = (name: string): IpPoolSource =>
    SES_MANAGED_IP_POOLS.includes(name) ? 'ses-managed' : existing.has(name) ? 'existing' : 'created';
  const sets = new Map<string, Pool>();
  const ips = new Map<string, Pool>();
  const sources = new Map<string, IpPoolSource>();
  for (const pool of POOLS) {
    const { configurationSet, ipPool } = props.pools[pool];
    const otherSet = sets.get(configurationSet);
    if (otherSet) {
      throw new InfrastructureValidationError(
        `pools.${pool}.configurationSet`,
        `"${configurationSet}" is already the configuration set of pool ${otherSet}; every pool needs its own configuration set`,
        scope,
      );
    }
    sets.set(configurationSet, pool);
    const source = sourceOf(ipPool);
    sources.set(ipPool, source);
    const otherIps = ips.get(ipPool);
    if (otherIps && source !== 'ses-managed') {
      throw new InfrastructureValidationError(
        `pools.${pool}.ipPool`,
        `"${ipPool}" is already the IP pool of pool ${otherIps}; pools that share dedicated IPs share their reputation`,
        scope,
      );
    }
    ips.set(ipPool, pool);
    if (source === 'created' && !CREATED_POOL_NAME.test(ipPool)) {
      throw new InfrastructureValidationError(
        `pools.${pool}.ipPool`,
        `SES dedicated IP pool names are 1-64 lowercase letters, digits, _ and - (got "${ipPool}"); ` +
          'name an existing pool in existingIpPools to use it as it is',
        scope,
      );
    }
    const scaling = props.scalingMode?.[pool];
    if (scaling !== undefined && source !== 'created') {
      throw new InfrastructureValidationError(
        `ipPoolScaling.${pool}`,
        `a scaling mode applies to a dedicated IP pool this stack creates; "${ipPool}" is ${
          source === 'existing' ? 'an existing pool (existingIpPools)' : 'managed by SES'
        }`,
        scope,
      );
    }
  }
  for (const name of existing) {
    if (!ips.has(name)) {
      throw new InfrastructureValidationError(
        'existingIpPools',
        `"${name}" is not the ipPool of any pool (${[...ips.keys()].join(', ')})`,
        scope,
      );
    }
  }
  return sources;
}

/**
 * Three configuration sets — reputation metrics on, sending enabled, bounces and complaints
 * suppressed, VDM engagement metrics off, no open/click tracking —
 * each sending through its own IP pool: one the stack creates (`DedicatedIpPool`, STANDARD
 * or MANAGED scaling), an existing pool referenced by name, or `ses-shared-pool`.
 */
export class DeliveryPools extends Construct implements IDeliveryPools {
  readonly pools: Readonly<Record<Pool, DeliveryPool>>;
  readonly configurationSetArns: readonly string[];
  readonly eventPattern: events.EventPattern;

  constructor(scope: Construct, id: string, props: DeliveryPoolsProps) {
    super(scope, id);
    const sources = validatePools(this, props);
    const stack = Stack.of(this);
    const defaultBus = events.EventBus.fromEventBusName(this, 'DefaultEventBus', 'default');
    // Pools on one SES-managed pool send from the same IPs (validatePools refuses the others).
    // Not only ses-shared-pool: ses-default-dedicated-pool is one set of IPs too.
    for (const managed of SES_MANAGED_IP_POOLS) {
      const shared = POOLS.filter((p) => props.pools[p].ipPool === managed);
      if (shared.length > 1) {
        Annotations.of(this).addWarningV2(
          managed === SHARED_IP_POOL
            ? 'outbound-pools:shared-ip-pool'
            : 'outbound-pools:default-dedicated-ip-pool',
          `pools ${shared.join(', ')} all send through ${managed}: fine for a test account, but they are not isolated from each other`,
        );
      }
    }

    const pools = {} as Record<Pool, DeliveryPool>;
    for (const pool of POOLS) {
      const { configurationSet: configurationSetName, ipPool: ipPoolName } = props.pools[pool];
      const cid = CONSTRUCT_ID[pool];
      const ipPoolSource = sources.get(ipPoolName) ?? 'created';
      const ipPool =
        ipPoolSource === 'created'
          ? new ses.DedicatedIpPool(this, `${cid}IpPool`, {
              dedicatedIpPoolName: ipPoolName,
              scalingMode: props.scalingMode?.[pool] ?? ses.ScalingMode.STANDARD,
            })
          : ses.DedicatedIpPool.fromDedicatedIpPoolName(this, `${cid}IpPool`, ipPoolName);
      const configurationSet = new ses.ConfigurationSet(this, `${cid}ConfigurationSet`, {
        configurationSetName,
        dedicatedIpPool: ipPool,
        reputationMetrics: true,
        // `sendingEnabled` is left out: whether a pool sends is the pause function's and the
        // operator's (`pools pause`/`resume`), set outside CloudFormation. Pinned in the
        // template, a paused pool would drift from it, and an update of the configuration set
        // could resume it (review of December 2026). SES creates a set sending.
        // Issue 14: say what we mean rather than inherit the account's settings. Hard bounces
        // and complaints are suppressed — in the pool's tenant's own list (`lib/tenants.ts`),
        // so one pool's bounces never suppress a destination for another pool.
        suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        // VDM engagement tracking rewrites bodies (open pixel, wrapped links), which breaks
        // the DKIM signatures and ARC seals of re-sent mail: off here even if the account
        // turns it on (`doctor` checks the account too). No tracking options are set.
        vdmOptions: { engagementMetrics: false },
      });
      configurationSet.addEventDestination('CloudWatch', {
        destination: ses.EventDestination.cloudWatchDimensions(
          METRIC_TAG_DIMENSIONS.map((name) => ({
            name,
            source: ses.CloudWatchDimensionSource.MESSAGE_TAG,
            defaultValue: MISSING_TAG_VALUE,
          })),
        ),
        events: [...PUBLISHED_EVENTS],
      });
      configurationSet.addEventDestination('EventBridge', {
        destination: ses.EventDestination.eventBus(defaultBus),
        events: [...PUBLISHED_EVENTS],
      });
      pools[pool] = { pool, configurationSet, configurationSetName, ipPool, ipPoolName, ipPoolSource };
    }
    this.pools = pools;
    this.configurationSetArns = POOLS.map((p) =>
      stack.formatArn({
        service: 'ses',
        resource: 'configuration-set',
        resourceName: pools[p].configurationSet.configurationSetName,
      }),
    );
    this.eventPattern = {
      source: ['aws.ses'],
      detailType: [...PUBLISHED_EVENT_DETAIL_TYPES],
      detail: {
        mail: { tags: { 'ses:configuration-set': POOLS.map((p) => pools[p].configurationSetName) } },
      },
    };
  }

  grantReadSendingStatus(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['ses:GetConfigurationSet'],
      resourceArns: [...this.configurationSetArns],
    });
  }

  grantPause(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['ses:PutConfigurationSetSendingOptions'],
      resourceArns: [...this.configurationSetArns],
    });
  }
}
