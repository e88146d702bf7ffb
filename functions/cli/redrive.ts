/**
 * `outbound-pools redrive`: sends the router's dead letters back to it (issue 15 item 2; the
 * logic is `functions/dead-letter/redrive.ts`, this module is flags, clients and output).
 */
import { parseArgs } from 'node:util';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { LambdaRouterInvoker } from '../adapters/lambda-router-invoker.js';
import { SqsDeadLetterQueue } from '../adapters/sqs-dead-letter-queue.js';
import { ConfigError, InvalidInputError, isRetryable } from '../core/errors.js';
import { partialResults, type RedriveResult, redrive } from '../dead-letter/redrive.js';
import { cliEnv, EXIT, painter, rejectPositionals, sdkClientConfig, table, wantsJson } from './io.js';
import { REDRIVE_USAGE } from './redrive-usage.js';

export { REDRIVE_USAGE };

/** Longer than the router's longest timeout (900 s): a slow invocation is never redriven twice. */
const DEFAULT_VISIBILITY_SECONDS = 960;

interface RedriveArgs {
  dryRun: boolean;
  max: number | undefined;
  queueUrl: string;
  functionName: string;
  visibilitySeconds: number;
  json: boolean;
}

function positiveInt(value: string | undefined, flag: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new InvalidInputError(
      flag,
      `${flag} takes a whole number from 1 to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

export function parseRedriveArgs(argv: string[], out: NodeJS.WriteStream): RedriveArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      'dry-run': { type: 'boolean' },
      max: { type: 'string' },
      'queue-url': { type: 'string' },
      function: { type: 'string' },
      'visibility-timeout': { type: 'string' },
      json: { type: 'boolean' },
      pretty: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  rejectPositionals('redrive', positionals, REDRIVE_USAGE);
  const queueUrl = values['queue-url'] ?? cliEnv().DEAD_LETTER_QUEUE_URL ?? '';
  if (!/^https?:\/\/[^\s/]+\/\d+\/[A-Za-z0-9_-]{1,80}$/.test(queueUrl)) {
    throw new InvalidInputError(
      '--queue-url',
      queueUrl === ''
        ? 'no dead-letter queue: set DEAD_LETTER_QUEUE_URL or pass --queue-url (the stack output RouterDeadLetterQueueUrl)'
        : `not an SQS queue URL: ${JSON.stringify(queueUrl)}`,
    );
  }
  const functionName = values.function ?? cliEnv().ROUTER_FUNCTION ?? '';
  if (!/^[A-Za-z0-9_:.$-]{1,170}$/.test(functionName)) {
    throw new InvalidInputError(
      '--function',
      functionName === ''
        ? 'no router function: set ROUTER_FUNCTION or pass --function (the stack output RouterFunctionName)'
        : `not a Lambda function name or ARN: ${JSON.stringify(functionName)}`,
    );
  }
  return {
    dryRun: values['dry-run'] === true,
    max: positiveInt(values.max, '--max', 100_000),
    queueUrl,
    functionName,
    visibilitySeconds:
      positiveInt(values['visibility-timeout'], '--visibility-timeout', 43_200) ?? DEFAULT_VISIBILITY_SECONDS,
    json: wantsJson(values, out),
  };
}

/** `3d 4h`, `2h 5m`, `40s`: how long ago SES received the message. */
export function age(fromIso: string | undefined, now: Date): string {
  const ms = fromIso === undefined ? Number.NaN : now.getTime() - Date.parse(fromIso);
  if (!Number.isFinite(ms)) return '-';
  const s = Math.max(0, Math.floor(ms / 1000));
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return m > 0 ? `${m}m ${s % 60}s` : `${s}s`;
}

const STATUS_STYLE = { redriven: 'green', listed: 'cyan', failed: 'red', malformed: 'magenta' } as const;

function render(results: RedriveResult[], out: NodeJS.WriteStream, now: Date): string {
  const paint = painter(out);
  return table([
    [
      'status',
      'SES message id',
      'sender',
      'recipients',
      'attempts',
      'age',
      'error (last attempt)',
      'redrive',
    ].map((h) => paint('bold', h)),
    ...results.map((r) => {
      const d = r.deadLetter;
      return [
        paint(STATUS_STYLE[r.status], r.status),
        d?.messageId ?? `(queue message ${r.queueMessageId})`,
        d ? d.sender || '<>' : '-',
        d?.recipients.join(', ') || '-',
        d ? String(d.attempts) : '-',
        age(d?.receivedAt, now),
        d ? `${d.condition}: ${d.error}` : '-',
        r.problem ?? (r.status === 'redriven' ? 'ok' : '-'),
      ];
    }),
  ]);
}

/** SDK errors that are the operator's configuration, said as such (exit 2). */
function configErrorOf(error: unknown): ConfigError | undefined {
  const e = error as { name?: string; message?: string } | null;
  const name = e?.name ?? '';
  const message = e?.message ?? '';
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new ConfigError(
      'no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (for the sandbox, run the export line it prints)',
      { cause: error },
    );
  }
  if (/Region is missing/i.test(message)) {
    return new ConfigError('no AWS region: set AWS_REGION (for the sandbox, run the export line it prints)', {
      cause: error,
    });
  }
  if (name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue') {
    return new ConfigError(
      'the dead-letter queue does not exist: check DEAD_LETTER_QUEUE_URL and AWS_REGION',
      { cause: error },
    );
  }
  if (name === 'ResourceNotFoundException') {
    return new ConfigError(
      `the router function was not found: check ROUTER_FUNCTION and AWS_REGION (${message})`,
      { cause: error },
    );
  }
  return undefined;
}

function summary(results: RedriveResult[]): string {
  const count = (s: RedriveResult['status']) => results.filter((r) => r.status === s).length;
  const parts = (['redriven', 'listed', 'failed', 'malformed'] as const)
    .filter((s) => count(s) > 0)
    .map((s) => `${count(s)} ${s}`);
  return parts.length === 0 ? 'the dead-letter queue is empty' : parts.join(', ');
}

/** Returns the exit code (see {@link REDRIVE_USAGE}). */
export async function redriveCommand(
  argv: string[],
  out: NodeJS.WriteStream,
  err: NodeJS.WriteStream,
  now: () => Date = () => new Date(),
): Promise<number> {
  const args = parseRedriveArgs(argv, out);
  const queue = new SqsDeadLetterQueue({
    client: new SQSClient(sdkClientConfig('sqs')),
    queueUrl: args.queueUrl,
  });
  const router = new LambdaRouterInvoker(new LambdaClient(sdkClientConfig('lambda')), args.functionName);
  let done = 0;
  let total = '';
  const onResult = (r: RedriveResult) => {
    done++;
    const what = r.deadLetter?.messageId ?? r.queueMessageId;
    if (err.isTTY === true) {
      err.write(`\r${args.dryRun ? 'listing' : 'redriving'}: ${done}${total} (${what} ${r.status})\u001b[K`);
    }
  };
  let results: RedriveResult[];
  let interrupted: unknown;
  try {
    if (err.isTTY === true) total = ` of about ${await queue.approximateCount()}`;
    results = await redrive(queue, router, { ...args, onResult });
  } catch (error) {
    const config = configErrorOf(error);
    if (config) throw config;
    if (!isRetryable(error)) throw error;
    results = partialResults(error);
    interrupted = error;
  }
  if (err.isTTY === true && done > 0) err.write('\r\u001b[K');
  if (args.json) out.write(`${JSON.stringify({ dryRun: args.dryRun, results })}\n`);
  else if (results.length > 0) out.write(`${render(results, out, now())}\n`);
  err.write(
    `outbound-pools redrive: ${summary(results)}${args.dryRun ? ' (dry run: nothing invoked or deleted)' : ''}\n`,
  );
  if (interrupted) {
    err.write(
      `outbound-pools: ${(interrupted as Error).message} (temporary; the rest stays in the queue, run redrive again)\n`,
    );
    return EXIT.tempFail;
  }
  return results.some((r) => r.status === 'failed' || r.status === 'malformed') ? EXIT.failure : EXIT.ok;
}
