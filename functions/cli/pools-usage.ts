/**
 * The usage of `outbound-pools pools` (`pools.ts`), apart so that the CLI's help does not load
 * the SDK clients the command needs.
 */
export const POOLS_USAGE = `Usage: outbound-pools pools status [--config CONFIG.json] [--pretty | --json]
       outbound-pools pools pause POOL [--reason TEXT] [--config CONFIG.json] [--json]
       outbound-pools pools resume POOL [--reason TEXT] [--config CONFIG.json] [--json]

status   each pool: paused or sending and why (configuration set, tenant), its configuration
         set and whether SES sends through it, its tenant and the tenant's sending status as
         SES reports it (DISABLED: SES paused it; the router blocks the pool's mail then too)
pause    disables the configuration set's sending: the router blocks the pool's mail with
         reason pool-paused (no copy, no NDR through it) until the pool is resumed
resume   enables the configuration set again; a tenant SES paused stays paused: then it says
         so, publishes no notice and exits 1
POOL is normal, high-risk or relay. SESv2 is reached through the standard AWS configuration
(AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL_SESV2); a notice is published when
NOTICE_TOPIC_ARN and LIMITS_TABLE are set (the sandbox prints both).`;
