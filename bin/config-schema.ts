/**
 * `npm run schema`: regenerates config/outbound-pools.schema.json from the valibot schema
 * (functions/core/config.ts) and the field descriptions of docs/configuration.md. Run it after
 * changing either; test/docs/config-schema.test.ts fails until the committed file is fresh.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { configJsonSchemaText, documentedFields, SCHEMA_FILE } from '../functions/core/config-schema.js';

const text = configJsonSchemaText(documentedFields(readFileSync('docs/configuration.md', 'utf8')));
writeFileSync(SCHEMA_FILE, text);
// Formatted as `npm run lint` wants it (the schema test compares the parsed JSON).
execFileSync('node_modules/.bin/biome', ['format', '--write', SCHEMA_FILE], { stdio: 'ignore' });
process.stdout.write(`wrote ${SCHEMA_FILE} (${text.length} bytes)\n`);
