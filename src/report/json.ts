import { resultsById, toolVersionOf, type ReportInput } from './describe.ts';

/**
 * The JSON report: a documented, versioned shape (docs/report-format.md) for scripts and archives.
 * `format` and `version` change only together with that document; additions keep the version.
 */
export const REPORT_FORMAT = 'docker-idp-sync/report';
export const REPORT_VERSION = 1;

export function renderJson(input: ReportInput): string {
  const { plan, result } = input;
  const byId = resultsById(result);
  const doc = {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    toolVersion: toolVersionOf(input),
    kind: result ? 'result' : 'plan',
    generatedAt: input.generatedAt,
    dryRun: input.dryRun,
    source: plan.source,
    runId: result && !input.dryRun ? result.runId : null,
    status: result ? result.status : null,
    // What the plan was made from; a plan saved before incremental runs existed read everything.
    coverage: plan.coverage ?? { mode: 'full' },
    counts: plan.counts,
    safety: plan.safety,
    recovered: result?.recovered ?? [],
    operations: plan.operations.map((op) => ({ ...op, result: byId.get(op.id) ?? null })),
    findings: plan.findings,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
