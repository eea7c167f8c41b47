import { changeLines, countsLines, resultOf, statusText, subjectOf, title, type ReportInput } from './describe.ts';

/** A report for a terminal: counts first, one row per operation, then findings. */
export function renderText(input: ReportInput): string {
  const out: string[] = [title(input), ''];
  out.push('Summary');
  for (const l of countsLines(input)) out.push(`  ${l}`);
  out.push('');

  const ops = input.plan.operations;
  if (ops.length === 0) {
    out.push('Operations: none — Docker already matches the IdP.');
  } else {
    const withResult = input.result !== undefined || ops.some((o) => o.blocked);
    const rows = ops.map((op) => ({
      kind: op.kind,
      subject: subjectOf(op),
      change: changeLines(op),
      reason: op.reason,
      status: statusText(resultOf(input.result, op), op),
    }));
    const w = {
      kind: Math.max(4, ...rows.map((r) => r.kind.length)),
      subject: Math.min(40, Math.max(7, ...rows.map((r) => r.subject.length))),
      change: Math.min(56, Math.max(6, ...rows.flatMap((r) => r.change.map((c) => c.length)))),
    };
    out.push('Operations');
    out.push(`  ${pad('KIND', w.kind)}  ${pad('SUBJECT', w.subject)}  ${pad('CHANGE', w.change)}  ${withResult ? 'RESULT · ' : ''}REASON`);
    for (const r of rows) {
      const tail = withResult ? `${r.status} · ${r.reason}` : r.reason;
      r.change.forEach((c, i) => {
        out.push(i === 0 ? `  ${pad(r.kind, w.kind)}  ${pad(r.subject, w.subject)}  ${pad(c, w.change)}  ${tail}` : `  ${pad('', w.kind)}  ${pad('', w.subject)}  ${c}`);
      });
    }
  }
  out.push('');
  const findings = input.plan.findings;
  if (findings.length === 0) out.push('Findings: none');
  else {
    out.push('Findings');
    for (const f of findings) {
      out.push(`  ${f.severity.toUpperCase().padEnd(7)} ${f.code.padEnd(20)} ${f.subject}`);
      out.push(`          ${f.message}`);
      if (f.advice) out.push(`          → ${f.advice}`);
    }
  }
  return `${out.join('\n')}\n`;
}

function pad(s: string, width: number): string {
  return s.length > width ? `${s.slice(0, width - 1)}…` : s.padEnd(width);
}
