import { afterEach, describe, expect, it } from 'vitest';
import { WebhookNotifier } from '../../src/daemon/webhook.ts';
import { Recorder, redirectTo } from '../support/proxy.ts';
import { captureLogs } from '../support/logs.ts';

const running: Recorder[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

async function receiver() {
  const r = new Recorder();
  running.push(r);
  await r.start();
  return r;
}

const secretPath = '/services/T000/B000/XXXXsecretXXXXtokenXXXX';

function notifier(url: string, over: Partial<ConstructorParameters<typeof WebhookNotifier>[0]> = {}) {
  const logs = captureLogs('debug', [url]);
  const n = new WebhookNotifier({ url, logger: logs.logger, source: 'okta', version: '1.2.3', timeoutMs: 2_000, maxRetries: 2, backoff: { baseMs: 5, capMs: 20 }, ...over });
  return { n, logs };
}

describe('the alert webhook', () => {
  it('posts a Slack-compatible text with structured fields', async () => {
    const r = await receiver();
    const { n } = notifier(`${r.origin}${secretPath}`);
    n.notify({ event: 'failure', text: 'a sync run failed', run: { runId: 'r1', status: 'failed', applied: 0, failed: 0, held: 0, error: 'okta: 401' } }, new Date('2026-12-06T12:00:00Z'));
    await n.flush(5_000);
    expect(r.requests).toHaveLength(1);
    const req = r.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req.body.toString())).toEqual({
      text: 'a sync run failed',
      event: 'failure',
      source: 'okta',
      version: '1.2.3',
      at: '2026-12-06T12:00:00.000Z',
      run: { runId: 'r1', status: 'failed', applied: 0, failed: 0, held: 0, error: 'okta: 401' },
    });
    expect(n.sent).toEqual({ delivered: 1, failed: 0 });
  });

  it('retries a 5xx, gives up after its retries, and logs it without the URL', async () => {
    const r = await receiver();
    r.answer = () => ({ status: 503, headers: {}, body: 'busy' });
    const url = `${r.origin}${secretPath}`;
    const { n, logs } = notifier(url);
    n.notify({ event: 'stale', text: 'stale' });
    await n.flush(10_000);
    expect(r.requests).toHaveLength(3);
    expect(n.sent).toEqual({ delivered: 0, failed: 1 });
    expect(logs.text()).toContain('alert not delivered');
    expect(logs.text()).not.toContain('secretXXXXtoken');
  });

  it('does not retry a 4xx refusal, and never follows a redirect', async () => {
    const elsewhere = await receiver();
    const r = await receiver();
    r.answer = (req) => (req.url.includes('bounce') ? redirectTo(`${elsewhere.origin}/steal`, 307) : { status: 404, headers: {}, body: 'no such hook' });
    const { n } = notifier(`${r.origin}/bounce`);
    n.notify({ event: 'hold', text: 'hold' });
    await n.flush(10_000);
    expect(elsewhere.requests).toHaveLength(0);
    const { n: n2 } = notifier(`${r.origin}/gone`);
    n2.notify({ event: 'hold', text: 'hold' });
    await n2.flush(10_000);
    expect(r.requests.filter((q) => q.url === '/gone')).toHaveLength(1);
    expect(n2.sent.failed).toBe(1);
  });

  it('a webhook that never answers does not hold up the caller, and flush gives up at its bound', async () => {
    const r = await receiver();
    r.answer = () => new Promise(() => {});
    const { n } = notifier(`${r.origin}/hang`, { timeoutMs: 60_000 });
    const t0 = Date.now();
    n.notify({ event: 'failure', text: 'x' });
    expect(Date.now() - t0).toBeLessThan(1_000);
    await n.flush(100);
    expect(n.sent.delivered).toBe(0);
  });
});
