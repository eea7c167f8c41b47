import type { Sleep } from '../../src/transport/sleep.ts';

/**
 * Virtual time for the transport's unit tests: `now` and `sleep` that the pacer takes instead of
 * the real ones. Time moves only when every promise has settled and something sleeps: `run` then
 * jumps to the next timer. So a test of a minute-long window takes milliseconds, and its result
 * does not depend on how fast or loaded the machine is.
 */
export class VirtualClock {
  now = 0;
  private timers: Array<{ at: number; seq: number; fire: () => void }> = [];
  private seq = 0;

  readonly clock = (): number => this.now;

  readonly sleep: Sleep = (ms, signal) =>
    new Promise<boolean>((resolve) => {
      if (signal?.aborted) return resolve(false);
      const timer = { at: this.now + Math.max(0, ms), seq: this.seq++, fire: () => resolve(true) };
      this.timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((t) => t !== timer);
          resolve(false);
        },
        { once: true },
      );
    });

  /** Runs until `done()` holds, jumping from timer to timer; throws when nothing is left to wait for. */
  async run(done: () => boolean, limitMs = 10 * 60_000): Promise<void> {
    for (;;) {
      await settle();
      if (done()) return;
      if (this.timers.length === 0) throw new Error(`virtual time stuck at ${this.now} ms: nothing sleeps and the work is not done`);
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.shift() as (typeof this.timers)[number];
      this.now = Math.max(this.now, next.at);
      if (this.now > limitMs) throw new Error(`virtual time passed ${limitMs} ms`);
      next.fire();
    }
  }

  /** Moves time on by `ms` without firing anything (for code that only reads the clock). */
  advance(ms: number): void {
    this.now += ms;
  }
}

/** Lets every pending promise callback run (a few turns of the real event loop; no real time passes to speak of). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
}
