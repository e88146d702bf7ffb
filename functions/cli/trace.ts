/**
 * `outbound-pools trace`: the message trace (SPEC 6) — what came in, the pool it left through
 * (`OutboundIpPoolName`), the reasons, each copy's SES message id and what SES reported for it.
 */

import { parseArgs } from 'node:util';
import { DynamoTraceStore } from '../adapters/dynamo-trace-store.js';
import {
  lookUpTrace,
  parseTraceLookup,
  type TraceLookupInput,
  type TraceReport,
} from '../trace-api/lookup.js';
import { cliTable, documentClientFromEnv, withProgress } from './aws.js';
import { EXIT, noteSource, painter, parseNow, rejectPositionals, table, wantsJson } from './io.js';

export const TRACE_USAGE = `Usage: outbound-pools trace (--message-id ID | --sender ADDRESS | --recipient ADDRESS
                              | --pool POOL | --reason CODE)
         [--since WHEN] [--until WHEN] [--limit N] [--now ISO-8601] [--trace-table NAME]
         [--pretty | --json]

Looks messages up in the trace table (TRACE_TABLE or --trace-table): by SES message id, or by
envelope sender (<> for bounces) and/or recipient (an address the message arrived for or a copy
went to), --pool (normal, high-risk, relay, blocked) and/or --reason (a reason code, e.g.
sender-restricted), most recent first (default 50, --limit up to 1000). A search covers the
last 24 hours unless --since/--until say otherwise (at most 31 days).
WHEN is ISO-8601 or relative: 30m, 1h, 2d, 1w (ago), today, yesterday (UTC), now.
Prints the received time, message id, sender, recipients, pool and OutboundIpPoolName,
configuration set, reasons, and each send with its SES message id and delivery events.
Exit 1 when a --message-id is not found.

  outbound-pools trace --pool high-risk --since 1h
  outbound-pools trace --reason sender-restricted --since today`;

const POOL_STYLE = { normal: 'green', relay: 'yellow', 'high-risk': 'red', blocked: 'magenta' } as const;

function renderTable(reports: TraceReport[], out: NodeJS.WriteStream): string {
  const paint = painter(out);
  const deadLetter = (r: TraceReport) =>
    r.status === 'dead-letter' && r.deadLetter
      ? `${paint('red', `DEAD LETTER ${r.deadLetter.condition}: ${r.deadLetter.error}`)} (outbound-pools redrive)${r.sends.length ? '; ' : ''}`
      : '';
  const sends = (r: TraceReport) =>
    deadLetter(r) +
    (r.sends.length === 0
      ? r.status === 'dead-letter'
        ? ''
        : paint('dim', r.status === 'done' ? 'nothing sent' : 'in progress')
      : r.sends
          .map((s) => {
            const events = s.events.map((e) => `${e.type}${e.detail ? ` ${e.detail}` : ''}`).join(', ');
            return `${s.kind} → ${s.to.join(', ')} ${s.status === 'sent' ? (s.sesMessageId ?? '') : paint('red', `FAILED ${s.error ?? ''}`)}${events ? ` (${events})` : ''}`;
          })
          .join('; ') + (r.eventsTruncated ? paint('dim', ' (older events not shown)') : ''));
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
      pool: { type: 'string' },
      reason: { type: 'string' },
      now: { type: 'string' },
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
  rejectPositionals('trace', positionals, TRACE_USAGE);
  const messageId = values['message-id'];
  const lookup = parseTraceLookup(
    {
      messageId,
      sender: values.sender,
      recipient: values.recipient,
      pool: values.pool,
      reason: values.reason,
      since: values.since,
      until: values.until,
      limit: values.limit,
    },
    (p: keyof TraceLookupInput) => (p === 'messageId' ? '--message-id' : `--${p}`),
    `\n\n${TRACE_USAGE}`,
    parseNow(values.now),
  );
  if (lookup.kind === 'search') {
    // The window actually searched, relative forms and defaults resolved.
    noteSource(
      `searching ${lookup.pool ?? 'all'} mail${lookup.reason ? ` with reason ${lookup.reason}` : ''} from ${lookup.since?.toISOString()} to ${lookup.until?.toISOString()}`,
    );
  }
  const json = wantsJson(values, out);
  const traceTable = cliTable(values['trace-table'], 'TRACE_TABLE', '--trace-table');
  // retentionDays only matters for writes; the CLI reads.
  const store = new DynamoTraceStore({
    client: documentClientFromEnv(),
    tableName: traceTable.name,
    retentionDays: 30,
  });

  const reports = await traceTable.run(() =>
    withProgress('searching the message trace…', () => lookUpTrace(store, lookup)),
  );
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
