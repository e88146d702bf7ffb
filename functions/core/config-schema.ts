/**
 * The JSON Schema of the configuration file, generated from the valibot schema that validates
 * it ({@link ConfigSchema}), so the two cannot drift apart. Committed as
 * `config/outbound-pools.schema.json` (`npm run schema` rewrites it) and named by `$schema` in
 * the example configurations, so that editors complete and check them as they are typed.
 *
 * The schema describes the file as written (valibot's *input* types: optional fields stay
 * optional, defaults are shown). What JSON Schema cannot say — the rules between fields, the
 * domain and address syntax checked by functions — `outbound-pools config validate` checks.
 */
import { toJsonSchema } from '@valibot/to-json-schema';
import type * as v from 'valibot';
import { ConfigSchema } from './config.js';

export const SCHEMA_FILE = 'config/outbound-pools.schema.json';

export type JsonSchema = { [key: string]: unknown };

type AnySchema = v.BaseSchema<unknown, unknown, v.BaseIssue<unknown>>;
type Node = { kind?: string; type?: string; pipe?: Node[]; [key: string]: unknown };

/**
 * `dictionary()` (validation.ts) is `pipe(custom(isDictionary), record(key, value))`: the custom
 * check only refuses arrays, which JSON Schema's `"type": "object"` already does. Finds each
 * such custom schema and the record that follows it, so the record is what gets converted.
 */
function dictionaryRecords(root: unknown): Map<unknown, AnySchema> {
  const found = new Map<unknown, AnySchema>();
  const seen = new Set<unknown>();
  const walk = (node: unknown) => {
    if (node === null || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    const n = node as Node;
    const [first, second] = n.pipe ?? [];
    if (first?.type === 'custom' && second?.type === 'record')
      found.set(first, second as unknown as AnySchema);
    for (const value of Object.values(n)) {
      if (Array.isArray(value)) value.forEach(walk);
      else walk(value);
    }
  };
  walk(root);
  return found;
}

/**
 * The descriptions of docs/configuration.md: each table row ``| `path` | default | meaning |``
 * gives `path` its meaning. Rows of `limits.default.*` describe the overrides too.
 */
export function documentedFields(markdown: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of markdown.split('\n')) {
    const cells = /^\|\s*`([^`]+)`\s*\|([^|]*)\|(.*)\|\s*$/.exec(line);
    if (cells?.[1] && cells[3]) fields.set(cells[1], cells[3].trim());
  }
  return fields;
}

/**
 * Every field a configuration can hold, as docs/configuration.md names it: `a.b`, `x[].y` in
 * arrays of objects; the values of a dictionary (`routes`, `limits.domains`) are described by
 * the dictionary's own row, except policy overrides, which are the policy fields of
 * `limits.default`. Sections (objects with named fields) are not fields themselves.
 */
export function schemaFieldPaths(schema: JsonSchema, options: { sections?: boolean } = {}): string[] {
  const paths = new Set<string>();
  const walk = (node: JsonSchema, path: string, inDictionary: boolean) => {
    const properties = node.properties as Record<string, JsonSchema> | undefined;
    const items = node.items as JsonSchema | undefined;
    const values = node.additionalProperties;
    const options_ = (node.anyOf ?? node.oneOf) as JsonSchema[] | undefined;
    if (!inDictionary && path && (!properties || options.sections)) paths.add(path);
    for (const [name, child] of Object.entries(properties ?? {})) {
      walk(child, path ? `${path}.${name}` : name, inDictionary);
    }
    // A union of objects (`arc.privateKey`: a file or an SSM parameter): the fields of each.
    for (const option of options_ ?? []) {
      for (const [name, child] of Object.entries((option.properties ?? {}) as Record<string, JsonSchema>)) {
        walk(child, `${path}.${name}`, inDictionary);
      }
    }
    if (items && typeof items === 'object' && items.properties) walk(items, `${path}[]`, inDictionary);
    if (values && typeof values === 'object') walk(values as JsonSchema, `${path}.*`, true);
  };
  walk(schema, '', false);
  return [...paths];
}

/** The name a field has in docs/configuration.md (policy overrides are `limits.default.*`). */
export function documentedName(path: string): string {
  return path.replace(/^limits\.(?:domains|senders)\.\*\./, 'limits.default.');
}

/**
 * The JSON Schema, each field described by `descriptions` (docs/configuration.md, through
 * {@link documentedFields}); without them, bare.
 */
export function configJsonSchema(descriptions: Map<string, string> = new Map()): JsonSchema {
  const records = dictionaryRecords(ConfigSchema);
  const config: Parameters<typeof toJsonSchema>[1] = {
    target: 'draft-07',
    typeMode: 'input',
    errorMode: 'throw',
    // Normalisation (trim, lower case) and checks made by functions have no JSON Schema form;
    // `config validate` applies them.
    ignoreActions: ['trim', 'to_lower_case', 'check', 'transform'],
    overrideSchema: ({ valibotSchema }) => {
      const record = records.get(valibotSchema);
      if (!record) return undefined;
      const { $schema: _draft, ...converted } = toJsonSchema(record, config) as JsonSchema;
      return converted as ReturnType<typeof toJsonSchema>;
    },
  };
  const { $schema: draft, ...generated } = toJsonSchema(ConfigSchema, config) as JsonSchema;
  const schema: JsonSchema = {
    $schema: draft,
    title: 'ses-outbound-pools configuration',
    description:
      'The configuration of ses-outbound-pools (docs/configuration.md). Generated from functions/core/config.ts by npm run schema: do not edit.',
    ...generated,
  };
  describe(schema, '', descriptions);
  return schema;
}

/** Sets `description` on every node whose path (or its documented name) has one. */
function describe(node: JsonSchema, path: string, descriptions: Map<string, string>): void {
  const text = descriptions.get(path) ?? descriptions.get(documentedName(path));
  if (text && path) node.description = text;
  const properties = node.properties as Record<string, JsonSchema> | undefined;
  for (const [name, child] of Object.entries(properties ?? {})) {
    describe(child, path ? `${path}.${name}` : name, descriptions);
  }
  for (const option of ((node.anyOf ?? node.oneOf) as JsonSchema[] | undefined) ?? []) {
    for (const [name, child] of Object.entries((option.properties ?? {}) as Record<string, JsonSchema>)) {
      describe(child, `${path}.${name}`, descriptions);
    }
  }
  const items = node.items as JsonSchema | undefined;
  if (items && typeof items === 'object') describe(items, `${path}[]`, descriptions);
  const values = node.additionalProperties;
  if (values && typeof values === 'object') describe(values as JsonSchema, `${path}.*`, descriptions);
}

/** The committed file's text: the schema, two-space indented, with a final newline. */
export function configJsonSchemaText(descriptions: Map<string, string>): string {
  return `${JSON.stringify(configJsonSchema(descriptions), null, 2)}\n`;
}
