/**
 * The SMTP ingress that plays SES inbound: the receipt event it builds, the verdicts, the
 * Lambda-like retries and dead letters, the size limit.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parseConfig } from '../../functions/core/config.js';
import { zoneResolver } from '../../functions/core/dns/zone-resolver.js';
import { TransientDependencyError } from '../../functions/core/errors.js';
import { parseReceiptEvent } from '../../functions/core/ses-event.js';
import type { PipelineResult } from '../../functions/router/process.js';
import { smtpSend } from '../../sandbox/demo.js';
import { type Emulators, startEmulators } from '../../sandbox/emulators/index.js';
import {
  containsTestString,
  dkimVerdict,
  dmarcVerdict,
  EICAR,
  GTUBE,
  type IngressEvent,
  type Invoke,
  spfVerdict,
  startSmtpIngress,
} from '../../sandbox/smtp-ingress.js';
import { dkimKey } from '../helpers/mail.js';
import { CONFIG, plain, signed, zonesFor } from '../helpers/sandbox-fixtures.js';

describe('smtp-ingress: the SES receipt event, verdicts and Lambda-like retries', () => {
  let emu: Emulators;
  const key = dkimKey('sender.test', 'sbx2');
  const config = parseConfig(CONFIG);
  const resolver = zoneResolver(zonesFor(key));
  before(async () => {
    emu = await startEmulators({ buckets: ['ingress-test'] });
  });
  after(() => emu?.stop());

  async function ingressWith(invoke: Invoke, retryDelaysMs = [20, 40]) {
    const events: IngressEvent[] = [];
    const ingress = await startSmtpIngress({
      config,
      resolver,
      s3: new S3Client(emu.clientConfig('s3')),
      bucket: 'ingress-test',
      prefix: 'raw/',
      invoke,
      retryDelaysMs,
      onEvent: (e) => events.push(e),
    });
    return { ingress, events };
  }

  const send = (port: number, o: { from: string; ip: string; data: string; to?: string }) =>
    smtpSend({
      host: '127.0.0.1',
      port,
      clientIp: o.ip,
      helo: 'mx.sender.test',
      mailFrom: o.from,
      rcptTo: [o.to ?? 'alias@example.com'],
      data: Buffer.from(o.data),
    });

  const result = (messageId: string): PipelineResult => ({
    messageId,
    outcome: 'processed',
    pool: 'normal',
    reasons: [],
    sends: [],
  });

  it('builds the SES event: envelope, headers, commonHeaders, the five verdicts, dmarcPolicy only when DMARC failed', async () => {
    // Prepare
    const seen: Record<string, unknown>[] = [];
    const { ingress } = await ingressWith(async (event) => {
      seen.push(event);
      return result(parseReceiptEvent(event).mail.messageId);
    });
    try {
      // Act: one authenticated message, one that fails SPF and DMARC (p=reject).
      const good = await send(ingress.port, {
        from: 'alice@sender.test',
        ip: '192.0.2.10',
        data: await signed(plain('Alice Sender <alice@sender.test>', 'alias@example.com', 'event good'), key),
      });
      const bad = await send(ingress.port, {
        from: 'alice@sender.test',
        ip: '198.18.0.99',
        data: plain('Alice Sender <alice@sender.test>', 'alias@example.com', 'event bad'),
      });
      await ingress.idle();
      // Assess
      assert.match(good.messageId ?? '', /^[0-9a-v]{40}$/, 'an SES-like message id');
      const [g, b] = seen.map((e) => parseReceiptEvent(e));
      assert.ok(g && b);
      assert.equal(g.mail.messageId, good.messageId);
      assert.equal(b.mail.messageId, bad.messageId);
      assert.equal(g.mail.source, 'alice@sender.test');
      assert.deepEqual(g.mail.destination, ['alias@example.com']);
      assert.deepEqual(g.receipt.recipients, ['alias@example.com']);
      assert.deepEqual(
        g.mail.headers.slice(0, 2).map((h) => h.name),
        ['Return-Path', 'Received'],
      );
      assert.equal(g.mail.headersTruncated, false);
      assert.deepEqual((g.mail.commonHeaders as { from: string[] }).from, [
        'Alice Sender <alice@sender.test>',
      ]);
      assert.equal((g.mail.commonHeaders as { subject: string }).subject, 'event good');
      const status = (r: typeof g) =>
        [
          r.receipt.spamVerdict,
          r.receipt.virusVerdict,
          r.receipt.spfVerdict,
          r.receipt.dkimVerdict,
          r.receipt.dmarcVerdict,
        ].map((v) => v.status);
      assert.deepEqual(status(g), ['PASS', 'PASS', 'PASS', 'PASS', 'PASS']);
      assert.equal(g.receipt.dmarcPolicy, undefined);
      assert.deepEqual(status(b), ['PASS', 'PASS', 'FAIL', 'GRAY', 'FAIL']);
      assert.equal(b.receipt.dmarcPolicy, 'reject');
      assert.deepEqual(g.receipt.action, {
        type: 'Lambda',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:outbound-pools-router',
        invocationType: 'Event',
      });
      // The S3 object: SES-like trace fields on top of the message as received.
      const stored = await new S3Client(emu.clientConfig('s3')).send(
        new GetObjectCommand({ Bucket: 'ingress-test', Key: `raw/${good.messageId}` }),
      );
      const text = await stored.Body!.transformToString();
      assert.match(
        text,
        /^Return-Path: <alice@sender\.test>\r\nReceived: from mx\.sender\.test \(mx\.sender\.test \[192\.0\.2\.10\]\)\r\n by inbound-smtp\.sandbox\.localhost with SMTP id [0-9a-v]{40} for alias@example\.com;/,
      );
      assert.match(text, /^X-SES-Spam-Verdict: PASS\r$/m);
      assert.match(text, /^Authentication-Results: inbound-smtp\.sandbox\.localhost;/m);
    } finally {
      await ingress.close();
    }
  });

  it('a retryable failure is retried after each delay, then dead-lettered; a permanent one at once', async () => {
    // Prepare
    let calls = 0;
    const { ingress, events } = await ingressWith(async (event) => {
      calls++;
      const id = parseReceiptEvent(event).mail.messageId;
      if (/permanent/.test(JSON.stringify(event))) throw new Error('boom');
      throw new TransientDependencyError('dynamodb', `throttled ${id}`);
    });
    try {
      const data = (subject: string) => plain('Alice <alice@sender.test>', 'alias@example.com', subject);
      // Act
      const transient = await send(ingress.port, {
        from: 'alice@sender.test',
        ip: '192.0.2.10',
        data: data('transient'),
      });
      const transientEnd = await ingress.waitFor(transient.messageId!);
      const permanent = await send(ingress.port, {
        from: 'alice@sender.test',
        ip: '192.0.2.10',
        data: data('permanent'),
      });
      const permanentEnd = await ingress.waitFor(permanent.messageId!);
      // Assess: the SMTP client got its 250 before any of that.
      assert.equal(transient.data?.code, 250);
      assert.equal(transientEnd.outcome, 'failed');
      assert.equal(transientEnd.attempts, 3);
      assert.deepEqual(
        events.filter((e) => e.type === 'retry').map((e) => (e as { delayMs: number }).delayMs),
        [20, 40],
      );
      assert.equal(permanentEnd.attempts, 1);
      assert.equal(calls, 4);
      assert.deepEqual(
        ingress.deadLetters().map((d) => [d.messageId, d.attempts, d.retryable]),
        [
          [transient.messageId, 3, true],
          [permanent.messageId, 1, false],
        ],
      );
    } finally {
      await ingress.close();
    }
  });

  it('a message larger than maxMessageBytes is refused 552 5.3.4 and never stored or invoked', async () => {
    let calls = 0;
    const small = await startSmtpIngress({
      config: parseConfig({ ...CONFIG, maxMessageBytes: 2_000 }),
      resolver,
      s3: new S3Client(emu.clientConfig('s3')),
      bucket: 'ingress-test',
      prefix: 'raw/',
      invoke: async (event) => {
        calls++;
        return result(parseReceiptEvent(event).mail.messageId);
      },
    });
    try {
      const big = await send(small.port, {
        from: 'alice@sender.test',
        ip: '192.0.2.10',
        data: plain(
          'Alice <alice@sender.test>',
          'alias@example.com',
          'big',
          `${'x'.repeat(70)}\r\n`.repeat(80),
        ),
      });
      assert.equal(big.data?.code, 552);
      assert.match(big.data?.text ?? '', /^5\.3\.4 /);
      assert.equal(big.messageId, undefined);
      await small.idle();
      assert.equal(calls, 0);
    } finally {
      await small.close();
    }
  });

  it('maps mailauth results to SES verdicts as documented', () => {
    assert.deepEqual(
      ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', undefined].map(spfVerdict),
      ['PASS', 'FAIL', 'FAIL', 'GRAY', 'GRAY', 'PROCESSING_FAILED', 'PROCESSING_FAILED', 'PROCESSING_FAILED'],
    );
    const dkim = (...r: string[]) => dkimVerdict(r.map((result) => ({ status: { result } })));
    assert.deepEqual(
      [dkim(), dkim('none'), dkim('fail', 'pass'), dkim('fail', 'temperror'), dkim('neutral', 'permerror')],
      ['GRAY', 'GRAY', 'PASS', 'PROCESSING_FAILED', 'FAIL'],
    );
    assert.deepEqual(dmarcVerdict({ status: { result: 'fail' }, policy: 'quarantine' }), {
      status: 'FAIL',
      policy: 'quarantine',
    });
    assert.deepEqual(dmarcVerdict(false), { status: 'GRAY' });
    assert.deepEqual(dmarcVerdict({ status: { result: 'temperror' } }), { status: 'PROCESSING_FAILED' });
    assert.equal(
      containsTestString(Buffer.from(`x\r\n${Buffer.from(`pad ${EICAR}`).toString('base64')}\r\n`), EICAR),
      true,
    );
    assert.equal(containsTestString(Buffer.from('nothing to see'), GTUBE), false);
  });
});
