import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { MALLOC_ENV, SEMI_SPACE_FLAG } from '../src/heap.ts';

/**
 * Runs the product as an admin would (`node --max-semi-space-size=16 --experimental-strip-types
 * src/cli.ts sync`, the V8 setting the image and the systemd unit pass too, see src/heap.ts;
 * configured by environment variables alone) in a child process, so its CPU and memory are its own and not the
 * emulators', and collects what it says about itself: the "run cost" line every run logs at the end.
 */

/** The product's own account of a run (src/run/sync.ts RunCost), as logged. */
export interface ProductCost {
  readonly wallMs: { read: number; plan: number; apply: number };
  readonly cpuMs: { read: number; plan: number; apply: number };
  readonly processCpuMs: number;
  readonly maxRssMb: number;
}

export interface ChildRun {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** From spawn to exit, as the admin waits for it: Node's start and module loading included. */
  readonly wallMs: number;
  /** With `maxRssMb` the whole process's peak when GNU time measured it (see GNU_TIME). */
  readonly cost: ProductCost | null;
  /** Where the peak RSS comes from: the whole process (GNU time), or the run's own "run cost" line. */
  readonly peakFrom: 'process' | 'run';
  /** The last lines that were not an info-level log, for a run that failed. */
  readonly tail: readonly string[];
}

export interface ChildOptions {
  readonly cwd: string;
  readonly env: Record<string, string>;
  readonly args: readonly string[];
  /** Kills the child after this long; a bound for a hang, not a measurement. */
  readonly timeoutMs: number;
  /** Every line the child writes, info-level logs included, with when it was received (Date.now()). */
  readonly onLine?: (line: string, at: number) => void;
}

const CLI = new URL('../src/cli.ts', import.meta.url).pathname;
const TAIL = 12;

/**
 * GNU time, when the machine has it: it reports the whole process's peak RSS. The product's "run
 * cost" line is written when the run ends, before the command prints its report, and printing the
 * report of 100,000 operations can raise the peak further; without GNU time the bench falls back
 * to the run's own figure (and says so in the JSON: `peakFrom`).
 */
const GNU_TIME = '/usr/bin/time';

export function runProduct(opts: ChildOptions): Promise<ChildRun> {
  const scratch = existsSync(GNU_TIME) ? mkdtempSync(join(tmpdir(), 'bench-rss-')) : null;
  const rssFile = scratch ? join(scratch, 'max-rss-kb') : null;
  const child = launch(opts, rssFile);
  return child.exited.then((run) => {
    const peakKb = rssFile ? wholeProcessPeakKb(rssFile) : null;
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    const measured = run.cost && peakKb !== null ? { ...run.cost, maxRssMb: Math.max(run.cost.maxRssMb, Math.round(peakKb / 1024)) } : run.cost;
    return { ...run, cost: measured, peakFrom: peakKb !== null ? 'process' : 'run' };
  });
}

/** A product process that runs until told to stop: the daemon. */
export interface LongRunning {
  /** Settles when the child has exited, whatever stopped it. `cost` is its last run's. */
  readonly exited: Promise<ChildRun>;
  /** Sends SIGTERM (as an orchestrator does) and waits for the exit. */
  stop(): Promise<ChildRun>;
}

/**
 * Starts the product and leaves it running. Not under GNU time: a SIGTERM must reach the product
 * itself, whose exit code is what is checked, and the peak RSS of each run is in its "run cost"
 * line anyway. `timeoutMs` still bounds it: a daemon that will not stop is killed, not waited for.
 */
export function startProduct(opts: ChildOptions): LongRunning {
  const child = launch(opts, null);
  return {
    exited: child.exited,
    stop() {
      child.signal('SIGTERM');
      return child.exited;
    },
  };
}

interface Launched {
  readonly exited: Promise<ChildRun>;
  signal(sig: NodeJS.Signals): void;
}

