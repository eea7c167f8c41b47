import { seatUse } from '../reconcile/seats.ts';
import { resultLookup, toolVersionOf, type ReportInput } from './describe.ts';

/**
 * The JSON report: a documented, versioned shape (docs/report-format.md) for scripts and archives.
 * `format` and `version` change only together with that document; additions keep the version.
 */
export const REPORT_FORMAT = 'docker-idp-sync/report';
export const REPORT_VERSION = 1;

export function renderJson(input: ReportInput): string {
  return [...jsonReport(input)].join('');
}

/**
 * The same document in pieces, one operation each: byte for byte `JSON.stringify(doc, null, 2)`,
 * without holding the whole document, or a copy of every operation with its result, at once.
 */
export function* jsonReport(input: ReportInput): Generator<string> {
  const { plan, result } = input;
  const resultOf = resultLookup(result);
  const head = {
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
    // Per org: what the plan takes and frees (docs/report-format.md "Seats").
    seats: seatUse(plan.operations),
    recovered: result?.recovered ?? [],
  };
  const members = Object.entries(head).filter(([, v]) => v !== undefined);
  yield `{\n${members.map(([k, v]) => member(k, v)).join(',\n')},\n  "operations": `;
  const ops = plan.operations;
  if (ops.length === 0) yield '[]';
  else {
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as (typeof ops)[number];
      const item = JSON.stringify({ ...op, result: resultOf(op, i) ?? null }, null, 2).replace(/\n/g, '\n    ');
      yield `${i === 0 ? '[\n' : ',\n'}    ${item}`;
    }
    yield '\n  ]';
  }
  // The results' own findings (seats run out, PATCH refused) apart from the plan's, which were
  // known before anything was applied.
  const after = result ? `,\n${member('resultFindings', result.findings ?? [])}` : '';
  yield `,\n${member('findings', plan.findings)}${after}\n}\n`;
}

/** One member of the top-level object, indented as JSON.stringify(doc, null, 2) would. */
function member(key: string, value: unknown): string {
  // A JSON text holds no raw line break inside a string, so every one is indentation.
  return `  ${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replace(/\n/g, '\n  ')}`;
}
