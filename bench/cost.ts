/**
 * Cost per million received messages, all in, besides SES's own fees (receiving, sending,
 * data): the router's Lambda, the feedback function's Lambda (one invocation per SES event:
 * Send and Delivery of each copy), DynamoDB units as the transport measured them, the S3 PUT
 * of SES's receipt action and the router's GET, and CloudWatch Logs ingestion of what the
 * handlers write. Prices and assumptions are documented in bench/README.md.
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
  routerMemoryMb: 1024,
  feedbackMemoryMb: 256,
  /** Lambda gives one full vCPU at 1,769 MB; CPU time stretches below it. */
  vcpuAtMb: 1769,
  /** Round trips inside the region, per request (added to the CPU time for the duration). */
  latencyMs: { dynamodbWrite: 6, dynamodbRead: 4, s3Get: 15, sesSend: 40, sesRead: 15 },
  /** Lambda's own START/END/REPORT lines per invocation, ingested into the log group. */
  platformLogBytesPerInvocation: 350,
  /** SES events per copy the feedback function files (Send, Delivery). */
  feedbackEventsPerMessage: 2,
} as const;

export interface CostPerMillion {
  routerLambda: number;
  feedbackLambda: number;
  dynamodb: number;
  s3: number;
  logs: number;
  total: number;
  /** Of `dynamodb`, router and feedback write units per message. */
  wruPerMessage: number;
  rruPerMessage: number;
  routerDurationMs: number;
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

/** `cpuMs`: the router's CPU time for the message (this machine's core: a full vCPU). */
export function costPerMillion(cpu: CpuResult, logs: LogsResult, cpuMs: number): CostPerMillion {
  const a = ASSUMPTIONS;
  const events = a.feedbackEventsPerMessage;
  const routerDurationMs = (cpuMs * a.vcpuAtMb) / a.routerMemoryMb + latency(cpu.router.requests);
  const feedbackDurationMs =
    (cpu.feedback.cpuMsPerEvent * a.vcpuAtMb) / a.feedbackMemoryMb + latency(cpu.feedback.requests);
  const gbSeconds = (ms: number, mb: number) => (ms / 1000) * (mb / 1024);
  const m = 1_000_000;
  const routerLambda =
    m * gbSeconds(routerDurationMs, a.routerMemoryMb) * PRICES.lambdaArmPerGbSecond +
    PRICES.lambdaPerMillionRequests;
  const feedbackLambda =
    events *
    (m * gbSeconds(feedbackDurationMs, a.feedbackMemoryMb) * PRICES.lambdaArmPerGbSecond +
      PRICES.lambdaPerMillionRequests);
  const wruPerMessage = cpu.router.wru + events * cpu.feedback.wru;
  const rruPerMessage = cpu.router.rru + events * cpu.feedback.rru;
  const dynamodb =
    wruPerMessage * PRICES.dynamodbPerMillionWriteRequestUnits +
    rruPerMessage * PRICES.dynamodbPerMillionReadRequestUnits;
  const s3Gets = cpu.router.requests['s3:GetObject'] ?? 0;
  const s3 = (m / 1000) * (PRICES.s3PutPerThousandRequests + s3Gets * PRICES.s3GetPerThousandRequests);
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
    wruPerMessage,
    rruPerMessage,
    routerDurationMs,
    feedbackDurationMs,
    logBytesPerMessage,
  };
}
