/**
 * The domains SES sends as for the router: the accepted domains (senders and the aliases mail
 * is re-sent from), the SRS domain (return paths) and the bounce sink's domain (NDRs). The
 * stack verifies them (`lib/sending-identities.ts`) and scopes `ses:SendEmail` to them; the
 * copy keeps a `Sender` field only in one of them (`compose/rewrite.ts`).
 */
import type { Config } from './config.js';

/** The sending domains, lower-cased, in a stable order and without duplicates. */
export function sendingDomains(config: Pick<Config, 'acceptedDomains' | 'srs' | 'bounceSink'>): string[] {
  const sinkDomain = config.bounceSink.slice(config.bounceSink.lastIndexOf('@') + 1);
  return [...new Set([...config.acceptedDomains, config.srs.domain, sinkDomain].map((d) => d.toLowerCase()))];
}
