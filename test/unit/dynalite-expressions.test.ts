import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  type ExpressionParse,
  keepDynaliteParses,
  keptParses,
  type ParseContext,
} from '../../localstack/cloud/dynalite-expressions.ts';

const require = createRequire(import.meta.url);
type ParserName = 'conditionParser' | 'updateParser' | 'projectionParser';

/** A parser as dynalite ships it: loaded afresh, whatever another test installed. */
function unkept(name: ParserName): ExpressionParse {
  const file = require.resolve(`dynalite/db/${name}.js`);
  const cached = require.cache[file];
  delete require.cache[file];
  try {
    const parser = require(file) as { parse: ExpressionParse };
    return parser.parse.bind(parser);
  } finally {
    if (cached) require.cache[file] = cached;
  }
}
const db = require('dynalite/db/index.js') as { compare: unknown };
const validations = require('dynalite/validations/index.js') as {
  validateExpressions(data: Record<string, unknown>): string | undefined;
};

type Values = Record<string, Record<string, unknown>>;
/** The context dynalite's validations build for one call (validations/index.js). */
function contextOf(names: Record<string, string> | undefined, values: Values | undefined): ParseContext {
  return {
    attrNames: names,
    attrVals: values,
    unusedAttrNames: Object.fromEntries(Object.keys(names ?? {}).map((k) => [k, true])),
    unusedAttrVals: Object.fromEntries(Object.keys(values ?? {}).map((k) => [k, true])),
    isReserved: () => false,
    compare: db.compare,
  };
}
const answer = (parse: ExpressionParse, input: string, names?: Record<string, string>, values?: Values) => {
  const context = contextOf(names, values);
  let result: unknown;
  try {
    result = parse(input, { context });
  } catch (error) {
    result = `threw ${(error as Error).message}`;
  }
  return { result, unusedNames: context.unusedAttrNames, unusedValues: context.unusedAttrVals };
};

