/**
 * A docker* attribute as a list: a string, an array, null or missing all come back as `string[]`.
 * Only null and empty-string entries are dropped; everything else goes to the mapping rules as it
 * is, untrimmed, because they are the ones that judge and report bad values. A number or boolean
 * (a schema typed that way) is kept as its text, an object as its JSON, so it is reported rather
 * than silently lost. Shared by every source adapter.
 */
export function attributeList(v: unknown): string[] {
  const items: unknown[] = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const item of items) {
    if (item === null || item === undefined || item === '') continue;
    if (typeof item === 'string') out.push(item);
    else if (typeof item === 'number' || typeof item === 'boolean' || typeof item === 'bigint') out.push(String(item));
    else out.push(JSON.stringify(item));
  }
  return out;
}
