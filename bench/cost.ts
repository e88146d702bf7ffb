/**
 * Cost per million received messages, all in, besides SES's own fees (receiving, sending,
 * data): the router's Lambda, the feedback function's Lambda (one invocation per SES event the
 * stack's rule delivers: by default failures only, `functions/feedback/filed-events.ts`),
 * DynamoDB units as the transport measured them, the S3 PUT of SES's receipt action and the
 * router's GET, and CloudWatch Logs ingestion of what the handlers write. Prices and
 * assumptions are documented in bench/README.md.
 */
import type { CpuResult, LogsResult } from './deployed-child.js';

/** List prices used (us-east-1, on-demand). */
export const PRICES = {
  checked: '2026-12-07',
  region: 'us-east-1',
  dynamodbPerMillionWriteRequestUnits: 0.625,
  dynamodbPerMillionReadRequestUnits: 0.125,
  s3PutPerThousandRequests: 0.005,
  s3GetPerThousandRequests: 0.0004,
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  cloudwatchLogsIngestionPerGb: 0.5,
} as const;

/** Assumptions of the cost model (documented in bench/README.md). */
export const ASSUMPTIONS = {
  /** `RouterFunction`'s default memory (lib/router-function.ts; bench/memory-limit.ts: it holds 40 MB mail). */
  routerMemoryMb: 256,
  feedbackMemoryMb: 256,
  /**
   * Lambda allocates CPU in proportion to memory, one full vCPU at 1,769 MB (AWS Lambda
   * Developer Guide, "Configure Lambda function memory"): CPU time stretches below it.
   */
  vcpuAtMb: 1769,
  /**
   * Round trips inside the region, per request (added to the CPU time for the duration; those
   * that run at once count once, `routerWaitMs`).
   */
  latencyMs: { dynamodbWrite: 6, dynamodbRead: 4, s3Get: 15, sesSend: 40, sesRead: 15 },
  /**
   * Lambda's own START/END/REPORT lines per invocation: none, since the functions log in JSON
   * with the system log level at WARN (`lib/lambda-bundling.ts`); they were ~350 bytes.
   */
  platformLogBytesPerInvocation: 0,
  /**
   * SES events per message the feedback function files with the default configuration
   * (`trace.deliveryEvents` off: no Send, no Delivery): the failures, assumed at a 2 % bounce
   * and complaint rate (delays, rejects and rendering failures are rarer still).
   */
  feedbackEventsPerMessage: 0.02,
} as const;

export interface CostPerMillion {
  routerLambda: number;
  feedbackLambda: number;
  dynamodb: number;
  s3: number;
  logs: number;
  total: number;
  /**
   * Write units of the plain message delivered, all in: the router's, plus the feedback
   * path's for the events the default rule delivers for it (none). Issue 16's target.
   */
  wruPerMessage: number;
  /** Write units per message on average, with `feedbackEventsPerMessage` failures filed. */
  wruPerMessageAverage: number;
  rruPerMessage: number;
  routerDurationMs: number;
  /** The router's waits on AWS per message, on its critical path (part of `routerDurationMs`). */
  routerWaitMs: number;
  /** Per filed event. */
  feedbackDurationMs: number;
  logBytesPerMessage: number;
}

const WRITES = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'];
const READS = ['GetItem', 'Query', 'BatchGetItem', 'TransactGetItems'];

function latency(requests: Record<string, number>): number {
  const l = ASSUMPTIONS.latencyMs;
  let ms = 0;
  for (const [name, n] of Object.entries(requests)) {
    const [service, op] = name.split(':') as [string, string];
    if (service === 'dynamodb')
      ms += n * (WRITES.includes(op) ? l.dynamodbWrite : READS.includes(op) ? l.dynamodbRead : 0);
    else if (name === 's3:GetObject') ms += n * l.s3Get;
    else if (name === 'ses:SendEmail') ms += n * l.sesSend;
    else if (service === 'ses') ms += n * l.sesRead;
  }
  return ms;
}

/**
 * The router's waits on its critical path: its requests in turn, except the S3 read, which
 * runs while the claim is written (`processReceipt`, functions/router/process.ts: the GET is
 * started, then the claim awaited), so the two cost the longer of them, not their sum. The
 * rest is sequential: the limits count after classifying, the send after composing, the
 * final record after the send.
 */
