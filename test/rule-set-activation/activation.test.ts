/**
 * The rule-set activation custom resource: the decision over SES's recorded answers to
 * `DescribeActiveReceiptRuleSet` (ours, another stack's, none) for Create, Update and Delete,
 * and the handler answering CloudFormation over HTTP (a local server stands in for the
 * pre-signed S3 URL).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { DescribeActiveReceiptRuleSetCommandOutput, SESClient } from '@aws-sdk/client-ses';
import {
  type ActivationRequest,
  type DescribeActiveAnswer,
  decideActivation,
} from '../../functions/rule-set-activation/decide.js';
import {
  cloudFormationStackStatus,
  handleActivation,
  putResponse,
  type RuleSetControl,
  type StackStatusReader,
  sesRuleSetControl,
} from '../../functions/rule-set-activation/handler.js';

// DescribeActiveReceiptRuleSet answers as the SDK returns them (JSON of real responses, trimmed
// of the rules' actions): a set is active, or none is (SES then returns no Metadata).
const ANSWERS: Record<'ours' | 'another' | 'none', DescribeActiveReceiptRuleSetCommandOutput> = {
  ours: {
    $metadata: { httpStatusCode: 200, requestId: '5f0b1c4e-1d1e-4a40-9c55-0d3b1f6b2a11', attempts: 1 },
    Metadata: { Name: 'staging-inbound', CreatedTimestamp: new Date('2026-11-30T09:12:44.512Z') },
    Rules: [{ Name: 'staging-route-to-pools', Enabled: true, TlsPolicy: 'Optional', ScanEnabled: true }],
  },
  another: {
    $metadata: { httpStatusCode: 200, requestId: '9a2e8c71-0b7e-4f0e-8f5b-6a51f3a1d2c9', attempts: 1 },
    Metadata: { Name: 'production-inbound', CreatedTimestamp: new Date('2026-10-02T14:01:09.004Z') },
    Rules: [{ Name: 'production-route-to-pools', Enabled: true, TlsPolicy: 'Optional', ScanEnabled: true }],
  },
  none: {
    $metadata: { httpStatusCode: 200, requestId: '0c6e4f55-7a1b-4a8e-b2de-33f7c1e90b42', attempts: 1 },
  },
};

const OURS = 'staging-inbound';
const request = (requestType: ActivationRequest['requestType'], physicalResourceId?: string) => ({
  requestType,
  ruleSetName: OURS,
  ...(physicalResourceId ? { physicalResourceId } : {}),
});

/** A Delete while the stack is in `stackStatus`. */
const deleting = (stackStatus: string | null): ActivationRequest => ({
  ...request('Delete', OURS),
  stackStatus,
});

