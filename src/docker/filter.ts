/**
 * Building SCIM filters safely. RFC 7644 §3.4.2.2 defines a filter's string values as JSON
 * strings, so a userName with a quote or a backslash (`o"hara@…` is a valid email) must be escaped
 * the JSON way, or the lookup matches the wrong account or none at all.
 */

/** The inside of a double-quoted filter value: `"` → `\"`, `\` → `\\`, control characters as JSON escapes. */
export function escapeFilterValue(v: string): string {
  return JSON.stringify(v).slice(1, -1);
}

/** `<attribute> eq "<value>"`, with the value escaped. */
export function eqFilter(attribute: string, value: string): string {
  return `${attribute} eq "${escapeFilterValue(value)}"`;
}