export function routerWaitMs(requests: Record<string, number>): number {
  const l = ASSUMPTIONS.latencyMs;
  const writes = Object.entries(requests)
    .filter(([name]) => name.startsWith('dynamodb:') && WRITES.includes(name.slice('dynamodb:'.length)))
    .reduce((n, [, v]) => n + v, 0);
  const gets = requests['s3:GetObject'] ?? 0;
  // max(claim, GET) = claim + GET − min(claim, GET).
  const overlapped = Math.min(gets, 1) * Math.min(writes, 1) * Math.min(l.s3Get, l.dynamodbWrite);
  return latency(requests) - overlapped;
}

/**
 * The feedback path per event it files. The bench feeds the handler a bounce per send (what the
 * default rule delivers: failures), each filed (a consistent GetItem of the main item and one
 * PutItem of an event item). The per-event figures are divided by the share of events filed
 * (the PutItems per event: 1 here), so events fed but not filed would not count as filed ones.
 */
function perFiledEvent(f: CpuResult['feedback']) {
  const filed = f.requests['dynamodb:PutItem'] ?? 0;
  const share = filed > 0 ? filed : 1;
  const requests = Object.fromEntries(Object.entries(f.requests).map(([k, v]) => [k, v / share]));
  return { wru: f.wru / share, rru: f.rru / share, cpuMs: f.cpuMsPerEvent / share, requests, share };
}

/** `cpuMs`: the router's CPU time for the message (this machine's core: a full vCPU). */
export function costPerMillion(cpu: CpuResult, logs: LogsResult, cpuMs: number): CostPerMillion {
  const a = ASSUMPTIONS;
  const events = a.feedbackEventsPerMessage;
  const feedback = perFiledEvent(cpu.feedback);
  const routerWait = routerWaitMs(cpu.router.requests);
  const routerDurationMs = (cpuMs * a.vcpuAtMb) / a.routerMemoryMb + routerWait;
  const feedbackDurationMs = (feedback.cpuMs * a.vcpuAtMb) / a.feedbackMemoryMb + latency(feedback.requests);
  const gbSeconds = (ms: number, mb: number) => (ms / 1000) * (mb / 1024);
  const m = 1_000_000;
  const routerLambda =
    m * gbSeconds(routerDurationMs, a.routerMemoryMb) * PRICES.lambdaArmPerGbSecond +
    PRICES.lambdaPerMillionRequests;
  const feedbackLambda =
    events *
    (m * gbSeconds(feedbackDurationMs, a.feedbackMemoryMb) * PRICES.lambdaArmPerGbSecond +
      PRICES.lambdaPerMillionRequests);
  const wruPerMessageAverage = cpu.router.wru + events * feedback.wru;
  const rruPerMessage = cpu.router.rru + events * feedback.rru;
  const dynamodb =
    wruPerMessageAverage * PRICES.dynamodbPerMillionWriteRequestUnits +
    rruPerMessage * PRICES.dynamodbPerMillionReadRequestUnits;
  const s3Gets = cpu.router.requests['s3:GetObject'] ?? 0;
  const s3 = (m / 1000) * (PRICES.s3PutPerThousandRequests + s3Gets * PRICES.s3GetPerThousandRequests);
  // One "feedback filed" line per invocation, whether it filed the event or skipped it.
  const logBytesPerMessage =
    logs.routerBytes + events * logs.feedbackBytes + (1 + events) * a.platformLogBytesPerInvocation;
  const logsCost = ((m * logBytesPerMessage) / 1024 ** 3) * PRICES.cloudwatchLogsIngestionPerGb;
  return {
    routerLambda,
    feedbackLambda,
    dynamodb,
    s3,
    logs: logsCost,
    total: routerLambda + feedbackLambda + dynamodb + s3 + logsCost,
    wruPerMessage: cpu.router.wru,
    wruPerMessageAverage,
    rruPerMessage,
    routerDurationMs,
    routerWaitMs: routerWait,
    feedbackDurationMs,
    logBytesPerMessage,
  };
}
