/**
 * `outbound-pools trace`: the message trace (SPEC 6) — what came in, the pool it left through
 * (`OutboundIpPoolName`), the reasons, each copy's SES message id and what SES reported for it.
 */

import { parseArgs } from 'node:util';
import { DynamoTraceStore, type TraceRecord } from '../adapters/dynamo-trace-store.js';
import { InvalidInputError } from '../core/errors.js';
import type { DeliveryEvent } from '../router/ports.js';
import { cliTable, documentClientFromEnv, withProgress } from './aws.js';
import { EXIT, painter, parseTime, table, wantsJson } from './io.js';

export const TRACE_USAGE = `Usage: outbound-pools trace (--message-id ID | --sender ADDRESS | --recipient ADDRESS)
         [--since ISO-8601] [--until ISO-8601] [--limit N] [--trace-table NAME] [--pretty | --json]

Looks messages up in the trace table (TRACE_TABLE or --trace-table): by SES message id, or by
envelope sender (<> for bounces) and/or recipient (an address the message arrived for or a copy
went to), most recent first (default 50, --limit up to 1000). Prints the received time, message
id, sender, recipients, pool and OutboundIpPoolName, configuration set, reasons, and each send
with its SES message id and delivery events. Exit 1 when a --message-id is not found.`;

// --- trace --------------------------------------------------------------------------------------

/** A trace record as the CLI prints it: the summary flattened, events attached to their send. */
export function traceReport(r: TraceRecord) {
  const s = r.summary;
  const eventsOf = (sesMessageId: string | undefined) =>
    sesMessageId === undefined ? [] : r.events.filter((e) => e.sesMessageId === sesMessageId);
  return {
    messageId: r.messageId,
    receivedAt: s?.receivedAt ?? r.receivedAt,
    status: r.status,
    sender: s ? s.sender : null,
    recipients: s?.recipients ?? [],
    destinations: s?.destinations ?? [],
    unrouted: s?.unrouted ?? [],
    pool: s?.pool ?? null,
    outboundIpPoolName: s?.outboundIpPoolName ?? null,
    configurationSet: s?.configurationSet ?? null,
    reasons: s?.reasons ?? [],
    sizeBytes: s?.sizeBytes ?? null,
    sends: r.sends.map((send) => ({
      index: send.index,
      kind: send.kind,
      to: send.to,
      pool: send.pool,
      configurationSet: send.configurationSet,
      envelopeFrom: send.envelopeFrom,
      status: send.status,
      sesMessageId: send.sesMessageId ?? null,
      at: send.at,
      ...(send.error ? { error: send.error } : {}),
      events: eventsOf(send.sesMessageId).map(eventReport),
    })),
    events: r.events.map(eventReport),
  };
}

function eventReport(e: DeliveryEvent) {
  return {
    type: e.type,
    at: e.at,
    sesMessageId: e.sesMessageId,
    recipients: e.recipients,
    detail: e.detail ?? null,
  };
}

type Report = ReturnType<typeof traceReport>;

const POOL_STYLE = { normal: 'green', relay: 'yellow', 'high-risk': 'red', blocked: 'magenta' } as const;

function renderTable(reports: Report[], out: NodeJS.WriteStream): string {
  const paint = painter(out);
  const sends = (r: Report) =>
    r.sends.length === 0
      ? paint('dim', r.status === 'done' ? 'nothing sent' : 'in progress')
      : r.sends
          .map((s) => {
            const events = s.events.map((e) => `${e.type}${e.detail ? ` ${e.detail}` : ''}`).join(', ');
            return `${s.kind} → ${s.to.join(', ')} ${s.status === 'sent' ? (s.sesMessageId ?? '') : paint('red', `FAILED ${s.error ?? ''}`)}${events ? ` (${events})` : ''}`;
          })
          .join('; ');
  return table([
    [
      'received',
      'message id',
      'sender',
      'recipients',
      'pool',
      'OutboundIpPoolName',
      'configuration set',
      'reasons',
      'sends (SES message id, events)',
    ].map((h) => paint('bold', h)),
    ...reports.map((r) => [
      r.receivedAt.replace(/\.\d{3}Z$/, 'Z'),
      r.messageId,
      r.sender === null ? '-' : r.sender || '<>',
      r.recipients.join(', ') || '-',
      r.pool ? paint(POOL_STYLE[r.pool], r.pool) : paint('dim', r.status),
      r.outboundIpPoolName ?? '-',
      r.configurationSet ?? '-',
      r.reasons.join(', ') || '-',
      sends(r),
    ]),
  ]);
}

