/**
 * Who proved what (SPEC 2a): the authentication facts of one message, computed once, as one
 * value, from verdicts that were already established (SES's, or the SPF recomputed behind a
 * trusted gateway, and the DKIM verification of `dkim.ts`). Every rule of the decision reads
 * these facts and nothing else about authentication.
 *
 * The principle: "authenticated" means *proved*, never "no failure seen". A missing verdict,
 * `GRAY` (no record), `PROCESSING_FAILED`, SPF `NEUTRAL`/`SOFTFAIL` (SES reports both as
 * something other than PASS) are not a pass.
 *
 * - E: the envelope sender's domain; none for a null reverse path.
 * - F: the domain of the single `From` address. Zero or several `From` addresses: F is
 *   unknown, so nothing is author-authenticated (RFC 7489 6.6.1 leaves such messages to local
 *   policy; ours is to believe none of them).
 * - SES's SPF verdict is about E only (RFC 7208 2.4: the MAIL FROM identity; for a null
 *   reverse path SPF checks the HELO name, which proves nothing about any address), so with
 *   no E an SPF pass counts for nothing.
 * - envelope-authenticated: SPF PASS for E, or a valid DKIM signature aligned with E. Only
 *   such a sender may receive an NDR or be counted under its own address — and neither
 *   proves E's local part: a signature covers the From field, never the envelope, so a
 *   replayed signed message may carry any E of the signer's domain. So the address counted
 *   is E only when SPF passed for it (the domain's own servers chose it), else the signed
 *   From address. (An NDR still goes to E, as SPEC 2a says: at most a few per address and
 *   hour, carrying only headers, and only inside the domain that signed.)
 * - author-authenticated (DMARC identifier alignment, RFC 7489 3.1 and 4.2): SPF PASS with
 *   aligned(E, F), or a valid DKIM signature aligned with F (when `relay.dkimAvoidsRelay`).
 *   A DMARC `FAIL` verdict is never author-authenticated.
 * - genuine accepted-domain sender: E or F is an accepted domain and the message is both
 *   envelope- and author-authenticated. Anything else that *claims* an accepted domain (in E
 *   or in F) is a spoof.
 * - our own copies: every copy this platform sends is DKIM-signed by SES for the From it
 *   carries, and a rewritten From is an address of ours (the route the mail arrived for, or
 *   the SRS domain's bounce sink). Replayed back to us, that signature would authenticate
 *   whatever the copy carried — relay mail would come back as a genuine sender. A signature
 *   over a From this platform writes proves that we sent the copy, not who wrote it, so for
 *   such a From no DKIM signature counts (`ownFrom`); SPF aligned with an accepted E still does,
 *   unless the message carries our loop marker (`copyOfOurs`): then it is our copy come back,
 *   which SES sent with an SPF pass of its own (a custom MAIL FROM domain), and nothing counts.
 * - bounce: the reverse path is null (and nothing else: a DSN content type or an SRS
 *   recipient is for rule 2, not for trusting or exempting anything).
 */
import { type DkimEvaluation, isDomainName, relaxedAligned } from './dkim.js';
import { domainOf, type Mailbox } from './message.js';
import type { VerdictStatus } from './ses-event.js';

export interface AuthenticationInput {
  /** Envelope sender, null for a null reverse path. */
  envelopeSender: string | null;
  from: readonly Mailbox[];
  /** SES's SPF verdict about E, or the one recomputed behind a trusted gateway. */
  spf: VerdictStatus;
  /** SES's DMARC verdict (a gateway's aligned SPF pass already taken into account). */
  dmarc: VerdictStatus;
  dkim: Pick<DkimEvaluation, 'signatures'>;
  acceptedDomains: readonly string[];
  /** `relay.dkimAvoidsRelay`: whether an aligned DKIM pass alone authenticates the author. */
  dkimAvoidsRelay: boolean;
  /** SPF was recomputed behind a configured trusted gateway (enhanced filtering). */
  viaGateway: boolean;
  /**
   * Whether `from` is one From field written so every parser reads it alike (classify's
   * `singleFrom`); otherwise F is unknown even with one address. Default: one address.
   */
  singleFrom?: boolean;
  /**
   * Whether the single From (its address in lower case, and its display name) is one this
   * platform writes into a copy (a routed address, an address of the SRS domain, a name
   * "… via <our domain>"). Default: none.
   */
  ownFrom?: (from: Mailbox) => boolean;
  /**
   * The message carries a valid loop marker of ours (for any configured route): it is a copy
   * this platform sent that came back, e.g. through a route whose destination is another of
   * our routes. Default false.
   */
  copyOfOurs?: boolean;
}

