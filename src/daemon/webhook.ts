import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../logging/logger.ts';
import type { TransportObserver } from '../model/telemetry.ts';
import { backoffMs, type BackoffPolicy } from '../transport/wait-time.ts';
import type { Alert } from './alerts.ts';

/**
 * Sends alerts to NOTIFY_WEBHOOK_URL as JSON: a Slack-compatible `text` plus structured fields,
 * so the same message works for Slack, Teams workflows, or anything that reads JSON. Messages
 * queue and go out one at a time in the background: a slow or failing webhook never delays or
 * fails a sync. The URL is a secret (Slack's carries its token): it is never logged, and redirects
 * are not followed, so it cannot be bounced elsewhere.
 */

export interface WebhookOptions {
  url: string;
  logger: Logger;
  source: string;
  version: string;
  timeoutMs?: number;
  maxRetries?: number;
  backoff?: BackoffPolicy;
  observer?: TransportObserver;
}

export interface WebhookMessage {
  readonly text: string;
  readonly event: Alert['event'];
  readonly source: string;
  readonly version: string;
  readonly at: string;
  readonly run?: Alert['run'];
}

export class WebhookNotifier {
  private readonly opts: Required<Omit<WebhookOptions, 'observer'>> & Pick<WebhookOptions, 'observer'>;
  private queue: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  /** Messages handed over, and how each ended; for tests and the shutdown log. */
  readonly sent = { delivered: 0, failed: 0 };

  constructor(opts: WebhookOptions) {
    this.opts = { timeoutMs: 10_000, maxRetries: 3, backoff: { baseMs: 1000, capMs: 30_000 }, ...opts };
  }

  notify(alert: Alert, now: Date = new Date()): void {
    const message: WebhookMessage = {
      text: alert.text,
      event: alert.event,
      source: this.opts.source,
      version: this.opts.version,
      at: now.toISOString(),
      ...(alert.run ? { run: alert.run } : {}),
    };
    this.queue = this.queue.then(() => this.deliver(message));
  }

  /** Waits for queued messages, at most `ms`; then gives up on them (shutdown must not hang). */
  async flush(ms: number): Promise<void> {
    const timer = delay(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
    await Promise.race([this.queue, timer]);
    this.abort.abort();
  }

  private async deliver(message: WebhookMessage): Promise<void> {
    const { logger, maxRetries, timeoutMs, observer } = this.opts;
    const body = JSON.stringify(message);
    for (let attempt = 0; ; attempt++) {
      if (this.abort.signal.aborted) return;
      let outcome: string;
      try {
        const res = await fetch(this.opts.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          redirect: 'manual',
          signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.abort.signal]),
        });
        await res.arrayBuffer().catch(() => undefined);
        observer?.request('webhook', 'POST', res.status);
        if (res.status >= 200 && res.status < 300) {
          this.sent.delivered++;
          logger.info({ event: message.event }, `alert sent (${message.event})`);
          return;
        }
        outcome = `HTTP ${res.status}`;
        // A 4xx other than 429 is the receiver refusing this message: asking again will not help.
        if (res.status < 500 && res.status !== 429) attempt = maxRetries;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        const timedOut = (err as Error).name === 'TimeoutError';
        observer?.request('webhook', 'POST', timedOut ? 'timeout' : 'network');
        outcome = timedOut ? `no answer within ${timeoutMs} ms` : 'network error';
      }
      if (attempt >= maxRetries) {
        this.sent.failed++;
        logger.warn({ event: message.event, outcome, attempts: attempt + 1 }, `alert not delivered: the webhook answered ${outcome}; check NOTIFY_WEBHOOK_URL`);
        return;
      }
      observer?.retry('webhook');
      await delay(backoffMs(attempt + 1, this.opts.backoff), undefined, { signal: this.abort.signal }).catch(() => undefined);
    }
  }
}
