/**
 * Replaces every occurrence of a known secret value (and its URL-encoded and base64 forms) with
 * [redacted]. Used on log lines, reports and error messages: invariant 8 says secrets never
 * appear in any of them, and matching values rather than field names catches a token that leaked
 * into a message string.
 */
export function scrubber(secrets: readonly string[]): (text: string) => string {
  const needles = new Set<string>();
  for (const s of secrets) {
    if (!s || s.length < 6) continue; // too short to be a real secret, and would mangle ordinary text
    needles.add(s);
    needles.add(encodeURIComponent(s));
    needles.add(JSON.stringify(s).slice(1, -1));
    needles.add(Buffer.from(s).toString('base64'));
    // PEM keys also appear line by line (e.g. in a stack of a parse error).
    if (s.includes('\n')) for (const line of s.split('\n')) if (line.trim().length >= 16 && !line.startsWith('-----')) needles.add(line.trim());
  }
  const list = [...needles].sort((a, b) => b.length - a.length);
  if (list.length === 0) return (t) => t;
  return (text: string) => {
    let out = text;
    for (const n of list) if (out.includes(n)) out = out.split(n).join('[redacted]');
    return out;
  };
}
