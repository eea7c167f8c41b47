import { tokenize } from '../http/tokens.ts';

/**
 * The filter language Okta uses for the System Log's `filter` and the groups listing's `search`
 * (okta.md §1.4; SDK 8.1.0 `GroupApiListGroupsRequest.search`): comparisons `attribute op "value"`
 * joined with `and` / `or` (`and` binds tighter) and grouped with parentheses. Which attributes and
 * operators exist is each caller's grammar; a malformed expression, or an attribute or operator
 * the grammar does not have, throws ExpressionError, which the emulators answer with 400.
 */

export class ExpressionError extends Error {}

export type Predicate<T> = (item: T) => boolean;

export interface Grammar<T> {
  /** Lower-cased attribute name → the item's values for it (the comparison holds when any does). */
  readonly attributes: Readonly<Record<string, (item: T) => readonly string[]>>;
  /** Lower-cased operator → the test, value first. */
  readonly operators: Readonly<Record<string, (value: string, wanted: string) => boolean>>;
  /** Why this attribute (lower-cased) may not be used with this operator; null when it may. Runs before the attribute is looked up. */
  readonly refuse?: (attribute: string, operator: string) => string | null;
}

/** Okta's string literal: `"…"`, a backslash escaping the next character. */
function readString(text: string, start: number): { value: string; end: number } {
  let s = '';
  let i = start + 1;
  while (i < text.length && text[i] !== '"') {
    if (text[i] === '\\' && i + 1 < text.length) i++;
    s += text[i];
    i++;
  }
  if (i >= text.length) throw new ExpressionError('unterminated string');
  return { value: s, end: i + 1 };
}

/** Parses an expression, or throws ExpressionError saying what is wrong with it. */
export function parseExpression<T>(text: string, grammar: Grammar<T>): Predicate<T> {
  const tokens = tokenize(text, '"', readString);
  let pos = 0;
  const peekWord = (): string | null => {
    const t = tokens[pos];
    return t?.kind === 'word' ? t.text.toLowerCase() : null;
  };

  const comparison = (): Predicate<T> => {
    const attr = tokens[pos++];
    const op = tokens[pos++];
    const value = tokens[pos++];
    if (attr?.kind !== 'word') throw new ExpressionError('expected an attribute');
    const name = attr.text.toLowerCase();
    const refused = grammar.refuse?.(name, op?.kind === 'word' ? op.text.toLowerCase() : '');
    if (refused) throw new ExpressionError(refused);
    const get = grammar.attributes[name];
    if (!get) throw new ExpressionError(`unknown attribute ${attr.text}`);
    const test = op?.kind === 'word' ? grammar.operators[op.text.toLowerCase()] : undefined;
    if (!test) throw new ExpressionError(`unknown operator after ${attr.text}`);
    if (value?.kind !== 'string') throw new ExpressionError(`expected a quoted value after ${attr.text} ${(op as { text: string }).text}`);
    const wanted = value.text;
    return (item) => get(item).some((v) => test(v, wanted));
  };

  const factor = (): Predicate<T> => {
    if (tokens[pos]?.kind === '(') {
      pos++;
      const inner = expr();
      if (tokens[pos]?.kind !== ')') throw new ExpressionError('missing )');
      pos++;
      return inner;
    }
    return comparison();
  };

  const term = (): Predicate<T> => {
    const parts = [factor()];
    while (peekWord() === 'and') {
      pos++;
      parts.push(factor());
    }
    return parts.length === 1 ? (parts[0] as Predicate<T>) : (e) => parts.every((p) => p(e));
  };

  function expr(): Predicate<T> {
    const parts = [term()];
    while (peekWord() === 'or') {
      pos++;
      parts.push(term());
    }
    return parts.length === 1 ? (parts[0] as Predicate<T>) : (e) => parts.some((p) => p(e));
  }

  if (tokens.length === 0) throw new ExpressionError('empty expression');
  const predicate = expr();
  if (pos !== tokens.length) throw new ExpressionError('unexpected text after the expression');
  return predicate;
}
