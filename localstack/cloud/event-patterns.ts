/**
 * EventBridge's event patterns, as its rules and archives match them: every field the pattern
 * names must match; a list matches when any of its entries does (an array in the event matches
 * when any element does); an object descends. Entries are values (exact), or the content
 * filters `prefix`, `suffix`, `equals-ignore-case`, `anything-but` (a value, a list, or
 * `{prefix}`), `exists` and `numeric` (`[">", 0, "<=", 5]`). `wildcard` and `$or` are not
 * served locally: a pattern that uses them matches nothing, and says so once.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type EventPattern = { readonly [key: string]: unknown };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export class UnsupportedPattern extends Error {
  override readonly name = 'UnsupportedPattern';
}

function matchesNumeric(conditions: unknown[], value: unknown): boolean {
  if (typeof value !== 'number') return false;
  for (let i = 0; i < conditions.length; i += 2) {
    const [op, bound] = [conditions[i], Number(conditions[i + 1])];
    const ok =
      op === '>'
        ? value > bound
        : op === '>='
          ? value >= bound
          : op === '<'
            ? value < bound
            : op === '<='
              ? value <= bound
              : op === '='
                ? value === bound
                : false;
    if (!ok) return false;
  }
  return true;
}

/** One entry of a pattern's list against one value of the event (undefined: the field is absent). */
function matchesEntry(entry: unknown, value: Json | undefined): boolean {
  if (!isObject(entry)) return value !== undefined && entry === value;
  const [filter, arg] = Object.entries(entry)[0] ?? [];
  switch (filter) {
    case 'exists':
      return arg ? value !== undefined : value === undefined;
    case 'prefix':
      return typeof value === 'string' && typeof arg === 'string' && value.startsWith(arg);
    case 'suffix':
      return typeof value === 'string' && typeof arg === 'string' && value.endsWith(arg);
    case 'equals-ignore-case':
      return (
        typeof value === 'string' && typeof arg === 'string' && value.toLowerCase() === arg.toLowerCase()
      );
    case 'numeric':
      return Array.isArray(arg) && matchesNumeric(arg, value);
    case 'anything-but': {
      if (value === undefined) return false;
      if (isObject(arg) && typeof arg.prefix === 'string')
        return !(typeof value === 'string' && value.startsWith(arg.prefix));
      const excluded = Array.isArray(arg) ? arg : [arg];
      return !excluded.includes(value as never);
    }
    default:
      throw new UnsupportedPattern(`the content filter "${String(filter)}" is not served locally`);
  }
}

function matchesField(pattern: unknown, value: Json | undefined): boolean {
  if (Array.isArray(pattern)) {
    const values = Array.isArray(value) ? value : [value];
    return pattern.some((entry) => values.some((v) => matchesEntry(entry, v)));
  }
  if (isObject(pattern)) return matchesPattern(pattern, isObject(value) ? (value as Json) : undefined);
  throw new UnsupportedPattern('a pattern field must be a list or an object');
}

/** Whether `event` (the whole envelope: source, detail-type, detail, …) matches `pattern`. */
export function matchesPattern(pattern: EventPattern, event: Json | undefined): boolean {
  return Object.entries(pattern).every(([key, sub]) => {
    if (key === '$or') throw new UnsupportedPattern('$or is not served locally');
    const value = isObject(event) ? (event[key] as Json | undefined) : undefined;
    return matchesField(sub, value);
  });
}
