import { request } from 'node:https';

/** An answer as the wire had it: status, headers, the body parsed as JSON (null if it is not), and its text. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  text: string;
}

export interface CallOptions {
  bearer?: string | null;
  body?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

/**
 * One request to a TLS emulator without any SDK, to test what it answers. The emulator's CA is
 * trusted for this request only (`caPem`): the tests trust it explicitly, never blindly.
 */
export function httpsCall(caPem: string, method: string, url: string, opts: CallOptions = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    let payload: string | undefined;
    if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
    if (opts.form) {
      payload = new URLSearchParams(opts.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const req = request(url, { method, headers, ca: caPem }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = null;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          body = null;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}