export interface AuthenticationFacts {
  /** E: the envelope sender's domain, null for a null reverse path. */
  envelopeDomain: string | null;
  /** F: the domain of the single From address, null when there are zero or several. */
  fromDomain: string | null;
  /** The From addresses the message carries (each a claim, none proved by itself). */
  fromCount: number;
  /** aligned(E, F): same organizational domain (relaxed, Public Suffix List). */
  aligned: boolean;
  /** The SPF verdict about E (SES's, or the recomputed one behind a trusted gateway). */
  spf: VerdictStatus;
  /** SPF PASS for an actual E. */
  spfPass: boolean;
  dmarc: VerdictStatus;
  /** A valid DKIM signature whose `d=` is aligned with E. */
  dkimEnvelopeAligned: boolean;
  /** A valid DKIM signature whose `d=` is aligned with F. */
  dkimAuthorAligned: boolean;
  envelopeAuthenticated: boolean;
  authorAuthenticated: boolean;
  /** E or F is an accepted domain (a claim, proved or not). */
  claimsAcceptedDomain: boolean;
  /** The message claims an accepted domain and proved it. */
  genuineAcceptedSender: boolean;
  /** The message claims an accepted domain and did not prove it. */
  spoof: boolean;
  /** The reverse path is null. */
  bounce: boolean;
  /** SPF was recomputed behind a trusted gateway. */
  viaGateway: boolean;
  /**
   * The genuine sender's own address, its sending identity before normalization: E's address
   * when E is accepted and SPF passed for it, else the (signed) From address. Null unless `genuineAcceptedSender`.
   */
  genuineAddress: string | null;
}

/** The facts of SPEC 2a for one message. Pure. */
export function authenticationFacts(input: AuthenticationInput): AuthenticationFacts {
  const accepted = new Set(input.acceptedDomains);
  const envelopeDomain = domainOf(input.envelopeSender) ?? null;
  const single = input.singleFrom ?? input.from.length === 1;
  const fromAddress = single && input.from.length === 1 ? input.from[0]!.address.toLowerCase() : null;
  const fromDomain = domainOf(fromAddress) ?? null;
  const aligned =
    envelopeDomain !== null && fromDomain !== null && relaxedAligned(envelopeDomain, fromDomain);

  // SES's SPF verdict proves E only when E is a mailbox of a domain name: a string DNS and
  // tldts would read differently (`x@attacker.test/a=b`), or one with no local part, proves
  // nothing (and could not be written as an SRS address).
  const wellFormedEnvelope =
    envelopeDomain !== null && isDomainName(envelopeDomain) && input.envelopeSender!.lastIndexOf('@') > 0;
  // Over a From of ours, a passing signature is our own copy's (module comment): none counts.
  const ownFrom =
    fromAddress !== null && (input.ownFrom?.({ name: input.from[0]!.name, address: fromAddress }) ?? false);
  const passing = ownFrom ? [] : input.dkim.signatures.filter((s) => s.result === 'pass');
  const dkimEnvelopeAligned =
    wellFormedEnvelope && passing.some((s) => relaxedAligned(s.domain, envelopeDomain!));
  const dkimAuthorAligned = fromDomain !== null && passing.some((s) => relaxedAligned(s.domain, fromDomain));

  const spfPass = wellFormedEnvelope && input.spf === 'PASS';
  const envelopeAuthenticated = spfPass || dkimEnvelopeAligned;
  // A copy of ours come back with a From of ours proves nothing about its author, SPF included:
  // SES sent it, from a custom MAIL FROM domain of the accepted domain when one is set, so
  // SPF passes aligned with our own From (review L: relay mail to `team@`, forwarded by SES to
  // `all@`, came back genuine and went `normal`).
  const ourOwnCopy = ownFrom && (input.copyOfOurs ?? false);
  const authorAuthenticated =
    !ourOwnCopy &&
    input.dmarc !== 'FAIL' &&
    fromDomain !== null &&
    ((spfPass && aligned) || (dkimAuthorAligned && input.dkimAvoidsRelay));

  // Every From address counts as a claim, not only a single one: two From fields, one of
  // them ours, must not slip past as "no accepted domain claimed".
  const fromDomains = input.from.map((m) => domainOf(m.address)).filter((d) => d !== undefined);
  const claimsAcceptedDomain =
    (envelopeDomain !== null && accepted.has(envelopeDomain)) || fromDomains.some((d) => accepted.has(d));
  const genuineAcceptedSender = claimsAcceptedDomain && envelopeAuthenticated && authorAuthenticated;

  // E's address only when SPF passed for it: a DKIM signature does not cover the envelope,
  // and anyone replaying one could name any E of the signer's domain (module comment).
  let genuineAddress: string | null = null;
  if (genuineAcceptedSender) {
    genuineAddress =
      spfPass && accepted.has(envelopeDomain!) ? input.envelopeSender!.toLowerCase() : fromAddress;
  }

  return {
    envelopeDomain,
    fromDomain,
    fromCount: input.from.length,
    aligned,
    spf: input.spf,
    spfPass,
    dmarc: input.dmarc,
    dkimEnvelopeAligned,
    dkimAuthorAligned,
    envelopeAuthenticated,
    authorAuthenticated,
    claimsAcceptedDomain,
    genuineAcceptedSender,
    spoof: claimsAcceptedDomain && !genuineAcceptedSender,
    bounce: input.envelopeSender === null,
    viaGateway: input.viaGateway,
    genuineAddress,
  };
}
