/**
 * The sandbox's log: one line per message (or refusal, retry, dead letter), as text for a
 * person at a terminal or as JSON lines for a program (`--json`).
 */
import type { painter } from '../functions/cli/io.js';
import type { IngressEvent } from './smtp-ingress.js';

const POOL_STYLE = { normal: 'green', relay: 'yellow', 'high-risk': 'red', blocked: 'magenta' } as const;

function timeOf(iso: string): string {
  return iso.slice(11, 19);
}

/** One log line per message (or refusal, retry, dead letter), text or JSON. */
export function formatEvent(
  e: IngressEvent,
  json: boolean,
  paint: ReturnType<typeof painter>,
): string | null {
  if (json) {
    switch (e.type) {
      case 'accepted':
        return null;
      case 'processed':
      case 'dead-letter': {
        const m = e.message;
        return JSON.stringify({
          event: e.type === 'processed' ? 'message' : 'dead-letter',
          at: e.at,
          messageId: m.messageId,
          receivedAt: m.receivedAt,
          sender: m.sender,
          recipients: m.recipients,
          clientIp: m.clientIp,
          helo: m.helo,
          verdicts: m.verdicts,
          outcome: m.outcome,
          pool: m.pool,
          reasons: m.reasons,
          sends: m.sends.map((s) => ({
            kind: s.kind,
            to: s.to,
            pool: s.pool,
            configurationSet: s.configurationSet,
            envelopeFrom: s.envelopeFrom,
            status: s.status,
            sesMessageId: s.sesMessageId,
          })),
          attempts: m.attempts,
          ...(m.error ? { error: m.error } : {}),
        });
      }
      default:
        return JSON.stringify({ event: e.type, ...e, type: undefined });
    }
  }
  const who = (sender: string, recipients: string[]) => `${sender || '<>'} → ${recipients.join(', ')}`;
  switch (e.type) {
    case 'accepted':
      return null;
    case 'refused':
      return `${paint('dim', timeOf(e.at))}  ${who(e.sender, [e.recipient])}  ${paint('yellow', `refused at RCPT: ${e.code} ${e.response}`)}`;
    case 'rejected':
      return `${paint('dim', timeOf(e.at))}  ${who(e.sender, e.recipients)}  ${paint('yellow', `rejected: ${e.code} ${e.response}`)}`;
    case 'retry':
      return `${paint('dim', timeOf(e.at))}  ${paint('dim', e.messageId)}  ${paint('yellow', `attempt ${e.attempt} failed, retry in ${e.delayMs} ms: ${e.error}`)}`;
    case 'dead-letter':
      return `${paint('dim', timeOf(e.at))}  ${who(e.message.sender, e.message.recipients)}  ${paint('red', `dead letter after ${e.deadLetter.attempts} attempt(s): ${e.deadLetter.error}`)}  ${paint('dim', e.message.messageId)}`;
    case 'processed': {
      const m = e.message;
      const pool = m.pool ? paint(POOL_STYLE[m.pool], m.pool) : paint('dim', m.outcome);
      const sends =
        m.sends.length === 0
          ? paint('dim', 'nothing sent')
          : m.sends
              .map(
                (s) =>
                  `${s.kind} ${s.to.join(', ')} [${s.configurationSet}]${s.status === 'failed' ? ' FAILED' : ''}`,
              )
              .join('; ');
      return `${paint('dim', timeOf(e.at))}  ${who(m.sender, m.recipients)}  ${pool}  ${m.reasons.join(', ') || '-'}  ⇒ ${sends}  ${paint('dim', m.messageId)}`;
    }
  }
}
