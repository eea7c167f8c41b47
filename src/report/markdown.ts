import { subjectOf } from '../model/plan.ts';
import { allFindings, changeLines, countsLines, resultLookup, statusText, title, type ReportInput } from './describe.ts';

/** A report to paste into a ticket or a change request. */
export function renderMarkdown(input: ReportInput): string {
  return [...markdownReport(input)].join('');
}

/** The same report in pieces, one table row each (see textReport). */
export function* markdownReport(input: ReportInput): Generator<string> {
  const head: string[] = [`# ${esc(title(input))}`, '', '## Summary', ''];
  for (const l of countsLines(input)) head.push(`- ${esc(l)}`);
  head.push('', '## Operations', '');
  const ops = input.plan.operations;
  if (ops.length === 0) {
    head.push('None: Docker already matches the IdP.');
    yield lines(head);
  } else {
    const withResult = input.result !== undefined || ops.some((o) => o.blocked);
    const resultOf = resultLookup(input.result);
    head.push(`| # | Operation | Subject | Change | ${withResult ? 'Result | ' : ''}Reason |`);
    head.push(`|---|---|---|---|${withResult ? '---|' : ''}---|`);
    yield lines(head);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as (typeof ops)[number];
      const cells = [String(i + 1), `\`${op.kind}\``, esc(subjectOf(op)), changeLines(op).map(esc).join('<br>')];
      if (withResult) cells.push(esc(statusText(resultOf(op, i), op)));
      cells.push(esc(op.reason));
      yield `| ${cells.join(' | ')} |\n`;
    }
  }
  const out: string[] = ['', '## Findings', ''];
  const findings = allFindings(input);
  if (findings.length === 0) out.push('None.');
  else {
    out.push('| Severity | Code | Subject | Finding | What to do |', '|---|---|---|---|---|');
    for (const f of findings) out.push(`| ${f.severity} | \`${f.code}\` | ${esc(f.subject)} | ${esc(f.message)} | ${esc(f.advice ?? '')} |`);
  }
  yield lines(out);
}

function lines(ls: readonly string[]): string {
  return `${ls.join('\n')}\n`;
}

/** Table cells: pipes and line breaks would break the row; angle brackets would become HTML. */
function esc(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, ' ');
}
