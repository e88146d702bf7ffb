/**
 * docs/operations.md, "The feedback queue": the redrive script operators paste, run as written
 * (bash and jq, as on an operator's machine) against a stand-in `aws` whose `lambda invoke` runs
 * the real feedback function (`processFeedback`) in a process of its own and answers as the CLI
 * does: exit 0 and `FunctionError` in its output when the function failed. The oracle is
 * what the queue should hold afterwards: a record is deleted only when its event was filed.
 *
 * Review of December 2026: the script ran `jq -c .requestPayload` on every record — `null` for
 * an EventBridge dead letter, whose body is the event — and invoked with `--invocation-type
 * Event` (202 whatever happens), so it deleted EventBridge's dead letters unfiled.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../../lib/lambda-bundling.js';

const GUIDE = readFileSync(join(PROJECT_ROOT, 'docs/operations.md'), 'utf8');

/** The first `sh` block of the section "The feedback queue". */
function documentedScript(): string {
  const section = /^### The feedback queue\n([\s\S]*?)(?=^#{2,3} )/m.exec(GUIDE)?.[1];
  assert.ok(section, 'docs/operations.md has a section "The feedback queue"');
  const block = /^```sh\n([\s\S]*?)^```/m.exec(section)?.[1];
  assert.ok(block, 'the section has a `sh` block');
  return block;
}

const event = (id: string, inboundId: string) => ({
  version: '0',
  id,
  'detail-type': 'Email Bounced',
  source: 'aws.ses',
  account: '123456789012',
  time: '2026-12-06T10:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail: {
    eventType: 'Bounce',
    bounce: {
      bounceType: 'Permanent',
      bounceSubType: 'General',
      bouncedRecipients: [{ emailAddress: 'bob@rcpt.example' }],
      timestamp: '2026-12-06T10:00:00.000Z',
    },
    mail: {
      timestamp: '2026-12-06T09:59:59.000Z',
      messageId: `ses-${id}`,
      tags: { 'ses:configuration-set': ['outbound-normal'], inbound_id: [inboundId] },
    },
  },
});

/** The queue: handle → body. */
const QUEUE: Record<string, unknown> = {
  // Lambda's on-failure destination record (Lambda Developer Guide, "Capturing records of
  // asynchronous invocations").
  'h-lambda': {
    version: '1.0',
    timestamp: '2026-12-06T10:03:00.000Z',
    requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 },
    requestPayload: event('e1', 'inbound-1'),
    responseContext: { statusCode: 200, functionError: 'Unhandled' },
  },
  // EventBridge's dead letter: the body is the event itself.
  'h-eventbridge': event('e2', 'inbound-2'),
  // A record holding no event: must stay in the queue.
  'h-empty': { requestPayload: null },
};

describe('docs/operations.md: the feedback redrive script', () => {
  let dir: string;
  let run: ReturnType<typeof spawnSync>;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'feedback-redrive-'));
    writeFileSync(
      join(dir, 'messages.tsv'),
      Object.entries(QUEUE)
        .map(([handle, body]) => `${handle}\t${JSON.stringify(body)}\n`)
        .join(''),
    );
    // The function, invoked synchronously: files into filed.jsonl, answers like `aws lambda invoke`.
    writeFileSync(
      join(dir, 'invoke.mts'),
      `import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { processFeedback } from ${JSON.stringify(pathToFileURL(join(PROJECT_ROOT, 'functions/feedback/handler.ts')).href)};
const [payloadFile, outFile, filed] = process.argv.slice(2);
const trace = { appendEvent: async (id: string, e: { type: string }) => (appendFileSync(filed!, JSON.stringify([id, e.type]) + '\\n'), true) };
try {
  const result = await processFeedback(JSON.parse(readFileSync(payloadFile!, 'utf8')), trace as never, new Date());
  writeFileSync(outFile!, JSON.stringify(result));
  console.log(JSON.stringify({ StatusCode: 200, ExecutedVersion: '$LATEST' }));
} catch (error) {
  writeFileSync(outFile!, JSON.stringify({ errorType: (error as Error).name, errorMessage: (error as Error).message }));
  console.log(JSON.stringify({ StatusCode: 200, FunctionError: 'Unhandled', ExecutedVersion: '$LATEST' }));
}
`,
    );
    const node = JSON.stringify(process.execPath);
    writeFileSync(
      join(dir, 'aws'),
      `#!/usr/bin/env bash
set -euo pipefail
D=${JSON.stringify(dir)}
case "$1 $2" in
  "sqs get-queue-url") echo "https://sqs.example/QUEUE" ;;
  "sqs receive-message") cat "$D/messages.tsv" ;;
  "sqs delete-message")
    while [ $# -gt 0 ]; do [ "$1" = --receipt-handle ] && echo "$2" >> "$D/deleted"; shift; done ;;
  "lambda invoke")
    payload= ; out= ; type=
    shift 2
    while [ $# -gt 0 ]; do
      case "$1" in
        --payload) payload="\${2#file://}"; shift 2 ;;
        --invocation-type) type="$2"; shift 2 ;;
        --*) shift 2 ;;
        *) out="$1"; shift ;;
      esac
    done
    echo "$type" >> "$D/invocation-types"
    if [ "$type" = Event ]; then
      # Queued: 202 before the function runs, whatever it then does.
      (cd ${JSON.stringify(PROJECT_ROOT)} && ${node} --import tsx "$D/invoke.mts" "$payload" /dev/null "$D/filed.jsonl" > /dev/null)
      echo '{"StatusCode": 202}'
    else
      (cd ${JSON.stringify(PROJECT_ROOT)} && ${node} --import tsx "$D/invoke.mts" "$payload" "$out" "$D/filed.jsonl")
    fi ;;
  *) echo "unexpected: aws $*" >&2; exit 2 ;;
esac
`,
    );
    chmodSync(join(dir, 'aws'), 0o755);
    // The script's scratch files go to this test's directory, not the shared /tmp.
    const script = documentedScript().replaceAll('/tmp/', `${dir}/`);
    run = spawnSync('bash', ['-eo', 'pipefail', '-c', script], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
      timeout: 120_000,
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const lines = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };

  it('runs', () => {
    assert.equal(run.error, undefined, String(run.error));
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  });

  it('files the event of a Lambda on-failure record and of an EventBridge dead letter', () => {
    assert.deepEqual(lines('filed.jsonl').sort(), ['["inbound-1","Bounce"]', '["inbound-2","Bounce"]']);
  });

  it('invokes synchronously, and deletes exactly the records whose invocation succeeded', () => {
    assert.deepEqual([...new Set(lines('invocation-types'))], ['RequestResponse']);
    assert.deepEqual(lines('deleted').sort(), ['h-eventbridge', 'h-lambda']);
    assert.match(String(run.stderr), /kept: .*no SES event/);
  });
});
