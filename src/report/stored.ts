import { AppError } from '../model/errors.ts';
import type { RunResult } from '../model/result.ts';
import type { ReportInput } from './describe.ts';

/**
 * A run read back from the state file, as `report` prints it again: the same input `sync` gave
 * the renderers when the run ended, so the text, Markdown and JSON come out as they did then.
 */

export interface StoredRunView {
  readonly id: string;
  readonly status: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  /** The error the run stopped with, scrubbed. */
  readonly error: string | null;
  readonly result: RunResult | null;
  /** The version that ran it; null for a run stored before runs kept it. */
  readonly toolVersion: string | null;
}

/** There is no report to print: the admin is told why and where to look instead. */
export class ReportUnavailable extends AppError {
  constructor(message: string, hint: string) {
    super(message, { system: 'state', operation: 'report', hint });
  }
}

const STATUS_HINT = '`docker-idp-sync status` lists the recent runs with their ids and counts';

export function storedReportInput(run: StoredRunView): ReportInput {
  if (run.result) {
    // What sync passed: the plan with its results, stamped with the moment the run finished.
    return { plan: run.result.plan, result: run.result, generatedAt: run.result.finishedAt, dryRun: run.result.dryRun, toolVersion: run.toolVersion };
  }
  const when = run.finishedAt ?? run.startedAt;
  switch (run.status) {
    case 'failed':
      return unavailable(
        `run ${run.id} failed at ${when} without a plan to report${run.error ? `: ${run.error}` : ''}`,
        `a run that stops before planning (the IdP or Docker could not be read completely, or the state file refused it) has no plan and changed nothing in Docker; fix what the error says and run \`sync\` again. ${STATUS_HINT}`,
      );
    case 'interrupted':
      return unavailable(
        `run ${run.id} (started ${run.startedAt}) was interrupted before it finished (killed?), so it stored no report`,
        `\`docker-idp-sync status\` shows its journal: the writes in flight when it stopped and what the next run did about them`,
      );
    case 'running':
      return unavailable(
        `run ${run.id} (started ${run.startedAt}) has not finished: it is still running, or it was killed and no run has started since`,
        `wait for it to finish and ask again; \`docker-idp-sync status\` shows its journal so far`,
      );
    default:
      return unavailable(`run ${run.id} (${run.status} at ${when}) stored no report: a \`state rebuild\` records links, not a plan`, STATUS_HINT);
  }
}

function unavailable(message: string, hint: string): never {
  throw new ReportUnavailable(message, hint);
}

export function unknownRun(id: string, stateFile: string): ReportUnavailable {
  return new ReportUnavailable(`the state file ${stateFile} holds no run ${JSON.stringify(id)}`, `${STATUS_HINT} (\`status --limit 100\` for more); runs older than RETAIN_DAYS and beyond the newest RETAIN_RUNS are pruned`);
}

export function noFinishedRun(stateFile: string): ReportUnavailable {
  return new ReportUnavailable(`the state file ${stateFile} holds no finished run yet`, `run \`docker-idp-sync sync\` first (a \`sync --dry-run\` stores nothing); ${STATUS_HINT}`);
}
