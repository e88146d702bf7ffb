/**
 * `npm run demo`: starts the sandbox on free ports, sends the example messages of
 * `examples/demo/` through real SMTP (with XCLIENT to give each its client IP), waits for the
 * router to process each one, and prints what happened: pool, reasons, what was sent.
 *
 * `examples/demo/messages.json` lists the messages: `{ file, title, mailFrom, rcptTo, clientIp,
 * helo, repeat?, expect? }` (`mailFrom: ""` is the null sender; `expect` the pool, `refused`, or
 * one per repetition). Two placeholders are replaced in envelopes and messages before sending:
 * `{{SRS:address}}` (the SRS address the sandbox's configuration gives `address` today) and
 * `{{EICAR}}` (the anti-virus test string, kept out of the repository's files).
 *
 * Exit codes: 0 done (every expectation met), 1 an expectation failed or the demo broke,
 * 2 bad input.
 */
import { readFile } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoLimitsStore } from '../functions/adapters/dynamo-limits-store.js';
import { EXIT, painter, readJsonFile, table } from '../functions/cli/io.js';
import { ConfigError, InvalidInputError } from '../functions/core/errors.js';
import { Srs } from '../functions/core/srs.js';
import { exportLine, type Sandbox, startSandbox } from './server.js';
import { EICAR, type ProcessedMessage } from './smtp-ingress.js';

const DEMO_DIR = 'examples/demo';

export const DEMO_USAGE = `Usage: npm run demo -- [--config CONFIG.json] [--zones ZONES.json] [--messages MESSAGES.json] [--json] [--keep]

Starts the sandbox on free ports, sends every message of MESSAGES.json (default
examples/demo/messages.json) through SMTP and prints the pool, the reasons and what was sent.

  --keep   leave the sandbox running afterwards (its endpoints and environment are printed),
           to look at the console, the trace, the copies sent or the restrictions; Ctrl-C or SIGTERM stops it`;

export interface DemoMessage {
  file: string;
  title?: string;
  mailFrom: string;
  rcptTo: string[];
  clientIp: string;
  helo: string;
  repeat?: number;
  expect?: string | string[];
}

function parseMessages(json: unknown, source: string): DemoMessage[] {
  if (!Array.isArray(json)) throw new InvalidInputError('--messages', `${source}: expected an array`);
  return json.map((m, i) => {
    const e = m as Partial<DemoMessage>;
    const bad = (field: string) =>
      new InvalidInputError('--messages', `${source}[${i}].${field} is missing or invalid`);
    if (typeof e.file !== 'string') throw bad('file');
    if (typeof e.mailFrom !== 'string') throw bad('mailFrom');
    if (!Array.isArray(e.rcptTo) || e.rcptTo.length === 0 || !e.rcptTo.every((r) => typeof r === 'string'))
      throw bad('rcptTo');
    if (typeof e.clientIp !== 'string') throw bad('clientIp');
    if (typeof e.helo !== 'string') throw bad('helo');
    if (e.repeat !== undefined && !(Number.isInteger(e.repeat) && e.repeat >= 1 && e.repeat <= 100))
      throw bad('repeat');
    return e as DemoMessage;
  });
}

// --- a small SMTP client (XCLIENT is what nodemailer cannot do) -------------------------------

export interface SmtpReply {
  code: number;
  text: string;
}

export interface SmtpSendResult {
  rcpt: { address: string; reply: SmtpReply }[];
  /** The reply to the end of DATA; absent when no recipient was accepted. */
  data?: SmtpReply;
  /** The message id in `250 Ok <id>`. */
  messageId?: string;
}

