/**
 * The tokens of the three filter languages the emulators parse (Okta's search and log filter,
 * SCIM's filter, OData's `$filter`): words, parentheses and string literals, split by whitespace.
 * They differ only in how a string literal is written, so each passes its quote and a reader for it.
 */

export type Token = { kind: 'word'; text: string } | { kind: 'string'; text: string } | { kind: '(' | ')' };

/** Reads the literal whose opening quote is at `start`: its value, and the index just past its closing quote. Throws the language's own error. */
export type StringReader = (text: string, start: number) => { readonly value: string; readonly end: number };

export function tokenize(text: string, quote: string, readString: StringReader): Token[] {
  const out: Token[] = [];
  const stop = new RegExp(`[\\s()${quote}]`);
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      out.push({ kind: c });
      i++;
    } else if (c === quote) {
      const { value, end } = readString(text, i);
      out.push({ kind: 'string', text: value });
      i = end;
    } else {
      let j = i;
      while (j < text.length && !stop.test(text[j] as string)) j++;
      out.push({ kind: 'word', text: text.slice(i, j) });
      i = j;
    }
  }
  return out;
}
