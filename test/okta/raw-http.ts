import { request } from 'node:http';

/** A raw answer of the Okta emulator, headers as sent: for checks the SDK would hide. */
export interface Raw {
  status: number;
  /** Header name (lower case) → every value, in order: repeated headers stay separate. */
  headers: Map<string, string[]>;
  body: unknown;
}

/** GET over plain HTTP with an optional Authorization header, answer parsed as JSON when there is one. */
export function rawGet(url: string, auth: string | null): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: auth ? { authorization: auth } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers = new Map<string, string[]>();
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const k = (res.rawHeaders[i] as string).toLowerCase();
          headers.set(k, [...(headers.get(k) ?? []), res.rawHeaders[i + 1] as string]);
        }
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers, body: text ? JSON.parse(text) : null });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The `rel="next"` link among the (separate) `link` headers, or null. */
export function nextLink(r: Raw): string | null {
  for (const l of r.headers.get('link') ?? []) {
    const m = /^<([^>]+)>; rel="next"$/.exec(l);
    if (m) return m[1] as string;
  }
  return null;
}
