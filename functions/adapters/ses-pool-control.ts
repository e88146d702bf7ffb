/**
 * Pausing and resuming a pool (issue 14) through SES itself: a pool is paused when its
 * configuration set's sending is disabled (SESv2 `PutConfigurationSetSendingOptions`,
 * `SendingEnabled: false`), which SES enforces whatever sends through it; the router reads
 * the same flag (`GetConfigurationSet` → `SendingOptions.SendingEnabled`) to block mail for a
 * paused pool with a reason instead of a refusal.
 *
 * One source of truth (the configuration set), so the pause function, the operator CLI and
 * the router cannot disagree. The router caches the answer for `cacheMs` (a pause reaches
 * every container within it; SES refuses in between anyway, and that send is retried).
 *
 * IAM: `ses:GetConfigurationSet` (router, CLI), `ses:PutConfigurationSetSendingOptions`
 * (pause function, CLI), `ses:GetTenant` (CLI status only).
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

/** A pool as the operator sees it (`pools status`). */
export interface PoolState {
  pool: Pool;
  configurationSet: string;
  /** False: the pool is paused. */
  sendingEnabled: boolean;
  tenant: string;
  /**
   * The tenant's `SendingStatus` (`ENABLED`, `REINSTATED`, `DISABLED` when SES paused it under
   * its reputation policy); `unknown` when SES would not say (no such tenant, no permission,
   * the sandbox's emulator).
   */
  tenantStatus: string;
}

export interface SesPoolControlOptions {
  client: SESv2Client;
  pools: Config['pools'];
  /** How long `paused()` trusts its last answer. Default 30 s; 0 asks every time. */
  cacheMs?: number;
  clock?: () => number;
}

export class SesPoolControl implements PoolStatus {
  readonly #client: SESv2Client;
  readonly #pools: Config['pools'];
  readonly #cacheMs: number;
  readonly #clock: () => number;
  #cached: { at: number; paused: ReadonlySet<Pool> } | null = null;

  constructor(options: SesPoolControlOptions) {
    this.#client = options.client;
    this.#pools = options.pools;
    this.#cacheMs = options.cacheMs ?? 30_000;
    this.#clock = options.clock ?? Date.now;
  }

  async paused(): Promise<ReadonlySet<Pool>> {
    const now = this.#clock();
    if (this.#cached && now - this.#cached.at < this.#cacheMs) return this.#cached.paused;
    const enabled = await Promise.all(POOLS.map((p) => this.#sendingEnabled(p)));
    const paused = new Set(POOLS.filter((_, i) => !enabled[i]));
    this.#cached = { at: now, paused };
    return paused;
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
    this.#cached = null;
  }

  /** Every pool's configuration set and tenant, as SES has them now. */
  async status(): Promise<PoolState[]> {
    return Promise.all(
      POOLS.map(async (pool) => ({
        pool,
        configurationSet: this.#pools[pool].configurationSet,
        sendingEnabled: await this.#sendingEnabled(pool),
        tenant: this.#pools[pool].tenant,
        tenantStatus: await this.#tenantStatus(pool),
      })),
    );
  }

  async #sendingEnabled(pool: Pool): Promise<boolean> {
    const name = this.#pools[pool].configurationSet;
    try {
      const out = await this.#client.send(new GetConfigurationSetCommand({ ConfigurationSetName: name }));
      // SES: sending is enabled unless it was disabled; an absent flag means enabled.
      return out.SendingOptions?.SendingEnabled !== false;
    } catch (error) {
      return rethrowAws('ses', 'GetConfigurationSet', error);
    }
  }

  async #tenantStatus(pool: Pool): Promise<string> {
    try {
      const out = await this.#client.send(new GetTenantCommand({ TenantName: this.#pools[pool].tenant }));
      return out.Tenant?.SendingStatus ?? 'unknown';
    } catch {
      return 'unknown';
    }
  }
}
