import type { ApiSystem, Listing, TransportObserver } from '../../src/model/telemetry.ts';

/**
 * A TransportObserver that keeps everything it is told, for the observer tests of all three
 * clients. `requests` holds `system method status` strings, in the order sent.
 */
export class CountingObserver implements TransportObserver {
  readonly requests: string[] = [];
  readonly retries: ApiSystem[] = [];
  readonly waits: Array<{ system: ApiSystem; ms: number }> = [];
  readonly pages: Array<{ system: ApiSystem; listing: Listing; items: number; total: number | null }> = [];
  /** Called after each retry is counted, e.g. to abort a run while it waits. */
  onRetry: (() => void) | null = null;
  onListed: (() => void) | null = null;

  request(system: ApiSystem, method: string, status: number | 'timeout' | 'network'): void {
    this.requests.push(`${system} ${method} ${status}`);
  }

  retry(system: ApiSystem): void {
    this.retries.push(system);
    this.onRetry?.();
  }

  waited(system: ApiSystem, ms: number): void {
    this.waits.push({ system, ms });
  }

  listed(system: ApiSystem, listing: Listing, items: number, total: number | null): void {
    this.pages.push({ system, listing, items, total });
    this.onListed?.();
  }

  /** Total rate-limit wait reported for `system`. */
  waitedMs(system: ApiSystem): number {
    return this.waits.filter((w) => w.system === system).reduce((n, w) => n + w.ms, 0);
  }

  /** The running counts reported for one listing, in order. */
  counts(system: ApiSystem, listing: Listing): Array<[number, number | null]> {
    return this.pages.filter((p) => p.system === system && p.listing === listing).map((p) => [p.items, p.total]);
  }
}
