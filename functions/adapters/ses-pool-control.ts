/**
 * Pausing and resuming a pool (issue 14) through SES itself. A pool is paused when either
 *
 * - its configuration set's sending is disabled (SESv2 `PutConfigurationSetSendingOptions`,
 *   `SendingEnabled: false`: what the pause function and `pools pause` do, and what SES
 *   enforces whatever sends through it), or
 * - its SES tenant is `DISABLED` (`GetTenant` → `Tenant.SendingStatus`): SES paused it under
 *   the tenant's reputation policy (`ENABLED` and `REINSTATED` both send).
 *
 * The router reads both (`paused()`) to block mail for a paused pool with reason
 * `pool-paused` instead of a refusal; `pools status` shows which of the two paused it. One
 * source of truth (SES), so the pause function, the operator CLI and the router cannot
 * disagree. The router asks only about the pools a message's decision uses, and caches each
 * pool's answer for `cacheMs`: at most one `GetConfigurationSet` and one `GetTenant` per pool
 * per period, in parallel (a pause reaches every container within it; SES refuses in between
 * anyway, and that send is retried). Issue 16: a cold container's first message asks about
 * its own pool only (two requests, not six).
 *
 * IAM: `ses:GetConfigurationSet` and `ses:GetTenant` (router, CLI; the pause function reads
 * the configuration set only, `sendingEnabled`), `ses:PutConfigurationSetSendingOptions`
 * (pause function, CLI).
 *
 * {@link SesPoolStatus} reads over any two lookups (the router's: `ses-direct.ts`, without the
 * SDK's client, issue 16); {@link SesPoolControl} over an SDK client, with `setSending` (pause
 * function, CLI). The router imports only the first, so its bundle leaves the SESv2 client out.
 */
