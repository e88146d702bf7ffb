/**
 * The sandbox console in a real browser: Debian's Chromium (`/usr/bin/chromium`, installed by
 * `.ci/run`) driven by playwright-core. The sandbox runs on ephemeral ports with the demo's
 * configuration; the demo's messages go in over SMTP; what the page shows is checked against
 * the sandbox's own records, read another way: the trace API over HTTP, the SES emulator's
 * recorded sends and the limits store.
 *
 * A screenshot is left in test/output/console.png (git-ignored; docs/console.png is a copy).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Browser, chromium, type Page } from 'playwright-core';
import { DynamoLimitsStore } from '../../functions/adapters/dynamo-limits-store.js';
import type { TraceRecord } from '../../functions/adapters/dynamo-trace-store.js';
import { authenticationFacts } from '../../functions/core/authentication.js';
import { Srs } from '../../functions/core/srs.js';
import type { TraceReport } from '../../functions/trace-api/lookup.js';
import { MessageFeed } from '../../sandbox/console/feed.js';
import { startConsoleServer } from '../../sandbox/console/server.js';
import { type DemoMessage, smtpSend } from '../../sandbox/demo.js';
import { type Sandbox, startSandbox } from '../../sandbox/server.js';
import { EICAR } from '../../sandbox/smtp-ingress.js';

const CHROMIUM = '/usr/bin/chromium';
const DEMO = 'examples/demo';
const OUTPUT = resolve('test/output');
const POOLS = ['normal', 'high-risk', 'relay', 'blocked'] as const;

/** The trace API's report of a message: the oracle for what the page shows. */
async function traced(sandbox: Sandbox, messageId: string): Promise<TraceReport> {
  const response = await fetch(`${sandbox.endpoints.traceApi}/messages/${encodeURIComponent(messageId)}`);
  assert.equal(response.status, 200, `trace API for ${messageId}`);
  return ((await response.json()) as { message: TraceReport }).message;
}

async function sendDemoMessages(sandbox: Sandbox): Promise<void> {
  const messages = JSON.parse(await readFile(`${DEMO}/messages.json`, 'utf8')) as DemoMessage[];
  const srs = new Srs(sandbox.config.srs);
  const fill = (text: string) =>
    text
      .replace(/\{\{SRS:([^}]+)\}\}/g, (_m, address: string) => srs.forward(address.trim(), new Date()))
      .replace(/\{\{EICAR\}\}/g, EICAR);
  for (const m of messages) {
    const template = await readFile(join(DEMO, m.file), 'utf8');
    for (let i = 0; i < (m.repeat ?? 1); i++) {
      const result = await smtpSend({
        host: sandbox.smtp.host,
        port: sandbox.smtp.port,
        clientIp: m.clientIp,
        helo: m.helo,
        mailFrom: m.mailFrom,
        rcptTo: m.rcptTo.map(fill),
        data: Buffer.from(fill(template)),
      });
      // One at a time, as the demo does: the limit counters see them in order.
      if (result.messageId) await sandbox.waitFor(result.messageId, 20_000);
    }
  }
}

/** Waits until the message table shows `n` messages (a filter or a live update applied). */
async function waitForRows(page: Page, n: number): Promise<void> {
  // Locators, not waitForFunction: the page's CSP forbids the eval that one needs (as it should).
  const rows = page.locator('#message-table tbody tr[data-message-id]');
  if (n > 0) await rows.nth(n - 1).waitFor({ state: 'attached' });
  await rows.nth(n).waitFor({ state: 'detached' });
}

