import type { ChildProcess } from 'node:child_process';
import type { CliRun, Scenario } from './harness.ts';

/**
 * The real `daemon` command in a child process against a scenario's emulators: its JSON log lines
 * as they come, its HTTP endpoints, and ways to wait for what it does. Nothing here waits a fixed
 * time: every wait is for a condition, with a generous bound for a loaded machine.
 */

export interface RunningDaemon {
  readonly child: ChildProcess;
  readonly exited: Promise<CliRun>;
  /** Log lines (parsed JSON) so far. */
  readonly lines: Array<Record<string, unknown>>;
  /** Everything written to stdout and stderr so far. */
  text(): string;
  /** http://127.0.0.1:PORT, once the daemon said where it listens. */
  readonly base: string;
  get(path: string): Promise<{ status: number; body: string }>;
  /** Resolves with the first log line matching, waiting up to `ms`. */
  waitForLine(match: (line: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  /** Log lines that say a run finished, in order. */
  runsFinished(): Array<Record<string, unknown>>;
  waitForRuns(n: number, ms?: number): Promise<void>;
  signal(sig: NodeJS.Signals): void;
}

export const FINISHED = (l: Record<string, unknown>): boolean => typeof l.msg === 'string' && /^run (succeeded|partial|held|failed)\b/.test(l.msg as string);
const FAILED = (l: Record<string, unknown>): boolean => typeof l.msg === 'string' && (l.msg as string).startsWith('run failed (');

export async function startDaemon(s: Scenario, env: Record<string, string> = {}, bootMs = 60_000): Promise<RunningDaemon> {
  let child!: ChildProcess;
  const lines: Array<Record<string, unknown>> = [];
  let raw = '';
  let pending = '';
  const waiters: Array<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  const exited = s.cli(['daemon'], {
    env: { SCHEDULE: '*/2 * * * * *', HTTP_PORT: '0', LOG_LEVEL: 'info', ...env },
    onSpawn: (c) => {
      child = c;
      const take = (chunk: Buffer) => {
        raw += chunk.toString('utf8');
        pending += chunk.toString('utf8');
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        for (const part of parts) {
          if (!part.trim()) continue;
          let line: Record<string, unknown>;
          try {
            line = JSON.parse(part) as Record<string, unknown>;
          } catch {
            line = { msg: part, raw: true };
          }
          lines.push(line);
          for (const w of [...waiters]) {
            if (w.match(line)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(line);
            }
          }
        }
      };
      c.stderr?.on('data', take);
      c.stdout?.on('data', take);
    },
  });

  const waitForLine = (match: (l: Record<string, unknown>) => boolean, ms = 60_000): Promise<Record<string, unknown>> => {
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${ms} ms; the daemon said:\n${raw.slice(-4000)}`)), ms);
      waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void exited.then(() => {
        clearTimeout(timer);
        if (!lines.some(match)) reject(new Error(`the daemon exited before the expected line; it said:\n${raw.slice(-4000)}`));
      });
    });
  };

  const started = await waitForLine((l) => typeof l.http === 'string', bootMs);
  const base = `http://${String(started.http)}`;
  const ended = (): Array<Record<string, unknown>> => lines.filter((l) => FINISHED(l) || FAILED(l));
  return {
    child,
    exited,
    lines,
    text: () => raw,
    base,
    async get(path) {
      const res = await fetch(`${base}${path}`);
      return { status: res.status, body: await res.text() };
    },
    waitForLine,
    runsFinished: ended,
    async waitForRuns(n, ms = 120_000) {
      await until(() => ended().length >= n, ms, 50);
    },
    signal(sig) {
      child.kill(sig);
    },
  };
}

/** Waits until `check` holds, polling; for conditions with no log line (an HTTP answer). */
export async function until(check: () => Promise<boolean> | boolean, ms = 60_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A metric's value from Prometheus exposition text, by name and labels (exact match); null when absent. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const [, k, v] of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[k as string] = v as string;
    if (Object.entries(labels).every(([k, v]) => got[k] === v) && Object.keys(got).length === Object.keys(labels).length) return Number(m[4]);
  }
  return null;
}

/** The sum of a metric over every label set that includes `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const [, k, v] of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[k as string] = v as string;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum += Number(m[4]);
  }
  return sum;
}
