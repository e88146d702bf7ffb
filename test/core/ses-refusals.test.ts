/**
 * Every SESv2 SendEmail error class (SESv2 API Reference, "SendEmail", Errors), and the
 * MessageRejected / BadRequestException texts SES documents, sorted into throttle,
 * deployment fault (account, identity, configuration set) or a refusal of the copy.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SendRejectedError, SesDeploymentError } from '../../functions/core/errors.js';
import {
  classifySesError,
  oneLine,
  type SesErrorVerdict,
  unverifiedIdentities,
} from '../../functions/core/ses-refusals.js';

const send = { recipients: ['dest@remote.test', 'Other@Remote.test'] };
const throttle: SesErrorVerdict = { kind: 'throttle' };
const account: SesErrorVerdict = { kind: 'deployment', scope: 'account' };
const identity: SesErrorVerdict = { kind: 'deployment', scope: 'identity' };
const configurationSet: SesErrorVerdict = { kind: 'deployment', scope: 'configuration-set' };
const content: SesErrorVerdict = { kind: 'copy', refusal: 'content' };
const request: SesErrorVerdict = { kind: 'copy', refusal: 'request' };
const other: SesErrorVerdict = { kind: 'other' };

const cases: { name: string; message: string; expect: SesErrorVerdict }[] = [
  // Throttling: the sending rate.
  { name: 'TooManyRequestsException', message: 'Too many requests', expect: throttle },
  { name: 'Throttling', message: 'Rate exceeded', expect: throttle },
  { name: 'ThrottlingException', message: 'Rate exceeded', expect: throttle },
  { name: 'LimitExceededException', message: 'Maximum sending rate exceeded.', expect: throttle },
  { name: 'MessageRejected', message: 'Throttling – Maximum sending rate exceeded.', expect: throttle },
  // Account level.
  { name: 'LimitExceededException', message: 'Daily message quota exceeded.', expect: account },
  { name: 'MessageRejected', message: 'Daily message quota exceeded.', expect: account },
  { name: 'AccountSuspendedException', message: 'Account suspended', expect: account },
  { name: 'AccountSendingPausedException', message: 'Account sending paused', expect: account },
  {
    name: 'SendingPausedException',
    message: "The account's ability to send email is currently paused",
    expect: account,
  },
  { name: 'MessageRejected', message: 'Sending paused for this account.', expect: account },
  { name: 'MessageRejected', message: 'Sending suspended for this account.', expect: account },
  {
    // The account still in the sandbox: a recipient fails the verification check.
    name: 'MessageRejected',
    message:
      'Email address is not verified. The following identities failed the check in region US-EAST-1: other@remote.test',
    expect: account,
  },
  // Identity level.
  {
    name: 'MessageRejected',
    message:
      'Email address is not verified. The following identities failed the check in region EU-WEST-1: alias@example.com, list-owner@sender.test',
    expect: identity,
  },
  { name: 'MessageRejected', message: 'Email address is not verified.', expect: identity },
  {
    name: 'MessageRejected',
    message: 'User is not authorized to send from identity arn:aws:ses:us-east-1:1:identity/example.com',
    expect: identity,
  },
  {
    name: 'MailFromDomainNotVerifiedException',
    message: 'MAIL FROM domain is not verified',
    expect: identity,
  },
  { name: 'BadRequestException', message: 'Custom MAIL FROM domain is not set up', expect: identity },
  // Configuration-set level (tenant included).
  {
    name: 'ConfigurationSetDoesNotExistException',
    message: 'Configuration set does not exist',
    expect: configurationSet,
  },
  { name: 'ConfigurationSetDoesNotExist', message: 'no such set', expect: configurationSet },
  { name: 'ConfigurationSetSendingPausedException', message: 'paused', expect: configurationSet },
  {
    name: 'SendingPausedException',
    message: 'Sending is paused for the configuration set outbound-normal',
    expect: configurationSet,
  },
  {
    name: 'NotFoundException',
    message: 'Configuration set <outbound-normal> does not exist.',
    expect: configurationSet,
  },
  {
    name: 'NotFoundException',
    message: 'Tenant outbound-normal-tenant does not exist',
    expect: configurationSet,
  },
  {
    name: 'BadRequestException',
    message: 'Tenant outbound-normal-tenant is paused',
    expect: configurationSet,
  },
  // This copy only.
  { name: 'MessageRejected', message: 'Message contains a virus.', expect: content },
  { name: 'MessageRejected', message: 'Illegal header: "X-Foo".', expect: content },
  { name: 'MessageRejected', message: "Duplicate header 'DKIM-Signature'.", expect: content },
  // A sender controls what SES quotes from its message: quoted spans are not read.
  {
    name: 'MessageRejected',
    message: "Illegal header 'X-Configuration-Set-Sending-Paused-For-Account-Sandbox'.",
    expect: content,
  },
  { name: 'MessageRejected', message: 'Illegal header "Email address is not verified: x".', expect: content },
  { name: 'BadRequestException', message: 'Illegal address', expect: request },
  { name: 'BadRequestException', message: 'The raw message is not valid MIME', expect: request },
  // Not a refusal: mapped as any AWS error.
  { name: 'InternalFailure', message: 'oops', expect: other },
  { name: 'AccessDeniedException', message: 'not authorized to perform ses:SendEmail', expect: other },
  { name: '', message: '', expect: other },
];

describe('classifySesError', () => {
  for (const c of cases) {
    it(`${c.name || '(no name)'}: "${c.message}" → ${JSON.stringify(c.expect)}`, () => {
      assert.deepEqual(classifySesError({ name: c.name, message: c.message }, send), c.expect);
    });
  }

  it('a sender-named identity is never read as a recipient (no sandbox verdict for it)', () => {
    const verdict = classifySesError(
      {
        name: 'MessageRejected',
        message:
          'Email address is not verified. The following identities failed the check in region US-EAST-1: dest@remote.test.evil',
      },
      send,
    );
    assert.deepEqual(verdict, identity);
  });
});

describe('unverifiedIdentities', () => {
  it('reads the identities after "failed the check in region …:", lower-cased', () => {
    assert.deepEqual(
      unverifiedIdentities(
        'Email address is not verified. The following identities failed the check in region US-EAST-1: A@x.test, <b@y.test>; c@z.test.',
      ),
      ['a@x.test', 'b@y.test', 'c@z.test'],
    );
  });
  it('none without the list', () => {
    assert.deepEqual(unverifiedIdentities('Email address is not verified.'), []);
  });
});

describe('refusal errors', () => {
  it('a deployment fault names its class, cause and fix on one line, and is retryable', () => {
    const e = new SesDeploymentError('identity', 'MessageRejected', 'Email address is not verified.\r\nX: y');
    assert.equal(e.retryable, true);
    assert.equal(e.scope, 'identity');
    assert.doesNotMatch(e.message, /[\r\n]/);
    assert.match(e.message, /identity-level fault \(MessageRejected: Email address is not verified\. X: y\)/);
    assert.match(e.message, /verify it, then redrive/);
  });
  it('a copy refusal carries its class and is not retryable', () => {
    const e = new SendRejectedError('BadRequestException', 'bad', { refusal: 'request' });
    assert.equal(e.retryable, false);
    assert.equal(e.refusal, 'request');
    assert.equal(new SendRejectedError('MessageRejected', 'virus').refusal, 'content');
  });
  it('oneLine folds whitespace and bounds the length', () => {
    assert.equal(oneLine('a\r\n\tb  c'), 'a b c');
    assert.equal(oneLine('x'.repeat(600)).length, 500);
  });
});
