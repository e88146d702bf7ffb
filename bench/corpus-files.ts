/**
 * A corpus saved to a directory (`corpus.json` + one `.eml` per message) and loaded again by
 * the bench's child processes, so they use the very same keys and messages.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ArcSigningKey } from '../functions/core/compose/arc.js';
import { parseConfig } from '../functions/core/config.js';
import { type Zones, zoneResolver } from '../functions/core/dns/zone-resolver.js';
import type { Corpus, Key, Shape } from './corpus.js';

interface SavedCorpus {
  now: string;
  configJson: Record<string, unknown>;
  zones: Zones;
  arcKey: ArcSigningKey;
  dkimKeys: Key[];
  messages: { name: string; shape: Shape; signatures: number; file: string; bytes: number }[];
}

/** Writes the corpus to `dir` (`corpus.json` + one `.eml` per message). */
export function saveCorpus(corpus: Corpus, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const saved: SavedCorpus = {
    now: corpus.now.toISOString(),
    configJson: corpus.configJson,
    zones: corpus.zones,
    arcKey: corpus.arcKey,
    dkimKeys: corpus.dkimKeys,
    messages: corpus.messages.map((m) => {
      const file = `${m.name.replace(/\//g, '-')}.eml`;
      writeFileSync(join(dir, file), m.raw);
      return { name: m.name, shape: m.shape, signatures: m.signatures, file, bytes: m.raw.length };
    }),
  };
  writeFileSync(join(dir, 'corpus.json'), JSON.stringify(saved), { mode: 0o600 });
}

/** Loads a saved corpus; `only` limits which message files are read (memory children). */
export function loadCorpus(dir: string, only?: (name: string) => boolean): Corpus {
  const saved = JSON.parse(readFileSync(join(dir, 'corpus.json'), 'utf8')) as SavedCorpus;
  return {
    now: new Date(saved.now),
    configJson: saved.configJson,
    config: parseConfig(saved.configJson),
    zones: saved.zones,
    resolver: zoneResolver(saved.zones),
    arcKey: saved.arcKey,
    dkimKeys: saved.dkimKeys,
    messages: saved.messages
      .filter((m) => !only || only(m.name))
      .map((m) => ({
        name: m.name,
        shape: m.shape,
        signatures: m.signatures,
        raw: readFileSync(join(dir, m.file)),
      })),
  };
}
