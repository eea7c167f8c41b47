import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { FaultInjector, type FaultAction } from './faults.ts';

/**
 * A small HTTP(S) server for the emulators: routing by path pattern, a log of every request it
 * served (tests assert on it), fault switches, and a per-request latency. Emulators add routes.
 */

export interface EmulatorRequest {
  readonly method: string;
  /** The path with duplicate slashes collapsed (the Okta SDK can send `//api/v1/...`). */
  readonly path: string;
  readonly url: URL;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly rawBody: Buffer;
  readonly params: Readonly<Record<string, string>>;
  /** Parses the body as JSON; throws BadJson when it is not. */
  json<T = unknown>(): T;
  /** Parses an application/x-www-form-urlencoded body. */
  form(): URLSearchParams;
}

export class BadJson extends Error {}

export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string | string[]>;
  /** Objects are sent as JSON; strings and buffers as they are. */
  body?: unknown;
  /** 1-based page number when the route is a paged listing, for page-targeted faults. */
  page?: number;
}

export type Handler = (req: EmulatorRequest) => EmulatorResponse | Promise<EmulatorResponse>;

export interface RequestRecord {
  readonly method: string;
  readonly route: string;
  readonly path: string;
  readonly query: string;
  readonly status: number;
  /** The parsed JSON body of a write request, for assertions (e.g. every PUT carries `active`). */
  readonly body?: unknown;
  readonly at: number;
}

interface Route {
  method: string;
  name: string;
  regex: RegExp;
  keys: string[];
  handler: Handler;
}

export interface EmulatorOptions {
  /** Shown in errors and the sandbox banner. */
  name: string;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
  /** Added before every response, to model a remote API's round trip. */
  latencyMs?: number;
  /** Default response headers, e.g. a content type. */
  defaultHeaders?: Record<string, string>;
}

export class Emulator {
  readonly name: string;
  readonly faults = new FaultInjector();
  readonly requests: RequestRecord[] = [];
  /** Keep write bodies in the log (tests assert on them); the benchmark turns it off for 100,000 creates. */
  recordBodies = true;
  latencyMs: number;
  private readonly routes: Route[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly options: EmulatorOptions;
  private base: string | null = null;
  /** Hook called with every completed request (emulators use it for rate-limit accounting). */
  onRequest: ((rec: RequestRecord) => void) | null = null;
  /** Handles a request no route matched. */
  notFound: Handler = (req) => ({ status: 404, body: { error: `no route for ${req.method} ${req.path}` } });
  /** Turns a handler exception into a response (emulators give their own error body shape). */
  onError: (err: unknown, req: EmulatorRequest) => EmulatorResponse = (err) => ({
    status: 500,
    body: { error: String(err) },
  });

  constructor(options: EmulatorOptions) {
    this.options = options;
    this.name = options.name;
    this.latencyMs = options.latencyMs ?? 0;
  }

  /** Pattern segments starting with ":" are parameters; a parameter may hold anything but "/". */
  route(method: string, pattern: string, name: string, handler: Handler): this {
    this.routes.push({ method: method.toUpperCase(), name, ...compilePattern(pattern), handler });
    return this;
  }

  get baseUrl(): string {
    if (!this.base) throw new Error(`${this.name} emulator is not started`);
    return this.base;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      void this.handle(req, res);
    };
    const server = this.options.tls
      ? createHttpsServer({ key: this.options.tls.key, cert: this.options.tls.cert }, listener)
      : createHttpServer(listener);
    server.keepAliveTimeout = 5_000;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.base = `${this.options.tls ? 'https' : 'http'}://${hostPart}:${addr.port}`;
    return this.base;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Requests served, optionally filtered. */
  count(filter: { method?: string; route?: string; status?: number } = {}): number {
    return this.requests.filter(
      (r) =>
        (filter.method === undefined || r.method === filter.method.toUpperCase()) &&
        (filter.route === undefined || r.route === filter.route) &&
        (filter.status === undefined || r.status === filter.status),
    ).length;
  }

  /** Requests other than GET/HEAD: what "zero write requests" is measured by. */
  writes(): RequestRecord[] {
    return this.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
  }

  /** Per "METHOD route" and status, for a test's failure message or a bench printout. */
  summary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.requests) {
      const key = `${r.method} ${r.route} ${r.status}`;
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  }

