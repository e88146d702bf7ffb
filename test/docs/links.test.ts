/**
 * The documentation stands on its own: every relative link of README.md and docs/*.md names a
 * file of this repository (never one outside it, such as ../shared/SPEC.md), every `#anchor`
 * names a heading of its target, docs/README.md lists every document, and the README stays a
 * front door (at most 12 KB).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = resolve('.');
const DOCS = [
  'README.md',
  ...readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The text outside fenced code blocks and inline code, where links are links. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '``');
}

/** `[text](target)` links (images too); `<…>` autolinks are absolute by nature. */
function linksOf(markdown: string): string[] {
  return [...prose(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(
    (m) => m[1] ?? '',
  );
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1 -2 for repeats. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutCode = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const [, title] of withoutCode.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = (title ?? '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

describe('documentation links', () => {
  it('the anchor and link parsers work on known cases', () => {
    assert.deepEqual(
      [
        ...anchorsOf(
          '# The demo (`npm run demo`)\n## Reliability: what is guaranteed\n## A\n## A\n```\n# not a heading\n```',
        ),
      ],
      ['the-demo-npm-run-demo', 'reliability-what-is-guaranteed', 'a', 'a-1'],
    );
    assert.deepEqual(
      linksOf('see [a](docs/a.md#x) and `[b](no.md)`\n```\n[c](no.md)\n```\n![i](img.png "t")'),
      ['docs/a.md#x', 'img.png'],
    );
  });

  for (const file of DOCS) {
    it(`${file}: every relative link resolves inside the repository, anchors included`, () => {
      const text = readFileSync(file, 'utf8');
      const problems: string[] = [];
      for (const link of linksOf(text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) {
          if (!/^(https?|mailto):/i.test(link)) problems.push(`${link}: unexpected scheme`);
          continue;
        }
        const [path = '', anchor] = link.split('#', 2);
        const target = path === '' ? resolve(file) : resolve(dirname(file), decodeURIComponent(path));
        if (target !== ROOT && !target.startsWith(ROOT + sep)) {
          problems.push(`${link}: leaves the repository (${relative(ROOT, target)})`);
          continue;
        }
        if (!existsSync(target)) {
          problems.push(`${link}: no such file ${relative(ROOT, target)}`);
          continue;
        }
        if (anchor !== undefined) {
          if (statSync(target).isDirectory() || !target.endsWith('.md')) {
            problems.push(`${link}: an anchor into something that is not a Markdown file`);
          } else if (!anchorsOf(readFileSync(target, 'utf8')).has(anchor)) {
            problems.push(`${link}: no heading #${anchor} in ${relative(ROOT, target)}`);
          }
        }
      }
      assert.deepEqual(problems, []);
      assert.ok(!text.includes('../shared'), 'nothing points outside the repository');
    });
  }

  it('docs/README.md lists every document of docs/', () => {
    const index = linksOf(readFileSync('docs/README.md', 'utf8')).map((l) => l.split('#')[0]);
    const missing = readdirSync('docs')
      .filter((f) => f.endsWith('.md') && f !== 'README.md')
      .filter((f) => !index.includes(f));
    assert.deepEqual(missing, []);
  });

  it('README.md is a front door: at most 12 KB, and it links the documentation index', () => {
    const size = statSync('README.md').size;
    assert.ok(size <= 12 * 1024, `README.md is ${size} bytes`);
    assert.ok(linksOf(readFileSync('README.md', 'utf8')).includes('docs/README.md'));
  });
});
