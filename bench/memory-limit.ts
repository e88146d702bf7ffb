/**
 * Does the router fit a memory size? `npx tsx bench/memory-limit.ts [MB ...]`
 * (default 256 and 512; ~20 s each) runs the router **bundle** as deployed on the largest
 * message it forwards and reports the process's peak resident memory, the kernel's
 * high-water mark (`VmHWM`), against each memory size, which bounds a Lambda sandbox's memory.
 *
 * The largest message: SES sends at most 40 MB per message through the v2 API ("Service
 * quotas in Amazon SES", Amazon SES Developer Guide) and has received up to 40 MB since April
 * 2022 (https://aws.amazon.com/about-aws/whats-new/2022/04/amazon-ses-v2-supports-email-size-40mb-inbound-outbound-emails-default/);
 * that is the router's `maxMessageBytes` default (41,943,040 bytes, `functions/core/config.ts`). The largest message that is *forwarded* — read,
 * verified, sealed and sent, the most memory any message takes — is 40 MiB less the copy's
 * reserve (`copySizeBound`, ~13 KB with ARC). Here: a DKIM-signed multipart message with a
 * base64 attachment, 41,943,040 − 32 KiB bytes in all. A larger one is blocked, unread or
 * without a copy (less memory).
 *
 * Each size runs in a fresh `node --enable-source-maps` (the stack's `NODE_OPTIONS`) with the
 * V8 limits Lambda's Node.js runtime sets for that size (its `bootstrap`: semi-space = size /
 * 20, old space = size − size / 10), running a plain-JavaScript runner (no tsx, whose loader
 * would be counted): it imports the router bundle, builds the handler as the cold-start bench
 * does (secrets from SSM through the transport), routes three plain messages, stores the big
 * one in the in-memory S3 and routes it, checks one copy was sent, and reads `VmHWM`: the
 * peak of the process's whole life. That process holds one thing a Lambda does not: the S3
 * object itself (the transport's stored bytes; in Lambda they arrive over the network), so
 * `peakMiB` errs high by the message and `lambdaPeakMiB` is it less the stored object.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LIMITS_TABLE, TRACE_TABLE } from '../functions/adapters/tables.js';
import { SES_MAX_MESSAGE_BYTES } from '../functions/core/config.js';
import { buildDeployedBundles } from './bundles.js';
import { asDeployed } from './cold-deployed.js';
import { buildCorpus, receiptEvent, signMessage, unsignedMessage } from './corpus.js';
import { lambdaNodeFlags } from './lambda-node.js';
import { BUCKET, PREFIX, routerEnvironment } from './runners.js';

/** Plain JavaScript, run as a Lambda would run the bundle (no tsx). */
const RUNNER = `
const { readFileSync } = await import('node:fs');
const setup = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const mod = await import(setup.bundle);
const transport = new mod.InMemoryAws({ tables: setup.tables, parameters: setup.parameters });
const handler = mod.makeRouter({ env: setup.env, zones: setup.zones, transport, now: setup.now });
const context = (id) => ({ functionName: 'router', awsRequestId: id, invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:router', memoryLimitInMB: String(setup.memoryMb), getRemainingTimeInMillis: () => 90000 });
const plain = readFileSync(setup.plainFile);
for (const [id, event] of setup.warmEvents) {
  await transport.putObject(setup.bucket, setup.prefix + id, plain);
  await handler(event, context(id));
}
const objectBytes = await (async () => {
  const big = readFileSync(setup.bigFile);
  await transport.putObject(setup.bucket, setup.prefix + setup.bigId, big);
  return big.length;
})();
await handler(setup.bigEvent, context(setup.bigId));
const sent = transport.tally.requests['ses:SendEmail'] ?? 0;
if (sent !== setup.warmEvents.length + 1) throw new Error('the big message was not forwarded: ' + sent + ' sends');
const status = readFileSync('/proc/self/status', 'utf8').split('\\n');
const kb = (name) => Number(status.find((l) => l.startsWith(name + ':')).split(/ +/).at(-2));
process.stderr.write(JSON.stringify({ vmHwmKb: kb('VmHWM'), vmRssKb: kb('VmRSS'), objectBytes }) + '\\n');
`;

const OUT = 'bench/out/memory-limit';
/** Under the largest message SES sends by more than any copy's growth (`copySizeBound`). */
const COPY_RESERVE = 32 * 1024;