/** Reads SMTP replies (multi-line ones joined) off a socket, one at a time. */
function replyReader(socket: Socket): () => Promise<SmtpReply> {
  let buffer = '';
  let lines: string[] = [];
  const ready: SmtpReply[] = [];
  const waiting: ((r: SmtpReply) => void)[] = [];
  let failure: Error | null = null;
  const failWaiting = (err: Error) => {
    failure = err;
    for (const w of waiting.splice(0)) w({ code: 0, text: err.message });
  };
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    for (;;) {
      const nl = buffer.indexOf('\n');
      if (nl < 0) break;
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      lines.push(line);
      if (/^\d{3}(?: |$)/.test(line)) {
        const reply = { code: Number(line.slice(0, 3)), text: lines.map((l) => l.slice(4)).join('\n') };
        lines = [];
        const w = waiting.shift();
        if (w) w(reply);
        else ready.push(reply);
      }
    }
  });
  socket.on('error', failWaiting);
  socket.on('close', () => failWaiting(new Error('connection closed')));
  return () => {
    const r = ready.shift();
    if (r) return Promise.resolve(r);
    if (failure) return Promise.resolve({ code: 0, text: failure.message });
    return new Promise((resolve) => waiting.push(resolve));
  };
}

/**
 * Sends one message: EHLO, XCLIENT ADDR (the client IP the sandbox uses for SPF), EHLO again,
 * MAIL FROM, one RCPT TO per recipient, DATA when one was accepted. Never throws for an SMTP
 * refusal: the replies are the result.
 */
