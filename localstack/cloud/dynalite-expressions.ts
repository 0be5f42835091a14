/**
 * dynalite's expression parsers, parsed once per expression shape.
 *
 * dynalite (pinned at 4.0.0) runs its PEG parsers on every expression of every call: a drain's
 * claim and settle send the same few UpdateExpression and ConditionExpression strings thousands
 * of times, and parsing them was 15 % of the local cloud's main thread (the profile of a
 * 10,000-job drain). A parse depends on the expression, the attribute names and, through its
 * type checks, the types of the attribute values; the values themselves only pass through it,
 * embedded by reference in the tree it returns (its `resolveAttrVal`). So a parse is kept per
 * (parser, expression, names, value types) as a template with a slot for each value, and a later
 * call with the same shape gets a fresh copy of the tree holding its own values: the same tree
 * the parser would have built, and the same names and values marked used.
 *
 * Not kept: an answer that is an error (the parser's message is returned as it came), and the
 * two checks that read a value itself rather than its type — BETWEEN's bounds in order and
 * attribute_type's type name — so expressions naming either are parsed every time.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type AttributeValue = Record<string, unknown>;

/** The context dynalite's validations hand each parser (validations/index.js `parse`). */
export interface ParseContext {
  attrNames?: Record<string, string>;
  attrVals?: Record<string, AttributeValue>;
  unusedAttrNames?: Record<string, boolean>;
  unusedAttrVals?: Record<string, boolean>;
  [other: string]: unknown;
}

export type ExpressionParse = (input: string, options: { context: ParseContext }) => unknown;

/** Where a request's attribute value goes in a kept tree. */
class ValueSlot {
  constructor(readonly name: string) {}
}

interface KeptParse {
  readonly template: unknown;
  readonly names: readonly string[];
  readonly values: readonly string[];
}

/** Expressions whose parse reads a value, not only its type (see above). */
const readsValues = /between|attribute_type/i;

/**
 * DynamoDB's limit on an expression's length: a longer one (which dynalite does not refuse) is
 * parsed every time, so that copying a kept tree never nests deeper than the parser itself.
 */
const maxKeptLength = 4_096;

/** The type dynalite's parsers see in a value (their `getImmediateType`), or undefined. */
const valueTypes = ['S', 'N', 'B', 'NULL', 'BOOL', 'SS', 'NS', 'BS', 'L', 'M'] as const;
function typeOf(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const attribute = value as AttributeValue;
  if (attribute.attrType != null) return undefined;
  return valueTypes.find((type) => attribute[type] != null);
}

/** The shape a parse depends on, or undefined when a value's type cannot be told. */
function shapeOf(input: string, context: ParseContext): string | undefined {
  let values = '';
  for (const name in context.attrVals ?? {}) {
    const type = typeOf(context.attrVals?.[name]);
    if (type === undefined) return undefined;
    values += `${name}=${type};`;
  }
  return `${input}\u0000${JSON.stringify(context.attrNames ?? null)}\u0000${values}`;
}

const flags = (record: Record<string, unknown> | undefined): Record<string, boolean> =>
  Object.fromEntries(Object.keys(record ?? {}).map((key) => [key, true]));

/** Clears the caller's unused marks of what an expression uses, as the parser does as it goes. */
function markUsed(context: ParseContext, names: readonly string[], values: readonly string[]): void {
  for (const name of names) delete context.unusedAttrNames?.[name];
  for (const name of values) delete context.unusedAttrVals?.[name];
}

/**
 * A copy of `node` in which each of `slotOf`'s objects is replaced by what `fill` makes of it;
 * objects keep their prototype (the parsers build some maps on `Object.create(null)`) and an
 * object reached twice is copied once (an update's `paths` shares its sections' path arrays).
 */
function copy(node: unknown, fill: (node: object) => unknown, copies: Map<object, unknown>): unknown {
  if (node === null || typeof node !== 'object') return node;
  const filled = fill(node);
  if (filled !== undefined) return filled;
  const done = copies.get(node);
  if (done !== undefined) return done;
  if (Array.isArray(node)) {
    const out: unknown[] = [];
    copies.set(node, out);
    for (const item of node) out.push(copy(item, fill, copies));
    return out;
  }
  const out = Object.create(Object.getPrototypeOf(node)) as Record<string, unknown>;
  copies.set(node, out);
  for (const key of Object.keys(node)) out[key] = copy((node as Record<string, unknown>)[key], fill, copies);
  return out;
}

/** `parse` with its trees kept per expression shape, at most `capacity` of them. */
export function keptParses(parse: ExpressionParse, capacity = 2_000): ExpressionParse {
  const kept = new Map<string, KeptParse>();
  return (input, options) => {
    const context = options.context;
    const shape =
      input.length > maxKeptLength || readsValues.test(input) ? undefined : shapeOf(input, context);
    const hit = shape === undefined ? undefined : kept.get(shape);
    if (hit) {
      const values = context.attrVals ?? {};
      let tree: unknown;
      try {
        tree = copy(
          hit.template,
          (node) => (node instanceof ValueSlot ? values[node.name] : undefined),
          new Map(),
        );
      } catch {
        return parse(input, options); // a tree too deep to copy here: the parser answers
      }
      markUsed(context, hit.names, hit.values);
      return tree;
    }
    if (shape === undefined) return parse(input, options);
    // What this expression uses, on its own: the caller's marks may already be cleared by another
    // of the call's expressions, and a kept parse must clear its own on every later call.
    const probe: ParseContext = {
      ...context,
      unusedAttrNames: flags(context.attrNames),
      unusedAttrVals: flags(context.attrVals),
    };
    let result: unknown;
    try {
      result = parse(input, { ...options, context: probe });
    } catch {
      result = undefined;
    }
    // An error is answered by the parser itself, on the caller's context: the same message and
    // the same marks cleared as far as it got.
    if (result === null || typeof result !== 'object') return parse(input, options);
    const names = Object.keys(context.attrNames ?? {}).filter((name) => !probe.unusedAttrNames?.[name]);
    const values = Object.keys(context.attrVals ?? {}).filter((name) => !probe.unusedAttrVals?.[name]);
    markUsed(context, names, values);
    const slotOf = new Map<object, ValueSlot>();
    for (const name of values) {
      const value = context.attrVals?.[name];
      if (value) slotOf.set(value, new ValueSlot(name));
    }
    // One object under two names could not be told apart in the tree: parsed every time.
    if (slotOf.size < values.length) return result;
    let template: unknown;
    try {
      template = copy(result, (node) => slotOf.get(node), new Map());
    } catch {
      return result; // a tree too deep to copy here: answered, not kept
    }
    if (kept.size >= capacity) kept.clear();
    kept.set(shape, { template, names, values });
    return result;
  };
}

let installed = false;

/**
 * Keeps the parses of dynalite's three expression parsers, for every caller: its validations
 * call each as `parser.parse(…)` through the module object, so replacing `parse` there is seen.
 */
export function keepDynaliteParses(): void {
  if (installed) return;
  installed = true;
  for (const name of ['conditionParser', 'updateParser', 'projectionParser']) {
    const parser = require(`dynalite/db/${name}.js`) as { parse: ExpressionParse };
    parser.parse = keptParses(parser.parse.bind(parser));
  }
}
