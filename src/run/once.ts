import type { Config } from '../config/types.ts';
import type { Logger } from '../logging/logger.ts';
import type { TransportObserver } from '../model/telemetry.ts';
import { combineObservers, type ProgressSink } from './progress.ts';
import { openState, type OpenStateOptions } from '../state/open.ts';
import type { StateStore } from '../state/store.ts';
import { createDockerClient, createSource, sourceIdentity } from './factory.ts';
import { runSync, type SyncOptions, type SyncOutcome } from './sync.ts';

/**
 * One sync from a configuration: open the state file, build the adapters, run, close. The `sync`
 * command, the demo and the daemon all go through here, so a run is the same whoever starts it.
 */

export interface OnceContext {
  readonly config: Config;
  readonly logger: Logger;
  /** Removes every configured secret from a text; applied to everything stored in the state file. */
  readonly scrub: (text: string) => string;
}

export interface OnceOptions extends SyncOptions {
  /** Sees every HTTP exchange, retry and wait of the run (the daemon's metrics). */
  readonly observer?: TransportObserver;
  /** Sees the pages read and the operations applied (a progress line). */
  readonly progress?: ProgressSink;
  /** Opens the state file; tests pass one that limits its size, to fill the "disk". */
  readonly open?: (o: OpenStateOptions) => StateStore;
}

export async function syncOnce(ctx: OnceContext, opts: OnceOptions): Promise<SyncOutcome> {
  const { config, logger, scrub } = ctx;
  const state = (opts.open ?? openState)({ path: config.state.db, dryRun: opts.dryRun, scrub });
  // When one side's read fails, the run is over: the other read is stopped rather than left to
  // spend minutes of the IdP's rate limit (and keep the process alive) for nothing.
  const over = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, over.signal]) : over.signal;
  try {
    const observer = opts.observer || opts.progress ? combineObservers(opts.observer, opts.progress) : undefined;
    const io = { ...(observer ? { observer } : {}), signal };
    const outcome = await runSync(
      {
        config,
        source: createSource(config, logger, io),
        docker: createDockerClient(config, logger, io),
        state,
        logger,
        sourceIdentity: sourceIdentity(config),
      },
      { ...opts, signal, ...(opts.progress && !opts.onProgress ? { onProgress: (done: number, total: number) => opts.progress?.applied(done, total) } : {}) },
    );
    if (!opts.dryRun) prune(ctx, state, outcome.result.runId);
    return outcome;
  } catch (err) {
    over.abort(new Error('the run failed'));
    throw err;
  } finally {
    state.close();
  }
}

/**
 * RETAIN_RUNS / RETAIN_DAYS, after each real run. A prune that fails does not fail the run that
 * just succeeded: the rows stay, and the next run tries again.
 */
function prune(ctx: OnceContext, state: StateStore, current: string): void {
  const { config, logger, scrub } = ctx;
  try {
    const pruned = state.prune({ retainRuns: config.state.retainRuns, retainDays: config.state.retainDays, current });
    if (pruned.runs > 0) logger.info(pruned, `pruned ${pruned.runs} old run${pruned.runs === 1 ? '' : 's'} and ${pruned.journal} journal rows (RETAIN_RUNS=${config.state.retainRuns}, RETAIN_DAYS=${config.state.retainDays})`);
  } catch (err) {
    logger.warn({ err: scrub((err as Error).message) }, 'could not prune old runs from the state file; the next run tries again');
  }
}