/** Whether two trees' objects have the same prototypes, node for node (`toEqual` ignores them). */
function samePrototypes(a: unknown, b: unknown): boolean {
  if (a === null || typeof a !== 'object' || b === null || typeof b !== 'object') return true;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  return Object.keys(a).every((key) =>
    samePrototypes((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}

/** A parser that counts its parses. */
function counted(parse: ExpressionParse) {
  const counter = { parses: 0 };
  const parser: ExpressionParse = (input, options) => {
    counter.parses++;
    return parse(input, options);
  };
  return { parser, counter };
}

/** Every object of `tree` reached from it, for identity checks. */
function objectsOf(tree: unknown, into = new Set<unknown>()): Set<unknown> {
  if (tree === null || typeof tree !== 'object' || into.has(tree)) return into;
  into.add(tree);
  for (const value of Object.values(tree)) objectsOf(value, into);
  return into;
}

const names = {
  '#s': 'status',
  '#a': 'attempts',
  '#l': 'lease',
  '#q': 'queueStatus',
  '#t': 'tags',
  '#m': 'meta',
};
// Two calls of the same shape: the values differ, their types do not.
const first: Values = {
  ':running': { S: 'RUNNING' },
  ':one': { N: '1' },
  ':lease': { N: '1700000000000' },
  ':now': { N: '1690000000000' },
  ':queued': { S: 'QUEUED' },
  ':retry': { S: 'RETRY' },
  ':list': { L: [{ S: 'a' }] },
  ':set': { SS: ['x', 'y'] },
  ':prefix': { S: 'job_' },
};
const second: Values = {
  ':running': { S: 'COMPLETED' },
  ':one': { N: '3' },
  ':lease': { N: '1800000000000' },
  ':now': { N: '1790000000000' },
  ':queued': { S: 'DELAYED' },
  ':retry': { S: 'WAITING' },
  ':list': { L: [{ S: 'b' }, { N: '2' }] },
  ':set': { SS: ['z'] },
  ':prefix': { S: 'order_' },
};
const pick = (values: Values, input: string): Values =>
  Object.fromEntries(Object.entries(values).filter(([k]) => new RegExp(`${k}\\b`).test(input)));
const pickNames = (input: string) =>
  Object.fromEntries(Object.entries(names).filter(([k]) => new RegExp(`${k}\\b`).test(input)));

const cases: [ParserName, string][] = [
  ['updateParser', 'SET #s = :running, #a = #a + :one, #l = :lease REMOVE #q'],
  ['updateParser', 'SET #t = list_append(if_not_exists(#t, :list), :list), #m.sub[1] = :one'],
  ['updateParser', 'ADD #t :set, #a :one'],
  ['updateParser', 'DELETE #t :set SET #s = :queued'],
  ['updateParser', 'SET #a = :one - #a'],
  [
    'conditionParser',
    'attribute_exists(#s) AND #s IN (:queued, :retry) AND (attribute_not_exists(#l) OR #l < :now)',
  ],
  ['conditionParser', 'NOT contains(#t, :prefix) OR begins_with(#s, :prefix)'],
  ['conditionParser', 'size(#t) > :one AND #m.sub[0] <> :running'],
  ['conditionParser', '#s = :queued'],
  ['projectionParser', '#s, #m.sub[2], #a'],
];

describe('dynalite expression parses kept per shape', () => {
  it.each(cases)(
    '%s "%s": a later call gets the tree the parser builds for its own values',
    (name, input) => {
      const original = unkept(name);
      const kept = keptParses(unkept(name));
      const expressionNames = pickNames(input);
      const [a, b] = [pick(first, input), pick(second, input)];

      // The first call is parsed and kept; the second is served from the kept template.
      expect(answer(kept, input, expressionNames, a)).toEqual(answer(original, input, expressionNames, a));
      const served = answer(kept, input, expressionNames, b);
      const reference = answer(original, input, expressionNames, b);
      expect(served).toEqual(reference);
      expect(samePrototypes(served.result, reference.result)).toBe(true);
      expect(typeof served.result).toBe('object');
      // Every value marked used and each of the second call's values in the tree as the object itself.
      expect(Object.keys(served.unusedValues ?? {})).toEqual([]);
      expect(Object.keys(served.unusedNames ?? {})).toEqual([]);
      const inTree = objectsOf(served.result);
      for (const value of Object.values(b)) expect(inTree.has(value)).toBe(true);
      for (const value of Object.values(a)) expect(inTree.has(value)).toBe(false);
    },
  );

  it('answers a call whose value types differ as the parser does (a type error is not kept)', () => {
    const kept = keptParses(unkept('updateParser'));
    const original = unkept('updateParser');
    const input = 'ADD #a :one';
    expect(answer(kept, input, { '#a': 'attempts' }, { ':one': { N: '1' } }).result).toMatchObject({
      sections: [{ type: 'add' }],
    });
    const wrongType = answer(kept, input, { '#a': 'attempts' }, { ':one': { S: 'one' } });
    expect(wrongType.result).toMatch(/Incorrect operand type/);
    expect(wrongType).toEqual(answer(original, input, { '#a': 'attempts' }, { ':one': { S: 'one' } }));
    // and the error was not kept in place of the good shape's tree
    expect(answer(kept, input, { '#a': 'attempts' }, { ':one': { N: '2' } }).result).toMatchObject({
      sections: [{ type: 'add', val: { N: '2' } }],
    });
  });

  it('parses attribute_type every time, since its type name is checked by value', () => {
    const kept = keptParses(unkept('conditionParser'));
    const input = 'attribute_type(#a, :t)';
    expect(answer(kept, input, { '#a': 'attempts' }, { ':t': { S: 'N' } }).result).toMatchObject({
      expression: { type: 'function', name: 'attribute_type' },
    });
    expect(answer(kept, input, { '#a': 'attempts' }, { ':t': { S: 'NUMBER' } }).result).toMatch(
      /Invalid attribute type name found; type: NUMBER/,
    );
  });

  it('keeps a tree with its null-prototype maps as the parser builds them', () => {
    const kept = keptParses(unkept('conditionParser'));
    const call = () =>
      answer(kept, '#m.sub[0] <> :v', { '#m': 'constructor' }, { ':v': { S: 'x' } }).result as {
        nestedPaths: object;
        pathHeads: object;
      };
    call();
    const served = call();
    expect(Object.getPrototypeOf(served.nestedPaths)).toBeNull();
    expect(Object.getPrototypeOf(served.pathHeads)).toBeNull();
    expect(Object.keys(served.nestedPaths)).toEqual(['constructor']);
  });

  it('parses an error again on every call rather than keeping it', () => {
    const { parser, counter } = counted(unkept('updateParser'));
    const kept = keptParses(parser);
    const call = () => answer(kept, 'ADD #a :one', { '#a': 'attempts' }, { ':one': { S: 'one' } }).result;
    expect(call()).toMatch(/Incorrect operand type/);
    const afterFirst = counter.parses;
    expect(call()).toMatch(/Incorrect operand type/);
    expect(counter.parses).toBeGreaterThan(afterFirst);
  });

  it('parses an expression longer than DynamoDB allows every time, answering as the parser does', () => {
    const { parser, counter } = counted(unkept('conditionParser'));
    const kept = keptParses(parser);
    const input = Array.from({ length: 500 }, () => '#a = :s').join(' AND ');
    expect(input.length).toBeGreaterThan(4_096);
    const call = (parse: ExpressionParse) => answer(parse, input, { '#a': 'a' }, { ':s': { S: 'x' } });
    expect(call(kept)).toEqual(call(unkept('conditionParser')));
    const afterFirst = counter.parses;
    call(kept);
    expect(counter.parses).toBe(afterFirst + 1);
  });

  it('parses BETWEEN every time, since its bounds are checked by value', () => {
    const kept = keptParses(unkept('conditionParser'));
    const input = '#a BETWEEN :low AND :high';
    const ordered = answer(kept, input, { '#a': 'attempts' }, { ':low': { N: '1' }, ':high': { N: '5' } });
    expect(ordered.result).toMatchObject({ expression: { type: 'between' } });
    const reversed = answer(kept, input, { '#a': 'attempts' }, { ':low': { N: '9' }, ':high': { N: '5' } });
    expect(reversed.result).toMatch(/upper bound to be greater than or equal to lower bound/);
  });

  it('answers a missing name or value and a syntax error as the parser does', () => {
    const kept = keptParses(unkept('conditionParser'));
    const original = unkept('conditionParser');
    for (const [input, expressionNames, values] of [
      ['#s = :queued', { '#s': 'status' }, { ':queued': { S: 'QUEUED' } }],
      ['#s = :queued', {}, { ':queued': { S: 'QUEUED' } }],
      ['#s = :missing', { '#s': 'status' }, { ':queued': { S: 'QUEUED' } }],
      ['#s = = :queued', { '#s': 'status' }, { ':queued': { S: 'QUEUED' } }],
    ] as const) {
      expect(answer(kept, input, { ...expressionNames }, { ...values })).toEqual(
        answer(original, input, { ...expressionNames }, { ...values }),
      );
    }
  });

  it('hands out a fresh tree each time: a caller changing one does not change the next', () => {
    const kept = keptParses(unkept('updateParser'));
    const input = 'SET #s = :running REMOVE #q';
    const call = () =>
      answer(kept, input, { '#s': 'status', '#q': 'queueStatus' }, { ':running': { S: 'R' } });
    call();
    const one = call().result as { sections: { path: string[] }[]; paths: string[][] };
    // The update's `paths` holds the very path arrays of its sections, as the parser builds them.
    expect(one.paths[0]).toBe(one.sections[0]?.path);
    one.sections.splice(0);
    one.paths[0]?.push('changed');
    const two = call().result as { sections: { path: string[] }[] };
    expect(two.sections.map((s) => s.path)).toEqual([['status'], ['queueStatus']]);
  });

  it('keeps at most its capacity, starting over when full', () => {
    const original = unkept('conditionParser');
    const { parser, counter } = counted(unkept('conditionParser'));
    const kept = keptParses(parser, 2);
    const call = (parse: ExpressionParse, attribute: string, n: number) =>
      answer(parse, `#${attribute} = :v`, { [`#${attribute}`]: attribute }, { ':v': { N: String(n) } });
    const parsesFor = (attribute: string, n: number) => {
      const before = counter.parses;
      expect(call(kept, attribute, n)).toEqual(call(original, attribute, n));
      return counter.parses - before;
    };
    expect([parsesFor('a', 1), parsesFor('b', 1)]).toEqual([1, 1]);
    expect([parsesFor('a', 2), parsesFor('b', 2)]).toEqual([0, 0]); // both kept
    expect(parsesFor('c', 1)).toBe(1); // full: starts over with c alone
    expect([parsesFor('c', 2), parsesFor('a', 3)]).toEqual([0, 1]);
  });

  it('through dynalite: a name two expressions share counts as used by each, whatever the other', () => {
    keepDynaliteParses();
    const call = (data: Record<string, unknown>) => validations.validateExpressions(data);
    // Both expressions use #a here, so the condition's parse finds it already marked used.
    expect(
      call({
        UpdateExpression: 'SET #a = :v',
        ConditionExpression: 'attribute_exists(#a)',
        ExpressionAttributeNames: { '#a': 'a' },
        ExpressionAttributeValues: { ':v': { N: '1' } },
      }),
    ).toBeUndefined();
    // The same condition, kept, must still mark #a used when the update does not use it.
    expect(
      call({
        UpdateExpression: 'SET #b = :v',
        ConditionExpression: 'attribute_exists(#a)',
        ExpressionAttributeNames: { '#a': 'a', '#b': 'b' },
        ExpressionAttributeValues: { ':v': { N: '2' } },
      }),
    ).toBeUndefined();
    // A reserved word is refused every time, as the parser refuses it.
    for (const value of ['1', '2'])
      expect(
        call({ UpdateExpression: 'SET status = :v', ExpressionAttributeValues: { ':v': { N: value } } }),
      ).toMatch(/reserved keyword; reserved keyword: status/);
    // and a name no expression uses is still refused
    expect(
      call({
        UpdateExpression: 'SET #b = :v',
        ConditionExpression: 'attribute_exists(#a)',
        ExpressionAttributeNames: { '#a': 'a', '#b': 'b', '#c': 'c' },
        ExpressionAttributeValues: { ':v': { N: '3' } },
      }),
    ).toMatch(/unused in expressions: keys: \{#c\}/);
  });
});
