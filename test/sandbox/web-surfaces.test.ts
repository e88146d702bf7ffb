/**
 * The sandbox's web surfaces against a hostile sender and a hostile web page, in a real browser
 * (Debian's Chromium driven by playwright-core, as console.test.ts does):
 *
 *  - the SES emulator serves no viewer page that would run a forwarded message's script
 *    (aws-ses-v2-local's viewer wrote HTML bodies into a same-origin iframe);
 *  - a page of another origin can neither read the DynamoDB emulator (dynalite granted every
 *    Origin) nor post to the SES emulator (`/clear-store`);
 *  - every loopback server refuses a Host naming another site (DNS rebinding), as the console did;
 *  - the console shows a bidi override in sender text as a visible `\u202e`, as the CLI does,
 *    and isolates each address.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { smtpSend } from '../../sandbox/demo.js';
import { type Sandbox, startSandbox } from '../../sandbox/server.js';

const CHROMIUM = '/usr/bin/chromium';
const DEMO = 'examples/demo';
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

function get(url: string, host?: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, headers: { host: host ?? u.host } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function storedCount(sandbox: Sandbox): Promise<number> {
  const store = (await (await fetch(`${sandbox.endpoints.ses}/store`)).json()) as { emails: unknown[] };
  return store.emails.length;
}

describe('the sandbox’s web surfaces', () => {
  let sandbox: Sandbox;
  let browser: Browser;
  let evil: Server;
  let evilUrl: string;
  let hostileHtmlId: string;
  let bidiId: string;

  const send = async (clientIp: string, helo: string, mailFrom: string, lines: string[]) => {
    const result = await smtpSend({
      host: sandbox.smtp.host,
      port: sandbox.smtp.port,
      clientIp,
      helo,
      mailFrom,
      rcptTo: ['alias@example.com'],
      data: Buffer.from(lines.join('\r\n'), 'utf8'),
    });
    assert.ok(result.messageId, JSON.stringify(result));
    await sandbox.waitFor(result.messageId, 20_000);
    return result.messageId;
  };

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is required (apt-get install chromium)`);
    sandbox = await startSandbox({
      config: `${DEMO}/config.json`,
      zones: `${DEMO}/zones.json`,
      smtpPort: 0,
      quiet: true,
    });
    hostileHtmlId = await send('198.18.0.25', 'mx.sender.test', 'alice@sender.test', [
      'From: Alice Sender <alice@sender.test>',
      'To: alias@example.com',
      'Subject: invoice',
      'Message-ID: <viewer-xss@sender.test>',
      'MIME-Version: 1.0',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>hello</p><img src="x" onerror="top.__pwned = document.domain + \':\' + top.location.port">',
      '',
    ]);
    // The router keeps the Subject as it came (RFC 6532 UTF-8 header); the display name of
    // X-Original-From, which it writes itself, loses its bidi formatting characters.
    bidiId = await send('198.18.0.25', 'mx.evil.test', 'mallory@evil.test', [
      'From: "\u202Emoc.elpmaxe@oec" <mallory@evil.test>',
      'To: alias@example.com',
      'Subject: \u202Egnitnuocca',
      'Message-ID: <bidi@sender.test>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'hello',
      '',
    ]);
    await sandbox.idle();
    evil = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>another site</title>');
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', () => resolve()));
    evilUrl = `http://localhost:${(evil.address() as AddressInfo).port}/`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => (evil ? evil.close(resolve) : resolve(undefined)));
    await sandbox?.stop();
  });

  it('the SES emulator serves no page that runs a forwarded message’s script', async () => {
    assert.ok(sandbox.processed().some((m) => m.messageId === hostileHtmlId));
    assert.ok((await storedCount(sandbox)) > 0, 'the copies are in the SES emulator');
    const page = await browser.newPage();
    try {
      const response = await page.goto(sandbox.endpoints.ses);
      assert.equal(response?.status(), 404);
      await page.waitForTimeout(1500);
      assert.equal(await page.evaluate('window.__pwned'), undefined, 'script from the mail ran');
      assert.equal(await page.$('iframe'), null);
      assert.match((await page.textContent('body')) ?? '', /console/);
    } finally {
      await page.close();
    }
  });

  it('a page of another origin can neither read the DynamoDB emulator nor post to the SES emulator', async () => {
    const before = await storedCount(sandbox);
    const page = await browser.newPage();
    try {
      await page.goto(evilUrl);
      const outcome = await page.evaluate(
        async ({ dynamodb, table, ses }) => {
          let scan: string;
          try {
            const r = await fetch(dynamodb, {
              method: 'POST',
              headers: {
                'content-type': 'application/x-amz-json-1.0',
                'x-amz-target': 'DynamoDB_20120810.Scan',
                authorization:
                  'AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00',
                'x-amz-date': '20261207T000000Z',
              },
              body: JSON.stringify({ TableName: table, Limit: 5 }),
            });
            scan = `read ${r.status}: ${(await r.text()).slice(0, 200)}`;
          } catch (error) {
            scan = `blocked: ${String(error)}`;
          }
          // A "simple" request needs no preflight: the browser sends it, only the answer is opaque.
          await fetch(`${ses}/clear-store`, { method: 'POST', mode: 'no-cors' }).catch(() => undefined);
          return scan;
        },
        { dynamodb: sandbox.endpoints.dynamodb, table: sandbox.tables.trace, ses: sandbox.endpoints.ses },
      );
      assert.match(outcome, /^blocked/, `another origin ${outcome}`);
      assert.equal(await storedCount(sandbox), before, 'another origin cleared the SES store');
    } finally {
      await page.close();
    }
  });

  it('every loopback server refuses a Host naming another site (421)', async () => {
    const { console: consoleUrl, traceApi, dynamodb, s3, ses } = sandbox.endpoints;
    for (const [name, url] of Object.entries({
      console: `${consoleUrl}api/overview`,
      traceApi: `${traceApi}/messages?pool=normal`,
      dynamodb,
      s3,
      ses: `${ses}/store`,
    })) {
      const own = await get(url);
      assert.notEqual(own.status, 421, `${name} refused its own host`);
      const r = await get(url, `rebind.attacker.test:${new URL(url).port}`);
      assert.equal(r.status, 421, `${name} answered ${r.status}: ${r.body.slice(0, 100)}`);
    }
  });

  it('the console shows a bidi override visibly, as the CLI does, and isolates addresses', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(sandbox.endpoints.console);
      const row = `#message-table tr[data-message-id="${bidiId}"]`;
      await page.waitForSelector(row, { timeout: 10_000 });
      await page.click(`${row} button`);
      await page.waitForSelector(`#trace[data-message-id="${bidiId}"] pre.headers`);
      const headers = (await page.textContent('#trace-body pre.headers')) ?? '';
      assert.ok(headers.includes('mallory@evil.test'), 'the copy kept the From header');
      const line = headers.split(/\r?\n/).find((l) => l.startsWith('Subject:')) ?? '';
      assert.doesNotMatch(line, BIDI, `the page shows ${JSON.stringify(line)} with its bidi override live`);
      assert.ok(line.includes('\\u202egnitnuocca'), `the override is shown as \\u202e: ${line}`);
      const original = headers.split(/\r?\n/).find((l) => l.startsWith('X-Original-From:')) ?? '';
      assert.ok(original.includes('moc.elpmaxe@oec') && !original.includes('\\u202e'), original);
      const text = (await page.textContent('#trace-body')) ?? '';
      assert.doesNotMatch(text, BIDI);
      assert.ok((await page.$$('#trace-body dd bdi')).length > 0, 'trace values are isolated');
      const sender = await page.$(`${row} td.address bdi`);
      assert.ok(sender, 'the sender is isolated in the list');
      assert.equal(await sender.textContent(), 'mallory@evil.test');
    } finally {
      await page.close();
    }
  });
});
