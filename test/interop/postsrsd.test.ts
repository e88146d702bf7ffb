/**
 * Interop with the real postsrsd 1.x daemon (Debian package `postsrsd`, 1.10 at the time of
 * writing): both sides must produce byte-identical forward output for the same input and day,
 * and each must reverse what the other produced.
 *
 * Finding: postsrsd's output has exactly our case (it keeps the sender's case, writes the tag in
 * upper case and emits the same base64 characters), so forward outputs are compared exactly.
 *
 * The daemon speaks Postfix's tcp_table protocol: `get <url-encoded key>\n` answered by
 * `200 <url-encoded value>\n`, or `500 <reason>\n` (not found / not rewritten).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Srs } from '../../functions/core/srs.js';

/** Overridable for a non-Debian layout; a missing binary FAILS the test, it is never skipped. */
const POSTSRSD = process.env.POSTSRSD ?? '/usr/sbin/postsrsd';
const DOMAIN = 'srs.interop.example';
/** First line signs, all lines verify: the second plays the secret being rotated out. */
const NEW_SECRET = 'interop-new-secret-4f1c';
const OLD_SECRET = 'interop-old-secret-9b27';
const CONNECT_DEADLINE_MS = 5000;
const SOCKET_TIMEOUT_MS = 3000;

interface Daemon {
  process: ChildProcess;
  forwardPort: number;
  reversePort: number;
  stderr: () => string;
}

interface Reply {
  code: number;
  value: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** postsrsd `url_encode`: every byte that is not printable ASCII, and '%', as %xx. */
function urlEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out +=
      byte > 0x20 && byte < 0x7f && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

function urlDecode(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '%' && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(value[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** One tcp_table lookup on a fresh connection, with a timeout on every step. */
function lookup(port: number, key: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let buffer = '';
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(SOCKET_TIMEOUT_MS, () =>
      fail(new Error(`postsrsd timed out on port ${port} for ${key}`)),
    );
    socket.once('error', fail);
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      const end = buffer.indexOf('\n');
      if (end < 0) return;
      socket.end();
      const match = /^(\d{3}) ?(.*)$/.exec(buffer.slice(0, end).replace(/\r$/, ''));
      if (match === null) return fail(new Error(`bad reply ${JSON.stringify(buffer)}`));
      resolve({ code: Number(match[1]), value: match[1] === '200' ? urlDecode(match[2]!) : match[2]! });
    });
    socket.once('end', () => {
      if (!buffer.includes('\n'))
        fail(new Error(`postsrsd closed the connection: ${JSON.stringify(buffer)}`));
    });
    socket.connect(port, '127.0.0.1', () => socket.write(`get ${urlEncode(key)}\n`));
  });
}

