import { afterEach, describe, expect, it } from 'vitest';
import type { Verdict } from '../../src/daemon/health.ts';
import { SyncMetrics } from '../../src/daemon/metrics.ts';
import { HealthServer } from '../../src/daemon/server.ts';

let server: HealthServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function serve(ready: Verdict, live: Verdict = { ok: true, reasons: [] }) {
  const metrics = new SyncMetrics();
  server = new HealthServer({ healthz: () => live, readyz: () => ready, metrics: () => metrics.expose() });
  const addr = await server.listen(0, '127.0.0.1');
  return `http://127.0.0.1:${addr.port}`;
}

describe('the health and metrics server', () => {
  it('answers /healthz, /readyz with its reasons, and /metrics in the Prometheus text format', async () => {
    const base = await serve({ ok: false, reasons: ['the last run failed (2026-12-06T12:00:00.000Z)'] });
    const live = await fetch(`${base}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.text()).toBe('ok\n');
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain('the last run failed');
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    expect(text).toMatch(/^# TYPE docker_idp_sync_runs_total counter$/m);
    // prom-client's process metrics, under the same prefix.
    expect(text).toMatch(/^docker_idp_sync_process_resident_memory_bytes \d+/m);
  });

  it('a live process that is not ready still answers /healthz 200, so Kubernetes does not restart it for an IdP outage', async () => {
    const base = await serve({ ok: false, reasons: ['no run has succeeded yet'] });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
  });

  it('unknown paths are 404 and writes are 405', async () => {
    const base = await serve({ ok: true, reasons: [] });
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/healthz?verbose=1`)).status).toBe(200);
  });
});
