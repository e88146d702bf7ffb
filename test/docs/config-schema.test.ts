/**
 * The configuration documents itself: the committed JSON Schema is what the valibot schema
 * generates now, every field it has is documented in docs/configuration.md (and every
 * documented field exists), the example configurations name it, and an independent JSON
 * Schema validator (`jsonschema`, as an editor would use the file) accepts them and refuses
 * their typos.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../functions/core/config.js';
import {
  configJsonSchema,
  documentedFields,
  documentedName,
  type JsonSchema,
  SCHEMA_FILE,
  schemaFieldPaths,
} from '../../functions/core/config-schema.js';

const DOC = 'docs/configuration.md';
const EXAMPLES = ['config/outbound-pools.json', 'examples/demo/config.json', 'examples/simulate/config.json'];
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

// The validator aws-cdk-lib uses for its own schemas (a dependency of it, pinned by the
// lockfile): not ours, so an independent oracle of what the committed schema accepts.
const requireFromCdk = createRequire(createRequire(import.meta.url).resolve('aws-cdk-lib/package.json'));
const { Validator } = requireFromCdk('jsonschema') as {
  Validator: new () => {
    validate(i: unknown, s: unknown): { valid: boolean; errors: { property: string; message: string }[] };
  };
};
const validator = new Validator();

/** The node at `keys` below `node`; fails the test when there is none. */
function at(node: JsonSchema, ...keys: string[]): JsonSchema {
  let current: unknown = node;
  for (const key of keys) {
    current = (current as JsonSchema | undefined)?.[key];
    assert.ok(current && typeof current === 'object', `schema node ${keys.join('.')}`);
  }
  return current as JsonSchema;
}
// biome-ignore lint/suspicious/noExplicitAny: the cases below mutate parsed JSON at any depth
type Mutable = Record<string, any>;

describe('config/outbound-pools.schema.json', () => {
  const documented = documentedFields(readFileSync(DOC, 'utf8'));
  const committed = readJson(SCHEMA_FILE);

  it('is what npm run schema generates now (run it after changing ConfigSchema or docs/configuration.md)', () => {
    assert.deepEqual(committed, configJsonSchema(documented));
  });

  it('documents every field of the configuration in docs/configuration.md, and nothing that is not one', () => {
    const fields = schemaFieldPaths(committed as JsonSchema);
    assert.ok(fields.length >= 30, `the walk finds the fields (${fields.length})`);
    for (const known of [
      'arc.privateKey.ssmParameter',
      'trustedGateways[].cidrs',
      'srs.secretsParameter',
      'trace.retentionDays',
      'limits.default.action',
    ])
      assert.ok(fields.includes(known), `${known} is a field of the schema`);
    const undocumented = fields.filter((f) => !documented.has(documentedName(f)));
    assert.deepEqual(undocumented, [], `fields without a row in ${DOC}`);
    const everything = new Set(
      schemaFieldPaths(committed as JsonSchema, { sections: true }).map(documentedName),
    );
    const stale = [...documented.keys()].filter((f) => !everything.has(f));
    assert.deepEqual(stale, [], `rows of ${DOC} that name no field of the schema`);
  });

  it('gives every field the description its row in docs/configuration.md has', () => {
    const secretsParameter = at(committed, 'properties', 'srs', 'properties', 'secretsParameter');
    assert.equal(secretsParameter.description, documented.get('srs.secretsParameter'));
    const senders = at(committed, 'properties', 'limits', 'properties', 'senders');
    const perDay = at(senders, 'additionalProperties', 'properties', 'perDay');
    assert.equal(perDay.description, documented.get('limits.default.perDay'));
    assert.ok(perDay.description, 'a policy override is described as the default policy is');
  });

  for (const example of EXAMPLES) {
    it(`${example}: names the committed schema in $schema, and both validators accept it`, () => {
      const config = readJson(example);
      assert.equal(resolve(dirname(example), String(config.$schema)), resolve(SCHEMA_FILE));
      const result = validator.validate(config, committed);
      assert.deepEqual(
        result.errors.map((e) => `${e.property}: ${e.message}`),
        [],
      );
      assert.doesNotThrow(() => parseConfig(config));
    });
  }

  const base = readJson('examples/demo/config.json');
  const cases: [string, (c: Mutable) => void][] = [
    [
      'a misspelt top-level field',
      (c) => {
        c.acceptedDomian = c.acceptedDomains;
      },
    ],
    [
      'a misspelt policy field',
      (c) => {
        c.limits.default.perDya = 5;
      },
    ],
    [
      'an unknown action',
      (c) => {
        c.limits.default.action = 'quarantine';
      },
    ],
    [
      'a number given as a string',
      (c) => {
        c.srs.maxAgeDays = '21';
      },
    ],
    [
      'a missing required field',
      (c) => {
        delete c.srs.domain;
      },
    ],
    [
      'a gateway without cidrs',
      (c) => {
        c.trustedGateways = [{ name: 'filter' }];
      },
    ],
    [
      'an ARC key inlined',
      (c) => {
        c.arc = { domain: 'fwd.example.com', selector: 'a', privateKey: { pem: 'x' } };
      },
    ],
  ];
  for (const [what, mutate] of cases) {
    it(`refuses ${what}, as the valibot schema does`, () => {
      const config = structuredClone(base) as Mutable;
      mutate(config);
      assert.equal(validator.validate(config, committed).valid, false, 'the JSON Schema refuses it');
      assert.throws(() => parseConfig(config), 'parseConfig refuses it');
    });
  }
});
