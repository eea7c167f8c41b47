/**
 * What the HTTP clients report as they go, for metrics. The clients call it; the daemon implements
 * it with Prometheus counters, and a one-shot command passes nothing. No argument can carry a
 * person's data: a system, a method, a status and a duration.
 */

export type ApiSystem = 'okta' | 'entra' | 'docker' | 'webhook';

export interface TransportObserver {
  /** One HTTP exchange: its status, or `timeout` / `network` when there was no answer. */
  request(system: ApiSystem, method: string, status: number | 'timeout' | 'network'): void;
  /** A request is about to be sent again (429, 5xx, timeout, reset). */
  retry(system: ApiSystem): void;
  /** Time spent waiting for a rate-limit window or a server-requested delay. */
  waited(system: ApiSystem, ms: number): void;
}
