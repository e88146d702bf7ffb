/**
 * What must never be shipped, and a scan for it: PEM private keys, AWS access key ids and the
 * SRS secrets of the repository's configuration and of the test configuration.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PROJECT_ROOT } from '../../lib/lambda-bundling.js';
import { CONFIG_JSON } from './mail.js';

const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/;
const AWS_ACCESS_KEY_ID = /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/;

/** The SRS secrets of the repository's configuration and of the test configuration. */
export function srsSecrets(): string[] {
  const file = JSON.parse(readFileSync(join(PROJECT_ROOT, 'config/outbound-pools.json'), 'utf8')) as {
    srs: { secrets: string[] };
  };
  return [...new Set([...file.srs.secrets, ...CONFIG_JSON.srs.secrets])];
}

export interface Finding {
  file: string;
  what: string;
}

/** Secrets found in `files` (paths relative to the project root in the findings). */
export function scanForSecrets(files: string[], secrets: readonly string[]): Finding[] {
  const findings: Finding[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const where = relative(PROJECT_ROOT, file);
    if (PEM_PRIVATE_KEY.test(text)) findings.push({ file: where, what: 'PEM private key' });
    const key = AWS_ACCESS_KEY_ID.exec(text);
    if (key) findings.push({ file: where, what: `AWS access key id ${key[0]}` });
    for (const s of secrets)
      if (text.includes(s)) findings.push({ file: where, what: `SRS secret ${s.slice(0, 4)}…` });
  }
  return findings;
}

/** Every file under `dir` that `keep` accepts. */
export function filesUnder(dir: string, keep: (file: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path, keep));
    else if (keep(path)) out.push(path);
  }
  return out;
}