  resetLog(): void {
    this.requests.length = 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks);
    const method = (req.method ?? 'GET').toUpperCase();
    // `//api/v1/...` (the Okta SDK with a trailing-slash orgUrl) would parse as host "api": collapse first.
    const url = new URL((req.url ?? '/').replace(/^\/{2,}/, '/'), 'http://emulator.invalid');
    const path = decodeURIComponent(url.pathname.replace(/\/{2,}/g, '/'));
    let matched: Route | undefined;
    let params: Record<string, string> = {};
    for (const r of this.routes) {
      if (r.method !== method) continue;
      const m = r.regex.exec(path);
      if (!m) continue;
      matched = r;
      params = Object.fromEntries(r.keys.map((k, i) => [k, m[i + 1] ?? '']));
      break;
    }
    const routeName = matched?.name ?? 'unmatched';
    const ereq: EmulatorRequest = {
      method,
      path,
      url,
      query: url.searchParams,
      headers: req.headers,
      rawBody,
      params,
      json<T>() {
        try {
          return JSON.parse(rawBody.toString('utf8')) as T;
        } catch {
          throw new BadJson('request body is not valid JSON');
        }
      },
      form() {
        return new URLSearchParams(rawBody.toString('utf8'));
      },
    };
    let body: unknown;
    if (method !== 'GET' && rawBody.length > 0) {
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        body = undefined;
      }
    }

    if (this.latencyMs > 0) await sleep(this.latencyMs);
    let response: EmulatorResponse | null = null;
    const before = this.faults.take('before', { route: routeName, method });
    const applied = await this.applyFaults(before, res, ereq, routeName, body);
    if (applied === 'dropped') return;
    if (applied) response = applied;

    if (!response) {
      try {
        response = matched ? await matched.handler(ereq) : await this.notFound(ereq);
      } catch (err) {
        response = this.onError(err, ereq);
      }
      const after = this.faults.take('after', {
        route: routeName,
        method,
        ...(response.page !== undefined ? { page: response.page } : {}),
      });
      const replaced = await this.applyFaults(after, res, ereq, routeName, body);
      if (replaced === 'dropped') return;
      if (replaced) response = replaced;
    }
    this.send(res, ereq, routeName, response, body);
  }

  /** Returns a replacement response, 'dropped' when the socket was destroyed, or null. */
  private async applyFaults(
    actions: FaultAction[],
    res: ServerResponse,
    req: EmulatorRequest,
    routeName: string,
    body: unknown,
  ): Promise<EmulatorResponse | 'dropped' | null> {
    let out: EmulatorResponse | null = null;
    for (const a of actions) {
      if (a.type === 'delay') {
        await sleep(a.ms);
      } else if (a.type === 'drop') {
        this.record(req, routeName, 0, body);
        res.socket?.destroy();
        return 'dropped';
      } else if (a.type === 'truncate') {
        this.record(req, routeName, 200, body);
        res.writeHead(200, { ...this.options.defaultHeaders, 'content-type': 'application/json' });
        res.end('{"truncated": [{"id": "');
        return 'dropped';
      } else {
        out = { status: a.status, ...(a.headers ? { headers: a.headers } : {}), ...(a.body !== undefined ? { body: a.body } : {}) };
      }
    }
    return out;
  }

  private send(res: ServerResponse, req: EmulatorRequest, routeName: string, response: EmulatorResponse, body: unknown): void {
    const headers: Record<string, string | string[]> = { ...this.options.defaultHeaders, ...(response.headers ?? {}) };
    let payload: string | Buffer | undefined;
    if (response.body === undefined || response.body === null) payload = undefined;
    else if (typeof response.body === 'string' || Buffer.isBuffer(response.body)) payload = response.body;
    else payload = JSON.stringify(response.body);
    if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
    this.record(req, routeName, response.status, body);
    res.writeHead(response.status, headers);
    res.end(payload);
  }

  private record(req: EmulatorRequest, route: string, status: number, body: unknown): void {
    const rec: RequestRecord = {
      method: req.method,
      route,
      path: req.path,
      query: req.url.search,
      status,
      ...(body !== undefined && this.recordBodies ? { body } : {}),
      at: Date.now(),
    };
    this.requests.push(rec);
    this.onRequest?.(rec);
  }
}

/** A path pattern (segments starting with ":" are parameters, anything but "/") as a regex and its keys. */
export function compilePattern(pattern: string): { regex: RegExp; keys: string[] } {
  const keys: string[] = [];
  const source = pattern
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) {
        keys.push(seg.slice(1));
        return '([^/]+)';
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { regex: new RegExp(`^${source}/?$`), keys };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