/** Spawns `node src/cli.ts <args>` (under GNU time when `rssFile` is given) and reads its output line by line. */
function launch(opts: ChildOptions, rssFile: string | null): Launched {
  const t0 = performance.now();
  const node = [process.execPath, SEMI_SPACE_FLAG, '--experimental-strip-types', CLI, ...opts.args];
  const [cmd, ...args] = rssFile ? [GNU_TIME, '-f', '%M', '-o', rssFile, ...node] : node;
  const child = spawn(cmd as string, args, {
    cwd: opts.cwd,
    // As the image and the systemd unit launch it (src/heap.ts).
    env: { ...MALLOC_ENV, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a hang is killed whole (GNU time and the product under it).
    detached: true,
  });
  let cost: ProductCost | null = null;
  const tail: string[] = [];
  // pino writes to stdout, errors may go to stderr: read both, line by line, keeping only what is needed
  // (a first sync of 100,000 users logs a line or more per write).
  const watch = (stream: Readable) =>
    new Promise<void>((resolve) => {
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      lines.on('line', (line) => {
        opts.onLine?.(line, Date.now());
        const found = line.includes('"run cost"') ? parseCost(line) : null;
        if (found) cost = found;
        else if (!isQuietLog(line)) {
          tail.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
          if (tail.length > TAIL) tail.shift();
        }
      });
      lines.on('close', () => resolve());
    });
  const streams = Promise.all([watch(child.stdout), watch(child.stderr)]);
  const kill = (sig: NodeJS.Signals, group: boolean) => {
    try {
      if (group) process.kill(-(child.pid as number), sig);
      else child.kill(sig);
    } catch {
      child.kill(sig);
    }
  };
  const timer = setTimeout(() => kill('SIGKILL', true), opts.timeoutMs);
  const exited = new Promise<ChildRun>((resolve, reject) => {
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      const wallMs = performance.now() - t0;
      void streams.then(() => resolve({ exitCode, signal, wallMs, cost, peakFrom: 'run', tail }));
    });
  });
  // A signal for the product goes to it alone: under GNU time, time itself would die of it.
  return { exited, signal: (sig) => kill(sig, false) };
}

/** How a run ended, with its last words, for a failed step. */
export function exitText(run: ChildRun): string {
  const how = run.signal ? `killed by ${run.signal}` : `exit ${run.exitCode}`;
  const last = run.tail.at(-1);
  return last ? `${how}: ${last}` : how;
}

/** GNU time's `%M` (peak RSS in KB), the last line of its output file; null if it wrote none. */
function wholeProcessPeakKb(file: string): number | null {
  try {
    const last = readFileSync(file, 'utf8').trim().split('\n').pop() ?? '';
    const kb = Number(last);
    return Number.isFinite(kb) && kb > 0 ? kb : null;
  } catch {
    return null;
  }
}

/** The cost object of a "run cost" log line, or null when the line is not one or lacks a figure. */
export function parseCost(line: string): ProductCost | null {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isObject(o) || o.msg !== 'run cost' || !isObject(o.cost)) return null;
  const c = o.cost;
  const phases = (v: unknown) => (isObject(v) && num(v.read) && num(v.plan) && num(v.apply) ? { read: v.read, plan: v.plan, apply: v.apply } : null);
  const wallMs = phases(c.wallMs);
  const cpuMs = phases(c.cpuMs);
  if (!wallMs || !cpuMs || !num(c.processCpuMs) || !num(c.maxRssMb)) return null;
  return { wallMs, cpuMs, processCpuMs: c.processCpuMs, maxRssMb: c.maxRssMb };
}

/**
 * pino's info and below in JSON, as a number (≤ 30) or as the label the product logs
 * (src/logging/logger.ts): routine progress, not worth keeping for a failure report.
 */
export function isQuietLog(line: string): boolean {
  const m = /"level":(?:(\d+)|"(\w+)")/.exec(line);
  if (!m) return false;
  return m[1] !== undefined ? Number(m[1]) <= 30 : ['trace', 'debug', 'info'].includes(m[2] as string);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function num(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
