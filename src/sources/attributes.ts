import type { IllTypedValue } from '../model/idp.ts';

/**
 * A docker* attribute as a list: a string, an array of strings, null or missing all come back as
 * `string[]`. Only null and empty-string entries are dropped; strings go to the mapping rules as
 * they are, untrimmed, because the rules judge and report bad values. Anything else (a number, a
 * boolean, an object; a schema typed wrongly, or a hostile answer) is never turned into text that
 * could pass for an org or a role: it is added to `illTyped`, which holds the user and names the
 * value in the report. Shared by every source adapter.
 */
export function attributeList(v: unknown, field: string, illTyped: IllTypedValue[]): string[] {
  const items: unknown[] = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const [i, item] of items.entries()) {
    if (item === null || item === undefined || item === '') continue;
    if (typeof item === 'string') out.push(item);
    else illTyped.push(illTypedValue(Array.isArray(v) ? `${field}[${i}]` : field, item, 'a string or a list of strings'));
  }
  return out;
}

/** An IllTypedValue with the value shown as JSON, cut to a length a report line can hold. */
export function illTypedValue(field: string, value: unknown, expected: string): IllTypedValue {
  let json: string;
  try {
    json = JSON.stringify(value) ?? String(value);
  } catch {
    json = String(value);
  }
  return { field, value: json.length > 80 ? `${json.slice(0, 80)}… (${json.length} characters)` : json, expected };
}