export async function smtpSend(o: {
  host: string;
  port: number;
  clientIp: string;
  helo: string;
  mailFrom: string;
  rcptTo: string[];
  data: Buffer;
}): Promise<SmtpSendResult> {
  const socket = createConnection({ host: o.host, port: o.port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const next = replyReader(socket);
  const command = async (line: string) => {
    socket.write(`${line}\r\n`);
    return next();
  };
  const expect = (r: SmtpReply, code: number, what: string) => {
    if (r.code !== code) throw new Error(`SMTP ${what}: ${r.code} ${r.text}`);
  };
  try {
    expect(await next(), 220, 'greeting');
    expect(await command(`EHLO ${o.helo}`), 250, 'EHLO');
    expect(await command(`XCLIENT ADDR=${o.clientIp} HELO=${o.helo}`), 220, 'XCLIENT');
    expect(await command(`EHLO ${o.helo}`), 250, 'EHLO after XCLIENT');
    expect(await command(`MAIL FROM:<${o.mailFrom}>`), 250, 'MAIL FROM');
    const rcpt: SmtpSendResult['rcpt'] = [];
    for (const address of o.rcptTo) rcpt.push({ address, reply: await command(`RCPT TO:<${address}>`) });
    const result: SmtpSendResult = { rcpt };
    if (rcpt.some((r) => r.reply.code === 250)) {
      expect(await command('DATA'), 354, 'DATA');
      const text = o.data
        .toString('utf8')
        .replace(/\r?\n/g, '\r\n')
        .replace(/(^|\r\n)\./g, '$1..');
      socket.write(text.endsWith('\r\n') ? text : `${text}\r\n`);
      result.data = await command('.');
      result.messageId = /\bOk (\S+)/.exec(result.data.text)?.[1];
    }
    await command('QUIT');
    return result;
  } finally {
    socket.destroy();
  }
}

// --- the demo ------------------------------------------------------------------------------

interface Row {
  n: number;
  title: string;
  mailFrom: string;
  rcptTo: string[];
  expect: string | undefined;
  /** `refused` when every recipient was refused at RCPT. */
  pool: string;
  reasons: string[];
  refused: string[];
  sends: ProcessedMessage['sends'];
  messageId?: string;
  ok: boolean;
}

const POOL_STYLE = {
  normal: 'green',
  relay: 'yellow',
  'high-risk': 'red',
  blocked: 'magenta',
  refused: 'cyan',
} as const;

function substitute(text: string, sandbox: Sandbox, now: Date): string {
  const srs = new Srs(sandbox.config.srs);
  return text
    .replace(/\{\{SRS:([^}]+)\}\}/g, (_m, address: string) => srs.forward(address.trim(), now))
    .replace(/\{\{EICAR\}\}/g, EICAR);
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      zones: { type: 'string' },
      messages: { type: 'string' },
      json: { type: 'boolean' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${DEMO_USAGE}\n`);
    return EXIT.ok;
  }
  const started = Date.now();
  const messagesPath = values.messages ?? `${DEMO_DIR}/messages.json`;
  const messages = parseMessages(await readJsonFile(messagesPath, '--messages'), messagesPath);
  const base = dirname(resolve(messagesPath));
  const out = process.stdout;
  const paint = painter(out);

  const sandbox = await startSandbox({
    config: values.config ?? `${DEMO_DIR}/config.json`,
    zones: values.zones ?? `${DEMO_DIR}/zones.json`,
    smtpPort: 0,
    quiet: true,
  });
  const rows: Row[] = [];
  try {
    if (!values.json) {
      out.write(
        `${paint('bold', 'outbound-pools demo')}: sandbox on SMTP ${sandbox.endpoints.smtp}, console ${sandbox.endpoints.console}\n`,
      );
    }
    let n = 0;
    for (const m of messages) {
      const template = await readFile(resolve(base, m.file), 'utf8');
      const repeat = m.repeat ?? 1;
      for (let i = 0; i < repeat; i++) {
        n++;
        const now = new Date();
        const rcptTo = m.rcptTo.map((r) => substitute(r, sandbox, now));
        const expect = Array.isArray(m.expect) ? m.expect[i] : m.expect;
        const result = await smtpSend({
          host: sandbox.smtp.host,
          port: sandbox.smtp.port,
          clientIp: m.clientIp,
          helo: m.helo,
          mailFrom: m.mailFrom,
          rcptTo,
          data: Buffer.from(substitute(template, sandbox, now)),
        });
        const refused = result.rcpt
          .filter((r) => r.reply.code !== 250)
          .map((r) => `${r.address}: ${r.reply.code} ${r.reply.text}`);
        const title = `${m.title ?? m.file}${repeat > 1 ? ` (${i + 1}/${repeat})` : ''}`;
        const row: Row = {
          n,
          title,
          mailFrom: m.mailFrom,
          rcptTo,
          expect,
          pool: 'refused',
          reasons: [],
          refused,
          sends: [],
          ok: false,
        };
        if (result.messageId) {
          // One at a time, so that the limit counters see the messages in order.
          const processed = await sandbox.waitFor(result.messageId, 20_000);
          row.messageId = processed.messageId;
          row.pool = processed.pool ?? `failed: ${processed.error}`;
          row.reasons = processed.reasons;
          row.sends = processed.sends;
        } else if (result.data) {
          row.pool = `rejected: ${result.data.code} ${result.data.text}`;
        }
        row.ok = expect === undefined || expect === row.pool;
        rows.push(row);
      }
    }
    await sandbox.idle();

    const limits = new DynamoLimitsStore({
      client: new DynamoDBClient(sandbox.emulators.clientConfig('dynamodb')),
      tableName: sandbox.tables.limits,
    });
    const restrictions = await limits.listRestricted(new Date());
    const sesSends = sandbox.emulators.ses.sent();
    const totals: Record<string, number> = { normal: 0, 'high-risk': 0, relay: 0, blocked: 0, refused: 0 };
    for (const r of rows) totals[r.pool] = (totals[r.pool] ?? 0) + 1;
    const bySet: Record<string, number> = {};
    for (const s of sesSends)
      bySet[s.configurationSetName ?? '-'] = (bySet[s.configurationSetName ?? '-'] ?? 0) + 1;
    const failed = rows.filter((r) => !r.ok);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);

    if (values.json) {
      out.write(
        `${JSON.stringify({
          messages: rows.map((r) => ({
            title: r.title,
            mailFrom: r.mailFrom,
            rcptTo: r.rcptTo,
            messageId: r.messageId ?? null,
            pool: r.pool,
            reasons: r.reasons,
            refused: r.refused,
            sends: r.sends.map((s) => ({
              kind: s.kind,
              to: s.to,
              configurationSet: s.configurationSet,
              sesMessageId: s.sesMessageId,
            })),
            expected: r.expect ?? null,
            ok: r.ok,
          })),
          totals,
          sesSendsByConfigurationSet: bySet,
          restrictions,
          seconds: Number(seconds),
        })}\n`,
      );
    } else {
      const sent = (r: Row) =>
        r.refused.length > 0 && r.sends.length === 0
          ? paint('dim', r.refused.join('; '))
          : r.sends.length === 0
            ? paint('dim', 'nothing sent')
            : r.sends.map((s) => `${s.kind} → ${s.to.join(', ')} [${s.configurationSet}]`).join('; ');
      const poolCell = (pool: string) =>
        pool in POOL_STYLE ? paint(POOL_STYLE[pool as keyof typeof POOL_STYLE], pool) : paint('red', pool);
      out.write(
        `\n${table([
          ['#', 'message', 'envelope', 'pool', 'reasons', 'sent (kind → to [configuration set])', ''].map(
            (h) => paint('bold', h),
          ),
          ...rows.map((r) => [
            String(r.n),
            r.title,
            `${r.mailFrom || '<>'} → ${r.rcptTo.join(', ')}`,
            poolCell(r.pool),
            r.reasons.join(', ') || '-',
            sent(r),
            r.expect === undefined ? '' : r.ok ? paint('green', '✓') : paint('red', `✗ expected ${r.expect}`),
          ]),
        ])}\n\n`,
      );
      out.write(
        `${paint('bold', 'per pool')}: ${Object.entries(totals)
          .map(([pool, count]) => `${poolCell(pool)} ${count}`)
          .join(' · ')}  (${rows.length} messages)\n`,
      );
      out.write(
        `${paint('bold', 'SES sends by configuration set')}: ${
          Object.entries(bySet)
            .map(([set, count]) => `${set} ${count}`)
            .join(' · ') || 'none'
        }\n`,
      );
      for (const r of restrictions) {
        out.write(
          `${paint('bold', 'restricted')}: ${r.identity} (${r.reason} since ${r.since}, ${r.until ? `until ${r.until}` : 'until released'}) — in a running sandbox: npx outbound-pools restrictions release ${r.identity}\n`,
        );
      }
      out.write(
        failed.length === 0
          ? `${paint('green', 'every message took the expected pool')} in ${seconds} s\n`
          : `${paint('red', `${failed.length} message(s) did not take the expected pool`)} (${seconds} s)\n`,
      );
    }
    if (values.keep) await keepRunning(sandbox, values.json === true);
    return failed.length === 0 ? EXIT.ok : EXIT.failure;
  } finally {
    await sandbox.stop();
  }
}

/** `--keep`: prints where the sandbox listens and waits for SIGINT or SIGTERM. */
async function keepRunning(sandbox: Sandbox, json: boolean): Promise<void> {
  const { endpoints, env } = sandbox;
  process.stdout.write(
    json
      ? `${JSON.stringify({ event: 'kept', endpoints, env })}\n`
      : `\nsandbox kept running: console ${endpoints.console} · SMTP ${endpoints.smtp} · trace API ${endpoints.traceApi}/messages\n${exportLine(env)}\nCtrl-C stops it.\n`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  if (!json) process.stderr.write(`demo: ${signal}, stopping the sandbox\n`);
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (error) {
    const e = error as Error;
    if (
      error instanceof ConfigError ||
      error instanceof InvalidInputError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      process.stderr.write(`demo: ${e.message}\n`);
      return EXIT.badInput;
    }
    process.stderr.write(`demo: ${e.stack ?? e.message}\n`);
    return EXIT.failure;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exit(await main(process.argv.slice(2)));
}
