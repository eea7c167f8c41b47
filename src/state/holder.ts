import { hostname } from 'node:os';

/**
 * Whether the process that wrote a lock row is gone. On this host, a pid that no longer runs is
 * gone. So is this very pid when the row was written by an earlier process that had it: a
 * container restarted in place runs node as pid 1 again, and without this it would wait minutes
 * for its own dead predecessor's lock. The process's start time tells the two apart.
 */

/** When this process started, to the millisecond as far as the clock allows; the same for every lock it takes. */
export const PROCESS_STARTED = new Date(Date.now() - Math.round(process.uptime() * 1000)).toISOString();

export interface Holder {
  readonly pid: number;
  readonly host: string;
  /** PROCESS_STARTED of the writer; absent in rows written before it existed. */
  readonly started?: string;
}

export function holderGone(held: Holder): boolean {
  if (held.host !== hostname()) return false;
  if (held.pid === process.pid) return held.started !== undefined && held.started !== PROCESS_STARTED;
  try {
    process.kill(held.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'EPERM';
  }
}