import {
  GetConfigurationSetCommand,
  GetTenantCommand,
  PutConfigurationSetSendingOptionsCommand,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import type { Config } from '../core/config.js';
import type { PoolStatus } from '../core/ports.js';
import { POOLS, type Pool } from '../core/vocabulary.js';
import { rethrowAws } from './aws-errors.js';

/** What paused a pool: its configuration set's sending options, or SES pausing its tenant. */
export type PausedBy = 'configuration-set' | 'tenant';

/** A pool as the operator sees it (`pools status`). */
export interface PoolState {
  pool: Pool;
  configurationSet: string;
  /** False: the configuration set's sending is disabled (the pool is paused). */
  sendingEnabled: boolean;
  tenant: string;
  /**
   * The tenant's `SendingStatus` (`ENABLED`, `REINSTATED`, `DISABLED` when SES paused it under
   * its reputation policy); `unknown` when SES would not say (no such tenant, no permission).
   */
  tenantStatus: string;
  /** True when the router blocks the pool's mail (`pool-paused`): `pausedBy` is not empty. */
  paused: boolean;
  /** Why it is paused, both when both hold; empty when it sends. */
  pausedBy: PausedBy[];
}

/** SES's tenant `SendingStatus` that stops sending (SESv2 `Tenant`: "DISABLED – Sending is prevented"). */
const TENANT_DISABLED = 'DISABLED';

/** The two lookups a pool's status takes, SDK-shaped answers and errors (SESv2 output members). */
export interface PoolStatusReads {
  getConfigurationSet(name: string): Promise<{ SendingOptions?: { SendingEnabled?: boolean } }>;
  getTenant(name: string): Promise<{ Tenant?: { SendingStatus?: string } }>;
}

export interface SesPoolStatusOptions {
  reads: PoolStatusReads;
  pools: Config['pools'];
  /** How long `paused()` trusts its last answer. Default 30 s; 0 asks every time. */
  cacheMs?: number;
  clock?: () => number;
}

/** The pools' status (`paused()`, `status()`) over {@link PoolStatusReads}. */
export class SesPoolStatus implements PoolStatus {
  readonly #reads: PoolStatusReads;
  readonly #pools: Config['pools'];
  readonly #cacheMs: number;
  readonly #clock: () => number;
  /** Per pool: when it was asked and the answer (pending while SES is being asked). */
  readonly #cached = new Map<Pool, { at: number; paused: Promise<boolean> }>();

  constructor(options: SesPoolStatusOptions) {
    this.#reads = options.reads;
    this.#pools = options.pools;
    this.#cacheMs = options.cacheMs ?? 30_000;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Which of `pools` (default: every pool) are paused now. Each pool's answer is cached for
   * `cacheMs` from when it was asked, and a question already in flight is shared. A failure of
   * either lookup fails the call and is not cached (transient ones are retried by the
   * invocation): mail must not leave through a pool whose state is unknown.
   */
  async paused(pools: readonly Pool[] = POOLS): Promise<ReadonlySet<Pool>> {
    const now = this.#clock();
    const wanted = [...new Set(pools)];
    const states = await Promise.all(wanted.map((pool) => this.#pausedNow(pool, now)));
    return new Set(wanted.filter((_, i) => states[i]));
  }

  #pausedNow(pool: Pool, now: number): Promise<boolean> {
    const hit = this.#cached.get(pool);
    if (hit && now - hit.at < this.#cacheMs) return hit.paused;
    const paused = Promise.all([this.#sendingEnabled(pool), this.#tenantSendingStatus(pool)]).then(
      ([enabled, tenant]) => !enabled || tenant === TENANT_DISABLED,
    );
    const entry = { at: now, paused };
    this.#cached.set(pool, entry);
    // A failed lookup is not remembered: the next message asks again.
    paused.catch(() => {
      if (this.#cached.get(pool) === entry) this.#cached.delete(pool);
    });
    return paused;
  }

  /** Forgets every cached answer (a pool's sending was just changed). */
  forget(): void {
    this.#cached.clear();
  }

  /** Every pool's configuration set and tenant, as SES has them now, and why it is paused. */
  async status(): Promise<PoolState[]> {
    return Promise.all(
      POOLS.map(async (pool) => {
        const [sendingEnabled, tenantStatus] = await Promise.all([
          this.#sendingEnabled(pool),
          this.#tenantSendingStatus(pool).catch(() => 'unknown'),
        ]);
        const pausedBy: PausedBy[] = [
          ...(sendingEnabled ? [] : (['configuration-set'] as const)),
          ...(tenantStatus === TENANT_DISABLED ? (['tenant'] as const) : []),
        ];
        return {
          pool,
          configurationSet: this.#pools[pool].configurationSet,
          sendingEnabled,
          tenant: this.#pools[pool].tenant,
          tenantStatus,
          paused: pausedBy.length > 0,
          pausedBy,
        };
      }),
    );
  }

  /**
   * Whether the pool's configuration set sends (its own switch only, not its tenant's): what
   * `setSending` changes, asked anew (not cached).
   */
  sendingEnabled(pool: Pool): Promise<boolean> {
    return this.#sendingEnabled(pool);
  }

  async #sendingEnabled(pool: Pool): Promise<boolean> {
    const name = this.#pools[pool].configurationSet;
    try {
      const out = await this.#reads.getConfigurationSet(name);
      // SES: sending is enabled unless it was disabled; an absent flag means enabled.
      return out.SendingOptions?.SendingEnabled !== false;
    } catch (error) {
      return rethrowAws('ses', 'GetConfigurationSet', error);
    }
  }

  /** The tenant's `SendingStatus`; `unknown` when SES answers without one. */
  async #tenantSendingStatus(pool: Pool): Promise<string> {
    try {
      const out = await this.#reads.getTenant(this.#pools[pool].tenant);
      return out.Tenant?.SendingStatus ?? 'unknown';
    } catch (error) {
      return rethrowAws('ses', 'GetTenant', error);
    }
  }
}

/** {@link SesPoolStatusOptions}, the reads made by an SDK client. */
export interface SesPoolControlOptions extends Omit<SesPoolStatusOptions, 'reads'> {
  client: SESv2Client;
}

/** {@link SesPoolStatus} over an SDK client, and `setSending` (pause function, CLI). */
export class SesPoolControl implements PoolStatus {
  readonly #client: SESv2Client;
  readonly #pools: Config['pools'];
  readonly #status: SesPoolStatus;

  constructor(options: SesPoolControlOptions) {
    const { client, ...rest } = options;
    this.#client = client;
    this.#pools = options.pools;
    this.#status = new SesPoolStatus({
      ...rest,
      reads: {
        getConfigurationSet: (name) =>
          client.send(new GetConfigurationSetCommand({ ConfigurationSetName: name })),
        getTenant: (name) => client.send(new GetTenantCommand({ TenantName: name })),
      },
    });
  }

  /** {@link SesPoolStatus.paused}. */
  paused(pools: readonly Pool[] = POOLS): Promise<ReadonlySet<Pool>> {
    return this.#status.paused(pools);
  }

  /** Disables (`false`) or enables the pool's sending; the cache is dropped. */
  async setSending(pool: Pool, enabled: boolean): Promise<void> {
    const name = this.#pools[pool].configurationSet;
    try {
      await this.#client.send(
        new PutConfigurationSetSendingOptionsCommand({ ConfigurationSetName: name, SendingEnabled: enabled }),
      );
    } catch (error) {
      rethrowAws('ses', 'PutConfigurationSetSendingOptions', error);
    }
    this.#status.forget();
  }

  /** {@link SesPoolStatus.sendingEnabled}. */
  sendingEnabled(pool: Pool): Promise<boolean> {
    return this.#status.sendingEnabled(pool);
  }

  /** {@link SesPoolStatus.status}. */
  status(): Promise<PoolState[]> {
    return this.#status.status();
  }
}