async function waitForPort(daemon: Daemon, port: number): Promise<void> {
  const deadline = Date.now() + CONNECT_DEADLINE_MS;
  for (;;) {
    if (daemon.process.exitCode !== null || daemon.process.signalCode !== null) {
      throw new Error(
        `postsrsd exited (${daemon.process.exitCode ?? daemon.process.signalCode}): ${daemon.stderr()}`,
      );
    }
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.setTimeout(500, () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`postsrsd not listening on ${port} after 5 s: ${daemon.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function startDaemon(secretsFile: string, extraArgs: string[]): Promise<Daemon> {
  let lastError: unknown;
  // A free port can be taken between probing and binding: retry with new ports.
  for (let attempt = 0; attempt < 3; attempt++) {
    const forwardPort = await freePort();
    const reversePort = await freePort();
    if (forwardPort === reversePort) continue;
    const child = spawn(
      POSTSRSD,
      [
        `-s${secretsFile}`,
        `-d${DOMAIN}`,
        '-l127.0.0.1',
        '-4',
        `-f${forwardPort}`,
        `-r${reversePort}`,
        '-t10',
        ...extraArgs,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', (error) => {
      stderr += String(error);
    });
    const daemon: Daemon = { process: child, forwardPort, reversePort, stderr: () => stderr };
    try {
      await waitForPort(daemon, forwardPort);
      await waitForPort(daemon, reversePort);
      return daemon;
    } catch (error) {
      lastError = error;
      await stopDaemon(daemon);
    }
  }
  throw lastError;
}

async function stopDaemon(daemon: Daemon | undefined): Promise<void> {
  if (daemon === undefined) return;
  const child = daemon.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(timer);
}

/** The UTC day number, to detect a day change between our call and postsrsd's. */
function dayOf(date: Date): number {
  return Math.floor(date.getTime() / 86_400_000);
}

describe('interop with the real postsrsd daemon', () => {
  let dir: string | undefined;
  /** postsrsd with defaults: separator '=', hash length 4. */
  let plain: Daemon | undefined;
  /** postsrsd -a+ -n6. */
  let custom: Daemon | undefined;
  /** postsrsd -n8 -N8: our default hash length (srs.hashLength 8), shorter hashes refused. */
  let eight: Daemon | undefined;
  /** Our side, configured like each daemon. */
  const ours = new Srs({ domain: DOMAIN, secrets: [NEW_SECRET, OLD_SECRET] });
  const oursCustom = new Srs({
    domain: DOMAIN,
    secrets: [NEW_SECRET, OLD_SECRET],
    separator: '+',
    hashLength: 6,
  });
  const oursEight = new Srs({ domain: DOMAIN, secrets: [NEW_SECRET, OLD_SECRET], hashLength: 8 });
  /** A signer still on the old secret: postsrsd must accept its output (rotation). */
  const oursOld = new Srs({ domain: DOMAIN, secrets: [OLD_SECRET] });

  const missing = `${POSTSRSD} is missing: install it with \`sudo apt-get install postsrsd\` (this interop test must not be skipped)`;

  before(async () => {
    // Without the binary every test below fails with `missing` (a hook failure would only "cancel").
    if (!existsSync(POSTSRSD)) return;
    dir = await mkdtemp(join(tmpdir(), 'postsrsd-interop-'));
    const secretsFile = join(dir, 'secrets');
    await writeFile(secretsFile, `${NEW_SECRET}\n${OLD_SECRET}\n`, { mode: 0o600 });
    plain = await startDaemon(secretsFile, []);
    custom = await startDaemon(secretsFile, ['-a+', '-n6']);
    eight = await startDaemon(secretsFile, ['-n8', '-N8']);
  });

  after(async () => {
    await stopDaemon(plain);
    await stopDaemon(custom);
    await stopDaemon(eight);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  function daemon(d: Daemon | undefined): Daemon {
    assert.ok(existsSync(POSTSRSD), missing);
    assert.ok(d, `postsrsd did not start (${POSTSRSD})`);
    return d;
  }

  it('postsrsd is installed', () => {
    assert.ok(existsSync(POSTSRSD), missing);
  });

  /** postsrsd's forward answer and ours for the same day (retried across midnight UTC). */
  async function forwardBoth(d: Daemon, srs: Srs, address: string): Promise<{ theirs: Reply; mine: string }> {
    for (;;) {
      const start = new Date();
      const theirs = await lookup(d.forwardPort, address);
      if (dayOf(start) !== dayOf(new Date())) continue;
      return { theirs, mine: srs.forward(address, start) };
    }
  }

  const senders = [
    'user@example.com',
    'Mixed.Case@Example.COM',
    'a=b+c-d.e@sub.example.org',
    "o'brien!#$&*/?^_`{|}~@example.net",
    'jösé@exämple.com',
  ];
  /** SRS addresses of other forwarders: postsrsd and we turn them into SRS1. */
  const foreignSrs = [
    'SRS0=abcd=AB=foo.com=bar@other.org',
    'SRS0-wxyz=ZZ=foo.com=a=b@other.org',
    'srs0+QQQQ=jm=Foo.COM=Bar@Other.ORG',
    'SRS1=abcd=first.example==xyz=AB=a.com=b@second.example',
    'SRS1+abcd=first.example=-xyz=AB=a.com=b@second.example',
  ];

  for (const [name, getDaemon, srs, minHash] of [
    ['defaults', () => plain, ours, 4],
    ['-a+ -n6', () => custom, oursCustom, 4],
    ['-n8 -N8', () => eight, oursEight, 8],
  ] as const) {
    describe(`postsrsd ${name}`, () => {
      it('produces byte-identical SRS0 and SRS1 forward output', async () => {
        for (const address of [...senders, ...foreignSrs]) {
          const { theirs, mine } = await forwardBoth(daemon(getDaemon()), srs, address);
          assert.equal(theirs.code, 200, `${address}: ${theirs.value}`);
          assert.equal(mine, theirs.value, address);
        }
      });

      it('our reverse decodes what postsrsd forwarded', async () => {
        for (const address of senders) {
          const { theirs } = await forwardBoth(daemon(getDaemon()), srs, address);
          assert.match(theirs.value, /^SRS0[=+-]/);
          assert.deepEqual(srs.reverse(theirs.value, new Date()), { ok: true, address });
        }
        for (const address of foreignSrs) {
          const { theirs } = await forwardBoth(daemon(getDaemon()), srs, address);
          assert.match(theirs.value, /^SRS1[=+-]/);
          const local = address.slice(0, address.lastIndexOf('@'));
          const expected =
            local.startsWith('SRS1') || local.startsWith('srs1') ? undefined : `SRS0${local.slice(4)}`;
          const result = srs.reverse(theirs.value, new Date());
          assert.equal(result.ok, true, theirs.value);
          if (result.ok && expected !== undefined) {
            assert.equal(result.address, `${expected}@${address.slice(address.lastIndexOf('@') + 1)}`);
          }
          if (result.ok && expected === undefined) {
            // Re-signed SRS1: the reversal is the first hop's SRS0 address.
            assert.match(result.address, /^SRS0[=+-]xyz=AB=a\.com=b@first\.example$/);
          }
        }
      });

      it('postsrsd reverses what we forwarded, signed with either secret and any separator', async () => {
        // Signers of at least the daemon's minimum hash length (-N).
        const signers = [
          srs,
          new Srs({ domain: DOMAIN, secrets: [OLD_SECRET], hashLength: minHash }),
          new Srs({ domain: DOMAIN, secrets: [NEW_SECRET], separator: '-', hashLength: minHash }),
          new Srs({ domain: 'any.other.example', secrets: [OLD_SECRET], separator: '+', hashLength: 8 }),
        ];
        for (const signer of signers) {
          for (const address of senders) {
            const rewritten = signer.forward(address, new Date());
            const reply = await lookup(daemon(getDaemon()).reversePort, rewritten);
            assert.deepEqual(reply, { code: 200, value: address }, rewritten);
          }
          for (const address of foreignSrs.slice(0, 3)) {
            const rewritten = signer.forward(address, new Date());
            const reply = await lookup(daemon(getDaemon()).reversePort, rewritten);
            const local = address.slice(0, address.lastIndexOf('@'));
            const host = address.slice(address.lastIndexOf('@') + 1);
            assert.deepEqual(reply, { code: 200, value: `SRS0${local.slice(4)}@${host}` }, rewritten);
          }
        }
      });
    });
  }

  it('both sides agree on the age limit (21 days) and on future timestamps', async () => {
    for (const [offsetDays, accepted] of [
      [0, true],
      [-20, true],
      [-21, true],
      [-22, false],
      [-200, false],
      [-1023, false],
      [-1024, true], // the 2-character stamp wraps every 1024 days, in libsrs2 too
      [1, false],
      [2, false],
    ] as const) {
      for (;;) {
        const now = new Date();
        const rewritten = ours.forward('user@example.com', new Date(now.getTime() + offsetDays * 86_400_000));
        const reply = await lookup(daemon(plain).reversePort, rewritten);
        if (dayOf(now) !== dayOf(new Date())) continue; // crossed midnight UTC: redo
        assert.equal(
          reply.code === 200,
          accepted,
          `${offsetDays} days: ${rewritten} -> ${reply.code} ${reply.value}`,
        );
        assert.equal(ours.reverse(rewritten, now).ok, accepted, `${offsetDays} days (ours)`);
        break;
      }
    }
  });

  it('both sides reject tampered addresses and accept other cases', async () => {
    const rewritten = ours.forward('user@example.com', new Date());
    const hash = rewritten.slice(5, 9);
    const flipped = hash.replace(/^./, (c) => (c === 'A' || c === 'a' ? 'B' : 'A'));
    const cases: [string, boolean][] = [
      [rewritten.replace(hash, flipped), false],
      [rewritten.replace('=user@', '=usex@'), false],
      [rewritten.replace(`=${hash}=`, `=${hash.slice(0, 3)}=`), false],
      [rewritten.toLowerCase(), true],
      [rewritten.toUpperCase(), true],
      [rewritten.replace(`=${hash}=`, `=${hash}xyz=`), true],
      [rewritten.replace(/@.*$/, ''), true],
      ['user@example.com', false],
      ['SRS0=Onab=J=example.com=user@x', false],
      ['SRS1=mjrs@x', false],
    ];
    for (const [address, accepted] of cases) {
      const reply = await lookup(daemon(plain).reversePort, address);
      assert.equal(reply.code === 200, accepted, `postsrsd ${address}: ${reply.code} ${reply.value}`);
      assert.equal(ours.reverse(address, new Date()).ok, accepted, `ours ${address}`);
    }
  });

  it('at -n8 -N8 both sides refuse a 4-character hash and accept the 8-character one', async () => {
    const long = oursEight.forward('user@example.com', new Date());
    const short = ours.forward('user@example.com', new Date());
    assert.match(long, /^SRS0=[^=]{8}=/);
    for (const [address, accepted] of [
      [long, true],
      [short, false],
      [long.toLowerCase(), true],
    ] as const) {
      const reply = await lookup(daemon(eight).reversePort, address);
      assert.equal(reply.code === 200, accepted, `postsrsd ${address}: ${reply.code} ${reply.value}`);
      assert.equal(oursEight.reverse(address, new Date()).ok, accepted, `ours ${address}`);
    }
  });

  it('both sides leave the same addresses alone', async () => {
    const ownSrs0 = ours.forward('user@example.com', new Date());
    const ownSrs1 = oursOld.forward('SRS0=abcd=AB=foo.com=bar@other.org', new Date());
    for (const address of [
      `user@${DOMAIN}`,
      `User@${DOMAIN.toUpperCase()}`,
      // already a valid SRS address of ours, even at another domain: "500 Already rewritten"
      ownSrs0,
      ownSrs0.replace(DOMAIN, 'elsewhere.example'),
      ownSrs1.replace(DOMAIN, 'elsewhere.example'),
      // an SRS1 local part without host/opaque: postsrsd "500 No host in SRS1 address."
      'SRS1=foo@other.org',
    ]) {
      const reply = await lookup(daemon(plain).forwardPort, address);
      assert.ok(
        reply.code === 500 || (reply.code === 200 && reply.value === address),
        `${address}: ${reply.value}`,
      );
      assert.equal(ours.forward(address, new Date()), address);
    }
    // No '@': postsrsd answers 500, we throw.
    assert.equal((await lookup(daemon(plain).forwardPort, 'no-at-sign')).code, 500);
    assert.throws(() => ours.forward('no-at-sign', new Date()));
  });
});
