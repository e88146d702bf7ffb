/**
 * `outbound-pools dry-run --write-copies DIR` (issue 13 item 7): each file holds exactly the
 * bytes the router hands to SES for the same message, event, configuration and clock. The
 * oracle is the router itself, run against the local emulators: what aws-ses-v2-local
 * recorded as `Content.Raw` must equal the file, byte for byte, ARC seal included.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { processReceipt } from '../../functions/router/process.js';
import { dryRunArgs, runCliInProcess } from '../helpers/cli.js';
import { CONFIG_JSON, dkimKey, message, NOW, sesEvent, sign, zones } from '../helpers/mail.js';
import { ARC, type Harness, startHarness, withArcKey } from '../helpers/pipeline.js';

const senderKey = dkimKey('sender.test');
const ROUTES = {
  'alias@example.com': ['dest@remote.test'],
  'team@example.com': ['ann@remote.test', 'bob@example.org'],
};

describe('outbound-pools dry-run --write-copies', () => {
  let h: Harness;
  let dir: string;
  let seq = 0;
  const f = (name: string) => join(dir, name);

  before(async () => {
    h = await startHarness({ routes: ROUTES }, withArcKey([senderKey]));
    dir = mkdtempSync(join(tmpdir(), 'op-copies-'));
    const arc = h.config.arc!;
    writeFileSync(
      f('config.json'),
      JSON.stringify({ ...CONFIG_JSON, routes: ROUTES, arc: { ...ARC, privateKey: arc.privateKey } }),
    );
    writeFileSync(
      f('zones.json'),
      JSON.stringify(zones([senderKey], { 'arc1._domainkey.fwd.example.com': { TXT: [h.arcRecord] } })),
    );
  });
  after(async () => {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await h.emu.ses.clear();
  });

  /** Runs the router and the dry-run on the same input; returns what each produced. */
  async function both(raw: Buffer, eventOpts: Parameters<typeof sesEvent>[0], name: string) {
    const messageId = `copies-${process.pid}-${++seq}`;
    const event = sesEvent({ ...eventOpts, messageId });
    await h.put(messageId, raw);
    await processReceipt(event, await h.deps());
    const sent = h.emu.ses.sent().map((s) => s.raw);
    writeFileSync(f(`${name}.json`), JSON.stringify(event));
    writeFileSync(f(`${name}.eml`), raw);
    const out = f(`${name}-copies`);
    const r = await runCliInProcess([
      ...dryRunArgs(f, NOW, `${name}.json`, `${name}.eml`),
      '--write-copies',
      out,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { copies: { file: string; bytes: number; kind: string }[] };
    const files = readdirSync(out).sort();
    return { sent, report, files, read: (file: string) => readFileSync(file) };
  }

  it('a sealed, rewritten copy: the file is the SendEmail Content.Raw, byte for byte', async () => {
    // Act
    const { sent, report, files, read } = await both(
      await sign(message(), senderKey),
      { spf: 'PASS' },
      'normal',
    );
    // Assess
    assert.equal(sent.length, 1);
    assert.deepEqual(files, ['copy-1-forward-normal.eml']);
    const written = read(report.copies[0]!.file);
    assert.equal(report.copies[0]!.bytes, written.length);
    assert.ok(written.equals(sent[0]!), 'the dry-run wrote what the router sent');
    // And it is a copy an operator can read: sealed, From rewritten.
    const parsed = await simpleParser(written);
    assert.ok(parsed.headers.has('arc-seal'));
    assert.equal(parsed.from?.value[0]?.address, 'alias@example.com');
  });

  it('an unauthenticated relay to a list: one file per SendEmail, each its Content.Raw', async () => {
    const { sent, report, read } = await both(
      message({ to: 'team@example.com' }),
      { spf: 'FAIL', recipients: ['team@example.com'] },
      'relay',
    );
    assert.ok(sent.length >= 1);
    assert.equal(report.copies.length, sent.length);
    for (const [i, copy] of report.copies.entries()) {
      assert.ok(read(copy.file).equals(sent[i]!), `copy ${i + 1}`);
    }
  });

  it('a message over the header bound: the NDR file is the NDR sent, with at most 16 KB of headers', async () => {
    const many = Array.from({ length: 3_000 }, (_, i) => `X-Filler-${i}: ${'y'.repeat(40)}`);
    const { sent, report, files, read } = await both(message({ headers: many }), { spf: 'PASS' }, 'ndr');
    assert.deepEqual(files, ['copy-1-ndr-high-risk.eml']);
    const written = read(report.copies[0]!.file);
    assert.ok(written.equals(sent[0]!));
    const parsed = await simpleParser(written);
    const headersPart = parsed.attachments.find((a) => a.contentType === 'text/rfc822-headers');
    assert.ok(headersPart, 'the report carries the original headers');
    assert.ok(headersPart.content.length <= 16 * 1024, `${headersPart.content.length} bytes of headers`);
  });

  it('nothing planned: no file, an empty list', async () => {
    // Over the header bound with SPF failing: blocked, and no NDR to an unproven sender.
    const many = Array.from({ length: 3_000 }, (_, i) => `X-Filler-${i}: y`);
    const { sent, report, files } = await both(message({ headers: many }), { spf: 'FAIL' }, 'none');
    assert.equal(sent.length, 0);
    assert.deepEqual(report.copies, []);
    assert.deepEqual(files, []);
  });

  it('--write-copies with an unusable directory is a usage error naming the option', async () => {
    writeFileSync(f('a-file'), 'x');
    writeFileSync(f('plain.json'), JSON.stringify(sesEvent()));
    writeFileSync(f('plain.eml'), message());
    const r = await runCliInProcess([
      ...dryRunArgs(f, NOW, 'plain.json', 'plain.eml'),
      '--write-copies',
      join(f('a-file'), 'sub'),
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--write-copies/);
  });
});
