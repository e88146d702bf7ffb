/**
 * The router's dead-letter queue on SQS: read by `outbound-pools redrive`
 * (`DeadLetterSource`), written by the dead-letter recorder (`DeadLetterSink`). Standard queue:
 * Lambda destinations do not support FIFO queues (AWS Lambda Developer Guide, "Capturing
 * records of Lambda asynchronous invocations").
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DeadLetterSink } from '../dead-letter/recorder.js';
import type { DeadLetterSource, QueuedRecord } from '../dead-letter/redrive.js';
import { rethrowAws } from './aws-errors.js';

export interface SqsDeadLetterQueueOptions {
  client: SQSClient;
  queueUrl: string;
  /**
   * ReceiveMessage long-polling wait: with 0, SQS asks only a sample of its servers and may
   * answer "empty" while records exist (SQS Developer Guide, "Amazon SQS short and long
   * polling"); 1 s asks them all and still returns at once when records are there.
   */
  waitSeconds?: number;
}

export class SqsDeadLetterQueue implements DeadLetterSource, DeadLetterSink {
  constructor(private readonly o: SqsDeadLetterQueueOptions) {}

  async receive(max: number, visibilitySeconds: number): Promise<QueuedRecord[]> {
    try {
      const out = await this.o.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.o.queueUrl,
          MaxNumberOfMessages: Math.max(1, Math.min(10, max)),
          VisibilityTimeout: visibilitySeconds,
          WaitTimeSeconds: this.o.waitSeconds ?? 1,
          MessageSystemAttributeNames: ['SentTimestamp'],
        }),
      );
      return (out.Messages ?? []).flatMap((m) => {
        if (!m.MessageId || !m.ReceiptHandle) return [];
        const sent = Number(m.Attributes?.SentTimestamp);
        return [
          {
            id: m.MessageId,
            receipt: m.ReceiptHandle,
            body: m.Body ?? '',
            ...(Number.isFinite(sent) ? { sentAt: new Date(sent) } : {}),
          },
        ];
      });
    } catch (error) {
      rethrowAws('sqs', 'ReceiveMessage', error);
    }
  }

  async delete(receipt: string): Promise<void> {
    try {
      await this.o.client.send(
        new DeleteMessageCommand({ QueueUrl: this.o.queueUrl, ReceiptHandle: receipt }),
      );
    } catch (error) {
      rethrowAws('sqs', 'DeleteMessage', error);
    }
  }

  async release(receipt: string): Promise<void> {
    try {
      await this.o.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.o.queueUrl,
          ReceiptHandle: receipt,
          VisibilityTimeout: 0,
        }),
      );
    } catch (error) {
      rethrowAws('sqs', 'ChangeMessageVisibility', error);
    }
  }

  async approximateCount(): Promise<number> {
    try {
      const out = await this.o.client.send(
        new GetQueueAttributesCommand({
          QueueUrl: this.o.queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      );
      const n = Number(out.Attributes?.ApproximateNumberOfMessages);
      return Number.isFinite(n) ? n : 0;
    } catch (error) {
      rethrowAws('sqs', 'GetQueueAttributes', error);
    }
  }

  async send(body: string): Promise<void> {
    try {
      await this.o.client.send(new SendMessageCommand({ QueueUrl: this.o.queueUrl, MessageBody: body }));
    } catch (error) {
      rethrowAws('sqs', 'SendMessage', error);
    }
  }
}
