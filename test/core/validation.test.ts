import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as v from 'valibot';
import { ConfigError } from '../../functions/core/errors.js';
import { describePath, envInteger, parseEnvironment, problemOf } from '../../functions/core/validation.js';

describe('describePath', () => {
  it('writes keys dotted and indices in brackets, (root) for the input itself', () => {
    assert.equal(describePath(['limits', 'default', 'perDay']), 'limits.default.perDay');
    assert.equal(describePath(['Records', 0, 'ses', 'mail']), 'Records[0].ses.mail');
    assert.equal(describePath([0, 'a']), '[0].a');
    assert.equal(describePath([]), '(root)');
  });
});

describe('problemOf', () => {
  const schema = v.strictObject({ name: v.string(), tags: v.array(v.string()) });
  const problems = (input: unknown) => {
    const r = v.safeParse(schema, input);
    assert.equal(r.success, false);
    return r.success ? [] : r.issues.map(problemOf);
  };

  it('says a field is missing, whether left out or undefined', () => {
    assert.deepEqual(problems({ tags: [] }), [{ path: ['name'], message: 'required field is missing' }]);
    assert.deepEqual(problems({ name: undefined, tags: [] })[0]?.message, 'required field is missing');
  });

  it('says a field is unknown, naming it', () => {
    assert.deepEqual(problems({ name: 'x', tags: [], nmae: 'y' }), [
      { path: ['nmae'], message: 'unknown field (misspelt, or not a setting of this version)' },
    ]);
  });

  it('keeps the path and the stock message of a wrong type', () => {
    const [p] = problems({ name: 'x', tags: ['a', 7] });
    assert.deepEqual(p?.path, ['tags', 1]);
    assert.match(p?.message ?? '', /Expected string but received 7/);
  });
});

describe('parseEnvironment with envInteger', () => {
  const Env = v.object({ TABLE: v.pipe(v.string(), v.minLength(3)), DAYS: envInteger(1, 3650, 30) });

  it('converts the text, applies the default and ignores other variables', () => {
    assert.deepEqual(parseEnvironment(Env, { TABLE: 'trace', DAYS: '7', PATH: '/bin' }), {
      TABLE: 'trace',
      DAYS: 7,
    });
    assert.deepEqual(parseEnvironment(Env, { TABLE: 'trace' }), { TABLE: 'trace', DAYS: 30 });
  });

  const cases: [string, Record<string, string>, string, RegExp][] = [
    ['missing variable', { DAYS: '7' }, 'TABLE', /^environment variable TABLE: required field is missing$/],
    [
      'not a number',
      { TABLE: 'trace', DAYS: 'soon' },
      'DAYS',
      /^environment variable DAYS: .*Expected number/,
    ],
    ['empty', { TABLE: 'trace', DAYS: '' }, 'DAYS', /^environment variable DAYS: .*Expected >=1/],
    ['fraction', { TABLE: 'trace', DAYS: '1.5' }, 'DAYS', /^environment variable DAYS: .*integer/],
    [
      'over the maximum',
      { TABLE: 'trace', DAYS: '3651' },
      'DAYS',
      /^environment variable DAYS: .*Expected <=3650/,
    ],
  ];
  for (const [name, env, field, message] of cases) {
    it(`names the variable: ${name}`, () => {
      assert.throws(
        () => parseEnvironment(Env, env),
        (e: unknown) => e instanceof ConfigError && e.field === field && message.test(e.message),
      );
    });
  }
});
