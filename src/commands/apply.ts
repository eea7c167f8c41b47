import type { PlanDifference, Review } from '../reconcile/review.ts';
import type { ReportFormat } from '../report/index.ts';
import { sourceIdentity } from '../run/factory.ts';
import { syncOnce } from '../run/once.ts';
import { checkPlanSource, readPlanFile } from '../run/plan-file.ts';
import { outcomeOf, type ExitCode } from '../run/sync.ts';
import { openState, type OpenStateOptions } from '../state/open.ts';
import type { StateStore } from '../state/store.ts';
import type { CommandContext } from './context.ts';
import { FileError } from '../logging/failure.ts';
import { checkOutput, emit } from './output.ts';
import { emitReport } from './plan.ts';

export interface ApplyCommandOptions {
  force?: boolean;
  /**
   * Re-plans as `plan --force-last-owner` did. The flag is not read from the file: lifting the
   * guard takes the admin's word at apply time too, as --force does.
   */
  forceLastOwner?: boolean;
  format?: ReportFormat;
  output?: string;
}

/**
 * `apply FILE`: applies a plan saved by `plan --out`, exactly as reviewed or not at all. The file
 * must be intact and made for this configuration's IdP; then both sides are read again and
 * re-planned as `sync` does (same lock, journal and crash recovery), and the saved operations are
 * applied only if the fresh plan still holds each of them unchanged. Changes planned since are
 * listed, not applied. Exit 5: the plan is stale, nothing applied; exit 3: it trips the safety
 * guard and --force was not given, nothing applied.
 */
export async function applyCommand(ctx: CommandContext, path: string, opts: ApplyCommandOptions, signal?: AbortSignal, open: (o: OpenStateOptions) => StateStore = openState): Promise<ExitCode> {
  const saved = readPlanFile(path);
  checkPlanSource(saved, sourceIdentity(ctx.config), path);
  // Before anything is applied: a report that cannot be written afterwards would leave changes
  // made and unreported, and a second `apply` would only answer that the plan is stale.
  checkOutput(opts.output);
  ctx.logger.info({ file: path, createdAt: saved.createdAt, digest: saved.digest, operations: saved.plan.operations.length }, 'applying a reviewed plan');
  try {
    const outcome = await syncOnce(ctx, { dryRun: false, force: opts.force === true, forceLastOwner: opts.forceLastOwner === true, reviewed: saved.plan, ...(signal ? { signal } : {}), open });
    const review = outcome.review;
    if (review && review.verdict !== 'apply') {
      emit(ctx.scrub(opts.format === 'json' ? refusalJson(review, path) : refusalText(review, path)), opts.output);
      return outcome.exitCode;
    }
    const unreviewed = review?.unreviewed ?? [];
    if (unreviewed.length) ctx.logger.warn({ unreviewed: unreviewed.length }, `${unreviewed.length} change${unreviewed.length === 1 ? '' : 's'} planned now ${unreviewed.length === 1 ? 'is' : 'are'} not in the reviewed plan and ${unreviewed.length === 1 ? 'was' : 'were'} not applied: run \`plan\` again to review them`);
    try {
      await emitReport(ctx, outcome, { ...opts, dryRun: false }, (text) => withUnreviewed(text, unreviewed, opts.format ?? 'text'));
    } catch (err) {
      if (!(err instanceof FileError)) throw err;
      throw new FileError('write the report to', err.path, err.cause, `the plan was applied; its report is kept in the state file: print it with \`docker-idp-sync report --run ${outcome.result.runId}\``);
    }
    return outcome.exitCode;
  } catch (err) {
    // As `sync`: a run that failed part-way still tells what it sent before the error.
    const partial = outcomeOf(err);
    if (partial) {
      try {
        await emitReport(ctx, partial, { ...opts, dryRun: false });
      } catch (reportErr) {
        ctx.logger.error({ err: ctx.scrub((reportErr as Error).message) }, 'could not write the report of the failed run');
      }
    }
    throw err;
  }
}

const NOT_REVIEWED = 'not in the reviewed plan; run `plan` again to review them';

function named(d: PlanDifference): string {
  return `${d.kind} ${d.subject}`;
}

function newLine(d: PlanDifference): string {
  return d.change === 'new' && d.members ? `${named(d)}: ${d.members.join(', ')}` : named(d);
}

/** The report, then what was left out because nobody reviewed it. */
function withUnreviewed(report: string, unreviewed: readonly PlanDifference[], format: ReportFormat): string {
  // JSON always has the key after an apply, empty or not, so a script need not guess.
  if (format === 'json') return `${JSON.stringify({ ...(JSON.parse(report) as Record<string, unknown>), unreviewed }, null, 2)}\n`;
  if (unreviewed.length === 0) return report;
  const bullet = format === 'markdown' ? '- ' : '  ';
  const title = format === 'markdown' ? `## Not applied (${NOT_REVIEWED})` : `Not applied (${NOT_REVIEWED}):`;
  return `${report}\n${title}\n${format === 'markdown' ? '\n' : ''}${unreviewed.map((d) => `${bullet}${newLine(d)}`).join('\n')}\n`;
}

function refusalText(review: Exclude<Review, { verdict: 'apply' }>, path: string): string {
  if (review.verdict === 'held') {
    return (
      `Not applied: the ${review.reviewedPlanTripped ? 'reviewed plan' : 'plan made now'} trips the safety guard: ${review.message}.\n` +
      `Nothing was sent to Docker. If the deactivations are right, run \`apply ${path} --force\` (as \`sync --force\`); otherwise fix the IdP or raise the threshold, then \`plan\` again.\n`
    );
  }
  const lines = [
    `Not applied: the reviewed plan ${path} is stale. Docker or the IdP changed since it was made, so it no longer does what was reviewed.`,
    'Nothing was sent to Docker. Run `plan --out FILE` again and review the new plan.',
    '',
  ];
  for (const d of review.differences) {
    if (d.change === 'gone') lines.push(`  gone     ${named(d)}: no longer planned (what it was to change changed, or was done already)`);
    else if (d.change === 'changed') {
      lines.push(`  changed  ${named(d)}:`);
      for (const f of d.fields) lines.push(`             ${f.field}: reviewed ${f.reviewed}, now ${f.now}`);
    } else lines.push(`  new      ${newLine(d)}: not in the reviewed plan`);
  }
  return `${lines.join('\n')}\n`;
}

function refusalJson(review: Exclude<Review, { verdict: 'apply' }>, path: string): string {
  const doc = {
    format: 'docker-idp-sync/apply-refusal',
    version: 1,
    file: path,
    verdict: review.verdict,
    ...(review.verdict === 'held' ? { message: review.message } : { differences: review.differences }),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
