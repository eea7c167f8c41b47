import { tokenize, type Token } from '../http/tokens.ts';

/**
 * The part of OData `$filter` the Graph emulator serves on `GET /users` (entra-graph.md §1: `$filter`
 * on users): `property eq 'value'` comparisons joined with `and` / `or` (`and` binds tighter), in
 * parentheses or not, on the properties listed. String literals are OData's: a quote inside is
 * doubled. Values compare without regard to case, as Graph does for `userPrincipalName` and `mail`.
 * Anything else is refused with the reason, which the emulator answers as Graph's 400: a reader
 * that sent an unsupported filter must see an error, never an unfiltered list.
 */

export type Row = Readonly<Record<string, unknown>>;
export type RowFilter = (row: Row) => boolean;

class LiteralError extends Error {}

/** OData's string literal: `'…'`, a quote inside doubled. */
function readString(text: string, start: number): { value: string; end: number } {
  let s = '';
  let i = start + 1;
  for (;;) {
    if (i >= text.length) throw new LiteralError('unterminated string literal');
    if (text[i] === "'") {
      if (text[i + 1] !== "'") return { value: s, end: i + 1 };
      s += "'";
      i += 2;
      continue;
    }
    s += text[i];
    i++;
  }
}

/** The filter, or why it is refused. `properties`: the names a comparison may use, as Graph spells them. */
export function parseFilter(text: string, properties: readonly string[]): RowFilter | string {
  let tokens: Token[];
  try {
    tokens = tokenize(text, "'", readString);
  } catch (err) {
    if (err instanceof LiteralError) return err.message;
    throw err;
  }
  if (tokens.length === 0) return 'empty filter';
  const known = new Map(properties.map((p) => [p.toLowerCase(), p]));
  let pos = 0;
  const word = () => {
    const t = tokens[pos];
    return t?.kind === 'word' ? t.text.toLowerCase() : null;
  };

  const comparison = (): RowFilter | string => {
    const [p, op, v] = [tokens[pos], tokens[pos + 1], tokens[pos + 2]];
    pos += 3;
    if (p?.kind !== 'word') return 'expected a property name';
    const property = known.get(p.text.toLowerCase());
    if (!property) return `Unsupported or invalid query filter clause specified for property '${p.text}' of resource 'User'.`;
    if (op?.kind !== 'word' || op.text.toLowerCase() !== 'eq') return `Unsupported operator after '${p.text}': only eq is emulated.`;
    if (v?.kind !== 'string') return `expected a quoted value after '${p.text} eq'`;
    const wanted = v.text.toLowerCase();
    return (row) => typeof row[property] === 'string' && (row[property] as string).toLowerCase() === wanted;
  };

  const factor = (): RowFilter | string => {
    if (tokens[pos]?.kind !== '(') return comparison();
    pos++;
    const inner = expr();
    if (typeof inner === 'string') return inner;
    if (tokens[pos]?.kind !== ')') return "missing ')'";
    pos++;
    return inner;
  };

  const joined = (keyword: string, next: () => RowFilter | string, all: boolean): RowFilter | string => {
    const parts: RowFilter[] = [];
    for (;;) {
      const part = next();
      if (typeof part === 'string') return part;
      parts.push(part);
      if (word() !== keyword) break;
      pos++;
    }
    if (parts.length === 1) return parts[0] as RowFilter;
    return all ? (row) => parts.every((p) => p(row)) : (row) => parts.some((p) => p(row));
  };
  const term = () => joined('and', factor, true);
  function expr(): RowFilter | string {
    return joined('or', term, false);
  }

  const filter = expr();
  if (typeof filter === 'string') return filter;
  if (pos !== tokens.length) return 'unexpected text after the filter';
  return filter;
}
