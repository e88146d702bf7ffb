/**
 * The router invoked synchronously (`RequestResponse`) for a redrive. A function error is not
 * an SDK error: Lambda answers 200 with `FunctionError` set and the error object as payload
 * (Lambda API Reference, "Invoke"), so it is read here and returned as a value.
 */
import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from '@aws-sdk/client-lambda';
import type { RouterInvoker } from '../dead-letter/redrive.js';
import { rethrowAws } from './aws-errors.js';

export class LambdaRouterInvoker implements RouterInvoker {
  constructor(
    private readonly client: LambdaClient,
    private readonly functionName: string,
  ) {}

  async invoke(event: Record<string, unknown>): Promise<{ ok: true } | { ok: false; error: string }> {
    let out: InvokeCommandOutput;
    try {
      out = await this.client.send(
        new InvokeCommand({
          FunctionName: this.functionName,
          InvocationType: 'RequestResponse',
          Payload: Buffer.from(JSON.stringify(event)),
        }),
      );
    } catch (error) {
      rethrowAws('lambda', 'Invoke', error);
    }
    if (!out.FunctionError) return { ok: true };
    const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
    let error = `${out.FunctionError} error`;
    try {
      const payload = JSON.parse(text) as { errorType?: string; errorMessage?: string };
      error = [payload.errorType, payload.errorMessage].filter(Boolean).join(': ') || error;
    } catch {
      if (text) error = `${error}: ${text.slice(0, 200)}`;
    }
    return { ok: false, error };
  }
}