/** The attach-10mb message with its attachment grown so the message is `total` bytes or just under. */
function largestForwarded(total: number): Buffer {
  const template = unsignedMessage('attach-10mb', 'attach-max').toString('latin1');
  const start = template.indexOf('\r\n\r\n', template.indexOf('filename="report.pdf"')) + 4;
  const end = template.indexOf('\r\n--mix--');
  const room = total - (template.length - (end - start));
  // 76 base64 characters + CRLF per line encode 57 bytes.
  const lines = Math.floor(room / 78);
  const b64 = randomBytes(lines * 57)
    .toString('base64')
    .replace(/.{76}/g, '$&\r\n')
    .replace(/\r\n$/, '');
  return Buffer.from(template.slice(0, start) + b64 + template.slice(end), 'latin1');
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number);
  // Lambda's range (AWS Lambda Developer Guide, "Configure Lambda function memory").
  if (!sizes.every((mb) => Number.isInteger(mb) && mb >= 128 && mb <= 10_240)) {
    throw new Error(`memory sizes are MB from 128 to 10240: ${process.argv.slice(2).join(' ')}`);
  }
  const memorySizes = sizes.length > 0 ? sizes : [256, 512];
  const corpusDir = join(OUT, 'corpus');
  mkdirSync(corpusDir, { recursive: true });
  const corpus = await buildCorpus({ dir: corpusDir, shapes: ['plain'], signatureCounts: [1] });
  // DKIM signing reads the body once; the signature goes on top (a few hundred bytes).
  const big = await signMessage(
    largestForwarded(SES_MAX_MESSAGE_BYTES - COPY_RESERVE),
    corpus.dkimKeys,
    1,
    corpus.now,
  );
  const plainFile = join(OUT, 'plain.eml');
  const bigFile = join(OUT, 'big.eml');
  writeFileSync(plainFile, corpus.messages[0]!.raw);
  writeFileSync(bigFile, big);
  const bundles = await buildDeployedBundles(join(OUT, 'bundles'));
  const { config, parameters } = asDeployed(corpus.configJson);
  const runner = join(OUT, 'runner.mjs');
  writeFileSync(runner, RUNNER);
  const rows: Record<string, number>[] = [];
  const MiB = 1024 * 1024;
  for (const mb of memorySizes) {
    const ids = ['mem-warm-1', 'mem-warm-2', 'mem-warm-3'];
    const setupFile = join(OUT, `setup-${mb}.json`);
    writeFileSync(
      setupFile,
      JSON.stringify({
        bundle: resolve(bundles.router.file),
        memoryMb: mb,
        env: routerEnvironment(config),
        tables: { 'bench-limits': LIMITS_TABLE, 'bench-trace': TRACE_TABLE },
        parameters,
        zones: corpus.zones,
        now: corpus.now.toISOString(),
        bucket: BUCKET,
        prefix: PREFIX,
        plainFile,
        bigFile,
        warmEvents: ids.map((id) => [id, receiptEvent({ messageId: id })]),
        bigId: 'mem-big',
        bigEvent: receiptEvent({ messageId: 'mem-big' }),
      }),
    );
    const child = spawnSync(
      process.execPath,
      ['--enable-source-maps', ...lambdaNodeFlags(mb), runner, setupFile],
      { encoding: 'utf8', maxBuffer: 64 * MiB },
    );
    const line = child.stderr
      .trim()
      .split('\n')
      .reverse()
      .find((l) => l.startsWith('{"vmHwmKb"'));
    if (child.status !== 0 || !line)
      throw new Error(`runner at ${mb} MB failed (${child.status}): ${child.stderr.slice(-1500)}`);
    const r = JSON.parse(line) as { vmHwmKb: number; vmRssKb: number; objectBytes: number };
    const peak = (r.vmHwmKb * 1024) / MiB;
    const lambdaPeak = peak - r.objectBytes / MiB;
    rows.push({
      memoryMb: mb,
      messageBytes: r.objectBytes,
      peakMiB: +peak.toFixed(1),
      lambdaPeakMiB: +lambdaPeak.toFixed(1),
      headroomMiB: +(mb - lambdaPeak).toFixed(1),
      lambdaPeakShare: +(lambdaPeak / mb).toFixed(2),
    });
    process.stdout.write(`${JSON.stringify(rows.at(-1))}\n`);
  }
  writeFileSync(join(OUT, 'result.json'), `${JSON.stringify(rows, null, 2)}\n`);
}

await main();
