import { createServer as createHttpServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A man in the middle for the hardening tests (issue 13): a forwarding server in front of an
 * emulator that, by default, relays every request and answer unchanged except that the upstream's
 * origin in answers (bodies, `Link`, `Location`) is rewritten to its own, so a client configured
 * with the proxy's URL works exactly as against the emulator. A test then turns it hostile: it
 * rewrites answers (a paging link to another origin, a body with ill-typed values), answers
 * requests itself (a redirect), or points clients at a `Recorder`, a second server that records
 * everything sent to it (to prove no credential or user record ever reaches it).
 */

export interface Exchange {
  readonly method: string;
  /** Path and query, as the client sent it. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer | string;
}

export interface ProxyOptions {
  /** The upstream's origin, e.g. `http://127.0.0.1:4100` (https when the emulator serves TLS). */
  target: string;
  /** Serve TLS with this key and certificate chain (the emulator's own work for 127.0.0.1). */
  tls?: { key: string; cert: string };
  /** The CA that signed an https upstream. */
  ca?: string;
}

/** Answer the request without asking upstream; return null to forward it. */
export type Interceptor = (req: Exchange) => Answer | null;
/** Change the upstream's answer (already origin-rewritten) before relaying it. */
export type Rewriter = (answer: Answer, req: Exchange) => Answer;

/** Hop-by-hop and length headers are recomputed for the relayed message. */
const DROP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'upgrade', 'proxy-connection']);

export class ForwardingProxy {
  readonly exchanges: Exchange[] = [];
  intercept: Interceptor | null = null;
  rewrite: Rewriter | null = null;
  /** Holds a request before anything else happens to it, until the promise settles; null passes it at once (e.g. to keep a run mid-flight while a test looks at it). */
  hold: ((req: Exchange) => Promise<void> | null) | null = null;
  private readonly opts: ProxyOptions;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private base: string | null = null;

  constructor(opts: ProxyOptions) {
    this.opts = { ...opts, target: new URL(opts.target).origin };
  }

  /** The proxy's origin, e.g. `http://127.0.0.1:40123`. */
  get origin(): string {
    if (!this.base) throw new Error('proxy is not started');
    return this.base;
  }

  async start(): Promise<string> {
    this.server = await listen(this.opts.tls, this.sockets, (req, res) => void this.handle(req, res));
    const port = (this.server.address() as AddressInfo).port;
    this.base = `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    return this.base;
  }

  async stop(): Promise<void> {
    await close(this.server, this.sockets);
    this.server = null;
  }

  /** Clears hooks and the log, so one proxy serves several tests. */
  reset(): void {
    this.intercept = null;
    this.rewrite = null;
    this.hold = null;
    this.exchanges.length = 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const exchange: Exchange = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: await readBody(req) };
    this.exchanges.push(exchange);
    try {
      const wait = this.hold?.(exchange) ?? null;
      if (wait) await wait;
      const own = this.intercept?.(exchange) ?? null;
      let answer = own ?? this.swapOrigin(await this.forward(exchange));
      if (own === null && this.rewrite) answer = this.rewrite(answer, exchange);
      send(res, answer);
    } catch (err) {
      send(res, { status: 502, headers: { 'content-type': 'text/plain' }, body: `proxy: ${(err as Error).message}` });
    }
  }

  private forward(ex: Exchange): Promise<Answer> {
    const target = new URL(ex.url, this.opts.target);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(ex.headers)) if (v !== undefined && !DROP.has(k)) headers[k] = v;
    headers.host = target.host;
    if (ex.body.length > 0) headers['content-length'] = String(ex.body.length);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const out = send(target, { method: ex.method, headers, ...(this.opts.ca ? { ca: this.opts.ca } : {}) }, (up) => {
        void readBody(up).then((body) => {
          const h: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !DROP.has(k)) h[k] = v;
          resolve({ status: up.statusCode ?? 502, headers: h, body });
        }, reject);
      });
      out.on('error', reject);
      out.end(ex.body);
    });
  }

  /** The upstream's origin → the proxy's, wherever the answer names it. */
  private swapOrigin(a: Answer): Answer {
    const from = this.opts.target;
    const to = this.origin;
    const swap = (s: string) => s.split(from).join(to);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(a.headers)) headers[k] = Array.isArray(v) ? v.map(swap) : swap(v);
    const text = Buffer.isBuffer(a.body) ? a.body.toString('utf8') : a.body;
    return { status: a.status, headers, body: text.includes(from) ? swap(text) : a.body };
  }
}

export interface Recorded extends Exchange {
  readonly at: number;
}

/**
 * A second server that should never be reached: it records every request (headers and body) and
 * answers with `answer` (by default an empty JSON list in each of the three APIs' shapes), so a
 * client that wrongly follows a link there gets something plausible and carries on.
 */
export class Recorder {
  readonly requests: Recorded[] = [];
  /** May return a promise, e.g. one that never settles, to model a server that never answers. */
  answer: (req: Exchange) => Answer | Promise<Answer> = () => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ value: [], Resources: [], resources: [], totalResults: 0, itemsPerPage: 0, startIndex: 1 }),
  });
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private base: string | null = null;
  private readonly tls: { key: string; cert: string } | undefined;

  constructor(tls?: { key: string; cert: string }) {
    this.tls = tls;
  }

  get origin(): string {
    if (!this.base) throw new Error('recorder is not started');
    return this.base;
  }

  async start(): Promise<string> {
    this.server = await listen(this.tls, this.sockets, (req, res) => {
      void readBody(req).then((body) => {
        const ex: Exchange = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body };
        this.requests.push({ ...ex, at: Date.now() });
        void Promise.resolve(this.answer(ex)).then((a) => send(res, a));
      });
    });
    this.base = `${this.tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.base;
  }

  async stop(): Promise<void> {
    await close(this.server, this.sockets);
    this.server = null;
  }

  /** Every request's headers and body as one text, to search for a secret or a person's email. */
  text(): string {
    return this.requests.map((r) => `${r.method} ${r.url}\n${JSON.stringify(r.headers)}\n${r.body.toString('utf8')}`).join('\n');
  }
}

/** A redirect answer, for `proxy.intercept`. */
export function redirectTo(location: string, status = 307): Answer {
  return { status, headers: { location, 'content-type': 'text/plain' }, body: `see ${location}` };
}

/** The answer's body as JSON, changed by `edit`, for `proxy.rewrite`. */
export function editJson(answer: Answer, edit: (body: Record<string, unknown>) => unknown): Answer {
  const text = Buffer.isBuffer(answer.body) ? answer.body.toString('utf8') : answer.body;
  const body = JSON.parse(text) as Record<string, unknown>;
  const out = edit(body);
  return { ...answer, body: JSON.stringify(out === undefined ? body : out) };
}

function listen(tls: { key: string; cert: string } | undefined, sockets: Set<Socket>, listener: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, listener) : createHttpServer(listener);
  server.on(tls ? 'secureConnection' : 'connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function close(server: Server | null, sockets: Set<Socket>): Promise<void> {
  if (!server) return;
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function send(res: ServerResponse, a: Answer): void {
  const body = Buffer.isBuffer(a.body) ? a.body : Buffer.from(a.body, 'utf8');
  res.writeHead(a.status, { ...a.headers, 'content-length': String(body.length) });
  res.end(body);
}
