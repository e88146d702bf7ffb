/**
 * The bytes of one planned send, exactly as the router hands them to SES: the NDR for an
 * `ndr` send, else the rewritten copy (`rewrite.ts`), ARC-sealed when a key is configured
 * (`arc.ts`). One function, used by the router (`router/process.ts`) and by
 * `outbound-pools dry-run --write-copies`, so what an operator inspects is what is sent.
 */
import type { Config } from '../config.js';
import type { Classification, PlannedSend } from '../decide.js';
import type { DkimEvaluation } from '../dkim.js';
import type { Resolver } from '../dns/resolver.js';
import { ndrHeaderExcerpt } from '../header-bounds.js';
import { loopMarker } from '../loop.js';
import { sendingDomains } from '../sending-domains.js';
import type { Reason } from '../vocabulary.js';
import { type ArcSigningKey, copySealOptions, sealArc } from './arc.js';
import { buildNdr, refusalStatus } from './ndr.js';
import { rewriteHeader, splitMessage } from './rewrite.js';

const EMPTY = Buffer.alloc(0);

/** What the copy needs to know of the decision (the trace summary carries all of it). */
export interface CopyContext {
  /** SES receipt message id. */
  messageId: string;
  /** When the message arrived (ISO-8601). */
  receivedAt: string;
  /** The envelope recipients of the received message. */
  recipients: string[];
  reasons: readonly Reason[];
}

export interface CopyDeps {
  config: Config;
  /** ARC sealing key; null composes without a seal. */
  arcKey: ArcSigningKey | null;
  resolver: Resolver;
  /** Told when a copy that could not be sealed goes out unsealed. */
  warn?: (message: string, details: Record<string, unknown>) => void;
}

/**
 * Composes the bytes of `send` for the received message `raw`. `c` is the message's
 * classification, null when a resumed attempt has none (then the copy is not sealed).
 */
export async function composeCopy(
  send: PlannedSend,
  raw: Buffer,
  context: CopyContext,
  c: Classification | null,
  deps: CopyDeps,
  now: Date,
): Promise<Buffer> {
  const parts = await composeCopyParts(send, raw, context, c, deps, now);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/**
 * {@link composeCopy} in pieces to be sent one after another, without joining them: a copy is
 * its new header block (the ARC seal's fields on top) and the received body, a view of `raw`
 * rather than a copy of it (issue 16: a 10 MB message is then held once, not twice, while its
 * copy is sent). An NDR, or a sealed copy whose body had to be read for the seal, is one piece.
 */
export async function composeCopyParts(
  send: PlannedSend,
  raw: Buffer,
  context: CopyContext,
  c: Classification | null,
  deps: CopyDeps,
  now: Date,
): Promise<Buffer[]> {
  const { config } = deps;
  if (send.kind === 'ndr') {
    return [
      buildNdr({
        from: send.from,
        to: send.to[0]!,
        reportingMta: config.srs.domain,
        // Over the header bound, only the first 16 KB of the header block (header-bounds.ts).
        originalHeaders: ndrHeaderExcerpt(splitMessage(raw).header, context.reasons),
        arrivalDate: new Date(context.receivedAt),
        // An NDR for a copy SES refused names that copy's recipients and the refusal.
        recipients: send.refused?.recipients ?? context.recipients,
        reasons: context.reasons,
        inboundMessageId: context.messageId,
        now,
        ...(send.refused ? { status: refusalStatus(send.refused.refusal) } : {}),
      }),
    ];
  }
  const dkim: DkimEvaluation = c?.dkim ?? { signatures: [], alignedPass: false, temperror: false };
  // The copy's header block over a view of the received body.
  const secrets = config.srs.secrets;
  const rewritten = rewriteHeader(raw, {
    send,
    reasons: context.reasons,
    inboundMessageId: context.messageId,
    dkim,
    // SPEC 2a: our loop marker, one per route the copy is sent for.
    loopMarkers: secrets.length > 0 ? (send.routes ?? []).map((r) => loopMarker(r, secrets)) : [],
    sendingDomains: sendingDomains(config),
    authservId: config.arc?.authservId ?? config.srs.domain,
  });
  const unsealed = [rewritten.header, rewritten.body];
  if (!deps.arcKey || !c) return unsealed;
  try {
    const options = copySealOptions(c, raw, { config, key: deps.arcKey, resolver: deps.resolver, now });
    if (options.bodyHash) {
      // With the body hash known, sealArc reads only the header block (its `bodyHash`
      // contract), so it is sealed alone and the body stays a view of `raw`.
      const sealed = await sealArc({ header: rewritten.header, body: EMPTY }, options);
      return [sealed.message, rewritten.body];
    }
    return [(await sealArc(rewritten, options)).message];
  } catch (error) {
    // A message that cannot be sealed (no From, unreadable header) still goes out, unsealed:
    // the seal is extra evidence, not a condition of delivery.
    deps.warn?.('ARC seal skipped', { messageId: context.messageId, error: (error as Error).message });
    return unsealed;
  }
}