describe('decideActivation over recorded answers', () => {
  const cases: [string, ActivationRequest, keyof typeof ANSWERS, string][] = [
    ['Create, ours already active', request('Create'), 'ours', 'none'],
    ['Create, another set active: replaced', request('Create'), 'another', `activate ${OURS}`],
    ['Create, none active', request('Create'), 'none', `activate ${OURS}`],
    ['Update, ours active', request('Update', OURS), 'ours', 'none'],
    ['Update, another set active', request('Update', OURS), 'another', `activate ${OURS}`],
    ['Update, none active', request('Update', OURS), 'none', `activate ${OURS}`],
    ['Delete, ours active: deactivated', request('Delete', OURS), 'ours', 'deactivate'],
    ['Delete, another set active: left alone', request('Delete', OURS), 'another', 'none'],
    ['Delete, none active', request('Delete', OURS), 'none', 'none'],
    // The stack's status says whether the stack goes, or the resource only left its template.
    ['Delete in DELETE_IN_PROGRESS, ours active', deleting('DELETE_IN_PROGRESS'), 'ours', 'deactivate'],
    [
      'Delete in ROLLBACK_IN_PROGRESS (creation rolled back), ours active',
      deleting('ROLLBACK_IN_PROGRESS'),
      'ours',
      'deactivate',
    ],
    ['Delete, stack not found, ours active', deleting(null), 'ours', 'deactivate'],
    [
      'Delete in UPDATE_COMPLETE_CLEANUP_IN_PROGRESS (activateRuleSet turned off), ours active: left',
      deleting('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'),
      'ours',
      'none',
    ],
    [
      'Delete in UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS, ours active: left',
      deleting('UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS'),
      'ours',
      'none',
    ],
  ];
  for (const [name, req, answer, expected] of cases) {
    it(name, () => {
      const d = decideActivation(req, ANSWERS[answer]);
      const step = d.step.call === 'activate' ? `activate ${d.step.ruleSetName}` : d.step.call;
      assert.equal(step, expected);
      // The physical id is always the rule set name: stable across updates.
      assert.equal(d.physicalResourceId, OURS);
      assert.ok(d.reason.length > 0 && !d.reason.includes('\n'));
    });
  }

  it("a renamed rule set: Update activates the new name under a new id; the old id's Delete leaves it", () => {
    // Update: the properties name the new set, the physical id is still the old one.
    const update = decideActivation(
      { requestType: 'Update', ruleSetName: 'staging2-inbound', physicalResourceId: OURS },
      ANSWERS.ours,
    );
    assert.deepEqual(update.step, { call: 'activate', ruleSetName: 'staging2-inbound' });
    assert.equal(update.physicalResourceId, 'staging2-inbound');
    // CloudFormation then deletes the old id, while the new set is active.
    const cleanup = decideActivation(
      { requestType: 'Delete', ruleSetName: OURS, physicalResourceId: OURS },
      { Metadata: { Name: 'staging2-inbound' } },
    );
    assert.deepEqual(cleanup.step, { call: 'none' });
  });

  it('Delete judges "ours" by the physical id, not by the properties', () => {
    const d = decideActivation(
      { requestType: 'Delete', ruleSetName: 'something-else', physicalResourceId: 'production-inbound' },
      ANSWERS.another,
    );
    assert.deepEqual(d.step, { call: 'deactivate' });
  });
});

/** A local stand-in for the pre-signed response URL: records each PUT. */
let server: ReturnType<typeof createServer>;
let baseUrl: string;
const received: { method: string; contentType: string | undefined; body: Record<string, unknown> }[] = [];
let status = 200;

before(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString();
    });
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        contentType: req.headers['content-type'],
        body: JSON.parse(text),
      });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
});

/** SES as recorded: answers `describe` with one of the answers, records `setActive` calls. */
function recordedSes(
  answer: DescribeActiveAnswer | Error,
): RuleSetControl & { calls: (string | undefined)[] } {
  const calls: (string | undefined)[] = [];
  return {
    calls,
    describeActive: async () => {
      if (answer instanceof Error) throw answer;
      return answer;
    },
    setActive: async (name) => {
      calls.push(name);
    },
  };
}

const event = (type: 'Create' | 'Update' | 'Delete', extra: Record<string, unknown> = {}) => ({
  RequestType: type,
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:activation',
  ResponseURL: `${baseUrl}/cfn-response?X-Amz-Signature=abc`,
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Staging/1',
  RequestId: `req-${type}`,
  LogicalResourceId: 'ReceiptActivation',
  ResourceType: 'Custom::ActiveReceiptRuleSet',
  ResourceProperties: { ServiceToken: 'x', RuleSetName: OURS },
  ...extra,
});

/** CloudFormation as recorded: the stack's status, or an error; records the stacks asked about. */
function stack(status: string | null | Error): StackStatusReader & { asked: string[] } {
  const asked: string[] = [];
  const read = async (stackId: string) => {
    asked.push(stackId);
    if (status instanceof Error) throw status;
    return status;
  };
  return Object.assign(read, { asked });
}

