import { subjectOf } from '../model/plan.ts';
import { changeLines, countsLines, resultsById, statusText, title, type ReportInput } from './describe.ts';

/** A report to paste into a ticket or a change request. */
export function renderMarkdown(input: ReportInput): string {
  const out: string[] = [`# ${esc(title(input))}`, '', '## Summary', ''];
  for (const l of countsLines(input)) out.push(`- ${esc(l)}`);
  out.push('', '## Operations', '');
  const ops = input.plan.operations;
  if (ops.length === 0) out.push('None: Docker already matches the IdP.');
  else {
    const withResult = input.result !== undefined || ops.some((o) => o.blocked);
    const results = resultsById(input.result);
    out.push(`| # | Operation | Subject | Change | ${withResult ? 'Result | ' : ''}Reason |`);
    out.push(`|---|---|---|---|${withResult ? '---|' : ''}---|`);
    ops.forEach((op, i) => {
      const cells = [String(i + 1), `\`${op.kind}\``, esc(subjectOf(op)), changeLines(op).map(esc).join('<br>')];
      if (withResult) cells.push(esc(statusText(results.get(op.id), op)));
      cells.push(esc(op.reason));
      out.push(`| ${cells.join(' | ')} |`);
    });
  }
  out.push('', '## Findings', '');
  const findings = input.plan.findings;
  if (findings.length === 0) out.push('None.');
  else {
    out.push('| Severity | Code | Subject | Finding | What to do |', '|---|---|---|---|---|');
    for (const f of findings) out.push(`| ${f.severity} | \`${f.code}\` | ${esc(f.subject)} | ${esc(f.message)} | ${esc(f.advice ?? '')} |`);
  }
  return `${out.join('\n')}\n`;
}

/** Table cells: pipes and line breaks would break the row; angle brackets would become HTML. */
function esc(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, ' ');
}
