import { renderReport, type ReportFormat } from '../report/index.ts';
import { createDockerClient, createSource, sourceIdentity } from '../run/factory.ts';
import { runSync, type ExitCode } from '../run/sync.ts';
import { openState } from '../state/open.ts';
import type { CommandContext } from './context.ts';
import { emit } from './output.ts';

export interface SyncCommandOptions {
  dryRun?: boolean;
  format?: ReportFormat;
  output?: string;
  force?: boolean;
  deactivate?: boolean;
}

/** `sync`: one reconcile. The report goes to stdout (or --output); logs go to stderr. */
export async function syncCommand(ctx: CommandContext, opts: SyncCommandOptions, signal?: AbortSignal): Promise<ExitCode> {
  const dryRun = opts.dryRun === true;
  const state = openState({ path: ctx.config.state.db, dryRun });
  try {
    const outcome = await runSync(
      {
        config: ctx.config,
        source: createSource(ctx.config, ctx.logger),
        docker: createDockerClient(ctx.config, ctx.logger),
        state,
        logger: ctx.logger,
        sourceIdentity: sourceIdentity(ctx.config),
      },
      { dryRun, force: opts.force === true, noDeactivate: opts.deactivate === false, ...(signal ? { signal } : {}) },
    );
    const report = renderReport(opts.format ?? 'text', {
      plan: outcome.plan,
      ...(dryRun ? {} : { result: outcome.result }),
      generatedAt: outcome.result.finishedAt,
      dryRun,
    });
    emit(ctx.scrub(report), opts.output);
    if (opts.output) ctx.logger.info({ file: opts.output }, 'report written');
    return outcome.exitCode;
  } finally {
    state.close();
  }
}