/** A raw HTTP request (fetch cannot set Host), answering status and JSON body. */
function rawRequest(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: { error?: string; parameter?: string } }> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest(url, { method: o.method ?? 'GET', headers: o.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body = {};
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolvePromise({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

describe('sandbox console (headless Chromium)', () => {
  let sandbox: Sandbox;
  let browser: Browser;
  let page: Page;
  let limits: DynamoLimitsStore;
  const pageErrors: string[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is required (apt-get install chromium; .ci/run does)`);
    sandbox = await startSandbox({
      config: `${DEMO}/config.json`,
      zones: `${DEMO}/zones.json`,
      smtpPort: 0,
      quiet: true,
    });
    limits = new DynamoLimitsStore({
      client: new DynamoDBClient(sandbox.emulators.clientConfig('dynamodb')),
      tableName: sandbox.tables.limits,
      restrictionCacheMs: 0,
    });
    await sendDemoMessages(sandbox);
    await sandbox.idle();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(sandbox.endpoints.console);
    await page.waitForSelector('body[data-loaded="true"]');
  });

  after(async () => {
    await browser?.close();
    await sandbox?.stop();
  });

  it('is printed in the ready line and served on loopback', () => {
    assert.match(sandbox.endpoints.console, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.ok(sandbox.readyText.includes(`console ${sandbox.endpoints.console}`));
  });

  it('shows per-pool totals, chart figures and messages equal to the sandbox trace', async () => {
    const processed = sandbox.processed();
    const reports = await Promise.all(processed.map((m) => traced(sandbox, m.messageId)));
    const expected = Object.fromEntries(POOLS.map((p) => [p, reports.filter((r) => r.pool === p).length]));
    // The demo reaches every pool: a count of zero would prove nothing.
    for (const p of POOLS) assert.ok(expected[p]! > 0, `the demo sends something to ${p}`);

    const shown: Record<string, number> = {};
    for (const p of POOLS) shown[p] = Number(await page.textContent(`#total-${p}`));
    assert.deepEqual(shown, expected);

    // The chart's figures (its table) add up to the same totals: all were sent in the last minutes.
    const perMinute = await page.$$eval('#minutes-table tbody tr', (rows) =>
      rows.map((tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.textContent))),
    );
    const summed = Object.fromEntries(
      POOLS.map((p, i) => [p, perMinute.reduce((sum, row) => sum + (row[i] ?? 0), 0)]),
    );
    assert.deepEqual(summed, expected);
    assert.equal(await page.locator('#chart canvas').count(), 1, 'uPlot drew its canvas');

    // Messages: every processed one, newest first by the trace's receivedAt.
    const ids = await page.$$eval('#message-table tbody tr', (rows) =>
      rows.map((tr) => tr.getAttribute('data-message-id')),
    );
    const newestFirst = [...reports]
      .sort((a, b) =>
        a.receivedAt === b.receivedAt
          ? b.messageId.localeCompare(a.messageId)
          : a.receivedAt < b.receivedAt
            ? 1
            : -1,
      )
      .map((r) => r.messageId);
    assert.deepEqual(ids, newestFirst);

    // Top reasons, as counted from the trace.
    const reasonCounts = new Map<string, number>();
    for (const r of reports)
      for (const reason of r.reasons) reasonCounts.set(reason, (reasonCounts.get(reason) ?? 0) + 1);
    const shownReasons = await page.$$eval('#reasons tbody tr', (rows) =>
      rows.map((tr) => [tr.cells[0]!.textContent, Number(tr.cells[1]!.textContent)] as const),
    );
    assert.deepEqual(new Map(shownReasons), reasonCounts);
    const limitHits = [...reasonCounts].filter(([r]) => r.startsWith('limit-'));
    assert.ok(limitHits.length > 0, 'the demo crosses a limit');
    const shownHits = await page.$$eval('#limit-hits tbody tr', (rows) =>
      rows.map((tr) => [tr.cells[0]!.textContent, Number(tr.cells[1]!.textContent)] as const),
    );
    assert.deepEqual(new Map(shownHits), new Map(limitHits));
  });

  it('filters the messages by pool and by reason', async () => {
    const reports = await Promise.all(sandbox.processed().map((m) => traced(sandbox, m.messageId)));
    await page.selectOption('#filter-pool', 'blocked');
    const blocked = reports.filter((r) => r.pool === 'blocked').map((r) => r.messageId);
    await waitForRows(page, blocked.length);
    const pools = await page.$$eval('#message-table tbody tr', (rows) =>
      rows.map((tr) => tr.getAttribute('data-pool')),
    );
    assert.deepEqual(
      pools,
      blocked.map(() => 'blocked'),
    );

    // Back to every message before the next filter: both filters show three messages here, so
    // waiting for three rows could otherwise pass on the pool filter's stale rows.
    await page.selectOption('#filter-pool', '');
    await waitForRows(page, reports.length);
    const reason = reports.find((r) => r.pool === 'relay')!.reasons[0]!;
    const withReason = reports
      .filter((r) => r.reasons.includes(reason))
      .map((r) => r.messageId)
      .sort();
    await page.selectOption('#filter-reason', reason);
    await waitForRows(page, withReason.length);
    const ids = await page.$$eval('#message-table tbody tr', (rows) =>
      rows.map((tr) => tr.getAttribute('data-message-id')!),
    );
    assert.deepEqual(ids.sort(), withReason);
    await page.selectOption('#filter-reason', '');
    await waitForRows(page, reports.length);
  });

  it('opens a message from the keyboard: decision, verdicts and every copy as sent', async () => {
    // The message to team@example.com: routed to two destinations.
    const message = sandbox.processed().find((m) => m.recipients.includes('team@example.com'))!;
    const trace = await traced(sandbox, message.messageId);
    assert.ok(trace.sends.length > 0);
    await page.focus(`#message-table tr[data-message-id="${message.messageId}"] button`);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`#trace[data-message-id="${message.messageId}"]`);
    assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'trace-heading');

    const traceText = (await page.textContent('#trace-body'))!;
    assert.ok(traceText.includes(trace.pool!));
    assert.ok(traceText.includes(trace.sends[0]!.configurationSet));
    assert.ok(traceText.includes(message.clientIp), 'the receipt facts: client IP');
    assert.ok(traceText.includes(`spf${message.verdicts.spf}`), 'the receipt facts: SPF verdict');

    const copies = page.locator('#trace-body article.copy');
    assert.equal(await copies.count(), trace.sends.length);
    const recorded = sandbox.emulators.ses.sent();
    for (let i = 0; i < trace.sends.length; i++) {
      const send = trace.sends[i]!;
      const text = (await copies.nth(i).textContent())!;
      for (const to of send.to) assert.ok(text.includes(to), `copy ${i} names ${to}`);
      assert.ok(text.includes(send.configurationSet), `copy ${i} names its configuration set`);
      assert.ok(text.includes(send.envelopeFrom), `copy ${i} names its envelope sender`);
      // The raw copy's headers exactly as the SES emulator received them.
      const raw = recorded.find((s) => s.messageId === send.sesMessageId)!.raw.toString('utf8');
      const headers = raw.slice(0, raw.indexOf('\r\n\r\n'));
      assert.equal(await copies.nth(i).locator('pre.headers').textContent(), headers);
      assert.match(headers, /^ARC-Seal:/im);
    }
  });

  it('shows a new message live, and what a sender wrote only as text', async () => {
    const before = Number(await page.getAttribute('body', 'data-messages'));
    const hostile = [
      'From: "<script>window.__pwned = 1</script>" <alice@sender.test>',
      'To: alias@example.com',
      'Subject: <img src=x onerror="window.__pwned = 2">',
      'Message-ID: <hostile@sender.test>',
      '',
      '<b>bold?</b> <script>window.__pwned = 3</script>',
      '',
    ].join('\r\n');
    const result = await smtpSend({
      host: sandbox.smtp.host,
      port: sandbox.smtp.port,
      clientIp: '198.18.0.25',
      helo: 'smtp.bulk-mailer.test',
      mailFrom: 'deals@unauth.test',
      rcptTo: ['alias@example.com'],
      data: Buffer.from(hostile),
    });
    assert.ok(result.messageId);
    await sandbox.waitFor(result.messageId, 20_000);
    // No reload: the server-sent event brings it.
    const row = `#message-table tr[data-message-id="${result.messageId}"]`;
    await page.waitForSelector(row, { timeout: 10_000 });
    assert.equal(Number(await page.getAttribute('body', 'data-messages')), before + 1);
    await page.click(`${row} button`);
    await page.waitForSelector(`#trace[data-message-id="${result.messageId}"] pre.headers`);
    const headers = (await page.textContent('#trace-body pre.headers'))!;
    assert.ok(headers.includes('Subject: <img src=x onerror="window.__pwned = 2">'));
    assert.equal(await page.evaluate('window.__pwned'), undefined);
    assert.equal(await page.locator('#trace-body img, #trace-body script, #trace-body b').count(), 0);
  });

  it('leaves a screenshot of a message opened, with a restricted sender', async () => {
    await page.setViewportSize({ width: 1440, height: 900 });
    const message = sandbox.processed().find((m) => m.recipients.includes('team@example.com'))!;
    await page.click(`#message-table tr[data-message-id="${message.messageId}"] button`);
    await page.waitForSelector(`#trace[data-message-id="${message.messageId}"] article.copy`);
    await page.evaluate("window.scrollTo(0, 0); document.querySelector('#messages .scroll').scrollTop = 0");
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'console.png'), fullPage: false });
    assert.equal(await page.locator('#restricted tr[data-identity]').count(), 1);
  });

  it('releases a restricted sender from the page, through the limits store', async () => {
    const now = new Date();
    const restricted = (await limits.listRestricted(now)).map((r) => r.identity);
    // The demo's newsletter crosses its hourly limit with action "block".
    assert.ok(restricted.includes('newsletter@example.com'), 'the demo restricts newsletter@example.com');
    const row = page.locator('#restricted tr[data-identity="newsletter@example.com"]');
    await row.waitFor();
    await row.getByRole('button', { name: 'Release newsletter@example.com' }).click();
    await row.waitFor({ state: 'detached' });
    assert.match((await page.textContent('#notice'))!, /Released newsletter@example\.com/);
    const after = (await limits.listRestricted(new Date())).map((r) => r.identity);
    assert.ok(!after.includes('newsletter@example.com'), 'released in the limits table');
  });

  it('refuses requests another site could forge, and bad parameters, naming them', async () => {
    const base = sandbox.endpoints.console;
    const release = (headers: Record<string, string>, body: string) =>
      rawRequest(`${base}api/restrictions/release`, { method: 'POST', headers, body });
    const json = { 'content-type': 'application/json' };
    const identity = JSON.stringify({ identity: 'nobody@example.com' });
    assert.equal((await release({ ...json, origin: 'http://evil.test' }, identity)).status, 403);
    assert.equal((await release({ 'content-type': 'text/plain' }, identity)).status, 415);
    assert.equal((await release(json, '{not json')).status, 400);
    assert.equal((await release(json, JSON.stringify({ identity: 42 }))).body.parameter, 'identity');
    assert.equal((await release(json, JSON.stringify({ identity: 'not an address' }))).status, 400);
    assert.equal((await release(json, 'x'.repeat(5000))).status, 413);
    const notRestricted = await release({ ...json, origin: base.replace(/\/$/, '') }, identity);
    assert.equal(notRestricted.status, 404);
    assert.match(notRestricted.body.error!, /not restricted/);
    // DNS rebinding: a name that resolves to 127.0.0.1 is still not this console's name.
    assert.equal((await rawRequest(`${base}api/overview`, { headers: { host: 'evil.test' } })).status, 421);
    assert.equal((await rawRequest(`${base}api/overview`, { method: 'DELETE' })).status, 405);
    assert.equal((await rawRequest(`${base}api/restrictions/release`, {})).status, 405);
    const bad = async (query: string) =>
      (await rawRequest(`${base}api/messages?${query}`, {})).body.parameter;
    assert.equal(await bad('pool=unknown'), 'pool');
    assert.equal(await bad('reason=%3Cscript%3E'), 'reason');
    assert.equal(await bad('limit=0'), 'limit');
    assert.equal(await bad('limit=1001'), 'limit');
    assert.equal(await bad('pool=normal&pool=relay'), 'pool');
    assert.equal(await bad('sender=a@b.test'), 'sender');
    assert.equal((await rawRequest(`${base}api/messages/no-such-message`, {})).status, 404);
    assert.equal((await rawRequest(`${base}api/messages/%E0%A4%A`, {})).status, 400);
    assert.equal((await rawRequest(`${base}../package.json`, {})).status, 404);
    const page = await fetch(base);
    assert.match(page.headers.get('content-security-policy')!, /script-src 'self'/);
  });

  it('shows facts a newer router records (authentication, tenant) without knowing them', async () => {
    // A trace record with fields this console was written before: they must still show.
    const summary = {
      messageId: 'newer-router-1',
      receivedAt: new Date().toISOString(),
      sender: 'alice@sender.test',
      recipients: ['alias@example.com'],
      destinations: ['dest@remote.test'],
      unrouted: [],
      pool: 'normal' as const,
      outboundIpPoolName: 'pool-normal',
      configurationSet: 'outbound-normal',
      reasons: ['dkim-aligned-pass' as const],
      plan: [],
      sizeBytes: 321,
      decisionMs: 7,
      authentication: authenticationFacts({
        envelopeSender: 'alice@sender.test',
        from: [{ name: 'Alice', address: 'alice@sender.test' }],
        spf: 'PASS',
        dmarc: 'PASS',
        dkim: { signatures: [] },
        acceptedDomains: ['example.com'],
        dkimAvoidsRelay: true,
        viaGateway: false,
      }),
    };
    const send = {
      index: 0,
      kind: 'forward' as const,
      to: ['dest@remote.test'],
      pool: 'normal' as const,
      configurationSet: 'outbound-normal',
      envelopeFrom: 'SRS0=ab=cd=sender.test=alice@fwd.example.com',
      status: 'sent' as const,
      sesMessageId: 'ses-newer-1',
      at: summary.receivedAt,
      tenant: 'tenant-blue',
    };
    const record: TraceRecord = {
      messageId: summary.messageId,
      receivedAt: summary.receivedAt,
      status: 'done',
      attempt: 1,
      leaseUntil: summary.receivedAt,
      expiresAt: 0,
      summary,
      sends: [send],
      events: [],
      eventsTruncated: false,
    };
    const feed = new MessageFeed({
      get: async (id) => (id === record.messageId ? record : null),
      query: async () => [],
    });
    feed.record({
      messageId: record.messageId,
      receivedAt: record.receivedAt,
      sender: summary.sender,
      recipients: summary.recipients,
      clientIp: '192.0.2.10',
      helo: 'mx.sender.test',
      verdicts: { spf: 'PASS', dkim: 'PASS', dmarc: 'PASS', spam: 'PASS', virus: 'PASS', arc: 'none' },
      outcome: 'processed',
      pool: 'normal',
      reasons: summary.reasons,
      sends: [send],
      attempts: 1,
    });
    const server = await startConsoleServer({
      feed,
      limits: { listRestricted: async () => [], release: async () => false },
      rawCopy: (id) =>
        id === 'ses-newer-1' ? Buffer.from('Subject: newer\r\nX-Tenant: blue\r\n\r\nbody\r\n') : undefined,
    });
    const other = await browser.newPage();
    try {
      other.on('pageerror', (e) => pageErrors.push(e.message));
      await other.goto(server.url);
      await other.click('#message-table tr[data-message-id="newer-router-1"] button');
      await other.waitForSelector('#trace[data-message-id="newer-router-1"] article.copy');
      const text = (await other.textContent('#trace-body'))!;
      for (const expected of [
        'envelopeAuthenticated',
        'sender.test',
        'Tenant',
        'tenant-blue',
        'decisionMs',
      ]) {
        assert.ok(text.includes(expected), `the trace shows ${expected}`);
      }
      assert.ok(!text.includes('[object Object]'));
      assert.equal(await other.textContent('#trace-body pre.headers'), 'Subject: newer\r\nX-Tenant: blue');
    } finally {
      await other.close();
      await server.close();
    }
  });

  it('ran without script errors or Content-Security-Policy violations', () => {
    // Both show up as console errors of the page.
    assert.deepEqual(pageErrors, []);
  });
});
