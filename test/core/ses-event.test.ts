import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../functions/core/errors.js';
import { parseReceiptEvent, receiptEventOf } from '../../functions/core/ses-event.js';
import { sesEvent } from '../helpers/mail.js';

// biome-ignore lint/suspicious/noExplicitAny: events are mutated freely to build bad inputs
type Json = Record<string, any>;
const receiptOf = (e: Json) => e.Records[0].ses.receipt;

describe('parseReceiptEvent', () => {
  it('reads a real-shaped Lambda-action event without dmarcPolicy (SES omits it unless DMARC failed)', () => {
    const r = parseReceiptEvent(sesEvent());
    assert.equal(r.mail.messageId, 'msg-0001');
    assert.deepEqual(r.receipt.recipients, ['alias@example.com']);
    assert.equal(r.receipt.dmarcPolicy, undefined);
  });

  it('accepts the DISABLED verdict SES reports when scanning is off', () => {
    const e = sesEvent() as Json;
    receiptOf(e).spamVerdict = { status: 'DISABLED' };
    receiptOf(e).virusVerdict = { status: 'DISABLED' };
    assert.equal(parseReceiptEvent(e).receipt.spamVerdict.status, 'DISABLED');
  });

  it('keeps fields SES may add later', () => {
    const e = sesEvent() as Json;
    receiptOf(e).newThing = { x: 1 };
    assert.deepEqual((parseReceiptEvent(e).receipt as Json).newThing, { x: 1 });
  });

  it('reads the bundled example event', () => {
    const json = JSON.parse(readFileSync('examples/events/forwarded-spf-pass.json', 'utf8'));
    assert.equal(parseReceiptEvent(json).receipt.spfVerdict.status, 'PASS');
  });

  const bad: { name: string; mutate: (e: Json) => unknown; path: RegExp }[] = [
    { name: 'not an object', mutate: () => 'hello', path: /\(root\)/ },
    { name: 'no records', mutate: (e) => ({ ...e, Records: [] }), path: /Records/ },
    {
      name: 'another event source',
      mutate: (e) => {
        e.Records[0].eventSource = 'aws:s3';
        return e;
      },
      path: /Records\[0\]\.eventSource/,
    },
    {
      name: 'unknown verdict',
      mutate: (e) => {
        receiptOf(e).spfVerdict = { status: 'MAYBE' };
        return e;
      },
      path: /Records\[0\]\.ses\.receipt\.spfVerdict\.status/,
    },
    {
      name: 'missing message id',
      mutate: (e) => {
        delete e.Records[0].ses.mail.messageId;
        return e;
      },
      path: /ses\.mail\.messageId/,
    },
    {
      name: 'no recipients',
      mutate: (e) => {
        receiptOf(e).recipients = [];
        return e;
      },
      path: /receipt\.recipients/,
    },
  ];
  for (const c of bad) {
    it(`rejects ${c.name} with an InvalidInputError naming the field`, () => {
      assert.throws(
        () => parseReceiptEvent(c.mutate(sesEvent() as Json)),
        (e: unknown) => e instanceof InvalidInputError && e.input === 'event' && c.path.test(e.message),
      );
    });
  }
});

describe('receiptEventOf', () => {
  it('wraps a mail and a receipt as the one aws:ses record SES hands a Lambda action', () => {
    // Prepare
    const { mail, receipt } = parseReceiptEvent(sesEvent({ messageId: 'm-1', spf: 'FAIL' }));
    // Act
    const event = receiptEventOf(mail, receipt);
    // Assess
    assert.deepEqual(event, {
      Records: [{ eventSource: 'aws:ses', eventVersion: '1.0', ses: { mail, receipt } }],
    });
    assert.deepEqual(parseReceiptEvent(event), { mail, receipt });
  });
});
