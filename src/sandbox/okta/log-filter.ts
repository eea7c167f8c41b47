/**
 * The System Log's `filter` expressions, as far as the Docker sync and its tests need them
 * (okta.md §1.4): comparisons `eq`, `sw` and `co` on the event type, the targets and the actor,
 * joined with `and` / `or` (`and` binds tighter) and grouped with parentheses. Okta documents that
 * a filter may not use `published` (the time bounds are `since` and `until`); that, an unknown
 * attribute or operator, and a malformed expression are refused, as Okta refuses them with 400.
 */

/** The parts of an event a filter can look at. */
export interface FilterableEvent {
  readonly eventType: string;
  readonly legacyEventType: string;
  readonly severity: string;
  readonly actor: { readonly id: string; readonly alternateId: string };
  readonly target: readonly { readonly id: string; readonly type: string; readonly alternateId: string }[];
}

export type LogFilter = (event: FilterableEvent) => boolean;

export class LogFilterError extends Error {}

const ATTRIBUTES: Record<string, (e: FilterableEvent) => readonly string[]> = {
  eventtype: (e) => [e.eventType],
  legacyeventtype: (e) => [e.legacyEventType],
  severity: (e) => [e.severity],
  'actor.id': (e) => [e.actor.id],
  'actor.alternateid': (e) => [e.actor.alternateId],
  // A target attribute matches when any of the event's targets has it.
  'target.id': (e) => e.target.map((t) => t.id),
  'target.type': (e) => e.target.map((t) => t.type),
  'target.alternateid': (e) => e.target.map((t) => t.alternateId),
};

const OPERATORS: Record<string, (value: string, wanted: string) => boolean> = {
  eq: (v, w) => v === w,
  sw: (v, w) => v.startsWith(w),
  co: (v, w) => v.includes(w),
};

type Token = { kind: 'word'; text: string } | { kind: 'string'; text: string } | { kind: '(' | ')' };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      out.push({ kind: c });
      i++;
    } else if (c === '"') {
      let s = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        s += text[i];
        i++;
      }
      if (i >= text.length) throw new LogFilterError('unterminated string');
      i++;
      out.push({ kind: 'string', text: s });
    } else {
      let w = '';
      while (i < text.length && !/[\s()"]/.test(text[i] as string)) w += text[i++];
      out.push({ kind: 'word', text: w });
    }
  }
  return out;
}

/** Parses a filter, or throws LogFilterError saying what is wrong with it. */
export function parseLogFilter(text: string): LogFilter {
  const tokens = tokenize(text);
  let pos = 0;
  const peekWord = (): string | null => {
    const t = tokens[pos];
    return t?.kind === 'word' ? t.text.toLowerCase() : null;
  };

  const comparison = (): LogFilter => {
    const attr = tokens[pos++];
    const op = tokens[pos++];
    const value = tokens[pos++];
    if (attr?.kind !== 'word') throw new LogFilterError('expected an attribute');
    const name = attr.text.toLowerCase();
    if (name === 'published') throw new LogFilterError('filters may not use published; use since and until');
    const get = ATTRIBUTES[name];
    if (!get) throw new LogFilterError(`unknown attribute ${attr.text}`);
    if (op?.kind !== 'word' || !OPERATORS[op.text.toLowerCase()]) throw new LogFilterError(`unknown operator after ${attr.text}`);
    const test = OPERATORS[op.text.toLowerCase()] as (v: string, w: string) => boolean;
    if (value?.kind !== 'string') throw new LogFilterError(`expected a quoted value after ${attr.text} ${op.text}`);
    const wanted = value.text;
    return (e) => get(e).some((v) => test(v, wanted));
  };

  const factor = (): LogFilter => {
    if (tokens[pos]?.kind === '(') {
      pos++;
      const inner = expr();
      if (tokens[pos]?.kind !== ')') throw new LogFilterError('missing )');
      pos++;
      return inner;
    }
    return comparison();
  };

  const term = (): LogFilter => {
    const parts = [factor()];
    while (peekWord() === 'and') {
      pos++;
      parts.push(factor());
    }
    return parts.length === 1 ? (parts[0] as LogFilter) : (e) => parts.every((p) => p(e));
  };

  function expr(): LogFilter {
    const parts = [term()];
    while (peekWord() === 'or') {
      pos++;
      parts.push(term());
    }
    return parts.length === 1 ? (parts[0] as LogFilter) : (e) => parts.some((p) => p(e));
  }

  if (tokens.length === 0) throw new LogFilterError('empty filter');
  const filter = expr();
  if (pos !== tokens.length) throw new LogFilterError('unexpected text after the expression');
  return filter;
}