/** Returns the exit code: 0, or 1 when `--message-id` names no trace record. */
export async function traceCommand(
  argv: string[],
  out: NodeJS.WriteStream,
  err: NodeJS.WriteStream,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      'message-id': { type: 'string' },
      sender: { type: 'string' },
      recipient: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
      'trace-table': { type: 'string' },
      json: { type: 'boolean' },
      pretty: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) {
    throw new InvalidInputError(
      'trace',
      `unexpected argument ${JSON.stringify(positionals[0])}\n\n${TRACE_USAGE}`,
    );
  }
  const messageId = values['message-id'];
  const { sender, recipient } = values;
  if (messageId === undefined && sender === undefined && recipient === undefined) {
    throw new InvalidInputError(
      'trace',
      `one of --message-id, --sender or --recipient is required\n\n${TRACE_USAGE}`,
    );
  }
  if (messageId !== undefined && (sender !== undefined || recipient !== undefined)) {
    throw new InvalidInputError('--message-id', 'cannot be combined with --sender or --recipient');
  }
  if (messageId !== undefined && !/^[^\s]{1,256}$/.test(messageId)) {
    throw new InvalidInputError('--message-id', `not a message id: ${JSON.stringify(messageId)}`);
  }
  if (sender !== undefined && sender !== '<>' && sender !== '' && !sender.includes('@')) {
    throw new InvalidInputError('--sender', `not an address (use <> for bounces): ${JSON.stringify(sender)}`);
  }
  if (recipient !== undefined && !recipient.includes('@')) {
    throw new InvalidInputError('--recipient', `not an address: ${JSON.stringify(recipient)}`);
  }
  const since = parseTime(values.since, '--since');
  const until = parseTime(values.until, '--until');
  if (since && until && since > until) throw new InvalidInputError('--since', 'is after --until');
  let limit = 50;
  if (values.limit !== undefined) {
    if (!/^\d+$/.test(values.limit) || Number(values.limit) < 1 || Number(values.limit) > 1000) {
      throw new InvalidInputError(
        '--limit',
        `expected a whole number from 1 to 1000, got ${JSON.stringify(values.limit)}`,
      );
    }
    limit = Number(values.limit);
  }
  const json = wantsJson(values, out);
  const traceTable = cliTable(values['trace-table'], 'TRACE_TABLE', '--trace-table');
  // retentionDays only matters for writes; the CLI reads.
  const store = new DynamoTraceStore({
    client: documentClientFromEnv(),
    tableName: traceTable.name,
    retentionDays: 30,
  });

  const records = await traceTable.run(() =>
    withProgress('searching the message trace…', async () => {
      if (messageId !== undefined) {
        const one = await store.get(messageId);
        return one ? [one] : [];
      }
      return store.query({
        ...(sender !== undefined ? { sender: sender === '<>' ? '' : sender } : {}),
        ...(recipient !== undefined ? { recipient } : {}),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
        limit,
      });
    }),
  );
  // A message id lookup has no time range of its own; apply the one given.
  const inRange = records.filter(
    (r) =>
      (!since || Date.parse(r.receivedAt) >= since.getTime()) &&
      (!until || Date.parse(r.receivedAt) <= until.getTime()),
  );
  const reports = inRange.map(traceReport);
  if (json) {
    out.write(`${JSON.stringify(reports)}\n`);
  } else if (reports.length === 0) {
    out.write(`${painter(out)('dim', 'no messages found')}\n`);
  } else {
    out.write(`${renderTable(reports, out)}\n`);
  }
  if (messageId !== undefined && reports.length === 0) {
    err.write(
      `outbound-pools: no trace record for message id ${messageId} in table ${traceTable.name} (trace records expire after trace.retentionDays)\n`,
    );
    return EXIT.failure;
  }
  return EXIT.ok;
}
