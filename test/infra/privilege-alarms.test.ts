/**
 * Issue 15 items 6 and 7 on one synthesized template (no bundling, with an alarm topic: the
 * router's notice statements exist only then).
 *
 * - Least privilege: every role's policy pinned statement by statement, written out here by
 *   hand (not derived from the constants the stack uses), so a grant that widens — an action,
 *   a resource, a dropped condition — fails a test.
 * - The functions' own alarms, each on the metric Lambda publishes, each notifying the alarm
 *   topic; and every alarm of the template — these and everyone else's — has its one-line
 *   entry in docs/operations.md's runbook table.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import {
  ACCOUNT,
  allStatements,
  asArray,
  buildConstruct,
  logicalId,
  REGION,
  resourceNamed,
  resourcesOf,
  synthStack,
} from './helpers.js';

type Json = Record<string, unknown>;
// cdk.json sets @aws-cdk/core:enablePartitionLiterals: the partition is written literally.
const arn = (rest: string) => `arn:aws${rest}`;
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const join = (...parts: unknown[]) => ({ 'Fn::Join': ['', parts] });
const POOL_IDS = ['Normal', 'HighRisk', 'Relay'];

let template: Template;
const id = (type: string, part: string) => logicalId(template, type, part);
const statementsOf = (rolePart: string): Json[] => {
  const [, policy] = resourceNamed(template, 'AWS::IAM::Policy', rolePart);
  return (policy.PolicyDocument as { Statement: Json[] }).Statement;
};
/**
 * A policy as the set of single grants it makes (effect, one action, one resource, the
 * condition): cdk.json's @aws-cdk/aws-iam:minimizePolicies merges and sorts statements, which
 * changes their shape but never what they allow. Compared as sorted JSON lines.
 */
const grants = (statements: Json[]): string[] =>
  statements
    .flatMap((s) =>
      asArray(s.Action as string | string[]).flatMap((action) =>
        asArray(s.Resource as unknown).map((resource) =>
          JSON.stringify({ effect: s.Effect, action, resource, condition: s.Condition ?? null }),
        ),
      ),
    )
    .sort();
const assertGrants = (actual: Json[], expected: Json[]) => assert.deepEqual(grants(actual), grants(expected));
/**
 * The notice ledger's PutItem: on notice items only (partition key `N#…`), never on a sender's
 * counters or restriction (`S#…`), which a PutItem would replace whole — a release, or a
 * restriction of anyone (review of December 2026).
 */
