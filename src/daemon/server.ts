import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Verdict } from './health.ts';

/**
 * The daemon's HTTP endpoints: `/healthz` (liveness), `/readyz` (readiness), `/metrics`
 * (Prometheus). Read-only, no authentication, so nothing here may carry a secret or a person's
 * data: the answers are verdicts with short reasons, and counters with bounded labels.
 */

export interface Endpoints {
  healthz(): Verdict;
  readyz(): Verdict;
  metrics(): Promise<{ contentType: string; body: string }>;
}

export class HealthServer {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly endpoints: Endpoints;

  constructor(endpoints: Endpoints) {
    this.endpoints = endpoints;
  }

  /** Listens; resolves with the bound address (port 0 picks a free one). */
  async listen(port: number, host: string): Promise<AddressInfo> {
    const server = createServer((req, res) => {
      void this.answer(req.method ?? 'GET', (req.url ?? '/').split('?')[0] ?? '/').then(({ status, type, body }) => {
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      });
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    // Probes hold no connection open for long; a stuck client must not keep shutdown waiting.
    server.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private async answer(method: string, path: string): Promise<{ status: number; type: string; body: string }> {
    if (method !== 'GET' && method !== 'HEAD') return { status: 405, type: 'text/plain; charset=utf-8', body: 'method not allowed\n' };
    try {
      switch (path) {
        case '/healthz':
          return verdict(this.endpoints.healthz());
        case '/readyz':
          return verdict(this.endpoints.readyz());
        case '/metrics': {
          const m = await this.endpoints.metrics();
          return { status: 200, type: m.contentType, body: m.body };
        }
        default:
          return { status: 404, type: 'text/plain; charset=utf-8', body: 'not found: try /healthz, /readyz or /metrics\n' };
      }
    } catch {
      // No error text: it could name a file or a value this unauthenticated endpoint must not show.
      return { status: 500, type: 'text/plain; charset=utf-8', body: 'internal error\n' };
    }
  }
}

function verdict(v: Verdict): { status: number; type: string; body: string } {
  return { status: v.ok ? 200 : 503, type: 'text/plain; charset=utf-8', body: v.ok ? 'ok\n' : `${v.reasons.join('\n')}\n` };
}
