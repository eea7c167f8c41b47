import { setTimeout as delay } from 'node:timers/promises';

/** Waits `ms`; false when `signal` ended the wait first (or had already fired). */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<boolean>;

/**
 * The one way the transport waits. Shutdown ends a wait at once: a Retry-After of minutes must not
 * hold a SIGTERM'd container until its kill timeout.
 */
export const sleep: Sleep = async (ms, signal) => {
  if (signal?.aborted) return false;
  try {
    await delay(Math.max(0, ms), undefined, signal ? { signal } : {});
    return true;
  } catch (err) {
    if (signal?.aborted) return false;
    throw err;
  }
};
