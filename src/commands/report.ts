import { existsSync } from 'node:fs';
import { reportPieces, type ReportFormat } from '../report/index.ts';
import { noFinishedRun, storedReportInput, unknownRun } from '../report/stored.ts';
import { StateError } from '../state/errors.ts';
import { openState } from '../state/open.ts';
import type { StoredRun } from '../state/store.ts';
import type { StateContext } from './context.ts';
import { writeReport } from './output.ts';

export interface ReportCommandOptions {
  /** A run id from `status`; without it, the last finished run. */
  run?: string;
  last?: boolean;
  format?: ReportFormat;
  output?: string;
}

/**
 * `report`: prints a stored run again, in any format, exactly as `sync` printed it when the run
 * ended (same renderers, same input). Reads a private copy of the state file, so it never waits
 * for a run in progress and never changes the file; needs only STATE_DB.
 */
export async function reportCommand(ctx: StateContext, opts: ReportCommandOptions): Promise<number> {
  const path = ctx.config.state.db;
  if (!existsSync(path)) {
    throw new StateError(`there is no state file at ${path}`, 'set STATE_DB (or state.db) to the file `sync` uses; it appears after the first `sync` that is not a dry run', undefined, 'unusable', 'report');
  }
  const state = openState({ path, dryRun: true, scrub: ctx.scrub });
  let run: StoredRun | null;
  try {
    run = opts.run !== undefined ? state.storedRun(opts.run) : state.lastFinishedRun();
  } finally {
    state.close();
  }
  if (!run) throw opts.run !== undefined ? unknownRun(opts.run, path) : noFinishedRun(path);
  const toolVersion = typeof run.summary?.toolVersion === 'string' ? run.summary.toolVersion : null;
  const input = storedReportInput({ ...run, error: run.error === null ? null : ctx.scrub(run.error), toolVersion });
  // Stored text was scrubbed when written, but a file from before a secret was rotated in may hold one.
  await writeReport(reportPieces(opts.format ?? 'text', input), opts.output, ctx.scrub);
  if (opts.output) ctx.logger.info({ file: opts.output, runId: run.id }, 'report written');
  return 0;
}