describe('handleActivation', () => {
  it('Delete while an update removes the resource (activateRuleSet turned off): receiving stays on, SUCCESS', async () => {
    received.length = 0;
    const ses = recordedSes(ANSWERS.ours);
    const cfn = stack('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
    const outcome = await handleActivation(
      event('Delete', { PhysicalResourceId: OURS }),
      ses,
      putResponse,
      cfn,
    );
    assert.deepEqual(ses.calls, [], 'no SetActiveReceiptRuleSet');
    assert.deepEqual(cfn.asked, ['arn:aws:cloudformation:eu-west-1:123456789012:stack/Staging/1']);
    assert.equal(received[0]!.body.Status, 'SUCCESS');
    assert.match(outcome.reason, /left the template.*UPDATE_COMPLETE_CLEANUP_IN_PROGRESS/);
  });

  it('Delete when the stack status cannot be read: FAILED with the reason, receiving untouched', async () => {
    received.length = 0;
    const ses = recordedSes(ANSWERS.ours);
    const denied = Object.assign(new Error('not authorized to perform cloudformation:DescribeStacks'), {
      name: 'AccessDenied',
    });
    const outcome = await handleActivation(
      event('Delete', { PhysicalResourceId: OURS }),
      ses,
      putResponse,
      stack(denied),
    );
    assert.equal(outcome.status, 'FAILED');
    assert.deepEqual(ses.calls, []);
    assert.match(String(received[0]!.body.Reason), /^AccessDenied/);
  });

  it('Create and Update never ask CloudFormation', async () => {
    const cfn = stack(new Error('not to be called'));
    for (const type of ['Create', 'Update'] as const) {
      const outcome = await handleActivation(
        event(type, { PhysicalResourceId: OURS }),
        recordedSes(ANSWERS.none),
        putResponse,
        cfn,
      );
      assert.equal(outcome.status, 'SUCCESS');
    }
    assert.deepEqual(cfn.asked, []);
  });

  it('Create: activates, answers SUCCESS with the rule set name as physical id, no content type', async () => {
    received.length = 0;
    const ses = recordedSes(ANSWERS.another);
    const outcome = await handleActivation(event('Create'), ses, putResponse, stack('CREATE_IN_PROGRESS'));
    assert.deepEqual(ses.calls, [OURS]);
    assert.equal(outcome.status, 'SUCCESS');
    assert.equal(received.length, 1);
    assert.equal(received[0]!.method, 'PUT');
    assert.ok(!received[0]!.contentType, `content-type ${received[0]!.contentType}`);
    assert.deepEqual(received[0]!.body, {
      Status: 'SUCCESS',
      Reason: `activated ${OURS} (replacing production-inbound)`,
      PhysicalResourceId: OURS,
      StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Staging/1',
      RequestId: 'req-Create',
      LogicalResourceId: 'ReceiptActivation',
      NoEcho: false,
    });
  });

  it('Delete while another stack is active: no SES write, SUCCESS', async () => {
    received.length = 0;
    const ses = recordedSes(ANSWERS.another);
    await handleActivation(
      event('Delete', { PhysicalResourceId: OURS }),
      ses,
      putResponse,
      stack('DELETE_IN_PROGRESS'),
    );
    assert.deepEqual(ses.calls, []);
    assert.equal(received[0]!.body.Status, 'SUCCESS');
  });

  it('Delete while ours is active: deactivates (no name)', async () => {
    const ses = recordedSes(ANSWERS.ours);
    await handleActivation(
      event('Delete', { PhysicalResourceId: OURS }),
      ses,
      putResponse,
      stack('DELETE_IN_PROGRESS'),
    );
    assert.deepEqual(ses.calls, [undefined]);
  });

  it('an SES error is answered FAILED with the reason, not left unanswered', async () => {
    received.length = 0;
    const denied = Object.assign(new Error('not authorized to perform ses:DescribeActiveReceiptRuleSet'), {
      name: 'AccessDenied',
    });
    const outcome = await handleActivation(
      event('Update', { PhysicalResourceId: OURS }),
      recordedSes(denied),
      putResponse,
      stack('UPDATE_IN_PROGRESS'),
    );
    assert.equal(outcome.status, 'FAILED');
    assert.equal(received[0]!.body.Status, 'FAILED');
    assert.equal(received[0]!.body.PhysicalResourceId, OURS);
    assert.match(String(received[0]!.body.Reason), /^AccessDenied: not authorized/);
  });

  it('a refused response PUT is an error (the invocation fails and is logged)', async () => {
    status = 403;
    try {
      await assert.rejects(
        handleActivation(
          event('Create'),
          recordedSes(ANSWERS.none),
          putResponse,
          stack('CREATE_IN_PROGRESS'),
        ),
        /HTTP 403/,
      );
    } finally {
      status = 200;
    }
  });

  it('a malformed request (no RuleSetName, no URL) is refused', async () => {
    const bad = [
      { ...event('Create'), ResourceProperties: {} },
      { ...event('Create'), ResponseURL: 'not a url' },
      { ...event('Create'), RequestType: 'Replace' },
      null,
    ];
    for (const e of bad) {
      await assert.rejects(
        handleActivation(e, recordedSes(ANSWERS.none), putResponse, stack('CREATE_IN_PROGRESS')),
        /not a CloudFormation/,
      );
    }
  });
});

describe('sesRuleSetControl', () => {
  /** The commands the adapter sends, with canned SDK outputs. */
  function client(output: object) {
    const sent: { name: string; input: unknown }[] = [];
    const c = {
      send: async (command: { constructor: { name: string }; input: unknown }) => {
        sent.push({ name: command.constructor.name, input: command.input });
        return output;
      },
    };
    return { sent, control: sesRuleSetControl(c as unknown as SESClient) };
  }

  it('deactivation sends SetActiveReceiptRuleSet without a name; activation with it', async () => {
    const { sent, control } = client({});
    await control.setActive(undefined);
    await control.setActive(OURS);
    assert.deepEqual(sent, [
      { name: 'SetActiveReceiptRuleSetCommand', input: {} },
      { name: 'SetActiveReceiptRuleSetCommand', input: { RuleSetName: OURS } },
    ]);
  });

  it('describe returns the active name, or no Metadata when none is active', async () => {
    assert.deepEqual(await client(ANSWERS.another).control.describeActive(), {
      Metadata: { Name: 'production-inbound' },
    });
    assert.deepEqual(await client(ANSWERS.none).control.describeActive(), {});
  });
});

describe('cloudFormationStackStatus', () => {
  /** The commands sent, answered with `answer` (an SDK output, or an error thrown as the SDK throws it). */
  function client(answer: object | Error) {
    const sent: { name: string; input: unknown }[] = [];
    const c = {
      send: async (command: { constructor: { name: string }; input: unknown }) => {
        sent.push({ name: command.constructor.name, input: command.input });
        if (answer instanceof Error) throw answer;
        return answer;
      },
    };
    return {
      sent,
      read: cloudFormationStackStatus(c as unknown as Parameters<typeof cloudFormationStackStatus>[0]),
    };
  }
  const STACK = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Staging/1';
  const sdkError = (name: string, message: string) => Object.assign(new Error(message), { name });

  it("DescribeStacks for the request's stack id, its status read", async () => {
    const { sent, read } = client({
      $metadata: { httpStatusCode: 200 },
      Stacks: [
        { StackName: 'Staging', StackId: STACK, StackStatus: 'DELETE_IN_PROGRESS', CreationTime: new Date() },
      ],
    });
    assert.equal(await read(STACK), 'DELETE_IN_PROGRESS');
    assert.deepEqual(sent, [{ name: 'DescribeStacksCommand', input: { StackName: STACK } }]);
  });

  it('a stack that does not exist is null; any other error is thrown', async () => {
    assert.equal(
      await client(sdkError('ValidationError', `Stack with id ${STACK} does not exist`)).read(STACK),
      null,
    );
    await assert.rejects(
      client(sdkError('ValidationError', 'Invalid stack name')).read(STACK),
      /Invalid stack name/,
    );
    await assert.rejects(client(sdkError('AccessDenied', 'not authorized')).read(STACK), /not authorized/);
  });
});
