/**
 * `outbound-pools redrive`: sends the router's dead letters back to it (issue 15 item 2; the
 * logic is `functions/dead-letter/redrive.ts`, this module is flags, clients and output).
 */
import { parseArgs } from 'node:util';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LambdaRouterInvoker } from '../adapters/lambda-router-invoker.js';
import { SqsDeadLetterQueue } from '../adapters/sqs-dead-letter-queue.js';
import { ConfigError, InvalidInputError, isRetryable } from '../core/errors.js';
import {
  partialResults,
  type RedriveResult,
  type RouterInvoker,
  redrive,
  unreleasedCount,
} from '../dead-letter/redrive.js';
import { awsSetupError } from './aws.js';
import {
  cliEnv,
  EXIT,
  networkFault,
  painter,
  rejectPositionals,
  sdkClientConfig,
  table,
  wantsJson,
} from './io.js';
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
  const setup = awsSetupError(error, (error as { redriveTarget?: string } | null)?.redriveTarget ?? 'AWS');
  return setup instanceof ConfigError ? setup : undefined;
}

/** Ctrl-C during a run: the records held are released, then exit 130 (128 + SIGINT). */
class RedriveInterrupted extends Error {
  constructor() {
    super('interrupted (Ctrl-C)');
    this.name = 'RedriveInterrupted';
  }
}
const EXIT_INTERRUPTED = 130;

/** Marks an error with what was being called, for "access denied to …". */
function tagged<T>(target: string, call: () => Promise<T>): Promise<T> {
  return call().catch((error: unknown) => {
    if (error !== null && typeof error === 'object') Object.assign(error, { redriveTarget: target });
    throw error;
  });
}

