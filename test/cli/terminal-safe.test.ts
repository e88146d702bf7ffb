/**
 * The CLI's control-character guard (`functions/cli/terminal-safe.ts`): nothing a stranger
 * wrote can drive the operator's terminal, JSON output still parses to the same values, and
 * the CLI's own colours survive. Oracles: `JSON.parse` (lossless round trip), Node's own
 * `styleText` (the sequences of the palette), and a scan for the characters a terminal acts on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { styleText } from 'node:util';
import fc from 'fast-check';
import { escapeControls } from '../../functions/cli/terminal-safe.js';
import { dryRunArgs, runCliInProcess } from '../helpers/cli.js';
import { CONFIG_JSON, message, NOW, sesEvent, zones } from '../helpers/mail.js';

/** A character a terminal acts on or reorders (see the module), anywhere in `text`. */
const RAW_CONTROL =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001a\u001c-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/** ESC not starting one of the palette's sequences. */
const STRAY_ESC = /\u001b(?!\[(?:1|2|22|31|32|33|35|36|39)m|\[K)/;

const ATTACKS = [
  '\u001b]52;c;ZWNobyBwd25lZA==\u0007', // OSC 52: write the clipboard
  '\u001b[2J\u001b[H', // clear the screen, cursor home
  '\u001b]0;title\u0007', // window title
  '\u009b31m', // C1 CSI
  'evil\u202emoc.elpmaxe', // right-to-left override
  '\u001b[8mhidden\u001b[28m', // conceal
];

describe('the CLI control-character guard', () => {
  it('escapes what drives a terminal, keeping the text readable', () => {
    for (const attack of ATTACKS) {
      const safe = escapeControls(attack);
      assert.doesNotMatch(safe, RAW_CONTROL, JSON.stringify(attack));
      assert.doesNotMatch(safe, STRAY_ESC, JSON.stringify(attack));
    }
    assert.equal(escapeControls('a\u001b[2Jb'), 'a\\u001b[2Jb');
    assert.equal(escapeControls('x\u202ey'), 'x\\u202ey');
    assert.equal(escapeControls('tab\there\r\nline'), 'tab\there\r\nline');
    assert.equal(escapeControls('Zoë, 東京, مرحبا'), 'Zoë, 東京, مرحبا');
  });

  it("keeps every sequence of the CLI's palette, as Node's styleText writes it", () => {
    for (const style of ['bold', 'dim', 'red', 'green', 'yellow', 'magenta', 'cyan'] as const) {
      const painted = styleText(style, 'x', { validateStream: false });
      assert.notEqual(painted, 'x', style);
      assert.equal(escapeControls(painted), painted, style);
    }
    assert.equal(escapeControls('\rprogress\u001b[K'), '\rprogress\u001b[K');
  });

  it('JSON output parses to the same values, and holds nothing a terminal acts on (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom(...ATTACKS))),
        (values) => {
          const json = escapeControls(JSON.stringify({ values }));
          assert.deepEqual(JSON.parse(json), { values });
          assert.doesNotMatch(json, RAW_CONTROL);
          assert.doesNotMatch(json, STRAY_ESC);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('the guard on the CLI (dry-run of an event naming hostile recipients)', () => {
  let dir: string;
  const f = (name: string) => join(dir, name);
  const hostile = ATTACKS.map((a, i) => `x${i}${a}@unrouted.test`);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'op-terminal-'));
    writeFileSync(f('config.json'), JSON.stringify(CONFIG_JSON));
    writeFileSync(f('zones.json'), JSON.stringify(zones([])));
    writeFileSync(
      f('event.json'),
      JSON.stringify(sesEvent({ spf: 'PASS', recipients: ['alias@example.com', ...hostile] })),
    );
    writeFileSync(f('message.eml'), message());
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const args = (format: string) => [...dryRunArgs(f, NOW, 'event.json', 'message.eml'), format];

  it('prints them escaped to a person, and exactly to a script', async () => {
    const pretty = await runCliInProcess(args('--pretty'));
    assert.equal(pretty.code, 0, pretty.stderr);
    assert.match(pretty.stdout, /unrouted/);
    assert.doesNotMatch(pretty.stdout, RAW_CONTROL);
    assert.doesNotMatch(pretty.stdout, STRAY_ESC);
    // (Recipients are compared in lower case, as routes are.)
    assert.ok(pretty.stdout.includes('x0\\u001b]52;c;zwnobybwd25lza==\\u0007@unrouted.test'));
    const json = await runCliInProcess(args('--json'));
    assert.equal(json.code, 0, json.stderr);
    assert.doesNotMatch(json.stdout, RAW_CONTROL);
    assert.deepEqual(
      JSON.parse(json.stdout).unrouted,
      hostile.map((h) => h.toLowerCase()),
    );
  });
});
