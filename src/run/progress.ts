import type { Logger } from '../logging/logger.ts';
import { onLogLine } from '../logging/terminal.ts';
import type { ApiSystem, TransportObserver } from '../model/telemetry.ts';

/**
 * How far a run has got: items listed per system, operations applied, the rate and the time left.
 * A first sync of 100,000 users takes over half an hour at Docker's rate limit; the admin must see
 * it moving. On a terminal the line is redrawn in place; the daemon logs it every few seconds.
 * Counts only: no names, no emails.
 */

type Listing = 'users' | 'groups' | 'members' | 'assignments';

export interface ProgressSink {
  listed(system: ApiSystem, listing: Listing, items: number, total: number | null): void;
  applied(done: number, total: number): void;
}

export class ProgressTracker implements ProgressSink {
  private readonly reads = new Map<string, { system: ApiSystem; listing: Listing; items: number; total: number | null }>();
  private apply: { done: number; total: number; startedAt: number } | null = null;
  private readonly clock: () => number;

  constructor(clock: () => number = () => performance.now()) {
    this.clock = clock;
  }

  listed(system: ApiSystem, listing: Listing, items: number, total: number | null): void {
    this.reads.set(`${system}:${listing}`, { system, listing, items, total });
  }

  applied(done: number, total: number): void {
    this.apply ??= { done: 0, total, startedAt: this.clock() };
    this.apply.done = done;
    this.apply.total = total;
  }

  /** True once anything happened worth a line. */
  get started(): boolean {
    return this.reads.size > 0 || this.apply !== null;
  }

  /** e.g. "reading: okta 12,000 users, docker 8,000/10,000 users · applying 1,234/10,000 (12/s, ~12 min left)". */
  line(): string {
    const parts: string[] = [];
    if (this.apply === null && this.reads.size > 0) {
      parts.push(`reading: ${[...this.reads.values()].map((r) => `${r.system} ${n(r.items)}${r.total !== null ? `/${n(r.total)}` : ''} ${r.listing}`).join(', ')}`);
    }
    if (this.apply !== null) {
      const { done, total, startedAt } = this.apply;
      const seconds = (this.clock() - startedAt) / 1000;
      const rate = seconds > 0 ? done / seconds : 0;
      const left = rate > 0 && total > done ? ` ~${duration((total - done) / rate)} left` : '';
      parts.push(`applying: ${n(done)}/${n(total)} operations${rate > 0 ? ` (${rate >= 10 ? Math.round(rate) : rate.toFixed(1)}/s${left ? `,${left}` : ''})` : ''}`);
    }
    return parts.join(' · ');
  }

  /** The same as fields for a log line. */
  fields(): Record<string, unknown> {
    return {
      read: Object.fromEntries([...this.reads.entries()].map(([k, r]) => [k, r.total !== null ? `${r.items}/${r.total}` : r.items])),
      ...(this.apply ? { applied: this.apply.done, operations: this.apply.total } : {}),
    };
  }
}

/** Passes every call to each observer that has the method; for metrics and progress at once. */
export function combineObservers(...observers: ReadonlyArray<Partial<TransportObserver & ProgressSink> | undefined>): TransportObserver & ProgressSink {
  const all = observers.filter((o): o is Partial<TransportObserver & ProgressSink> => o !== undefined);
  return {
    request: (system, method, status) => all.forEach((o) => o.request?.(system, method, status)),
    retry: (system) => all.forEach((o) => o.retry?.(system)),
    waited: (system, ms) => all.forEach((o) => o.waited?.(system, ms)),
    listed: (system, listing, items, total) => all.forEach((o) => o.listed?.(system, listing, items, total)),
    applied: (done, total) => all.forEach((o) => o.applied?.(done, total)),
  };
}

/** Redraws the line in place on a terminal; nothing when the stream is not one. */
export class TerminalProgress {
  private timer: NodeJS.Timeout | null = null;
  private readonly stream: NodeJS.WriteStream;
  private readonly tracker: ProgressTracker;
  private shown = false;

  constructor(tracker: ProgressTracker, stream: NodeJS.WriteStream = process.stderr) {
    this.tracker = tracker;
    this.stream = stream;
  }

  start(everyMs = 250): void {
    if (!this.stream.isTTY) return;
    this.timer = setInterval(() => this.draw(), everyMs);
    this.timer.unref();
    onLogLine(() => this.erase());
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    onLogLine(null);
    // Leave the terminal as it was: the report and the logs follow on clean lines.
    this.erase();
  }

  private erase(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }

  private draw(): void {
    if (!this.tracker.started) return;
    // A pseudo-terminal without a size reports 0 columns: draw as for a common 100.
    const width = Math.max(20, (this.stream.columns || 100) - 1);
    this.stream.write(`\r\x1b[K${this.tracker.line().slice(0, width)}`);
    this.shown = true;
  }
}

/** Logs the line every `everyMs` while a run goes, for the daemon (whose stderr is a log, not a terminal). */
export class LoggedProgress {
  private timer: NodeJS.Timeout | null = null;
  private readonly tracker: ProgressTracker;
  private readonly logger: Logger;

  constructor(tracker: ProgressTracker, logger: Logger) {
    this.tracker = tracker;
    this.logger = logger;
  }

  start(everyMs = 10_000): void {
    this.timer = setInterval(() => {
      if (this.tracker.started) this.logger.info(this.tracker.fields(), `progress: ${this.tracker.line()}`);
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
