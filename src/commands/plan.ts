import { FileError } from '../logging/failure.ts';
import type { Plan } from '../model/plan.ts';
import { renderReport, reportPieces, type ReportFormat } from '../report/index.ts';
import { sourceIdentity } from '../run/factory.ts';
import { syncOnce } from '../run/once.ts';
import { makePlanFile, serializePlanFile } from '../run/plan-file.ts';
import { EXIT, type ExitCode, type SyncOutcome } from '../run/sync.ts';
import { TOOL_VERSION } from '../version.ts';
import type { CommandContext } from './context.ts';
import { emit, writeReport } from './output.ts';

export interface PlanCommandOptions {
  /** Where the plan file goes (0600). */
  out: string;
  /** --force-last-owner: see reconcile/owners.ts; `apply` must be given it too, or the plan is stale. */
  forceLastOwner?: boolean;
  format?: ReportFormat;
  output?: string;
}

/**
 * `plan --out FILE`: the dry run of `sync --dry-run` (same report, same exit codes), and the plan
 * it printed saved as a file that `apply FILE` applies exactly, or not at all. Nothing is written
 * to Docker or the state file.
 */
export async function planCommand(ctx: CommandContext, opts: PlanCommandOptions, signal?: AbortSignal): Promise<ExitCode> {
  const outcome = await syncOnce(ctx, { dryRun: true, forceLastOwner: opts.forceLastOwner === true, ...(signal ? { signal } : {}) });
  // Scrubbed before the digest is taken, so the file holds no secret and still checks out.
  const plan = JSON.parse(ctx.scrub(JSON.stringify(outcome.plan))) as Plan;
  const file = makePlanFile(plan, {
    toolVersion: TOOL_VERSION,
    createdAt: outcome.result.finishedAt,
    sourceIdentity: ctx.scrub(sourceIdentity(ctx.config)),
    stateFile: ctx.config.state.db,
  });
  try {
    emit(serializePlanFile(file), opts.out);
  } catch (err) {
    if (!(err instanceof FileError)) throw err;
    throw new FileError('write the plan to', opts.out, err.cause, 'choose an --out path in a folder you can write to, with free space');
  }
  ctx.logger.info({ file: opts.out, operations: plan.operations.length, digest: file.digest }, `plan written: review it, then \`apply ${opts.out}\``);
  await emitReport(ctx, outcome, { ...opts, dryRun: true });
  return outcome.exitCode;
}

/** The report of a run, as `sync` prints it: stdout or --output, scrubbed; FAIL_ON explained. */
export async function emitReport(ctx: CommandContext, outcome: SyncOutcome, opts: { format?: ReportFormat; output?: string; dryRun: boolean }, extra?: (text: string) => string): Promise<void> {
  const input = { plan: outcome.plan, ...(opts.dryRun ? {} : { result: outcome.result }), generatedAt: outcome.result.finishedAt, dryRun: opts.dryRun };
  // With something to add, the report is needed whole; else it is written as it is made.
  await writeReport(extra ? [extra(renderReport(opts.format ?? 'text', input))] : reportPieces(opts.format ?? 'text', input), opts.output, ctx.scrub);
  if (opts.output) ctx.logger.info({ file: opts.output }, 'report written');
  if (outcome.exitCode === EXIT.findings) {
    const failOn = ctx.config.sync.failOn;
    const { error, warning } = outcome.plan.counts.findings;
    const n = failOn === 'warning' ? error + warning : error;
    ctx.logger.warn({ findings: n, failOn }, `${n} finding${n === 1 ? '' : 's'} of severity ${failOn}${failOn === 'warning' ? ' or error' : ''} in the report: exiting 4 (FAIL_ON=${failOn})${opts.dryRun ? '' : '; everything else was applied as planned'}`);
  }
}
