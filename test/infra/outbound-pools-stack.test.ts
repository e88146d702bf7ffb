/**
 * The application stack with the test configuration, synthesized once with real bundling:
 * one assertion block per promise of SPEC 7 and 8 and of the infrastructure issue.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { createTableInput, LIMITS_TABLE, TRACE_TABLE } from '../../functions/adapters/tables.js';
import { parseConfigText } from '../../functions/core/config.js';
import { withNamePrefix } from '../../functions/core/resource-names.js';
import { METRIC } from '../../functions/router/observer.js';
import { readSettings } from '../../functions/router/settings.js';
import {
  ACCOUNT,
  ARC_PARAMETER,
  allStatements,
  asArray,
  dashboardBody,
  dashboardMetrics,
  infraConfig,
  logicalId,
  REGION,
  resourceNamed,
  resourcesOf,
  SRS_PARAMETER,
  type Synthesized,
  synthStack,
} from './helpers.js';

type Json = Record<string, unknown>;

let synth: Synthesized;
let template: Template;
let ids: {
  bucket: string;
  bucketPolicy: string;
  router: string;
  feedback: string;
  traceApi: string;
  limits: string;
  trace: string;
  routerDlq: string;
  feedbackDlq: string;
  permission: string;
  ruleSet: string;
};

// cdk.json sets @aws-cdk/core:enablePartitionLiterals: a stack in a known region writes its
// partition (`aws`) literally instead of `{"Ref": "AWS::Partition"}`.
const arn = (rest: string) => `arn:aws${rest}`;
const ruleArn = arn(
  `:ses:${REGION}:${ACCOUNT}:receipt-rule-set/test-inbound:receipt-rule/test-route-to-pools`,
);
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const sortJson = <T>(values: T[]): T[] =>
  [...values].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

before(() => {
  // Prepare (bundles both functions with local esbuild)
  synth = synthStack();
  template = synth.template;
  ids = {
    bucket: logicalId(template, 'AWS::S3::Bucket', 'MailBucket'),
    bucketPolicy: logicalId(template, 'AWS::S3::BucketPolicy', 'MailBucket'),
    router: logicalId(template, 'AWS::Lambda::Function', 'Router'),
    feedback: logicalId(template, 'AWS::Lambda::Function', 'Feedback'),
    traceApi: logicalId(template, 'AWS::Lambda::Function', 'TraceApi'),
    limits: logicalId(template, 'AWS::DynamoDB::Table', 'Limits'),
    trace: logicalId(template, 'AWS::DynamoDB::Table', 'Trace'),
    routerDlq: logicalId(template, 'AWS::SQS::Queue', 'Router'),
    feedbackDlq: logicalId(template, 'AWS::SQS::Queue', 'Feedback'),
    permission: logicalId(template, 'AWS::Lambda::Permission', 'AllowSes'),
    ruleSet: logicalId(template, 'AWS::SES::ReceiptRuleSet', 'Receipt'),
  };
});

describe('mail bucket', () => {
  it('is encrypted, private, owner-enforced and expires raw mail after 15 days (dead letters: 14 days + 6 h)', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            Prefix: 'raw/',
            ExpirationInDays: 15,
            Status: 'Enabled',
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          }),
        ],
      },
    });
  });

  it('denies every request without TLS (and below TLS 1.2)', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });

  it('lets SES put objects only for this account and this receipt rule, under the prefix', () => {
    const [, policy] = resourceNamed(template, 'AWS::S3::BucketPolicy', 'MailBucket');
    const statements = (policy.PolicyDocument as { Statement: Json[] }).Statement;
    const ses = statements.filter((s) => JSON.stringify(s.Principal).includes('ses.amazonaws.com'));
    assert.deepEqual(ses, [
      {
        Sid: 'AllowSesReceiptRulePutObject',
        Effect: 'Allow',
        Principal: { Service: 'ses.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', [getAtt(ids.bucket), '/raw/*']] },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' }, 'aws:SourceArn': ruleArn },
        },
      },
    ]);
  });
});

describe('receipt rule', () => {
  it('stores the message in S3, then invokes the router asynchronously, TLS optional, with scanning', () => {
    const [, rule] = resourceNamed(template, 'AWS::SES::ReceiptRule', 'Receipt');
    assert.deepEqual(rule.Rule, {
      Name: 'test-route-to-pools',
      Enabled: true,
      ScanEnabled: true,
      TlsPolicy: 'Optional',
      Recipients: ['example.com', 'example.org', 'fwd.example.com'],
      Actions: [
        { S3Action: { BucketName: { Ref: ids.bucket }, ObjectKeyPrefix: 'raw/' } },
        { LambdaAction: { FunctionArn: getAtt(ids.router), InvocationType: 'Event' } },
      ],
    });
    assert.deepEqual(rule.RuleSetName, { Ref: ids.ruleSet });
  });

  it('is created after the bucket policy and the invoke permission SES checks on creation', () => {
    const [, rule] = Object.entries(template.findResources('AWS::SES::ReceiptRule'))[0]!;
    assert.deepEqual(
      new Set((rule as { DependsOn: string[] }).DependsOn),
      new Set([ids.bucketPolicy, ids.permission]),
    );
  });

  it('lets only SES of this account, for this rule, invoke the router', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: getAtt(ids.router),
      Principal: 'ses.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: ruleArn,
    });
  });

  it('names the rule set after the stack and leaves activation to the operator by default', () => {
    template.hasResourceProperties('AWS::SES::ReceiptRuleSet', { RuleSetName: 'test-inbound' });
    template.resourceCountIs('Custom::ActiveReceiptRuleSet', 0);
    template.hasOutput('ActivateReceiptRuleSetCommand', {
      Value: `aws ses set-active-receipt-rule-set --rule-set-name test-inbound --region ${REGION}`,
    });
  });
});

describe('delivery pools', () => {
  const pools = [
    // Deployed names: the stack's prefix ("Test", lowercased) before the configuration's.
    ['normal', 'test-outbound-normal'],
    ['high-risk', 'test-outbound-high-risk'],
    ['relay', 'test-outbound-relay'],
  ] as const;
  const cid = { normal: 'Normal', 'high-risk': 'HighRisk', relay: 'Relay' } as const;

  it('creates three dedicated IP pools, STANDARD scaling', () => {
    template.resourceCountIs('AWS::SES::DedicatedIpPool', 3);
    for (const [, name] of pools) {
      template.hasResourceProperties('AWS::SES::DedicatedIpPool', {
        PoolName: name,
        ScalingMode: 'STANDARD',
      });
    }
  });

  it('creates three configuration sets, each sending through its own pool, reputation metrics on', () => {
    template.resourceCountIs('AWS::SES::ConfigurationSet', 3);
    for (const [pool, name] of pools) {
      const poolId = logicalId(template, 'AWS::SES::DedicatedIpPool', cid[pool]);
      template.hasResourceProperties('AWS::SES::ConfigurationSet', {
        Name: name,
        DeliveryOptions: { SendingPoolName: { Ref: poolId } },
        ReputationOptions: { ReputationMetricsEnabled: true },
      });
    }
    // Whether a pool sends is the pause function's and the operator's, not the template's: a
    // deploy never resumes a paused pool.
    for (const [id, props] of resourcesOf(template, 'AWS::SES::ConfigurationSet'))
      assert.equal(props.SendingOptions, undefined, id);
  });

  it('never tracks opens or clicks (tracking rewrites the body and breaks DKIM and ARC)', () => {
    for (const [, props] of resourcesOf(template, 'AWS::SES::ConfigurationSet')) {
      assert.equal(props.TrackingOptions, undefined);
    }
    const destinations = resourcesOf(template, 'AWS::SES::ConfigurationSetEventDestination');
    assert.equal(destinations.length, 6);
    for (const [, props] of destinations) {
      assert.deepEqual((props.EventDestination as Json).MatchingEventTypes, [
        'send',
        'delivery',
        'bounce',
        'complaint',
        'reject',
        'deliveryDelay',
        'renderingFailure',
      ]);
    }
  });

  it('publishes SES event metrics to CloudWatch by configuration set and the pool and reason tags', () => {
    const dims = ['ses:configuration-set', 'pool', 'reason'].map((DimensionName) => ({
      DimensionName,
      DimensionValueSource: 'messageTag',
      DefaultDimensionValue: 'none',
    }));
    for (const [pool] of pools) {
      const setId = logicalId(template, 'AWS::SES::ConfigurationSet', cid[pool]);
      template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
        ConfigurationSetName: { Ref: setId },
        EventDestination: Match.objectLike({
          Enabled: true,
          CloudWatchDestination: { DimensionConfigurations: dims },
        }),
      });
      template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
        ConfigurationSetName: { Ref: setId },
        EventDestination: Match.objectLike({
          EventBridgeDestination: { EventBusArn: arn(`:events:${REGION}:${ACCOUNT}:event-bus/default`) },
        }),
      });
    }
  });
});

describe('SES events → feedback function', () => {
  it('routes the failure events of the three configuration sets from the default bus to the feedback function', () => {
    // By default (trace.deliveryEvents false) neither Email Sent nor Email Delivered: issue 16.
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ses'],
        'detail-type': [
          'Email Bounced',
          'Email Complaint Received',
          'Email Rejected',
          'Email Delivery Delayed',
          'Email Rendering Failed',
        ],
        detail: {
          mail: {
            tags: {
              'ses:configuration-set': [
                'test-outbound-normal',
                'test-outbound-high-risk',
                'test-outbound-relay',
              ],
            },
          },
        },
      },
      Targets: [
        Match.objectLike({
          Arn: getAtt(ids.feedback),
          DeadLetterConfig: { Arn: getAtt(ids.feedbackDlq) },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 21_600 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: getAtt(ids.feedback),
      Principal: 'events.amazonaws.com',
    });
  });
});

describe('tables', () => {
  const cases = [
    ['limits', 'Limits', LIMITS_TABLE],
    ['trace', 'Trace', TRACE_TABLE],
  ] as const;

  for (const [name, idPart, description] of cases) {
    it(`${name}: keys, attributes and GSIs exactly as functions/adapters/tables.ts describes them`, () => {
      // Prepare
      const expected = createTableInput('x', description);
      const [, props] = resourceNamed(template, 'AWS::DynamoDB::Table', idPart);
      type Named = { AttributeName?: string; IndexName?: string };
      const byName = (xs: unknown) =>
        [...((xs as Named[] | undefined) ?? [])].sort((a, b) =>
          String(a.AttributeName ?? a.IndexName).localeCompare(String(b.AttributeName ?? b.IndexName)),
        );
      // Assess
      assert.deepEqual(props.KeySchema, expected.KeySchema);
      assert.deepEqual(byName(props.AttributeDefinitions), byName(expected.AttributeDefinitions));
      assert.deepEqual(byName(props.GlobalSecondaryIndexes), byName(expected.GlobalSecondaryIndexes));
    });

    it(`${name}: on demand, encrypted, point-in-time recovery, TTL on ${description.ttlAttribute}, retained`, () => {
      const [id, props] = resourceNamed(template, 'AWS::DynamoDB::Table', idPart);
      assert.equal(props.BillingMode, 'PAY_PER_REQUEST');
      assert.deepEqual(props.SSESpecification, { SSEEnabled: true });
      assert.deepEqual(props.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true });
      assert.deepEqual(props.TimeToLiveSpecification, {
        AttributeName: description.ttlAttribute,
        Enabled: true,
      });
      assert.equal((template.toJSON().Resources[id] as Json).DeletionPolicy, 'Retain');
    });
  }
});

describe('functions', () => {
  it('run Node.js 22 on ARM, ESM bundles, logs kept a month, JSON logs without START/END/REPORT lines', () => {
    for (const [id, part] of [
      [ids.router, 'Router'],
      [ids.feedback, 'Feedback'],
      [ids.traceApi, 'TraceApi'],
    ] as const) {
      const props = (template.toJSON().Resources[id] as { Properties: Json }).Properties;
      assert.equal(props.Runtime, 'nodejs22.x');
      assert.deepEqual(props.Architectures, ['arm64']);
      assert.equal(props.Handler, 'index.handler');
      const logGroup = (props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      // Issue 16: system logs at WARN (no per-invocation platform lines), application at INFO.
      const { LogGroup: _, ...logging } = props.LoggingConfig as Json;
      assert.deepEqual(logging, { LogFormat: 'JSON', SystemLogLevel: 'WARN', ApplicationLogLevel: 'INFO' });
      template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
      assert.ok(logGroup.includes(part), `${part} logs to its own group (${logGroup})`);
    }
  });

  it('router: 256 MB, 90 s, reserved concurrency 14 (SES default send rate × 1 s), the settings.ts variables', () => {
    const [, props] = resourceNamed(template, 'AWS::Lambda::Function', 'Router');
    // Issue 16: 256 MB holds the largest message forwarded (bench/memory-limit.ts).
    assert.equal(props.MemorySize, 256);
    assert.equal(props.Timeout, 90);
    assert.equal(props.ReservedConcurrentExecutions, 14);
    assert.deepEqual((props.Environment as { Variables: Json }).Variables, {
      NODE_OPTIONS: '--enable-source-maps',
      OUTBOUND_POOLS_CONFIG_FILE: '/var/task/outbound-pools.json',
      MAIL_BUCKET: { Ref: ids.bucket },
      MAIL_PREFIX: 'raw/',
      LIMITS_TABLE: { Ref: ids.limits },
      TRACE_TABLE: { Ref: ids.trace },
      LEASE_SECONDS: '110',
      MAX_ATTEMPTS: '3',
      RESTRICTION_CACHE_SECONDS: '60',
    });
  });

  it('router: settings.ts accepts its environment, and the bundled configuration is the validated one', () => {
    // Prepare: the asset directory of the router's code in the cloud assembly
    const [, props] = resourceNamed(template, 'AWS::Lambda::Function', 'Router');
    const key = (props.Code as { S3Key: string }).S3Key;
    const assetDir = join(synth.app.outdir, `asset.${key.replace(/\.zip$/, '')}`);
    const vars = (props.Environment as { Variables: Record<string, unknown> }).Variables;
    const env = Object.fromEntries(
      Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : 'resolved-at-deploy']),
    );
    env.OUTBOUND_POOLS_CONFIG_FILE = join(assetDir, 'outbound-pools.json');
    // Act
    const settings = readSettings(env);
    // Assess: the validated configuration with the stack's SES names (prefix "test", issue 15),
    // without the SRS secrets, which the router reads from srs.secretsParameter at cold start.
    const validated = withNamePrefix(infraConfig(), 'test');
    const expected = { ...validated, srs: { ...validated.srs, secrets: [] } };
    assert.equal(expected.pools.normal.configurationSet, 'test-outbound-normal');
    assert.deepEqual(settings.config, expected);
    assert.equal(settings.mailPrefix, 'raw/');
    assert.equal(settings.leaseMs, 110_000);
    assert.equal(settings.maxAttempts, 3);
    const bundled = readFileSync(env.OUTBOUND_POOLS_CONFIG_FILE, 'utf8');
    assert.deepEqual(parseConfigText(bundled), expected);
    for (const secret of infraConfig().srs.secrets)
      assert.ok(!bundled.includes(secret), 'no SRS secret in the asset');
    assert.ok(readFileSync(join(assetDir, 'index.mjs'), 'utf8').startsWith('import { createRequire'));
  });

  it('feedback: the trace table and retention its handler reads', () => {
    const [, props] = resourceNamed(template, 'AWS::Lambda::Function', 'Feedback');
    assert.deepEqual((props.Environment as { Variables: Json }).Variables, {
      NODE_OPTIONS: '--enable-source-maps',
      TRACE_TABLE: { Ref: ids.trace },
      TRACE_RETENTION_DAYS: '30',
    });
  });

  it('no secret reaches the template: the configuration (SRS secrets) is only in the code asset', () => {
    const text = JSON.stringify(template.toJSON());
    for (const secret of infraConfig().srs.secrets) assert.equal(text.includes(secret), false, secret);
    assert.equal(text.includes('OUTBOUND_POOLS_CONFIG"'), false);
    assert.equal(text.includes('OUTBOUND_POOLS_CONFIG_JSON"'), false);
  });
});

describe('IAM: least privilege', () => {
  const routerStatements = () => {
    const [, policy] = resourceNamed(template, 'AWS::IAM::Policy', 'RouterRole');
    return (policy.PolicyDocument as { Statement: Json[] }).Statement;
  };
  const withAction = (statements: Json[], action: string) =>
    statements.filter((s) => asArray(s.Action as string | string[]).includes(action));

  it('SES sending only through the three configuration sets, as the sending identities, as a pool tenant', () => {
    const [send] = withAction(routerStatements(), 'ses:SendEmail');
    const setId = (part: string) => logicalId(template, 'AWS::SES::ConfigurationSet', part);
    // @aws-cdk/aws-iam:minimizePolicies sorts a statement's resources: compare them as sets.
    assert.deepEqual(
      { ...send, Resource: sortJson(asArray(send?.Resource)) },
      {
        Effect: 'Allow',
        Action: 'ses:SendEmail',
        Condition: {
          StringEquals: {
            'ses:TenantName': ['test-outbound-normal', 'test-outbound-high-risk', 'test-outbound-relay'],
          },
        },
        Resource: sortJson([
          ...['Normal', 'HighRisk', 'Relay'].map((p) => ({
            'Fn::Join': ['', [arn(`:ses:${REGION}:${ACCOUNT}:configuration-set/`), { Ref: setId(p) }]],
          })),
          ...['example.com', 'example.org', 'fwd.example.com'].map((d) =>
            arn(`:ses:${REGION}:${ACCOUNT}:identity/${d}`),
          ),
        ]),
      },
    );
  });

  it('no statement anywhere allows an SES send on "*"', () => {
    for (const s of allStatements(template)) {
      const actions = asArray(s.Action as string | string[]);
      if (actions.some((a) => a.startsWith('ses:Send') || a === 'ses:*' || a === '*')) {
        assert.ok(!asArray(s.Resource).includes('*'), JSON.stringify(s));
      }
    }
  });

  it('S3: reads raw mail under the prefix only (and may list the bucket: a missing object is 404)', () => {
    const statements = routerStatements();
    assert.deepEqual(withAction(statements, 's3:GetObject'), [
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [getAtt(ids.bucket), '/raw/*']] },
      },
    ]);
    assert.deepEqual(withAction(statements, 's3:ListBucket'), [
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: getAtt(ids.bucket),
      },
    ]);
    assert.equal(withAction(statements, 's3:PutObject').length, 0);
  });

  it('DynamoDB: item reads and writes on the two tables only (no index), no Scan', () => {
    const dynamo = withAction(routerStatements(), 'dynamodb:UpdateItem');
    assert.deepEqual(
      sortJson(dynamo.flatMap((s) => asArray(s.Resource))),
      sortJson([ids.limits, ids.trace].map((t) => getAtt(t))),
    );
    for (const s of routerStatements()) {
      assert.ok(
        !asArray(s.Action as string[]).some(
          (a) => a === 'dynamodb:Scan' || a.startsWith('dynamodb:GetRecords'),
        ),
      );
    }
  });

  it('SSM: reads the SRS secrets and the ARC key parameters, nothing else', () => {
    assert.deepEqual(withAction(routerStatements(), 'ssm:GetParameter'), [
      {
        Effect: 'Allow',
        Action: 'ssm:GetParameter',
        Resource: [
          arn(`:ssm:${REGION}:${ACCOUNT}:parameter${ARC_PARAMETER}`),
          arn(`:ssm:${REGION}:${ACCOUNT}:parameter${SRS_PARAMETER}`),
        ],
      },
    ]);
  });

  it('feedback: appends to the trace table only', () => {
    const [, policy] = resourceNamed(template, 'AWS::IAM::Policy', 'FeedbackRole');
    const statements = (policy.PolicyDocument as { Statement: Json[] }).Statement;
    const dynamo = statements.filter((s) => JSON.stringify(s.Action).includes('dynamodb:'));
    assert.deepEqual(dynamo, [
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        Resource: getAtt(ids.trace),
      },
    ]);
  });

  it('roles carry no AWS managed policy: logs go to their own log group', () => {
    for (const [, role] of resourcesOf(template, 'AWS::IAM::Role')) {
      assert.equal(role.ManagedPolicyArns, undefined);
    }
  });
});

describe('trace API (SPEC 6: an authenticated HTTP endpoint)', () => {
  it('is a function URL with IAM authentication, and nothing grants it to everyone', () => {
    const urls = resourcesOf(template, 'AWS::Lambda::Url');
    assert.equal(urls.length, 1);
    assert.deepEqual(urls[0]![1], { AuthType: 'AWS_IAM', TargetFunctionArn: getAtt(ids.traceApi) });
    for (const [, permission] of resourcesOf(template, 'AWS::Lambda::Permission')) {
      assert.notEqual(permission.Principal, '*', JSON.stringify(permission));
    }
  });

  it('reads the trace table its handler is given: GetItem, BatchGetItem, Query, nothing else', () => {
    const [, props] = resourceNamed(template, 'AWS::Lambda::Function', 'TraceApi');
    assert.deepEqual((props.Environment as { Variables: Json }).Variables, {
      NODE_OPTIONS: '--enable-source-maps',
      TRACE_TABLE: { Ref: ids.trace },
    });
    const [, policy] = resourceNamed(template, 'AWS::IAM::Policy', 'TraceApiRole');
    const statements = (policy.PolicyDocument as { Statement: Json[] }).Statement;
    const dynamo = statements.filter((s) => JSON.stringify(s.Action).includes('dynamodb:'));
    // minimizePolicies (cdk.json) sorts actions and resources: compare resources as a set.
    assert.deepEqual(
      dynamo.map((st) => ({ ...st, Resource: sortJson(asArray(st.Resource)) })),
      [
        {
          Effect: 'Allow',
          Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'],
          Resource: sortJson([
            getAtt(ids.trace),
            ...['byPoolDay'].map((index) => ({
              'Fn::Join': ['', [getAtt(ids.trace), `/index/${index}`]],
            })),
          ]),
        },
      ],
    );
  });

  it('gives operators a managed policy with both actions a function URL call needs, on this function', () => {
    const [, policy] = resourceNamed(template, 'AWS::IAM::ManagedPolicy', 'ReadersPolicy');
    assert.deepEqual((policy.PolicyDocument as { Statement: Json[] }).Statement, [
      {
        Effect: 'Allow',
        Action: 'lambda:InvokeFunctionUrl',
        Resource: getAtt(ids.traceApi),
        Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
      },
      {
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: getAtt(ids.traceApi),
        Condition: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
      },
    ]);
  });

  it('outputs the URL and the readers policy', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    assert.deepEqual(outputs.TraceApiUrl?.Value, {
      'Fn::GetAtt': [logicalId(template, 'AWS::Lambda::Url', 'TraceApi'), 'FunctionUrl'],
    });
    assert.deepEqual(outputs.TraceApiReadersPolicyArn?.Value, {
      Ref: logicalId(template, 'AWS::IAM::ManagedPolicy', 'ReadersPolicy'),
    });
  });
});

describe('dead-letter queues', () => {
  for (const fn of ['router', 'feedback'] as const) {
    it(`${fn}: two retries, then the event goes to an encrypted, TLS-only queue kept 14 days`, () => {
      const fnId = ids[fn];
      const dlq = fn === 'router' ? ids.routerDlq : ids.feedbackDlq;
      // Issue 15: the router's failures go through the dead-letter recorder (trace status
      // dead-letter), which queues them; its own failures go to the same queue.
      const recorder = logicalId(template, 'AWS::Lambda::Function', 'DeadLetters');
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: fnId },
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 21_600,
        DestinationConfig: { OnFailure: { Destination: getAtt(fn === 'router' ? recorder : dlq) } },
      });
      if (fn === 'router') {
        template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
          FunctionName: { Ref: recorder },
          MaximumRetryAttempts: 2,
          DestinationConfig: { OnFailure: { Destination: getAtt(dlq) } },
        });
        const [, props] = resourceNamed(template, 'AWS::Lambda::Function', 'DeadLetters');
        const vars = (props.Environment as { Variables: Record<string, unknown> }).Variables;
        assert.deepEqual(vars.DEAD_LETTER_QUEUE_URL, { Ref: dlq });
        assert.deepEqual(vars.TRACE_TABLE, { Ref: ids.trace });
        // The router may invoke the recorder (the destination), the recorder may write the queue.
        const statements = allStatements(template);
        assert.ok(
          statements.some(
            (st) => st.Action === 'lambda:InvokeFunction' && JSON.stringify(st.Resource).includes(recorder),
          ),
          'the router may invoke the recorder',
        );
        assert.ok(
          statements.some(
            (st) =>
              JSON.stringify(st.Action).includes('sqs:SendMessage') &&
              JSON.stringify(st.Resource) === JSON.stringify(getAtt(dlq)),
          ),
          'the recorder may send to the queue',
        );
        assert.ok(
          statements.some(
            (st) =>
              st.Action === 'dynamodb:UpdateItem' &&
              JSON.stringify(st.Resource) === JSON.stringify(getAtt(ids.trace)),
          ),
          'the recorder may update the trace table, only',
        );
        const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
        assert.deepEqual(outputs.RouterDeadLetterQueueUrl?.Value, { Ref: dlq });
        assert.deepEqual(outputs.RouterFunctionName?.Value, { Ref: ids.router });
      }
      const resource = template.toJSON().Resources[dlq] as { Properties: Json } & Json;
      assert.deepEqual(resource.Properties, {
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 1_209_600,
      });
      // Issue 15: kept when the stack goes, like the tables: it holds mail not delivered yet.
      assert.equal(resource.DeletionPolicy, 'Retain');
      assert.equal(resource.UpdateReplacePolicy, 'Retain');
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: dlq }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    if (fn === 'router') {
      it('router: told its attempt budget (MAX_ATTEMPTS = 1 + MaximumRetryAttempts); its lease ends before the retry of a timeout', () => {
        const [, config] = resourcesOf(template, 'AWS::Lambda::EventInvokeConfig').find(
          ([, c]) => JSON.stringify(c.FunctionName) === JSON.stringify({ Ref: ids.router }),
        )!;
        const [, props] = resourceNamed(template, 'AWS::Lambda::Function', 'Router');
        const vars = (props.Environment as { Variables: Record<string, string> }).Variables;
        assert.equal(Number(vars.MAX_ATTEMPTS), 1 + (config.MaximumRetryAttempts as number));
        // Lambda retries a timed-out invocation after about a minute (AWS Lambda Developer
        // Guide, "How Lambda handles errors and retries with asynchronous invocation"): the
        // claim, taken after the invocation started, must have run out by then.
        assert.ok(Number(vars.LEASE_SECONDS) < (props.Timeout as number) + 60, `lease ${vars.LEASE_SECONDS}`);
        assert.ok(
          Number(vars.LEASE_SECONDS) > (props.Timeout as number),
          'the lease outlives the invocation',
        );
      });
    }

    it(`${fn}: alarms as soon as one event is in the queue`, () => {
      const dlq = fn === 'router' ? ids.routerDlq : ids.feedbackDlq;
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    });
  }
});

describe('dashboard and alarms', () => {
  it('shows every router metric, the functions, the queues and each configuration set', () => {
    const metrics = dashboardMetrics(dashboardBody(template));
    const names = new Set(metrics.map((m) => m.metricName));
    for (const name of Object.values(METRIC)) assert.ok(names.has(name), name);
    for (const name of ['Errors', 'Throttles', 'ApproximateNumberOfMessagesVisible'])
      assert.ok(names.has(name), name);
    const latency = metrics.filter((m) => m.metricName === METRIC.decisionLatency).map((m) => m.stat);
    assert.deepEqual(latency, ['p50', 'p99']);
    for (const set of ['test-outbound-normal', 'test-outbound-high-risk', 'test-outbound-relay']) {
      for (const rate of ['Reputation.BounceRate', 'Reputation.ComplaintRate']) {
        assert.ok(
          metrics.some(
            (m) =>
              m.namespace === 'AWS/SES' &&
              m.metricName === rate &&
              m.dimensions['ses:configuration-set'] === set,
          ),
          `${rate} ${set}`,
        );
      }
      for (const event of ['Send', 'Delivery', 'Bounce', 'Complaint']) {
        assert.ok(
          metrics.some(
            (m) =>
              m.expression?.includes(`MetricName="${event}"`) &&
              m.expression.includes(`"ses:configuration-set"="${set}"`),
          ),
          `${event} ${set}`,
        );
      }
    }
  });

  it('shows the trace API function (invocations, errors, throttles); only its URL 5xx alarm watches it', () => {
    const widget = dashboardBody(template).widgets.find(
      (w) => (w.properties as Json | undefined)?.title === 'Trace API: invocations, errors, throttles',
    );
    assert.ok(widget, 'a trace API widget');
    const metrics = dashboardMetrics({ widgets: [widget] });
    assert.deepEqual(
      metrics.map((m) => m.metricName),
      ['Invocations', 'Errors', 'Throttles', 'Duration'],
    );
    // The body names the function by reference: the trace API's, in the raw template.
    const [[, dashboard]] = resourcesOf(template, 'AWS::CloudWatch::Dashboard') as [[string, Json]];
    assert.match(JSON.stringify(dashboard.DashboardBody), new RegExp(`"Ref":"${ids.traceApi}"`));
    // Issue 15: a caller sees its errors, but operators are told of 5xx (Url5xxCount) too.
    const watching = resourcesOf(template, 'AWS::CloudWatch::Alarm')
      .filter(([, alarm]) => JSON.stringify(alarm).includes(ids.traceApi))
      .map(([, alarm]) => alarm.MetricName);
    assert.deepEqual(watching, ['Url5xxCount']);
  });

  it('alarms when the normal pool bounces over 2.5 % or draws complaints over 0.05 % (below SES)', () => {
    for (const [metric, threshold] of [
      ['Reputation.BounceRate', 0.025],
      ['Reputation.ComplaintRate', 0.0005],
    ] as const) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SES',
        MetricName: metric,
        Dimensions: [{ Name: 'ses:configuration-set', Value: 'test-outbound-normal' }],
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
  });

  it('alarms on router errors; twenty-five alarms in all, notifying nobody without a topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: ids.router } }],
      Threshold: 5,
    });
    const alarms = resourcesOf(template, 'AWS::CloudWatch::Alarm');
    // 3 of the dashboard (dead letters twice, router errors: its normal-pool rate alarms are
    // the reputation alarms' own), 12 of issue 14 (account and pool rates, SendsFailed, NDR and
    // relay surges, mail blocked by a paused pool), 10 of the functions (issue 15: destinations,
    // dropped events, throttles, errors, 5xx; the recorder's destination and dropped events and
    // the pause function's errors).
    assert.equal(alarms.length, 25);
    // One alarm per metric and threshold: no breach is told twice (review of December 2026).
    const signatures = alarms.map(([, a]) =>
      JSON.stringify([a.Namespace, a.MetricName, a.Dimensions, a.Metrics, a.Threshold, a.ComparisonOperator]),
    );
    assert.equal(new Set(signatures).size, signatures.length);
    for (const [id, alarm] of alarms) {
      // The pool rate alarms pause their pool (a Lambda action); none notifies without a topic.
      const actions = JSON.stringify(alarm.AlarmActions ?? []);
      assert.doesNotMatch(actions, /AWS::SNS|Topic/, id);
    }
  });
});
