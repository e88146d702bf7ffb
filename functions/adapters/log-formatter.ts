/**
 * The head every function's log line carries: `level`, `message`, `timestamp`, `service` and
 * `function_request_id`, then the line's own fields. Powertools' default formatter adds
 * `cold_start`, `function_arn`, `function_memory_size`, `function_name`, `sampling_rate` and
 * `xray_trace_id` to every line (~380 bytes): the log group and stream already name the
 * function and its version, and a cold start is the router's `ColdStart` metric. `level` and an
 * RFC 3339 `timestamp` stay, as Lambda's JSON log format reads them (AWS Lambda Developer
 * Guide, "Log-level filtering"). The router's `done` line is written with the same head
 * (`functions/router/observer.ts`). A Powertools custom formatter ("Custom log formatter",
 * Powertools for AWS Lambda (TypeScript), Logger).
 */
import { LogFormatter, Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';

export class LeanLogFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const requestId = attributes.lambdaContext?.awsRequestId;
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(attributes.timestamp),
        service: attributes.serviceName,
        ...(requestId ? { function_request_id: requestId } : {}),
      },
    }).addAttributes(additional);
  }
}

/** A Powertools logger of `serviceName` whose lines carry the lean head above. */
export function leanLogger(serviceName: string): Logger {
  return new Logger({ serviceName, logFormatter: new LeanLogFormatter() });
}
