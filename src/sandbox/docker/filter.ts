import { tokenize, type Token } from '../http/tokens.ts';

/**
 * The SCIM filter subset Docker documents for GET /Users: `eq ne co sw and or not ()`, attribute
 * names and operators case-insensitive (reference §3.2). Anything else is a 400 `invalidFilter`,
 * so a client that relies on `gt`, `pr` or a value path finds out in tests, not against Docker.
 */

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw';
export type FilterValue = string | number | boolean | null;

export type FilterNode =
  | { readonly kind: 'cmp'; readonly attr: string; readonly op: CompareOp; readonly value: FilterValue }
  | { readonly kind: 'and' | 'or'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly kind: 'not'; readonly inner: FilterNode };

export class FilterError extends Error {}

const SUPPORTED: ReadonlySet<string> = new Set(['eq', 'ne', 'co', 'sw']);
/** RFC 7644 operators Docker does not list; named so the error says which one was refused. */
const UNSUPPORTED: ReadonlySet<string> = new Set(['gt', 'ge', 'lt', 'le', 'pr', 'ew']);
/** An attribute path, optionally behind a schema URN: `userName`, `name.givenName`, `urn:…:User:dockerRole`. */
const ATTR_PATH = /^(?:urn:[^\s()"[\]]+:)?[A-Za-z][\w$-]*(?:\.[A-Za-z][\w$-]*)?$/;

/**
 * A SCIM filter string: RFC 7644 defines it as a JSON string (`\"`, `\\`, `\n`, `\u00e9`…), so the
 * literal is scanned to its closing quote, skipping escaped characters, and JSON decides the rest.
 */
function readString(text: string, start: number): { value: string; end: number } {
  let j = start + 1;
  while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
  if (j >= text.length) throw new FilterError('unterminated string in filter');
  const literal = text.slice(start, j + 1);
  try {
    return { value: JSON.parse(literal) as string, end: j + 1 };
  } catch {
    throw new FilterError(`invalid string ${literal} in filter`);
  }
}

class Parser {
  private pos = 0;
  private readonly tokens: Token[];
  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  parse(): FilterNode {
    if (this.tokens.length === 0) throw new FilterError('the filter must contain at least one valid expression');
    const node = this.or();
    if (this.pos < this.tokens.length) throw new FilterError(`unexpected ${describe(this.tokens[this.pos])} in filter`);
    return node;
  }

  private peekKeyword(word: string): boolean {
    const t = this.tokens[this.pos];
    return t?.kind === 'word' && t.text.toLowerCase() === word;
  }

  private or(): FilterNode {
    let left = this.and();
    while (this.peekKeyword('or')) {
      this.pos++;
      left = { kind: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): FilterNode {
    let left = this.unary();
    while (this.peekKeyword('and')) {
      this.pos++;
      left = { kind: 'and', left, right: this.unary() };
    }
    return left;
  }

  private unary(): FilterNode {
    if (this.peekKeyword('not')) {
      this.pos++;
      return { kind: 'not', inner: this.unary() };
    }
    const t = this.tokens[this.pos];
    if (t?.kind === '(') {
      this.pos++;
      const inner = this.or();
      if (this.tokens[this.pos]?.kind !== ')') throw new FilterError('missing ")" in filter');
      this.pos++;
      return inner;
    }
    return this.comparison();
  }

  private comparison(): FilterNode {
    const a = this.tokens[this.pos++];
    if (a?.kind !== 'word' || !ATTR_PATH.test(a.text)) throw new FilterError(`expected an attribute name, found ${describe(a)}`);
    const o = this.tokens[this.pos++];
    if (o?.kind !== 'word') throw new FilterError(`expected an operator after ${a.text}, found ${describe(o)}`);
    const op = o.text.toLowerCase();
    if (UNSUPPORTED.has(op)) throw new FilterError(`operator "${o.text}" is not supported (supported: eq, ne, co, sw)`);
    if (!SUPPORTED.has(op)) throw new FilterError(`unknown operator "${o.text}"`);
    const v = this.tokens[this.pos++];
    let value: FilterValue;
    if (v?.kind === 'string') value = v.text;
    else if (v?.kind === 'word') value = literal(v.text);
    else throw new FilterError(`expected a value after ${a.text} ${o.text}, found ${describe(v)}`);
    if ((op === 'co' || op === 'sw') && typeof value !== 'string') throw new FilterError(`"${o.text}" needs a string value`);
    return { kind: 'cmp', attr: a.text, op: op as CompareOp, value };
  }
}

function literal(text: string): FilterValue {
  const lower = text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  if (lower === 'null') return null;
  if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text)) return Number(text);
  throw new FilterError(`invalid value ${text} (strings must be in double quotes)`);
}

function describe(t: Token | undefined): string {
  if (!t) return 'end of filter';
  if (t.kind === 'word') return `"${t.text}"`;
  if (t.kind === 'string') return JSON.stringify(t.text);
  return `"${t.kind}"`;
}

export function parseFilter(text: string): FilterNode {
  return new Parser(tokenize(text, '"', readString)).parse();
}

function getCI(obj: unknown, key: string): unknown {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** Every value at an attribute path of a SCIM resource; multi-valued attributes fan out. */
export function resolvePath(resource: Record<string, unknown>, path: string): unknown[] {
  let root: unknown = resource;
  let rest = path;
  if (path.toLowerCase().startsWith('urn:')) {
    const cut = path.lastIndexOf(':');
    const urn = path.slice(0, cut);
    rest = path.slice(cut + 1);
    // The core schema's own attributes live at the top level; an extension's under its URN.
    const schemas = getCI(resource, 'schemas');
    const core = Array.isArray(schemas) ? schemas[0] : undefined;
    if (typeof core !== 'string' || core.toLowerCase() !== urn.toLowerCase()) root = getCI(resource, urn);
  }
  let values: unknown[] = [root];
  for (const part of rest.split('.')) {
    values = values.flatMap((v) => {
      const next = Array.isArray(v) ? v.map((x) => getCI(x, part)) : [getCI(v, part)];
      return next.flatMap((x) => (Array.isArray(x) ? x : [x]));
    });
  }
  return values.filter((v) => v !== undefined);
}

/**
 * String comparison is case-insensitive: Docker's schema says `caseExact: false` for userName, and
 * the emulator applies it to every string attribute except `id`, which RFC 7643 makes case-exact.
 */
function compare(actual: unknown, op: CompareOp, expected: FilterValue, caseExact: boolean): boolean {
  if (typeof expected === 'string') {
    if (typeof actual !== 'string') return false;
    const a = caseExact ? actual : actual.toLowerCase();
    const e = caseExact ? expected : expected.toLowerCase();
    if (op === 'co') return a.includes(e);
    if (op === 'sw') return a.startsWith(e);
    return a === e;
  }
  return actual === expected;
}

export function matches(node: FilterNode, resource: Record<string, unknown>): boolean {
  switch (node.kind) {
    case 'and':
      return matches(node.left, resource) && matches(node.right, resource);
    case 'or':
      return matches(node.left, resource) || matches(node.right, resource);
    case 'not':
      return !matches(node.inner, resource);
    case 'cmp': {
      const values = resolvePath(resource, node.attr);
      const caseExact = node.attr.toLowerCase() === 'id';
      if (node.value === null) {
        const present = values.some((v) => v !== null);
        return node.op === 'eq' ? !present : present;
      }
      // `ne` on a multi-valued attribute: true when no value equals (the RFC leaves it open).
      if (node.op === 'ne') return !values.some((v) => compare(v, 'eq', node.value, caseExact));
      return values.some((v) => compare(v, node.op, node.value, caseExact));
    }
  }
}
