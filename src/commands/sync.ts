import type { ReportFormat } from '../report/index.ts';
import { syncOnce } from '../run/once.ts';
import { ProgressTracker, TerminalProgress } from '../run/progress.ts';
import { outcomeOf, type ExitCode, type SyncOutcome } from '../run/sync.ts';
import { openState, type OpenStateOptions } from '../state/open.ts';
import type { StateStore } from '../state/store.ts';
import type { CommandContext } from './context.ts';
import { FileError } from '../logging/failure.ts';
import { checkOutput } from './output.ts';
import { emitReport } from './plan.ts';

export interface SyncCommandOptions {
  dryRun?: boolean;
  format?: ReportFormat;
  output?: string;
  force?: boolean;
  /** --force-last-owner: see reconcile/owners.ts. */
  forceLastOwner?: boolean;
  deactivate?: boolean;
  /** --incremental: follow the IdP's change feed when it may (run/coverage.ts). */
  incremental?: boolean;
  /** --user EMAIL, repeatable: only these people, now (run/targeted.ts). */
  user?: string[];
}

/**
 * `sync`: one reconcile. The report goes to stdout (or --output); logs go to stderr. A run that
 * fails after its plan was made (the state file could not record a step) still prints the report
 * it has, then fails with the error. `open` is for tests that make the state file misbehave.
 */
export async function syncCommand(ctx: CommandContext, opts: SyncCommandOptions, signal?: AbortSignal, open: (o: OpenStateOptions) => StateStore = openState): Promise<ExitCode> {
  const dryRun = opts.dryRun === true;
  checkOutput(opts.output);
  const report = async (outcome: SyncOutcome) => {
    try {
      await emitReport(ctx, outcome, { ...(opts.format ? { format: opts.format } : {}), ...(opts.output ? { output: opts.output } : {}), dryRun });
    } catch (err) {
      // The changes are applied; the report is in the state file and can be printed again.
      if (err instanceof FileError && !dryRun) {
        throw new FileError('write the report to', err.path, err.cause, `the run's report is kept in the state file: print it with \`docker-idp-sync report --run ${outcome.result.runId}\` (add --output FILE to write it elsewhere)`);
      }
      throw err;
    }
  };
  try {
    // On a terminal, a line with counts and time left; none in a pipe, or when the report is JSON.
    const tracker = new ProgressTracker();
    const terminal = new TerminalProgress(tracker);
    if ((opts.format ?? 'text') !== 'json') terminal.start();
    let outcome: SyncOutcome;
    try {
      outcome = await syncOnce(ctx, { dryRun, mode: opts.incremental === true ? 'incremental' : 'full', ...(opts.user?.length ? { users: opts.user } : {}), force: opts.force === true, forceLastOwner: opts.forceLastOwner === true, noDeactivate: opts.deactivate === false, ...(signal ? { signal } : {}), open, progress: tracker });
    } finally {
      terminal.stop();
    }
    await report(outcome);
    return outcome.exitCode;
  } catch (err) {
    const partial = outcomeOf(err);
    if (partial) {
      try {
        await report(partial);
      } catch (reportErr) {
        // The error that stopped the run is the one to tell; this one goes to the log.
        ctx.logger.error({ err: ctx.scrub((reportErr as Error).message) }, 'could not write the report of the failed run');
      }
    }
    throw err;
  }
}
