/**
 * `outbound-pools dry-run`: which pool a message would take, and why, without sending.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SSMClient } from '@aws-sdk/client-ssm';
import { ssmClientReader } from '../adapters/ssm-client-reader.js';
import { loadArcKey } from '../adapters/ssm-secrets.js';
import { composeCopy } from '../core/compose/copy.js';
import type { Config } from '../core/config.js';
import { type Decision, decideMessage } from '../core/decide.js';
import { cachedResolver } from '../core/dns/cached-resolver.js';
import { nodeResolver } from '../core/dns/node-resolver.js';
import type { Resolver } from '../core/dns/resolver.js';
import { parseZones, zoneResolver } from '../core/dns/zone-resolver.js';
import { InvalidInputError } from '../core/errors.js';
import type { SenderState } from '../core/limits.js';
import { parseReceiptEvent, type ReceivedMail } from '../core/ses-event.js';
import {
  InputDataError,
  loadConfig,
  painter,
  parseNow,
  readInputFile,
  readJsonFile,
  sdkClientConfig,
  table,
} from './io.js';

export const DRY_RUN_USAGE = `Usage: outbound-pools dry-run --event EVENT.json --message RAW.eml
         [--config CONFIG.json] [--zones ZONES.json] [--senders SENDERS.json]
         [--now ISO-8601] [--write-copies DIR] [--pretty | --json]

Prints which pool the message would leave through, the reasons, and every copy that would
be sent. JSON when stdout is not a terminal (or with --json), a table with --pretty.

--write-copies DIR writes each copy exactly as the router would hand it to SES (the
rewritten message or the NDR, ARC-sealed when the configuration names a key) to
DIR/copy-N-KIND-POOL.eml, N counting from 1 in plan order, and lists the files.`;

/** The dry-run's JSON document: the decision without its internals. */
export function dryRunReport(d: Decision) {
  const c = d.classification;
  return {
    pool: d.pool,
    reasons: d.reasons,
    configurationSet: d.configurationSet,
    sends: d.sends.map((s) => ({
      kind: s.kind,
      to: s.to,
      pool: s.pool,
      configurationSet: s.configurationSet,
      envelopeFrom: s.envelopeFrom,
      from: s.from,
      replyTo: s.replyTo,
    })),
    unrouted: d.unrouted,
    restrictions: d.restrictions,
    alerts: d.alerts,
    authentication: {
      // Who proved what (SPEC 2a): the facts every rule read.
      ...c.authentication,
      envelopeSender: c.envelopeSender,
      sourceDomain: c.sourceDomain,
      sourceDomainHasAOrMx: c.sourceDomainVerdict?.ok ?? false,
      spf: c.spf,
      dmarc: c.dmarc,
      dkim: c.dkim.signatures,
      // Enhanced filtering: the SPF recomputed behind a trusted gateway (IP, HELO, gateway,
      // result) or why SES's verdict was kept; null when no trusted gateway is configured.
      enhancedFiltering: c.gateway,
    },
  };
}

/**
 * A message must open with its header section (RFC 5322 2.1: header fields, then an empty
 * line, then the body). A file with no header field before its first empty line (an empty
 * file, a body alone, a pasted text) is no message: answering `normal` for it would mislead,
 * so it is refused as bad data (exit 65). A field name is printable ASCII but `:` (RFC 5322
 * 2.2); an mbox `From ` separator line is no field and is skipped.
 */
export function requireHeaderSection(raw: Buffer, file: string): void {
  const text = raw.subarray(0, 64 * 1024).toString('latin1');
  const all = text.split(/\r?\n/);
  const blank = all.findIndex((line) => line === '');
  const lines = blank === -1 ? all : all.slice(0, blank);
  if (lines[0]?.startsWith('From ')) lines.shift();
  if (!lines.some((line) => /^[\x21-\x39\x3b-\x7e]+:/.test(line))) {
    const why =
      raw.length === 0 ? 'the file is empty' : 'no header field (Name: value) before the first empty line';
    throw new InputDataError('--message', `${file} is not a message: ${why} (RFC 5322 2.1)`);
  }
}

function sendersFromJson(json: unknown): Record<string, SenderState> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidInputError('--senders', 'expected an object keyed by sending identity');
  }
  const out: Record<string, SenderState> = {};
  for (const [identity, value] of Object.entries(json)) {
    const v = value as Partial<SenderState> & { counters?: Partial<SenderState['counters']> };
    const n = (x: unknown, field: string) => {
      if (x === undefined) return 0;
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) {
        throw new InvalidInputError(
          '--senders',
          `${identity}.counters.${field} must be a non-negative integer`,
        );
      }
      return x;
    };
    out[identity.toLowerCase()] = {
      counters: {
        externalHour: n(v.counters?.externalHour, 'externalHour'),
        internalHour: n(v.counters?.internalHour, 'internalHour'),
        day: n(v.counters?.day, 'day'),
        rolling24h: n(v.counters?.rolling24h, 'rolling24h'),
      },
      restriction: v.restriction ?? null,
      releasedAt: v.releasedAt ?? null,
    };
  }
  return out;
}

