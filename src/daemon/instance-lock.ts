import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { StateError } from '../state/errors.ts';
import { holderGone, PROCESS_STARTED } from '../state/holder.ts';
import type { StateStore } from '../state/store.ts';

/**
 * One daemon per state file, for the daemon's whole life. Each run already takes the state file's
 * run lock, but two daemons would only take turns: both would sync, each on its own schedule,
 * and a Kubernetes Deployment rolled with two replicas would go unnoticed. So the daemon holds a
 * lock of its own in the state file (a row in meta, like the run lock: pid, host, heartbeat), and a
 * second daemon refuses to start while the first is alive.
 */

const KEY = 'daemon-lock';

interface Holder {
  pid: number;
  host: string;
  started: string;
  since: string;
  heartbeat: string;
  token: string;
}


function read(state: StateStore): Holder | null {
  const raw = state.getMeta(KEY);
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as Holder;
  } catch {
    // A damaged row proves nobody holds it; it is overwritten.
    return null;
  }
}

/** Takes the lock or throws a StateError naming the holder; returns the release. */
export function acquireDaemonLock(state: StateStore, staleAfterMs = 2 * 60_000, now: () => Date = () => new Date()): () => void {
  const me: Holder = { pid: process.pid, host: hostname(), started: PROCESS_STARTED, since: now().toISOString(), heartbeat: now().toISOString(), token: randomBytes(8).toString('hex') };
  state.db
    .transaction(() => {
      const held = read(state);
      if (held) {
        const dead = holderGone(held);
        const silent = now().getTime() - Date.parse(held.heartbeat) > staleAfterMs;
        if (!dead && !silent) {
          throw new StateError(
            `another docker-idp-sync daemon uses the state file ${state.path}: pid ${held.pid} on ${held.host}, since ${held.since}, last seen ${held.heartbeat}`,
            `run one daemon per state file (a Kubernetes Deployment with one replica and strategy Recreate); stop the other one, or wait ${Math.round(staleAfterMs / 1000)} s after it died`,
            undefined,
            'held',
            'lock state',
          );
        }
      }
      state.setMeta(KEY, JSON.stringify(me));
    })
    .immediate();
  const beat = setInterval(() => {
    try {
      if (read(state)?.token === me.token) state.setMeta(KEY, JSON.stringify({ ...me, heartbeat: now().toISOString() }));
    } catch {
      // A busy database skips one beat; the lock goes stale only after many.
    }
  }, Math.max(1_000, Math.floor(staleAfterMs / 6)));
  beat.unref();
  return () => {
    clearInterval(beat);
    try {
      state.db
        .transaction(() => {
          if (read(state)?.token === me.token) state.db.prepare('DELETE FROM meta WHERE key = ?').run(KEY);
        })
        .immediate();
    } catch {
      // Closing anyway: the lock goes stale and the next daemon takes it over.
    }
  };
}
