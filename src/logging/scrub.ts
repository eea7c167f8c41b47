/**
 * Replaces every occurrence of a known secret value (and the forms it takes on the wire: URL- and
 * form-encoded, JSON-escaped, base64) with [redacted]. Used on log lines, reports and error
 * messages: invariant 8 says secrets never appear in any of them, and matching values rather than
 * field names catches a token that leaked into a message string.
 */
export function scrubber(secrets: readonly string[]): (text: string) => string {
  const needles = new Set<string>();
  for (const s of secrets) {
    // Below 6 characters a "secret" would mangle ordinary text. Real ones are far longer (an Okta
    // SSWS token ~42, an Entra client secret ~40) but some are shorter than 64: the bound stays low.
    if (!s || s.length < 6) continue;
    for (const form of [s, ...jwkPrivateParts(s)].flatMap(forms)) needles.add(form);
    // PEM keys also appear line by line (e.g. in a stack of a parse error).
    if (s.includes('\n')) for (const line of s.split('\n')) if (line.trim().length >= 16 && !line.startsWith('-----')) needles.add(line.trim());
  }
  const list = [...needles].sort((a, b) => b.length - a.length);
  if (list.length === 0) return (t) => t;
  const clippable = secrets.filter((s) => s && s.length >= 6);
  return (text: string) => {
    let out = text;
    for (const n of list) if (out.includes(n)) out = out.split(n).join('[redacted]');
    return out.includes(CLIP) ? unclip(out, clippable) : out;
  };
}

/**
 * A text report clips long cells with an ellipsis, so a secret in one would come out as its first
 * 30-odd characters plus "…" and slip past the whole-value match. A run of at least MIN_CLIPPED
 * characters that starts a secret and ends at an ellipsis is redacted too.
 */
const CLIP = '…';
const MIN_CLIPPED = 8;

function unclip(text: string, secrets: readonly string[]): string {
  let out = '';
  let from = 0;
  for (let i = text.indexOf(CLIP); i !== -1; i = text.indexOf(CLIP, i + 1)) {
    if (i - MIN_CLIPPED < from) continue;
    const tail = text.slice(i - MIN_CLIPPED, i);
    let start = -1;
    for (const s of secrets) {
      if (!s.includes(tail)) continue; // cheap test first: the 8 characters before "…" are in s
      for (let k = Math.min(s.length, i - from); k >= MIN_CLIPPED; k--) {
        if (text.startsWith(s.slice(0, k), i - k)) {
          start = Math.min(start === -1 ? i : start, i - k);
          break;
        }
      }
    }
    if (start !== -1) {
      out += `${text.slice(from, start)}[redacted]`;
      from = i;
    }
  }
  return out + text.slice(from);
}

/**
 * A JWK private key (OKTA_PRIVATE_KEY may be one) can be logged re-serialised, in another key order
 * or spacing, where the whole text no longer matches: its private members are secrets of their own.
 */
function jwkPrivateParts(s: string): string[] {
  if (!s.trimStart().startsWith('{')) return [];
  try {
    const jwk = JSON.parse(s) as Record<string, unknown>;
    return ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].map((m) => jwk[m]).filter((v): v is string => typeof v === 'string' && v.length >= 16);
  } catch {
    return [];
  }
}

function forms(s: string): string[] {
  return [
    s,
    encodeURIComponent(s),
    // A form body (the client_secret of a token request) encodes more than encodeURIComponent: ~ → %7E.
    new URLSearchParams({ v: s }).toString().slice(2),
    JSON.stringify(s).slice(1, -1),
    ...base64Forms(s),
  ];
}

/**
 * base64 of the secret alone, and of the secret inside a longer value such as a Basic header
 * (base64("client:secret")): there its digits depend on its offset modulo 3, so each of the three
 * alignments is taken, without the digits it shares with its neighbours. base64url likewise.
 */
function base64Forms(s: string): string[] {
  const bytes = Buffer.from(s);
  const out = [bytes.toString('base64')];
  for (let shift = 0; shift < 3; shift++) {
    const n = shift + bytes.length;
    const b64 = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    const start = [0, 2, 3][shift] as number;
    const end = Math.floor(n / 3) * 4 + (n % 3);
    const core = b64.slice(start, end);
    if (core.length >= 8) out.push(core);
  }
  return out.flatMap((b) => [b, b.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')]);
}