export async function dryRun(argv: string[], out: NodeJS.WriteStream): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      event: { type: 'string' },
      message: { type: 'string' },
      config: { type: 'string' },
      zones: { type: 'string' },
      senders: { type: 'string' },
      now: { type: 'string' },
      'write-copies': { type: 'string' },
      pretty: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  if (!values.event) throw new InvalidInputError('--event', 'required (the SES receipt event JSON)');
  if (!values.message) throw new InvalidInputError('--message', 'required (the raw message, RFC 5322)');
  const now = parseNow(values.now);
  const config = await loadConfig(values.config);
  const received = parseReceiptEvent(await readJsonFile(values.event, '--event'));
  const raw = await readInputFile(values.message, '--message');
  requireHeaderSection(raw, values.message);
  const resolver: Resolver = values.zones
    ? zoneResolver(parseZones(await readJsonFile(values.zones, '--zones')))
    : cachedResolver(nodeResolver());
  const senders = values.senders ? sendersFromJson(await readJsonFile(values.senders, '--senders')) : {};

  const decision = await decideMessage({ received, raw, config, resolver, now, senders });
  const report: ReturnType<typeof dryRunReport> & { copies?: CopyFile[] } = dryRunReport(decision);
  if (values['write-copies'] !== undefined) {
    const dir = values['write-copies'];
    if (dir === '')
      throw new InvalidInputError('--write-copies', 'give the directory to write the copies to');
    report.copies = await writeCopies(dir, decision, { received, raw, config, resolver, now });
  }
  const pretty = values.pretty || (!values.json && out.isTTY === true);
  out.write(pretty ? `${renderPretty(report, out)}\n` : `${JSON.stringify(report)}\n`);
}

/** One line of the SPEC 2a facts: E, F, what each proved, and the verdict on the claim. */
function provedLine(a: ReturnType<typeof dryRunReport>['authentication']): string {
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const who = a.genuineAcceptedSender
    ? 'genuine accepted-domain sender'
    : a.spoof
      ? 'SPOOF of an accepted domain'
      : a.bounce
        ? 'bounce (null sender)'
        : 'forwarded';
  return `E ${a.envelopeDomain ?? '<>'}, F ${a.fromDomain ?? `unknown (${a.fromCount} From)`}, aligned ${yes(a.aligned)}; envelope-authenticated ${yes(a.envelopeAuthenticated)}, author-authenticated ${yes(a.authorAuthenticated)}; ${who}`;
}

/** One copy written by `--write-copies`. */
export interface CopyFile {
  file: string;
  kind: string;
  pool: string;
  to: string[];
  bytes: number;
}

/**
 * Writes every planned send of `decision` to `dir`, composed by the router's own code
 * (`core/compose/copy.ts`) with the router's inputs: the same trace context, the same
 * classification (for the seal), the ARC key the configuration names.
 */
async function writeCopies(
  dir: string,
  decision: Decision,
  ctx: { received: ReceivedMail; raw: Buffer; config: Config; resolver: Resolver; now: Date },
): Promise<CopyFile[]> {
  const { received, raw, config, resolver, now } = ctx;
  const arcKey = await loadArcKey(
    config,
    ssmClientReader(() => new SSMClient(sdkClientConfig('ssm'))),
  );
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new InvalidInputError('--write-copies', `cannot create ${dir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  // What the router's trace summary holds for the same message (router/process.ts).
  const context = {
    messageId: received.mail.messageId,
    receivedAt: received.receipt.timestamp || received.mail.timestamp,
    recipients: received.receipt.recipients.map((r) => r.toLowerCase()),
    reasons: decision.reasons,
  };
  const files: CopyFile[] = [];
  for (const [i, send] of decision.sends.entries()) {
    const bytes = await composeCopy(
      send,
      raw,
      context,
      decision.classification,
      { config, arcKey, resolver },
      now,
    );
    const file = join(dir, `copy-${i + 1}-${send.kind}-${send.pool}.eml`);
    try {
      await writeFile(file, bytes);
    } catch (error) {
      throw new InvalidInputError('--write-copies', `cannot write ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    files.push({ file, kind: send.kind, pool: send.pool, to: send.to, bytes: bytes.length });
  }
  return files;
}

const POOL_STYLE = { normal: 'green', relay: 'yellow', 'high-risk': 'red', blocked: 'magenta' } as const;

function renderPretty(
  r: ReturnType<typeof dryRunReport> & { copies?: CopyFile[] },
  out: NodeJS.WriteStream,
): string {
  const paint = painter(out);
  const lines = [
    `${paint('bold', 'pool')}     ${paint(POOL_STYLE[r.pool], r.pool)}${r.configurationSet ? `  (configuration set ${r.configurationSet})` : ''}`,
    `${paint('bold', 'reasons')}  ${r.reasons.join(', ') || '-'}`,
    `${paint('bold', 'auth')}     SPF ${r.authentication.spf}, DMARC ${r.authentication.dmarc}, DKIM ${
      r.authentication.dkim
        .map((s) => `${s.domain}=${s.result}${s.aligned ? ' (aligned)' : ''}`)
        .join(', ') || 'none'
    }, source domain ${r.authentication.sourceDomain ?? '-'} ${r.authentication.sourceDomainHasAOrMx ? 'has A/MX' : 'has no A/MX'}`,
    `${paint('bold', 'proved')}   ${provedLine(r.authentication)}`,
  ];
  if (r.unrouted.length > 0) lines.push(`${paint('bold', 'unrouted')} ${r.unrouted.join(', ')}`);
  lines.push('');
  if (r.copies) {
    for (const c of r.copies) lines.push(`${paint('bold', 'copy')}     ${c.file} (${c.bytes} bytes)`);
  }
  if (r.sends.length === 0) {
    lines.push(paint('dim', 'nothing would be sent'));
  } else {
    lines.push(
      table([
        ['kind', 'pool', 'to', 'envelope from', 'from', 'reply-to'].map((h) => paint('bold', h)),
        ...r.sends.map((s) => [s.kind, s.pool, s.to.join(', '), s.envelopeFrom, s.from, s.replyTo ?? '-']),
      ]),
    );
  }
  return lines.join('\n');
}