/** `ApproximateNumberOfMessagesNotVisible`: records another reader holds; undefined when SQS would not say. */
async function inFlightCount(client: SQSClient, queueUrl: string): Promise<number | undefined> {
  try {
    const out = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    const n = Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

function inFlightText(n: number, visibilitySeconds: number): string {
  return `${n} record${n === 1 ? '' : 's'} in flight (another redrive, or an interrupted run; back within --visibility-timeout, ${visibilitySeconds} s)`;
}

function summary(results: RedriveResult[], inFlight: number | undefined, visibilitySeconds: number): string {
  const count = (s: RedriveResult['status']) => results.filter((r) => r.status === s).length;
  const parts = (['redriven', 'listed', 'failed', 'malformed'] as const)
    .filter((s) => count(s) > 0)
    .map((s) => `${count(s)} ${s}`);
  const flying = inFlight !== undefined && inFlight > 0 ? inFlightText(inFlight, visibilitySeconds) : '';
  if (parts.length === 0) {
    if (flying) return `no record visible; ${flying}`;
    return inFlight === 0
      ? 'the dead-letter queue is empty'
      : 'no record visible (the count of records in flight could not be read)';
  }
  return [...parts, ...(flying ? [`and ${flying}`] : [])].join(', ');
}

/** Why a run stopped, as one line and an exit code. */
function failureOf(error: unknown, visibilitySeconds: number): { line: string; code: number } {
  const unreleased = unreleasedCount(error);
  const hidden =
    unreleased > 0
      ? `; ${unreleased} record${unreleased === 1 ? '' : 's'} could not be made visible again and come back after --visibility-timeout (${visibilitySeconds} s)`
      : '';
  if (error instanceof RedriveInterrupted) {
    return {
      line: `${error.message}: the rest is back in the queue${hidden}; run redrive again`,
      code: EXIT_INTERRUPTED,
    };
  }
  const config = configErrorOf(error);
  if (config) return { line: `${config.message}${hidden}`, code: EXIT.badInput };
  const network = isRetryable(error) ? undefined : networkFault(error);
  if (isRetryable(error) || network !== undefined) {
    const message = network ?? (error as Error).message;
    return {
      line: `${message} (temporary; the rest is back in the queue${hidden}, run redrive again)`,
      code: EXIT.tempFail,
    };
  }
  const target = (error as { redriveTarget?: string } | null)?.redriveTarget ?? 'AWS';
  const setup = awsSetupError(error, target);
  const e = error as { name?: string; message?: string } | null;
  const message = setup?.message ?? `${e?.name ?? 'Error'}: ${(e?.message ?? String(error)).split('\n')[0]}`;
  return { line: `redrive stopped: ${message} (the rest is back in the queue${hidden})`, code: EXIT.failure };
}

/** Returns the exit code (see {@link REDRIVE_USAGE}). */
export async function redriveCommand(
  argv: string[],
  out: NodeJS.WriteStream,
  err: NodeJS.WriteStream,
  now: () => Date = () => new Date(),
): Promise<number> {
  const args = parseRedriveArgs(argv, out);
  const sqs = new SQSClient(sdkClientConfig('sqs'));
  const sqsQueue = new SqsDeadLetterQueue({ client: sqs, queueUrl: args.queueUrl });
  const queueTarget = `the dead-letter queue ${args.queueUrl}`;
  const queue = {
    receive: (max: number, seconds: number) => tagged(queueTarget, () => sqsQueue.receive(max, seconds)),
    delete: (receipt: string) => tagged(queueTarget, () => sqsQueue.delete(receipt)),
    release: (receipt: string) => tagged(queueTarget, () => sqsQueue.release(receipt)),
    approximateCount: () => tagged(queueTarget, () => sqsQueue.approximateCount()),
  };
  const lambda = new LambdaRouterInvoker(new LambdaClient(sdkClientConfig('lambda')), args.functionName);
  const router: RouterInvoker = {
    invoke: (event) => tagged(`the router function ${args.functionName}`, () => lambda.invoke(event)),
  };
  let done = 0;
  let total = '';
  const onResult = (r: RedriveResult) => {
    done++;
    const what = r.deadLetter?.messageId ?? r.queueMessageId;
    if (err.isTTY === true) {
      err.write(`\r${args.dryRun ? 'listing' : 'redriving'}: ${done}${total} (${what} ${r.status})\u001b[K`);
    }
  };
  // Ctrl-C: stop after the record being redriven, release what is held, exit 130. A second
  // Ctrl-C finds no handler and ends the process at once (the records come back on their own).
  const controller = new AbortController();
  const onSigint = () => controller.abort(new RedriveInterrupted());
  process.once('SIGINT', onSigint);
  let results: RedriveResult[];
  let stopped: unknown;
  try {
    if (err.isTTY === true) total = ` of about ${await queue.approximateCount()}`;
    results = await redrive(queue, router, { ...args, onResult, signal: controller.signal });
  } catch (error) {
    results = partialResults(error);
    stopped = error;
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (err.isTTY === true && done > 0) err.write('\r\u001b[K');
  const failure = stopped === undefined ? undefined : failureOf(stopped, args.visibilitySeconds);
  // Only a clean run may say "empty": records an interrupted run (or another redrive) holds
  // are invisible to this one until their visibility timeout.
  const inFlight = failure === undefined ? await inFlightCount(sqs, args.queueUrl) : 0;
  if (failure?.code === EXIT.badInput && results.length === 0) {
    // Configuration (no region, no credentials, no queue): one line, nothing on stdout.
    err.write(`outbound-pools: ${failure.line}\n`);
    return failure.code;
  }
  if (args.json) {
    out.write(
      `${JSON.stringify({
        dryRun: args.dryRun,
        results,
        ...(failure ? { error: failure.line, retryable: failure.code === EXIT.tempFail } : {}),
        ...(inFlight ? { inFlight } : {}),
      })}\n`,
    );
  } else if (results.length > 0) out.write(`${render(results, out, now())}\n`);
  err.write(
    `outbound-pools redrive: ${summary(results, inFlight, args.visibilitySeconds)}${args.dryRun ? ' (dry run: nothing invoked or deleted)' : ''}\n`,
  );
  if (failure) {
    err.write(`outbound-pools: ${failure.line}\n`);
    return failure.code;
  }
  if (results.some((r) => r.status === 'failed' || r.status === 'malformed')) return EXIT.failure;
  // Nothing seen while records are held elsewhere: not done, try again later.
  return results.length === 0 && inFlight !== undefined && inFlight > 0 ? EXIT.tempFail : EXIT.ok;
}
