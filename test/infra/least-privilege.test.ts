/**
 * Issue 15 item 6: every role's policy pinned statement by statement, written out here by hand
 * (not derived from the constants the stack uses), so a grant that widens — an action, a
 * resource, a dropped condition — fails a test. Synthesized once, without bundling, with an
 * alarm topic (the router's notice statements exist only then).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Template } from 'aws-cdk-lib/assertions';
import { ACCOUNT, allStatements, asArray, logicalId, REGION, resourceNamed, synthStack } from './helpers.js';

type Json = Record<string, unknown>;
const arn = (rest: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, rest]] });
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const join = (...parts: unknown[]) => ({ 'Fn::Join': ['', parts] });
const POOL_IDS = ['Normal', 'HighRisk', 'Relay'];

let template: Template;
const id = (type: string, part: string) => logicalId(template, type, part);
const statementsOf = (rolePart: string): Json[] => {
  const [, policy] = resourceNamed(template, 'AWS::IAM::Policy', rolePart);
  return (policy.PolicyDocument as { Statement: Json[] }).Statement;
};
const configurationSetArns = () =>
  POOL_IDS.map((p) =>
    join('arn:', { Ref: 'AWS::Partition' }, `:ses:${REGION}:${ACCOUNT}:configuration-set/`, {
      Ref: id('AWS::SES::ConfigurationSet', p),
    }),
  );

before(() => {
  ({ template } = synthStack({ alarmEmail: 'ops@example.com' }, { bundle: false }));
});

describe('the router role: exactly what its calls need', () => {
  it('every statement, in full', () => {
    const bucket = id('AWS::S3::Bucket', 'MailBucket');
    const limits = id('AWS::DynamoDB::Table', 'Limits');
    const trace = id('AWS::DynamoDB::Table', 'Trace');
    assert.deepEqual(statementsOf('RouterRole'), [
      {
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: getAtt(id('AWS::Logs::LogGroup', 'RouterLogs')),
      },
      {
        Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        Effect: 'Allow',
        Resource: getAtt(id('AWS::SQS::Queue', 'RouterDeadLetterQueue')),
      },
      // Raw mail under the prefix; ListBucket with no condition, so a missing object is 404.
      { Action: 's3:GetObject', Effect: 'Allow', Resource: join(getAtt(bucket), '/raw/*') },
      { Action: 's3:ListBucket', Effect: 'Allow', Resource: getAtt(bucket) },
      // DynamoLimitsStore: conditional UpdateItem, GetItem (learnWindow). No Query, no index.
      { Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Effect: 'Allow', Resource: getAtt(limits) },
      // DynamoTraceStore: UpdateItem (claim, recordSend, release), GetItem, BatchWriteItem (pointers).
      {
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem'],
        Effect: 'Allow',
        Resource: getAtt(trace),
      },
      // SESv2 SendEmail (raw content too): configuration sets and identities, as a pool tenant.
      {
        Action: 'ses:SendEmail',
        Condition: {
          StringEquals: { 'ses:TenantName': ['outbound-normal', 'outbound-high-risk', 'outbound-relay'] },
        },
        Effect: 'Allow',
        Resource: [
          ...configurationSetArns(),
          ...['example.com', 'example.org', 'fwd.example.com'].map((d) =>
            arn(`:ses:${REGION}:${ACCOUNT}:identity/${d}`),
          ),
        ],
      },
      { Action: 'ses:GetConfigurationSet', Effect: 'Allow', Resource: configurationSetArns() },
      {
        Action: 'ses:GetTenant',
        Effect: 'Allow',
        Resource: POOL_IDS.map((p) => getAtt(id('AWS::SES::Tenant', p))),
      },
      {
        Action: 'ssm:GetParameter',
        Effect: 'Allow',
        Resource: [
          arn(`:ssm:${REGION}:${ACCOUNT}:parameter/outbound-pools/srs-secrets`),
          arn(`:ssm:${REGION}:${ACCOUNT}:parameter/outbound-pools/arc-key`),
        ],
      },
      // Notices: publish on the alarm topic (its key), one ledger item per event.
      { Action: 'sns:Publish', Effect: 'Allow', Resource: { Ref: id('AWS::SNS::Topic', 'AlarmTopic') } },
      {
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Effect: 'Allow',
        Resource: getAtt(id('AWS::KMS::Key', 'AlarmTopic')),
      },
      { Action: 'dynamodb:PutItem', Effect: 'Allow', Resource: getAtt(limits) },
    ]);
  });

  it('never the v1 SendRawEmail, an index, Query, Scan, DeleteItem or ConditionCheckItem', () => {
    const text = JSON.stringify(statementsOf('RouterRole'));
    for (const banned of [
      'ses:SendRawEmail',
      '/index/',
      'dynamodb:Query',
      'dynamodb:Scan',
      'dynamodb:DeleteItem',
      'dynamodb:ConditionCheckItem',
    ]) {
      assert.equal(text.includes(banned), false, banned);
    }
  });

  it('without a notice topic: no sns, kms or ledger statement', () => {
    const { template: bare } = synthStack({}, { bundle: false });
    const [, policy] = resourceNamed(bare, 'AWS::IAM::Policy', 'RouterRole');
    const actions = (policy.PolicyDocument as { Statement: Json[] }).Statement.flatMap((s) =>
      asArray(s.Action as string | string[]),
    );
    assert.deepEqual(
      actions.filter((a) => a.startsWith('sns:') || a.startsWith('kms:') || a === 'dynamodb:PutItem'),
      [],
    );
  });
});

describe('trace readers and the trace API', () => {
  it('readers may invoke the function only through its URL (lambda:InvokedViaFunctionUrl)', () => {
    const [, policy] = resourceNamed(template, 'AWS::IAM::ManagedPolicy', 'ReadersPolicy');
    const fn = getAtt(id('AWS::Lambda::Function', 'TraceApi'));
    assert.deepEqual((policy.PolicyDocument as { Statement: Json[] }).Statement, [
      {
        Action: 'lambda:InvokeFunctionUrl',
        Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
        Effect: 'Allow',
        Resource: fn,
      },
      {
        Action: 'lambda:InvokeFunction',
        Condition: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
        Effect: 'Allow',
        Resource: fn,
      },
    ]);
  });

  it('the trace API reads the table and queries its three indexes by name, nothing else', () => {
    const trace = getAtt(id('AWS::DynamoDB::Table', 'Trace'));
    assert.deepEqual(statementsOf('TraceApiRole'), [
      {
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: getAtt(id('AWS::Logs::LogGroup', 'TraceApiLogs')),
      },
      {
        Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
        Effect: 'Allow',
        Resource: [
          trace,
          join(trace, '/index/bySender'),
          join(trace, '/index/byRecipient'),
          join(trace, '/index/byDestination'),
        ],
      },
    ]);
  });
});

describe('the other roles', () => {
  it('feedback: appends events to the trace table', () => {
    assert.deepEqual(statementsOf('FeedbackRole'), [
      {
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: getAtt(id('AWS::Logs::LogGroup', 'FeedbackLogs')),
      },
      {
        Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        Effect: 'Allow',
        Resource: getAtt(id('AWS::SQS::Queue', 'FeedbackDeadLetterQueue')),
      },
      {
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        Effect: 'Allow',
        Resource: getAtt(id('AWS::DynamoDB::Table', 'Trace')),
      },
    ]);
  });

  it('pause: disables sending of the three configuration sets, and tells (topic, ledger)', () => {
    assert.deepEqual(statementsOf('PoolPauseRole'), [
      {
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: getAtt(id('AWS::Logs::LogGroup', 'PoolPauseLogs')),
      },
      { Action: 'ses:PutConfigurationSetSendingOptions', Effect: 'Allow', Resource: configurationSetArns() },
      { Action: 'sns:Publish', Effect: 'Allow', Resource: { Ref: id('AWS::SNS::Topic', 'AlarmTopic') } },
      {
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Effect: 'Allow',
        Resource: getAtt(id('AWS::KMS::Key', 'AlarmTopic')),
      },
      { Action: 'dynamodb:PutItem', Effect: 'Allow', Resource: getAtt(id('AWS::DynamoDB::Table', 'Limits')) },
    ]);
  });

  it('no statement of the stack names a DynamoDB index wildcard', () => {
    for (const s of allStatements(template)) {
      assert.equal(JSON.stringify(s.Resource ?? null).includes('/index/*'), false, JSON.stringify(s));
    }
  });
});