const noticeLedgerPut = (limitsArn: unknown): Json => ({
  Action: 'dynamodb:PutItem',
  Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['N#*'] } },
  Effect: 'Allow',
  Resource: limitsArn,
});
const configurationSetArns = () =>
  POOL_IDS.map((p) =>
    join(`arn:aws:ses:${REGION}:${ACCOUNT}:configuration-set/`, {
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
    assertGrants(statementsOf('RouterRole'), [
      {
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: getAtt(id('AWS::Logs::LogGroup', 'RouterLogs')),
      },
      // The on-failure destination: the dead-letter recorder (which queues the record).
      {
        Action: 'lambda:InvokeFunction',
        Effect: 'Allow',
        Resource: [
          getAtt(id('AWS::Lambda::Function', 'DeadLetters')),
          join(getAtt(id('AWS::Lambda::Function', 'DeadLetters')), ':*'),
        ],
      },
      // Raw mail under the prefix; ListBucket with no condition, so a missing object is 404.
      { Action: 's3:GetObject', Effect: 'Allow', Resource: join(getAtt(bucket), '/raw/*') },
      { Action: 's3:ListBucket', Effect: 'Allow', Resource: getAtt(bucket) },
      // DynamoLimitsStore: conditional UpdateItem, GetItem (learnWindow). No Query, no index.
      { Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Effect: 'Allow', Resource: getAtt(limits) },
      // DynamoTraceStore: UpdateItem (claim, recordSend, release), GetItem. No batch writes.
      {
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Effect: 'Allow',
        Resource: getAtt(trace),
      },
      // SESv2 SendEmail (raw content too): configuration sets and identities, as a pool tenant.
      {
        Action: 'ses:SendEmail',
        Condition: {
          StringEquals: {
            'ses:TenantName': ['test-outbound-normal', 'test-outbound-high-risk', 'test-outbound-relay'],
          },
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
      noticeLedgerPut(getAtt(limits)),
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
    // The construct alone (no synthesis): its role's policy document, resolved.
    const { role } = buildConstruct().router;
    const document = Stack.of(role).resolve(
      (role.node.findChild('DefaultPolicy') as iam.Policy).document,
    ) as {
      Statement: Json[];
    };
    const actions = document.Statement.flatMap((s) => asArray(s.Action as string | string[]));
    assert.ok(actions.includes('ses:SendEmail'), 'the document is the router’s');
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

  it('the trace API reads the table and queries its four indexes by name, nothing else', () => {
    const trace = getAtt(id('AWS::DynamoDB::Table', 'Trace'));
    assertGrants(statementsOf('TraceApiRole'), [
      {
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: getAtt(id('AWS::Logs::LogGroup', 'TraceApiLogs')),
      },
      {
        Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
        Effect: 'Allow',
        Resource: [trace, join(trace, '/index/byPoolDay')],
      },
    ]);
  });
});

describe('the other roles', () => {
  it('feedback: appends events to the trace table', () => {
    assertGrants(statementsOf('FeedbackRole'), [
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
    assertGrants(statementsOf('PoolPauseRole'), [
      {
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: getAtt(id('AWS::Logs::LogGroup', 'PoolPauseLogs')),
      },
      { Action: 'ses:PutConfigurationSetSendingOptions', Effect: 'Allow', Resource: configurationSetArns() },
      { Action: 'ses:GetConfigurationSet', Effect: 'Allow', Resource: configurationSetArns() },
      { Action: 'sns:Publish', Effect: 'Allow', Resource: { Ref: id('AWS::SNS::Topic', 'AlarmTopic') } },
      {
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Effect: 'Allow',
        Resource: getAtt(id('AWS::KMS::Key', 'AlarmTopic')),
      },
      noticeLedgerPut(getAtt(id('AWS::DynamoDB::Table', 'Limits'))),
    ]);
  });

  it('no statement of the stack names a DynamoDB index wildcard', () => {
    for (const s of allStatements(template)) {
      assert.equal(JSON.stringify(s.Resource ?? null).includes('/index/*'), false, JSON.stringify(s));
    }
  });
});

const RUNBOOK = new URL('../../docs/operations.md', import.meta.url);

/** The runbook table: alarm ids (backticked in the first cell) → the row's other two cells. */
function runbook(markdown: string): Map<string, [string, string]> {
  const section = markdown.split(/^## Runbook$/m)[1]?.split(/^## /m)[0] ?? '';
  const rows = new Map<string, [string, string]>();
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim());
    assert.equal(cells.length, 3, `three cells: ${line}`);
    for (const [, key] of cells[0]!.matchAll(/`([A-Za-z0-9]+)`/g)) rows.set(key!, [cells[1]!, cells[2]!]);
  }
  return rows;
}

/** A CDK logical id without its 8-character hash: `…Dashboard` + `RouterErrors`. */
const withoutHash = (logical: string) => logical.replace(/[0-9A-F]{8}$/, '');

describe('the functions’ alarms', () => {
  const alarm = (part: string) => resourceNamed(template, 'AWS::CloudWatch::Alarm', part)[1];
  const fn = (part: string) => ({ Ref: logicalId(template, 'AWS::Lambda::Function', part) });
  const onFunction = (part: string) => [{ Name: 'FunctionName', Value: fn(part) }];

  const cases: [string, string, string, number, number][] = [
    // alarm id, Lambda metric, function, threshold, periods
    ['RouterDestinationDeliveryFailures', 'DestinationDeliveryFailures', 'RouterFunction', 1, 1],
    ['FeedbackDestinationDeliveryFailures', 'DestinationDeliveryFailures', 'FeedbackFunction', 1, 1],
    ['RouterAsyncEventsDropped', 'AsyncEventsDropped', 'RouterFunction', 1, 1],
    ['FeedbackAsyncEventsDropped', 'AsyncEventsDropped', 'FeedbackFunction', 1, 1],
    ['RouterThrottles', 'Throttles', 'RouterFunction', 1, 3],
    ['FeedbackErrors', 'Errors', 'FeedbackFunction', 5, 1],
    ['TraceApiUrl5xx', 'Url5xxCount', 'TraceApiFunction', 1, 1],
    [
      'DeadLetterRecorderDestinationDeliveryFailures',
      'DestinationDeliveryFailures',
      'DeadLettersFunction',
      1,
      1,
    ],
    ['DeadLetterRecorderAsyncEventsDropped', 'AsyncEventsDropped', 'DeadLettersFunction', 1, 1],
    ['PoolPauseErrors', 'Errors', 'PoolPauseFunction', 1, 1],
  ];
  for (const [id, metric, part, threshold, periods] of cases) {
    it(`${id}: AWS/Lambda ${metric} of the ${part.replace('Function', '')} function, ≥ ${threshold}`, () => {
      const props = alarm(`FunctionAlarms${id}`);
      assert.deepEqual(
        {
          Namespace: props.Namespace,
          MetricName: props.MetricName,
          Dimensions: props.Dimensions,
          Statistic: props.Statistic,
          Period: props.Period,
          Threshold: props.Threshold,
          ComparisonOperator: props.ComparisonOperator,
          EvaluationPeriods: props.EvaluationPeriods,
          DatapointsToAlarm: props.DatapointsToAlarm,
          TreatMissingData: props.TreatMissingData,
        },
        {
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: onFunction(part),
          Statistic: 'Sum',
          Period: 300,
          Threshold: threshold,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          EvaluationPeriods: periods,
          DatapointsToAlarm: periods > 1 ? periods : undefined,
          TreatMissingData: 'notBreaching',
        },
      );
    });
  }

  it('every alarm of the stack notifies the alarm topic', () => {
    const topic = { Ref: logicalId(template, 'AWS::SNS::Topic', 'AlarmTopic') };
    const alarms = resourcesOf(template, 'AWS::CloudWatch::Alarm');
    assert.ok(alarms.length >= 20, `${alarms.length} alarms`);
    for (const [logical, props] of alarms) {
      assert.ok(
        (props.AlarmActions as Json[] | undefined)?.some((a) => JSON.stringify(a) === JSON.stringify(topic)),
        `${logical} notifies the topic`,
      );
    }
  });

  it('the dashboard’s alarm widget shows them', () => {
    const body = JSON.stringify(
      resourceNamed(template, 'AWS::CloudWatch::Dashboard', 'Dashboard')[1].DashboardBody,
    );
    for (const [id] of cases) {
      const logical = logicalId(template, 'AWS::CloudWatch::Alarm', `FunctionAlarms${id}`);
      assert.ok(body.includes(`"${logical}","Arn"`), `${id} on the dashboard`);
    }
  });
});

describe('docs/operations.md runbook', () => {
  const rows = runbook(readFileSync(RUNBOOK, 'utf8'));

  it('every alarm in the template has a row (by the id its logical id ends with)', () => {
    const missing = resourcesOf(template, 'AWS::CloudWatch::Alarm')
      .map(([logical]) => withoutHash(logical))
      .filter((name) => ![...rows.keys()].some((key) => name.endsWith(key)));
    assert.deepEqual(missing, [], 'alarms without a runbook row');
  });

  it('every row names an alarm that exists, and says what it means and what to do', () => {
    const names = resourcesOf(template, 'AWS::CloudWatch::Alarm').map(([logical]) => withoutHash(logical));
    for (const [key, [means, todo]] of rows) {
      assert.ok(
        names.some((n) => n.endsWith(key)),
        `${key}: no such alarm`,
      );
      assert.ok(means.length > 10 && todo.length > 10, `${key}: both cells filled`);
    }
  });

  it('the matcher is not vacuous: a made-up alarm would be reported missing', () => {
    assert.equal(
      [...rows.keys()].some((key) => 'OutboundPoolsSomethingNewAlarm'.endsWith(key)),
      false,
    );
    assert.ok(rows.size >= 20, `${rows.size} rows`);
  });
});
