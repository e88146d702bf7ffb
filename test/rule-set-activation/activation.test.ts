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
  handleActivation,
  putResponse,
  type RuleSetControl,
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

describe('handleActivation', () => {
  it('Create: activates, answers SUCCESS with the rule set name as physical id, no content type', async () => {
    received.length = 0;
    const ses = recordedSes(ANSWERS.another);
    const outcome = await handleActivation(event('Create'), ses, putResponse);
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
    await handleActivation(event('Delete', { PhysicalResourceId: OURS }), ses, putResponse);
    assert.deepEqual(ses.calls, []);
    assert.equal(received[0]!.body.Status, 'SUCCESS');
  });

  it('Delete while ours is active: deactivates (no name)', async () => {
    const ses = recordedSes(ANSWERS.ours);
    await handleActivation(event('Delete', { PhysicalResourceId: OURS }), ses, putResponse);
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
        handleActivation(event('Create'), recordedSes(ANSWERS.none), putResponse),
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
        handleActivation(e, recordedSes(ANSWERS.none), putResponse),
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
